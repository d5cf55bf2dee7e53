"""A synthetic score with a known optimum for the categorical-variable strategies, crashing on a chosen call."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nascli.scores.base import SCORES, Score
from nascli.spaces.darts import DartsGenotype

TARGET_CHOICE = 3
"""The optimum sets every variable to this choice (NB201: nor_conv_3x3; dense DARTS: sep_conv_3x3)."""


class Crash(Exception):
    """A stand-in for a killed process."""


class TargetScore(Score):
    """Fraction of variables equal to `TARGET_CHOICE` (2-input DARTS sub-cells: fraction of sep_conv_3x3 pairs)."""

    name = "bpe-target"
    calls = 0
    crash_on: int | None = None
    values: list[float] | None = None
    """When set, the scores returned call after call instead (hand computations)."""

    def score(self, archs: Sequence[object]) -> np.ndarray:
        """One value per architecture."""
        TargetScore.calls += 1
        if TargetScore.calls == TargetScore.crash_on:
            raise Crash
        if TargetScore.values is not None:
            return np.array([TargetScore.values[TargetScore.calls - 1]] * len(archs))
        space = self.context.space
        out = []
        for arch in archs:
            if isinstance(arch, DartsGenotype):
                out.append(sum(op == "sep_conv_3x3" for op, _ in arch.normal + arch.reduce) / 16)
            else:
                values = space.to_categorical(arch)
                out.append(sum(v == TARGET_CHOICE for v in values) / len(values))
        return np.array(out, dtype=np.float64)


def reset(crash_on: int | None = None, values: list[float] | None = None) -> None:
    """Reset the call counter; crash on call `crash_on`; return `values` in turn when given."""
    TargetScore.calls, TargetScore.crash_on, TargetScore.values = 0, crash_on, values


if "bpe-target" not in SCORES:
    SCORES.add("bpe-target", TargetScore)
