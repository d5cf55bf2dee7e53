"""The strategy contract: ask/tell over a space, with small JSON-serialisable state so a search resumes.

What a strategy must persist is split three ways, so that saving a step costs in proportion to the step:
- `evaluated`, every (architecture, score) told so far, is not in the state: the runner's scores.csv rows are
  its record, and on resume the runner hands them back through `restore_evaluated`;
- grow-only sets of strings (every architecture ever drawn, ...) are `GrowingSet` attributes: `journal_entry`
  returns what they gained since the last call, the runner appends it to a journal, and `replay_journal`
  rebuilds them;
- everything else (step, random generator, a bounded population, ...) is `state_dict`, rewritten every step.
On resume the runner calls, on a freshly built strategy, `restore_evaluated`, then `replay_journal`, then
`load_state_dict`. A new strategy needs nothing special: plain attributes in `state_dict` still work (they
are just rewritten whole every step); it uses `GrowingSet` only for what grows with the search.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from nascli.config import SearchConfig
from nascli.registry import Registry
from nascli.spaces.base import Architecture, SearchSpace

Allowed = Callable[[Architecture], bool]


def sort_key(score: float) -> float:
    """NaN ranks last."""
    return -math.inf if score is None or math.isnan(score) else score


class GrowingSet:
    """A grow-only set of strings whose additions are saved as journal entries, not rewritten whole each step."""

    def __init__(self, items: Iterable[str] = ()) -> None:
        self._items: set[str] = set(items)
        self._unsaved: list[str] = []

    def add(self, item: str) -> None:
        """Add `item` (remembered as unsaved until the next `take_unsaved`)."""
        if item not in self._items:
            self._items.add(item)
            self._unsaved.append(item)

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def take_unsaved(self) -> list[str]:
        """The items added since the last call, in the order they were added."""
        unsaved, self._unsaved = self._unsaved, []
        return unsaved

    def extend_saved(self, items: Iterable[str]) -> None:
        """Add items that are already saved (a journal being replayed)."""
        self._items.update(items)


class Strategy(ABC):
    """Proposes batches of architectures (`ask`) and learns from their scores (`tell`)."""

    name = ""

    def __init__(self, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> None:
        self.space = space
        self.cfg = cfg
        self.allowed = allowed or (lambda arch: True)
        self.rng = np.random.Generator(np.random.PCG64(cfg.seed))
        self.step = 0
        self.evaluated: list[tuple[Architecture, float]] = []
        self._best_of: list[tuple[Architecture, float]] | None = None  # the list _best_at indexes into
        self._best_at = 0
        self._best_scanned = 0

    @abstractmethod
    def ask(self) -> list[Architecture]:
        """The next architectures to score; empty when the search is over."""

    def tell(self, archs: Sequence[Architecture], scores: Sequence[float]) -> dict[str, Any]:
        """Record scores; returns this step's history record."""
        self.evaluated.extend(zip(archs, (float(s) for s in scores), strict=True))
        self.step += 1
        return self.history_record(scores)

    def history_record(self, scores: Sequence[float]) -> dict[str, Any]:
        """Best and mean of this step and the best so far."""
        values = np.array([s for s in scores if not math.isnan(s)], dtype=np.float64)
        best_arch, best_score = self.best()
        return {
            "generation": self.step - 1,
            "evaluated": len(self.evaluated),
            "best": float(values.max()) if values.size else math.nan,
            "mean": float(values.mean()) if values.size else math.nan,
            "best_so_far": best_score,
            "best_arch": self.space.format(best_arch) if best_arch is not None else None,
        }

    def best(self) -> tuple[Architecture | None, float]:
        """The best architecture scored so far and its score."""
        if not self.evaluated:
            return None, math.nan
        # the first maximum, as max() picks it, scanning only what was told since the last call
        if self._best_of is not self.evaluated or self._best_scanned > len(self.evaluated):
            self._best_of, self._best_at, self._best_scanned = self.evaluated, 0, 0
        best_key = sort_key(self.evaluated[self._best_at][1])
        for position in range(self._best_scanned, len(self.evaluated)):
            key = sort_key(self.evaluated[position][1])
            if key > best_key:
                self._best_at, best_key = position, key
        self._best_scanned = len(self.evaluated)
        arch, score = self.evaluated[self._best_at]
        return arch, score

    def top(self, k: int) -> list[tuple[Architecture, float]]:
        """The k best scored architectures, best first."""
        return sorted(self.evaluated, key=lambda item: sort_key(item[1]), reverse=True)[:k]

    def final_genotype(self, genotype: dict[str, Any]) -> dict[str, Any]:
        """genotype.json as this strategy reports it: by default the runner's (the best scored architecture);
        BPE's dense-cell searches put their parsed 2-input genotype first and the dense cell beside it."""
        return genotype

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state, small and rewritten every step (not `evaluated`, not the `GrowingSet`s)."""
        return {
            "name": self.name,
            "step": self.step,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output (after `restore_evaluated` and `replay_journal`)."""
        self.step = int(state["step"])
        self.rng.bit_generator.state = state["rng"]
        if "evaluated" in state:  # a state saved before the history moved out of it
            self.restore_evaluated([(self.space.from_json(a), float(s)) for a, s in state["evaluated"]])

    def restore_evaluated(self, evaluated: Sequence[tuple[Architecture, float]]) -> None:
        """Set the history of told (architecture, score) pairs, in the order they were told."""
        self.evaluated = list(evaluated)

    def journal_entry(self) -> dict[str, list[str]]:
        """What each `GrowingSet` attribute gained since the last call, by attribute name (empty ones left out)."""
        entry = {}
        for name, value in sorted(vars(self).items()):
            if isinstance(value, GrowingSet):
                unsaved = value.take_unsaved()
                if unsaved:
                    entry[name] = unsaved
        return entry

    def replay_journal(self, entries: Iterable[Mapping[str, Sequence[str]]]) -> None:
        """Rebuild the `GrowingSet` attributes from saved `journal_entry` outputs; nothing is left unsaved."""
        for entry in entries:
            for name, items in entry.items():
                target = getattr(self, name, None)
                if not isinstance(target, GrowingSet):
                    raise ValueError(f"the journal names {name!r}, which is no grow-only set of {self.name!r}")
                target.extend_saved(items)
        for value in vars(self).values():
            if isinstance(value, GrowingSet):
                value.take_unsaved()

    def _to_json_list(self, archs: Sequence[Architecture]) -> list[Any]:
        return [self.space.to_json(a) for a in archs]

    def _from_json_list(self, items: Sequence[Any]) -> list[Architecture]:
        return [self.space.from_json(a) for a in items]


STRATEGIES: Registry[type[Strategy]] = Registry("strategy")


def make_strategy(name: str, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> Strategy:
    """Instantiate the registered strategy `name`."""
    import nascli.strategies  # noqa: F401

    return STRATEGIES.get(name)(space, cfg, allowed)
