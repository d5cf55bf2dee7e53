"""Search spaces; importing this package registers the built-in ones."""

from nascli.spaces.base import SPACES, NetworkConfig, PathSampler, SearchSpace, get_space

from nascli.spaces import nb201  # noqa: E402,F401  isort: skip
from nascli.spaces import darts  # noqa: E402,F401  isort: skip
from nascli.spaces import mobilenet  # noqa: E402,F401  isort: skip

__all__ = ["SPACES", "NetworkConfig", "PathSampler", "SearchSpace", "get_space"]
