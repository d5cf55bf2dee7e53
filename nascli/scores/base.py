"""The score contract: `score(archs) -> array`, batched, higher is better; each declares what it needs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nascli.errors import NasInputError
from nascli.registry import Registry
from nascli.spaces.base import Architecture, SearchSpace


@dataclass
class ScoreContext:
    """What a score may draw on: the space, a supernet run folder, a benchmark table, a dataset, a device."""

    space: SearchSpace
    supernet_dir: Path | None = None
    dataset: str | None = None
    bench_path: str | None = None
    bench_sha256: str | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None
    """The search run folder: scores that train candidates keep their checkpoints under `candidates/` there."""
    config: Any = None
    """The search's `SearchConfig` (None in library use): scores with a settings section read theirs from it
    (`trained-acc`: `trained_acc` and `runtime`; `rmi`: `rmi`)."""

    @cached_property
    def bench(self) -> Any:
        """The NB201 ground-truth table (loaded once, checked against `bench_sha256` when given)."""
        from nascli.bench.table import BenchTable

        if self.space.name != "nb201":
            raise NasInputError(f"no benchmark table exists for the {self.space.name} space: use another score")
        return BenchTable.load(self.bench_path, expected_sha256=self.bench_sha256)


class Score(ABC):
    """One architecture score; subclasses register in `SCORES`."""

    name: str = ""
    column: str | None = None
    """The scores.csv column (None: the score's name)."""
    needs: frozenset[str] = frozenset()
    """Any of {"supernet", "bench", "data"}: the CLI checks these before the search starts."""
    description: str = ""
    expensive: bool = False
    """True when each architecture costs seconds or more (it trains a network): under torchrun with W > 1
    processes, `nas search` then splits each step's candidates among the ranks, each scoring its share on its
    own device (`context.device`), and gathers the values in candidate order. Such a score must give a value
    that depends only on the architecture and the search seed (`nascli.scores.candidates.candidate_seed`), and
    keep its per-candidate files under `candidate_dir(context.run_dir, text)`, so any rank may score any
    candidate and a killed search resumes there. Cheap scores are computed whole on every rank."""

    def __init__(self, context: ScoreContext) -> None:
        self.context = context
        missing = [need for need in self.needs if not _has(context, need)]
        if missing:
            raise NasInputError(f"score {self.name!r} needs {' and '.join(missing)}: "
                                + "; ".join(_HOW[need] for need in missing))

    @abstractmethod
    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Scores of `archs` (float64, higher is better)."""

    def score_all(self) -> np.ndarray:
        """Scores of every architecture of a finite space, in official index order."""
        return self.score(list(self.context.space.enumerate()))


_HOW = {
    "supernet": "pass --supernet with a train-supernet run folder",
    "bench": "the NB201 table ships with nascli; pass --bench only for another table",
    "data": "pass --dataset (and --data-root for real data)",
}


def _has(context: ScoreContext, need: str) -> bool:
    if need == "supernet":
        return context.supernet_dir is not None
    if need == "data":
        return context.dataset is not None
    return True


SCORES: Registry[type[Score]] = Registry("score")


def make_score(name: str, context: ScoreContext) -> Score:
    """Instantiate the registered score `name` for `context` (importing the built-in scores first)."""
    import nascli.scores  # noqa: F401

    return SCORES.get(name)(context)
