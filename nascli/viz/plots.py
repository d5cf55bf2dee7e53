"""Plots of run logs: training curves, search history, score-vs-truth scatter, DrNAS trajectory.

Every function takes plain data (the dicts of a JSONL log, or arrays) and writes one PNG, SVG or
PDF file, chosen by the suffix of `out_path`; matplotlib runs headless (no pyplot, no display).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from nascli.viz.output import check_suffixes, save_outputs

VALIDATION_PREFIX = "val_"
_X_KEYS = ("epoch", "step")
_TRAIN_COLOR = "#1f77b4"
_HIGHLIGHT_COLOR = "#d62728"


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """The objects of a JSONL log, one per non-empty line; a truncated last line (a crash mid-write) is skipped.

    A malformed line anywhere else, or a line holding something other than an object, raises `ValueError`.
    """
    path = Path(path)
    lines = path.read_bytes().split(b"\n")
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    records: list[dict[str, Any]] = []
    for position, (number, line) in enumerate(numbered):
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            if position == len(numbered) - 1:
                break  # the writer was interrupted while appending this line
            raise ValueError(f"{path}, line {number}: not valid JSON ({error}); the log is damaged") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}, line {number}: expected one JSON object per line, got {type(record).__name__}")
        records.append(record)
    return records


def _number(value: object) -> float | None:
    """`value` as a finite float, or None for missing, non-numeric, boolean or non-finite values."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _x_key(records: Sequence[Mapping[str, Any]], preferred: Sequence[str]) -> str | None:
    """The first key of `preferred` that some record holds as a number, or None (use the record position)."""
    for key in preferred:
        if any(_number(record.get(key)) is not None for record in records):
            return key
    return None


def _series(records: Sequence[Mapping[str, Any]], key: str, x_key: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the records that hold a number under `key` (and under `x_key`, when given)."""
    xs, ys = [], []
    for position, record in enumerate(records):
        y = _number(record.get(key))
        x = float(position) if x_key is None else _number(record.get(x_key))
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return np.array(xs), np.array(ys)


def _style(axes: Axes, integer_x: bool = True) -> None:
    """Light grid, no top/right frame."""
    if integer_x:  # epochs and generations are whole numbers
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.spines["top"].set_visible(False)
    axes.spines["right"].set_visible(False)


def _prepare(out_path: Path | str) -> Path:
    """`out_path` as a Path after checking it names a PNG, SVG or PDF file."""
    return check_suffixes([out_path], allow_dot=False)[0]


def _save(figure: Figure, out_path: Path) -> Path:
    """Write the figure and return the path."""
    return save_outputs(figure, [out_path])[0]


_AXIS_NAMES = {"loss": "loss", "accuracy": "accuracy (%)", "acc": "accuracy (%)", "lr": "learning rate"}


def plot_training_curves(
    records: Sequence[Mapping[str, Any]],
    out_path: Path | str,
    keys: Sequence[str] = ("loss", "accuracy", "lr"),
    title: str | None = None,
) -> Path:
    """One panel per metric in `keys` found in the records; `val_<key>` is drawn dashed on its key's panel.

    x is `epoch` (else `step`, else the record position); keys no record holds are skipped.
    """
    out_path = _prepare(out_path)
    x_key = _x_key(records, _X_KEYS)
    panels = []
    for key in keys:
        train = _series(records, key, x_key)
        validation = _series(records, VALIDATION_PREFIX + key, x_key)
        if len(train[0]) or len(validation[0]):
            panels.append((key, train, validation))
    if not panels:
        raise ValueError(
            f"no record holds a number under any of {list(keys)} (or their {VALIDATION_PREFIX!r} forms): "
            "check the log file and the keys asked for"
        )
    figure = Figure(figsize=(4.3 * len(panels), 3.4 + (0.3 if title else 0.0)), layout="constrained")
    for index, (key, (train_x, train_y), (val_x, val_y)) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        _style(axes)
        marker = "o" if max(len(train_x), len(val_x)) <= 30 else None
        if len(train_x):
            axes.plot(
                train_x,
                train_y,
                color=_TRAIN_COLOR,
                lw=1.6,
                marker=marker,
                ms=3.5,
                label="train" if key != "lr" else key,
            )
        if len(val_x):
            axes.plot(
                val_x,
                val_y,
                color=_TRAIN_COLOR,
                lw=1.6,
                ls="--",
                marker=marker,
                ms=3.5,
                mfc="white",
                label="validation",
            )
        axes.set_xlabel(x_key or "record")
        axes.set_ylabel(_AXIS_NAMES.get(key, key))
        if key == "lr":
            axes.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
        if len(train_x) and len(val_x):
            axes.legend(frameon=False)
    if title:
        figure.suptitle(title, fontsize=12, weight="bold")
    return _save(figure, out_path)


def plot_search_history(
    records: Sequence[Mapping[str, Any]], out_path: Path | str, title: str | None = None, score_name: str = "score"
) -> Path:
    """Best so far, and each generation's best and mean (`generation`, `best_so_far`, `best`, `mean`, optional
    `topk_mean` keys).

    A generation's best falls when no architecture is scored twice; the best so far never does, so both are drawn.
    """
    out_path = _prepare(out_path)
    x_key = _x_key(records, ("generation", "step"))
    curves = [
        ("best_so_far", "best so far", {"color": "#222222", "lw": 2.2, "drawstyle": "steps-post"}),
        ("best", "generation best", {"color": _HIGHLIGHT_COLOR, "lw": 1.5}),
        ("topk_mean", "top-k mean", {"color": "#ff7f0e", "lw": 1.5, "ls": "--"}),
        ("mean", "generation mean", {"color": _TRAIN_COLOR, "lw": 1.5}),
    ]
    series = [(label, _series(records, key, x_key), style) for key, label, style in curves]
    if not any(len(x) for _, (x, _), _ in series):
        raise ValueError(
            "no record holds a number under 'best_so_far', 'best', 'mean' or 'topk_mean': pass the per-generation "
            "records "
            "of a search history"
        )
    figure = Figure(figsize=(6.0, 3.8), layout="constrained")
    axes = figure.add_subplot()
    _style(axes)
    for label, (xs, ys), style in series:
        if len(xs):
            marker = "o" if len(xs) <= 40 else None
            axes.plot(xs, ys, label=label, marker=marker, ms=3.5, **style)
    axes.set_xlabel(x_key or "record")
    axes.set_ylabel(score_name)
    axes.legend(frameon=False)
    if title:
        axes.set_title(title, fontsize=12, weight="bold")
    return _save(figure, out_path)


def plot_score_scatter(
    score: Sequence[float] | np.ndarray,
    truth: Sequence[float] | np.ndarray,
    out_path: Path | str,
    score_name: str,
    truth_name: str,
    highlight: int | None = None,
    tau: float | None = None,
) -> Path:
    """Scatter of a score against ground-truth accuracy; `highlight` (an index) is starred, τ goes in the title.

    Pairs with a non-finite score or truth are left out; thousands of points are drawn small and rasterised.
    """
    out_path = _prepare(out_path)
    score = np.asarray(score, dtype=float).ravel()
    truth = np.asarray(truth, dtype=float).ravel()
    if score.shape != truth.shape:
        raise ValueError(f"score and truth must have one value per architecture: got {len(score)} and {len(truth)}")
    finite = np.isfinite(score) & np.isfinite(truth)
    if not finite.any():
        raise ValueError("no architecture has both a finite score and a finite truth value: nothing to plot")
    if highlight is not None:
        highlight = int(highlight)
        if not 0 <= highlight < len(score):
            raise ValueError(f"highlight index {highlight} is outside 0..{len(score) - 1}")
        if not finite[highlight]:
            raise ValueError(f"the highlighted architecture {highlight} has no finite score and truth value")

    count = int(finite.sum())
    figure = Figure(figsize=(5.6, 4.6), layout="constrained")
    axes = figure.add_subplot()
    _style(axes, integer_x=False)
    size = 3.0 if count > 5000 else 8.0 if count > 500 else 18.0
    axes.scatter(
        score[finite],
        truth[finite],
        s=size,
        alpha=0.35 if count > 500 else 0.7,
        color=_TRAIN_COLOR,
        linewidths=0,
        rasterized=True,
        label=f"{count:,} architectures",
    )
    if highlight is not None:
        axes.scatter(
            [score[highlight]],
            [truth[highlight]],
            marker="*",
            s=320,
            color=_HIGHLIGHT_COLOR,
            edgecolors="black",
            linewidths=0.8,
            zorder=5,
            label=f"selected (#{highlight}): {truth[highlight]:.2f}",
        )
    axes.set_xlabel(score_name)
    axes.set_ylabel(truth_name)
    heading = f"{score_name} vs {truth_name}"
    if tau is not None:
        heading += ("\n" if len(heading) > 40 else "  ") + f"(Kendall τ = {tau:.3f})"
    axes.set_title(heading, fontsize=11.5)
    # Below the axes: with thousands of points no corner inside them is free.
    legend = figure.legend(frameon=False, loc="outside lower center", ncols=2)
    legend.legend_handles[0].set_sizes([24.0])
    legend.legend_handles[0].set_alpha(0.8)
    return _save(figure, out_path)


def plot_dirichlet_trajectory(
    records: Sequence[Mapping[str, Any]], out_path: Path | str, title: str | None = None
) -> Path:
    """DrNAS trajectory: per epoch the min–max band of sampled architectures' accuracy and the mean genotype's line.

    Keys: `epoch`, `sampled_min`, `sampled_max`, optional `sampled_mean`, and `mean_genotype_acc`.
    """
    out_path = _prepare(out_path)
    x_key = _x_key(records, ("epoch",))
    band_x, band_low, band_high = [], [], []
    for position, record in enumerate(records):
        x = float(position) if x_key is None else _number(record.get(x_key))
        low, high = _number(record.get("sampled_min")), _number(record.get("sampled_max"))
        if x is not None and low is not None and high is not None:
            band_x.append(x)
            band_low.append(low)
            band_high.append(high)
    mean_x, mean_y = _series(records, "sampled_mean", x_key)
    genotype_x, genotype_y = _series(records, "mean_genotype_acc", x_key)
    if not band_x and not len(genotype_x):
        raise ValueError(
            "no record holds 'sampled_min'/'sampled_max' or 'mean_genotype_acc': pass the per-epoch records "
            "of a DrNAS search"
        )
    figure = Figure(figsize=(6.0, 3.8), layout="constrained")
    axes = figure.add_subplot()
    _style(axes)
    if band_x:
        axes.fill_between(
            band_x,
            band_low,
            band_high,
            color=_TRAIN_COLOR,
            alpha=0.22,
            linewidth=0,
            label="sampled architectures (min–max)",
        )
        axes.plot(band_x, band_low, color=_TRAIN_COLOR, lw=0.7, alpha=0.7)
        axes.plot(band_x, band_high, color=_TRAIN_COLOR, lw=0.7, alpha=0.7)
    if len(mean_x):
        axes.plot(mean_x, mean_y, color=_TRAIN_COLOR, lw=1.3, ls=":", label="sampled architectures (mean)")
    if len(genotype_x):
        marker = "o" if len(genotype_x) <= 60 else None
        axes.plot(genotype_x, genotype_y, color=_HIGHLIGHT_COLOR, lw=1.8, marker=marker, ms=3.0, label="mean genotype")
    axes.set_xlabel(x_key or "record")
    axes.set_ylabel("accuracy (%)")
    axes.legend(frameon=False, loc="lower right")
    if title:
        axes.set_title(title, fontsize=12, weight="bold")
    return _save(figure, out_path)


__all__ = [
    "plot_dirichlet_trajectory",
    "plot_score_scatter",
    "plot_search_history",
    "plot_training_curves",
    "read_jsonl",
]
