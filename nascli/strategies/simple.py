"""`random`: N distinct random architectures; `exhaustive`: every architecture of a finite space."""

from __future__ import annotations

from typing import Any

from nascli.config import SearchConfig
from nascli.errors import NasInputError
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.base import STRATEGIES, Allowed, GrowingSet, Strategy


@STRATEGIES.register("random")
class RandomStrategy(Strategy):
    """Distinct uniform samples within the constraints, `batch` at a time."""

    name = "random"

    def __init__(self, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> None:
        super().__init__(space, cfg, allowed)
        if cfg.samples < 1:
            raise NasInputError("random search needs samples ≥ 1")
        if space.is_finite() and cfg.samples > space.size():
            raise NasInputError(f"random search asks {cfg.samples} distinct architectures but the {space.name} "
                                f"space has {space.size()}: use --strategy exhaustive")
        self.seen = GrowingSet()  # every text drawn, constraints passed or not

    def ask(self) -> list[Architecture]:
        """Up to `batch` new architectures, until `samples` were drawn."""
        wanted = min(self.cfg.batch, self.cfg.samples - len(self.evaluated))
        batch: list[Architecture] = []
        tries = 0
        limit = wanted * 1000
        while len(batch) < wanted and tries < limit:
            # draws come in blocks (one vectorised call where the space has it); the generator is then set back
            # to where the draws actually used leave it, so the sequence is that of one `sample` per try
            block = min(limit - tries, max(64, 4 * (wanted - len(batch))))
            before = self.rng.bit_generator.state
            draws = self.space.sample_many(self.rng, block)
            used = 0
            for arch in draws:
                used += 1
                key = self.space.format(arch)
                if key in self.seen:
                    continue
                self.seen.add(key)
                if self.allowed(arch):
                    batch.append(arch)
                    if len(batch) == wanted:
                        break
            tries += used
            if used < len(draws):
                self.rng.bit_generator.state = before
                self.space.sample_many(self.rng, used)
        return batch

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output (the drawn set comes from the journal)."""
        super().load_state_dict(state)
        if "seen" in state:  # a state saved before the drawn set moved to the journal
            self.seen = GrowingSet(state["seen"])


@STRATEGIES.register("exhaustive")
class ExhaustiveStrategy(Strategy):
    """Every architecture of a finite space in official order, `batch` at a time."""

    name = "exhaustive"

    def __init__(self, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> None:
        super().__init__(space, cfg, allowed)
        if not space.is_finite():
            raise NasInputError(f"the {space.name} space is too large to enumerate: use --strategy evolution or random")
        self.position = 0
        self.all = list(space.enumerate())

    def ask(self) -> list[Architecture]:
        """The next `batch` architectures that pass the constraints."""
        batch: list[Architecture] = []
        while self.position < len(self.all) and len(batch) < self.cfg.batch:
            arch = self.all[self.position]
            self.position += 1
            if self.allowed(arch):
                batch.append(arch)
        return batch

    def state_dict(self) -> dict[str, Any]:
        """Base state plus the position in the enumeration."""
        return {**super().state_dict(), "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output."""
        super().load_state_dict(state)
        self.position = int(state["position"])
