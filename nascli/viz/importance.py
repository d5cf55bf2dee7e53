"""Figures of the redundancy analysis: importance distributions per op, a cell with importance-weighted edges,
and the top motifs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from nascli.viz.cells import EdgeStyle, LegendEntry, draw_styled_darts_cell, draw_styled_nb201_cell
from nascli.viz.output import check_suffixes, save_outputs

_GROUP_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _save(figure: Figure, out_path: Path | str) -> Path:
    return save_outputs(figure, check_suffixes([out_path], allow_dot=False))[0]


def plot_importance_distributions(panels: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]],
                                  ops: Sequence[str], out_path: Path | str, threshold: float) -> Path:
    """One panel per key of `panels` (e.g. a dataset or a cell kind), box plots per op with one box per
    group (e.g. top / bottom); the importance threshold as a dashed line."""
    n = max(1, len(panels))
    figure = Figure(figsize=(max(6.0, 1.3 * len(ops)), 3.2 * n), layout="constrained")
    axes_list = figure.subplots(n, 1, squeeze=False)[:, 0]
    for axes, (title, groups) in zip(axes_list, panels.items(), strict=False):
        names = list(groups)
        width = 0.8 / max(1, len(names))
        for g, name in enumerate(names):
            data = [np.asarray([v for v in groups[name].get(op, []) if math.isfinite(v)]) for op in ops]
            positions = np.arange(len(ops)) + (g - (len(names) - 1) / 2) * width
            keep = [i for i, d in enumerate(data) if len(d)]
            if keep:
                boxes = axes.boxplot([data[i] for i in keep], positions=positions[keep], widths=width * 0.9,
                                     patch_artist=True, showfliers=False)
                for patch in boxes["boxes"]:
                    patch.set_facecolor(_GROUP_COLORS[g % len(_GROUP_COLORS)])
                    patch.set_alpha(0.6)
            axes.plot([], [], color=_GROUP_COLORS[g % len(_GROUP_COLORS)], lw=6, alpha=0.6, label=name)
        axes.axhline(threshold, color="0.3", lw=0.8, ls="--")
        axes.axhline(0.0, color="0.6", lw=0.6)
        axes.set_xticks(np.arange(len(ops)), list(ops), rotation=20)
        axes.set_ylabel("importance (Δ error)")
        axes.set_title(title)
        axes.legend(loc="upper right", fontsize=8)
    return _save(figure, out_path)


_IMPORTANT_COLOR = "#b22222"
_PLAIN_COLOR = "#7f7f7f"
_NOISE_COLOR = "#e0a060"
_MISSING_COLOR = "#c8c8c8"


def importance_edge_styles(ops: Sequence[str], importances: Sequence[float], threshold: float,
                           noise: float = math.nan) -> tuple[list[EdgeStyle], list[LegendEntry]]:
    """Edge styles for a cell weighted by importance (width ∝ importance; important red, below the measured
    noise orange and dashed, missing light grey) and the legend lines of the kinds present."""
    finite = [abs(w) for w in importances if math.isfinite(w)]
    scale = max(finite + [1e-9])
    styles, kinds = [], set()
    for op, weight in zip(ops, importances, strict=True):
        if not math.isfinite(weight):
            styles.append(EdgeStyle(f"{op}\nmissing", _MISSING_COLOR, 1.0, dashed=True))
            kinds.add("missing")
            continue
        width = 1.0 + 5.0 * max(weight, 0.0) / scale
        if math.isfinite(noise) and abs(weight) < noise:
            styles.append(EdgeStyle(f"{op}\n{weight:+.4f}", _NOISE_COLOR, width, dashed=True))
            kinds.add("noise")
        elif weight > threshold:
            styles.append(EdgeStyle(f"{op}\n{weight:+.4f}", _IMPORTANT_COLOR, width))
            kinds.add("important")
        else:
            styles.append(EdgeStyle(f"{op}\n{weight:+.4f}", _PLAIN_COLOR, width))
            kinds.add("plain")
    legend_lines = {
        "important": (f"important (> {threshold:g})", _IMPORTANT_COLOR, False),
        "plain": (f"not important (≤ {threshold:g})", _PLAIN_COLOR, False),
        "noise": (f"|importance| below the noise ({noise:.4f})", _NOISE_COLOR, True),
        "missing": ("a neighbour is missing", _MISSING_COLOR, True),
    }
    return styles, [line for kind, line in legend_lines.items() if kind in kinds]


def plot_importance_nb201_cell(ops: Sequence[str], importances: Sequence[float], out_path: Path | str, title: str,
                               threshold: float) -> Path:
    """An NB201 cell whose 6 edges are drawn by importance (label: op and importance)."""
    styles, legend = importance_edge_styles(ops, importances, threshold)
    return draw_styled_nb201_cell(ops, styles, [out_path], f"{title}\nedge width ∝ importance (Δ error)", legend)[0]


def plot_importance_darts_cell(pairs: Sequence[tuple[str, int]], concat: Sequence[int],
                               importances: Sequence[float], out_path: Path | str, title: str, threshold: float,
                               noise: float = math.nan) -> Path:
    """A DARTS cell whose (op, input) edges are drawn by importance; importances below `noise` are marked."""
    styles, legend = importance_edge_styles([op for op, _ in pairs], importances, threshold, noise)
    return draw_styled_darts_cell(pairs, concat, styles, [out_path], f"{title}\nedge width ∝ importance (Δ error)",
                                  legend)[0]


def plot_motifs(motifs: Sequence[tuple[Sequence[str], Sequence[tuple[int, int, str]], str]],
                out_path: Path | str) -> Path:
    """A grid of motif graphs, each (node labels, edges, caption)."""
    count = max(1, len(motifs))
    columns = min(4, count)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(3.2 * columns, 2.8 * rows), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.ravel()):
        axes.axis("off")
        if index >= len(motifs):
            continue
        labels, edges, caption = motifs[index]
        n = len(labels)
        angle = np.linspace(0, 2 * np.pi, n, endpoint=False) + np.pi / 2
        pos = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        for u, v, op in edges:
            axes.add_patch(FancyArrowPatch(pos[u], pos[v], arrowstyle="-|>", mutation_scale=12, lw=1.4,
                                           color="#1f4e79", shrinkA=12, shrinkB=12))
            mid = (pos[u] + pos[v]) / 2
            axes.text(*mid, op, fontsize=6.5, ha="center", va="center",
                      bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})
        for k, label in enumerate(labels):
            axes.add_patch(Circle(pos[k], 0.2, fc="#f0f0f0", ec="black", zorder=3))
            axes.text(*pos[k], label, fontsize=6.5, ha="center", va="center", zorder=4)
        axes.set_xlim(-1.5, 1.5)
        axes.set_ylim(-1.5, 1.5)
        axes.set_aspect("equal")
        axes.set_title(caption, fontsize=8)
    return _save(figure, out_path)
