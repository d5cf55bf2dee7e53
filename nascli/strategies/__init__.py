"""Search strategies behind one registry; importing this package registers the built-in ones."""

from nascli.strategies.base import STRATEGIES, Strategy, make_strategy

from nascli.strategies import aging, evolution, list, reinforce, rf, simple  # noqa: E402,F401  isort: skip

__all__ = ["STRATEGIES", "Strategy", "make_strategy"]
