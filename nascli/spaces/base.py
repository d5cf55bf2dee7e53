"""The search-space contract every space implements (NB201, DARTS, MobileNet, …)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import nn

from nascli.errors import NasInputError
from nascli.registry import Registry

Architecture = Hashable
"""An immutable, hashable architecture value owned by its space."""


@dataclass
class NetworkConfig:
    """Size settings of a built network; `None` means the space's own default (the paper's)."""

    num_classes: int = 10
    channels: int | None = None
    layers: int | None = None
    input_size: int = 32
    options: dict[str, Any] = field(default_factory=dict)


class PathSampler(ABC):
    """Draws the single path a supernet runs at each training step; its state checkpoints."""

    @abstractmethod
    def sample(self) -> Any:
        """The next path, in the form the space's supernet `forward(x, path)` takes."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the same sequence of paths after a resume."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state saved by `state_dict`."""


class SearchSpace(ABC):
    """Vocabulary of architectures: text forms, random operators, supernet and stand-alone networks."""

    name: str = ""
    ops: tuple[str, ...] = ()

    # --- text and JSON forms -------------------------------------------------------------------
    @abstractmethod
    def parse(self, text: str) -> Architecture:
        """Parse the canonical text form (and the forms the papers print); `NasInputError` if malformed."""

    @abstractmethod
    def format(self, arch: Architecture) -> str:
        """The canonical text form; `parse(format(a)) == a`."""

    @abstractmethod
    def to_json(self, arch: Architecture) -> Any:
        """A JSON-serialisable form of `arch`."""

    @abstractmethod
    def from_json(self, obj: Any) -> Architecture:
        """Inverse of `to_json`."""

    def coerce(self, value: Any) -> Architecture:
        """Accept an architecture, its text form, its JSON form or (finite spaces) an index."""
        if isinstance(value, str):
            text = value.strip()
            if text.lstrip("+-").isdigit() and self.is_finite():
                if text.startswith("-"):  # never Python's count-from-the-end
                    raise NasInputError(f"{self.name} index {text} is negative: indices run from 0 to "
                                        f"{self.size() - 1}")
                return self.arch_at(int(text))
            return self.parse(text)
        if isinstance(value, int | np.integer) and self.is_finite():
            return self.arch_at(int(value))
        if isinstance(value, dict | list):
            return self.from_json(value)
        return value

    def canonical(self, arch: Architecture) -> Architecture:
        """The one representative of the architectures equal to `arch` (spaces whose text forms are unique: itself)."""
        return arch

    # --- random operators ----------------------------------------------------------------------
    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Architecture:
        """One architecture drawn uniformly (in the space's own sense)."""

    def sample_many(self, rng: np.random.Generator, count: int) -> list[Architecture]:
        """`count` draws, equal to `count` calls of `sample` and leaving `rng` in the same state (a space may
        override this with a faster, exactly equivalent form)."""
        return [self.sample(rng) for _ in range(count)]

    @abstractmethod
    def mutate(
        self, arch: Architecture, rng: np.random.Generator, prob: float, ops: Sequence[str] | None = None
    ) -> Architecture:
        """Each gene replaced with probability `prob` by a uniform draw from `ops` (default: all ops)."""

    @abstractmethod
    def crossover(self, a: Architecture, b: Architecture, rng: np.random.Generator) -> Architecture:
        """Each gene taken from `a` or `b` with probability ½."""

    # --- categorical variables (REINFORCE, aging evolution) ---------------------------------------
    def categorical_sizes(self) -> tuple[int, ...]:
        """Number of choices of each independent categorical variable, for spaces that are such a product."""
        raise NasInputError(f"the {self.name} space is not a product of independent categorical variables: use "
                            "space nb201, or darts with space_options.variant dense")

    def to_categorical(self, arch: Architecture) -> tuple[int, ...]:
        """The choice index of each categorical variable of `arch` (see `categorical_sizes`)."""
        raise NasInputError(f"the {self.name} space is not a product of independent categorical variables")

    def from_categorical(self, values: Sequence[int]) -> Architecture:
        """Inverse of `to_categorical`."""
        raise NasInputError(f"the {self.name} space is not a product of independent categorical variables")

    # --- enumeration (finite spaces) -----------------------------------------------------------
    def is_finite(self) -> bool:
        """Whether `enumerate()` is available."""
        return False

    def size(self) -> int:
        """Number of architectures in the space (finite, enumerable spaces only)."""
        raise NasInputError(f"the {self.name} space is not enumerable, so nascli does not count it: use a "
                            "sampling strategy")

    def enumerate(self) -> Iterator[Architecture]:
        """Every architecture exactly once (finite spaces only), in the space's official order."""
        raise NasInputError(f"the {self.name} space is too large to enumerate: use a sampling strategy")

    def index(self, arch: Architecture) -> int:
        """The official index of `arch` (finite spaces only)."""
        raise NasInputError(f"the {self.name} space has no architecture index")

    def arch_at(self, index: int) -> Architecture:
        """The architecture with official index `index` (finite spaces only)."""
        raise NasInputError(f"the {self.name} space has no architecture index")

    # --- networks ------------------------------------------------------------------------------
    @abstractmethod
    def supernet(self, cfg: NetworkConfig) -> nn.Module:
        """The weight-sharing network; `forward(x, path)` runs one path."""

    @abstractmethod
    def network(self, arch: Architecture, cfg: NetworkConfig) -> nn.Module:
        """The stand-alone network of `arch` for retraining."""

    @abstractmethod
    def path_parameters(self, supernet: nn.Module, arch: Architecture) -> list[nn.Parameter]:
        """The supernet parameters `arch` uses, each exactly once, in a fixed order."""

    @abstractmethod
    def path_sampler(self, seed: int, cfg: NetworkConfig | None = None) -> PathSampler:
        """The default path sampler for supernet training (the space's reference rule) for a network of `cfg`."""

    def default_config(self, dataset: str) -> NetworkConfig:
        """The paper's network size for `dataset` (number of classes, input size)."""
        return NetworkConfig()


SPACES: Registry[type[SearchSpace]] = Registry("search space")


def get_space(name: str, **options: Any) -> SearchSpace:
    """Instantiate the registered space `name` (importing the built-in spaces first)."""
    import nascli.spaces  # noqa: F401  (registers the built-in spaces)

    return SPACES.get(name)(**options)
