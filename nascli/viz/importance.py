"""Figures of the redundancy analysis: importance distributions per op, a cell with importance-weighted edges,
and the top motifs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nascli.viz.cells import (
    EdgeStyle,
    LegendEntry,
    draw_darts_cell,
    draw_nb201_cell,
    draw_panel,
    graph_panel,
)
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
    return draw_nb201_cell(ops, [out_path], f"{title}\nedge width ∝ importance (Δ error)", styles, legend)[0]


def plot_importance_darts_cell(pairs: Sequence[tuple[str, int]], concat: Sequence[int],
                               importances: Sequence[float], out_path: Path | str, title: str, threshold: float,
                               noise: float = math.nan) -> Path:
    """A DARTS cell whose (op, input) edges are drawn by importance; importances below `noise` are marked."""
    styles, legend = importance_edge_styles([op for op, _ in pairs], importances, threshold, noise)
    return draw_darts_cell(pairs, concat, [out_path], f"{title}\nedge width ∝ importance (Δ error)",
                           styles=styles, legend=legend)[0]


def plot_motifs(motifs: Sequence[tuple[Sequence[str], Sequence[tuple[int, int, str]], str]],
                out_path: Path | str) -> Path:
    """A grid of motif graphs, each (node labels, edges, caption), drawn as the cell diagrams are."""
    count = max(1, len(motifs))
    columns = min(4, count)
    rows = math.ceil(count / columns)
    panels = [graph_panel(labels, edges) for labels, edges, _ in motifs]
    extents = [panel.bounds() for panel in panels] or [(0.0, 1.0, 0.0, 1.0)]
    width = max(b[1] - b[0] for b in extents)
    height = max(b[3] - b[2] for b in extents)
    figure = Figure(figsize=(columns * (width + 0.3), rows * (height + 0.45)), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.ravel()):
        axes.axis("off")
        if index >= len(motifs):
            continue
        xmin, xmax, ymin, ymax = draw_panel(axes, panels[index])
        centre_x, centre_y = (xmin + xmax) / 2, (ymin + ymax) / 2  # one scale for all motifs: the largest's limits
        axes.set_xlim(centre_x - width / 2, centre_x + width / 2)
        axes.set_ylim(centre_y - height / 2, centre_y + height / 2)
        axes.set_title(motifs[index][2], fontsize=9)
    return _save(figure, out_path)
