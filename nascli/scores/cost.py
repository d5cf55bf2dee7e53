"""Scores that need no training: `flops`, `params` (each space's own counting convention) and `bench`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nascli.errors import NasInputError
from nascli.scores.base import SCORES, Score, ScoreContext
from nascli.spaces.base import Architecture


def _nb201_counts(space: object, archs: Sequence[Architecture]) -> tuple[np.ndarray, np.ndarray]:
    counts = np.array([space.conv_counts(a) for a in archs], dtype=np.int64).reshape(-1, 2)  # type: ignore[attr-defined]
    return counts[:, 0], counts[:, 1]


def architecture_cost(space: object, archs: Sequence[Architecture], what: str, dataset: str | None) -> np.ndarray:
    """FLOPs (M) or params (M) of each architecture in the space's paper convention."""
    name = getattr(space, "name", "")
    if name == "nb201":
        from nascli.spaces.nb201 import nb201_flops, nb201_params

        n1, n3 = _nb201_counts(space, archs)
        fn = nb201_flops if what == "flops" else nb201_params
        return np.array([fn(int(a), int(b), dataset or "cifar10") for a, b in zip(n1, n3, strict=True)],
                        dtype=np.float64)
    cost = getattr(space, "cost", None)
    if cost is None:
        raise NasInputError(f"the {name} space has no {what} counter yet")
    return np.array([cost(a, what, dataset) for a in archs], dtype=np.float64)


@SCORES.register("flops")
class FlopsScore(Score):
    """FLOPs in millions (NB201: the benchmark's own count). Higher = larger network."""

    name = "flops"
    description = "multiply-adds of convs and linear layers, in millions (the paper's convention)"

    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        """FLOPs (M) of each architecture."""
        return architecture_cost(self.context.space, archs, "flops", self.context.dataset)


@SCORES.register("params")
class ParamsScore(Score):
    """Parameters in millions (NB201: the benchmark's own count). Higher = larger network."""

    name = "params"
    description = "parameters in millions (the paper's convention)"

    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Parameters (M) of each architecture."""
        return architecture_cost(self.context.space, archs, "params", self.context.dataset)


@SCORES.register("bench")
class BenchScore(Score):
    """Ground-truth accuracy from the NB201 table (an oracle for testing strategies)."""

    name = "bench"
    needs = frozenset({"bench"})
    description = "benchmark accuracy (%) for --dataset and options split/epochs"

    def __init__(self, context: ScoreContext) -> None:
        super().__init__(context)
        if not hasattr(context.space, "indices_of"):
            raise NasInputError(f"no benchmark table exists for the {context.space.name} space: use another score")
        # read the column now: an unknown dataset, split or table fails before the search writes anything
        self.metric = context.bench.metric(context.dataset or "cifar10", context.options.get("split", "test"),
                                           int(context.options.get("epochs", 200)))

    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Benchmark accuracy of each architecture."""
        return self.metric[self.context.space.indices_of(archs)].astype(np.float64)
