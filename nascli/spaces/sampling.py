"""Generic path samplers built on a space's `sample`."""

from __future__ import annotations

from typing import Any

import numpy as np

from nascli.spaces.base import PathSampler, SearchSpace


class UniformArchSampler(PathSampler):
    """One architecture per step drawn with `space.sample`, shared by every cell (SPOS with shared cells)."""

    def __init__(self, space: SearchSpace, seed: int) -> None:
        self.space = space
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def sample(self) -> Any:
        """The next architecture."""
        return self.space.sample(self.rng)

    def state_dict(self) -> dict[str, Any]:
        """The generator state."""
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the generator state."""
        self.rng.bit_generator.state = state["bit_generator"]
