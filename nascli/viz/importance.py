"""Figures of the redundancy analysis: importance distributions per op, a cell with importance-weighted edges,
and the top motifs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

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


def plot_weighted_cell(node_labels: Sequence[str], positions: Sequence[tuple[float, float]],
                       edges: Sequence[tuple[int, int, str, float]], out_path: Path | str, title: str,
                       threshold: float) -> Path:
    """A cell whose edges are drawn with width ∝ max(importance, 0); labels 'op  OI'; important edges dark."""
    figure = Figure(figsize=(8.0, 4.2), layout="constrained")
    axes = figure.subplots()
    finite = [w for *_, w in edges if math.isfinite(w)]
    scale = max([abs(w) for w in finite] + [1e-9])
    for k, (u, v, op, weight) in enumerate(edges):
        start, end = np.asarray(positions[u], dtype=float), np.asarray(positions[v], dtype=float)
        rad = 0.2 * (1 if k % 2 else -1)
        important = math.isfinite(weight) and weight > threshold
        width = 0.8 + 6.0 * max(weight, 0.0) / scale if math.isfinite(weight) else 0.8
        color = "#b22222" if important else ("#7f7f7f" if math.isfinite(weight) else "#cccccc")
        axes.add_patch(FancyArrowPatch(start, end, connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                       mutation_scale=14, lw=width, color=color, alpha=0.85, shrinkA=16,
                                       shrinkB=16))
        dx, dy = end - start
        middle = (start + end) / 2 + 0.5 * rad * np.array([dy, -dx])  # the arc's midpoint (matplotlib arc3)
        text = f"{op}\n{weight:+.4f}" if math.isfinite(weight) else f"{op}\nmissing"
        axes.text(*middle, text, fontsize=7, ha="center", va="center", zorder=5,
                  bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": color, "lw": 0.5, "alpha": 0.9})
    for label, (x, y) in zip(node_labels, positions, strict=True):
        axes.add_patch(Circle((x, y), 0.28, fc="#f0f0f0", ec="black", zorder=3))
        axes.text(x, y, label, ha="center", va="center", fontsize=8, zorder=4)
    xs = [p[0] for p in positions]
    ys = [p[1] for p in positions]
    axes.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    axes.set_ylim(min(ys) - 1.0, max(ys) + 1.0)
    axes.set_aspect("equal")
    axes.axis("off")
    axes.set_title(f"{title}\n(width ∝ importance; red: > {threshold:g})", fontsize=9)
    return _save(figure, out_path)


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
