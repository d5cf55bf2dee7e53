"""A synthetic score with a known optimum for the categorical-variable strategies, crashing on a chosen call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def one_per_step_configs() -> dict[str, Any]:
    """The reinforce and aging-evolution searches pinned in tests/fixtures/bpe_one_per_step (one architecture
    per step, the references' form)."""
    from nascli.config import SearchConfig, build_config

    def make(space: str, strategy: str, seed: int, **settings: Any) -> SearchConfig:
        section = strategy.replace("-", "_")
        return build_config(SearchConfig, {
            "space": space, "space_options": {"variant": "dense"} if space == "darts" else {},
            "strategy": strategy, "score": "bpe-target", "seed": seed, section: settings,
            "runtime": {"quiet": True}})

    return {
        "reinforce-nb201": make("nb201", "reinforce", 1, iterations=25, lr=1.0, resample_at_or_below=0.001),
        "reinforce-dense": make("darts", "reinforce", 3, iterations=12, lr=2.0, baseline="before-advantage",
                                first_reward_zero=True, resample_at_or_below=0.001),
        "aging-nb201": make("nb201", "aging-evolution", 5, population=10, sample_size=3, evaluations=40),
        "aging-dense": make("darts", "aging-evolution", 5, population=6, sample_size=3, evaluations=14,
                            subcells=4),
    }


def one_per_step_files(name: str, folder: Path) -> dict[str, bytes]:
    """Run the pinned search `name` into `folder`; its scores.csv, history.jsonl and genotype.json (the folder's
    path replaced by `<search>`)."""
    from nascli.strategies.runner import run_search

    reset()
    run_search(one_per_step_configs()[name], folder)
    files = {file: (folder / file).read_bytes() for file in ("scores.csv", "history.jsonl", "genotype.json")}
    files["genotype.json"] = files["genotype.json"].replace(str(folder.absolute()).encode(), b"<search>")
    return files
