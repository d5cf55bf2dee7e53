"""Cell diagrams of NAS-Bench-201 and DARTS architectures: PNG/SVG/PDF through matplotlib, DOT as text.

Graphviz is not needed: nodes are placed here (NB201: the four nodes in a row with arcs for the skip
edges, like the NAS-Bench-201 paper figure; DARTS: left-to-right ranks like the graphviz figures of the
DARTS paper), and each edge's curvature and label position are chosen by a small search that keeps
edges off other nodes and labels off nodes, labels and other edges.

`none` edges are drawn, not omitted: dashed and grey, labelled `none`, so every one of the six NB201
edges is visible and the figure reads back to the same architecture string.
"""

from __future__ import annotations

import math
import operator
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from nascli.viz.layout import Box, Edge, EdgeRouter, Node, Route, text_size
from nascli.viz.output import check_suffixes, save_outputs

NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
"""(target node, source node) of the six NB201 edges in the canonical order of the arch string."""

NONE_OP = "none"
OP_COLORS = {
    NONE_OP: "#9e9e9e",
    "skip_connect": "#2ca02c",
    "nor_conv_1x1": "#17becf",
    "nor_conv_3x3": "#1f77b4",
    "avg_pool_3x3": "#ff7f0e",
    "max_pool_3x3": "#8c564b",
    "sep_conv_3x3": "#1f77b4",
    "sep_conv_5x5": "#9467bd",
    "dil_conv_3x3": "#d62728",
    "dil_conv_5x5": "#e377c2",
    "conv_7x1_1x7": "#bcbd22",
}
"""Edge colour per operation; ops not listed get a stable colour from `_FALLBACK_COLORS`."""

_FALLBACK_COLORS = ("#7b4173", "#637939", "#843c39", "#3182bd", "#e6550d", "#31a354")
_OP_ORDER = tuple(OP_COLORS)

# Node fills of the DARTS graphviz figures: darkseagreen2 (inputs), lightblue, palegoldenrod (output).
INPUT_FILL = "#b4eeb4"
NODE_FILL = "#add8e6"
OUTPUT_FILL = "#eee8aa"
CONCAT_EDGE_COLOR = "#595959"

_OP_FONTSIZE = 9.0
_NODE_FONTSIZE = 11.0
_CAPTION_FONTSIZE = 11.0
_TITLE_FONTSIZE = 12.5
_LABEL_PAD = 0.2  # bbox pad of an op label, in units of its font size


def op_color(op: str) -> str:
    """The edge colour of an operation (stable across runs for ops outside the known palette)."""
    if op in OP_COLORS:
        return OP_COLORS[op]
    return _FALLBACK_COLORS[zlib.crc32(op.encode()) % len(_FALLBACK_COLORS)]


# ---------------------------------------------------------------------------------------------------
# Validation


def _check_op(op: object, where: str) -> str:
    """`op` as a non-empty string; `ValueError` naming `where` otherwise."""
    if not isinstance(op, str) or not op:
        raise ValueError(f"{where}: the operation must be a non-empty name such as 'sep_conv_3x3', got {op!r}")
    return op


def _check_nb201_ops(ops: Sequence[str]) -> list[str]:
    """The six NB201 op names; `ValueError` for an arch string, a wrong count or a non-name."""
    if isinstance(ops, str):
        raise ValueError(
            "an NB201 cell is drawn from its 6 op names in canonical edge order, not from a string: "
            "parse the arch string first (e.g. ['nor_conv_3x3', 'none', ...])"
        )
    ops = list(ops)
    if len(ops) != len(NB201_EDGES):
        raise ValueError(
            f"an NB201 cell has {len(NB201_EDGES)} edges (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2), got {len(ops)} op names"
        )
    return [_check_op(op, f"NB201 edge {i}") for i, op in enumerate(ops)]


def _node_sizes(count: int, steps: int) -> tuple[int, ...] | None:
    """Inputs per node of a cell with `count` pairs: two each (a genotype) or every earlier state (BPE's dense
    cell, 2, 3, … steps+1); None when neither fits."""
    if count == 2 * steps:
        return (2,) * steps
    if count == sum(range(2, steps + 2)):
        return tuple(range(2, steps + 2))
    return None


def _targets(count: int, steps: int) -> list[int]:
    """The state (2..) each of the `count` pairs feeds, in pair order."""
    sizes = _node_sizes(count, steps) or (2,) * steps
    return [2 + node for node, size in enumerate(sizes) for _ in range(size)]


def _node_pairs(edges: Sequence[tuple[str, int]], steps: int, state: int) -> list[tuple[str, int]]:
    """The pairs that feed `state`."""
    return [pair for pair, target in zip(edges, _targets(len(edges), steps), strict=True) if target == state]


def _check_darts_half(
    edges: Sequence[tuple[str, int]], concat: Sequence[int], steps: int
) -> tuple[list[tuple[str, int]], list[int]]:
    """A DARTS genotype half (or a dense cell) as (op, input) pairs and concat states; `ValueError` when malformed."""
    if steps < 1:
        raise ValueError(f"a DARTS cell needs at least one intermediate node, got steps={steps}")
    edges = list(edges)
    if _node_sizes(len(edges), steps) is None:
        raise ValueError(
            f"a DARTS cell with {steps} intermediate nodes has {2 * steps} (op, input) pairs "
            f"(two per node; a dense cell {sum(range(2, steps + 2))}), got {len(edges)}"
        )
    targets = _targets(len(edges), steps)
    checked: list[tuple[str, int]] = []
    for position, pair in enumerate(edges):
        node = targets[position] - 2
        try:
            op, source = pair
            source = operator.index(source)
        except (TypeError, ValueError):
            raise ValueError(f"pair {position} of the cell must be (op name, input index), got {pair!r}") from None
        op = _check_op(op, f"pair {position}")
        if not 0 <= source <= node + 1:
            raise ValueError(
                f"pair {position} ({op!r}, {source}) feeds intermediate node {node} (state {node + 2}), "
                f"so its input must be a state 0..{node + 1} (0 = c_{{k-2}}, 1 = c_{{k-1}}, "
                f"2.. = earlier nodes)"
            )
        checked.append((op, source))
    try:
        states = [operator.index(state) for state in concat]
    except TypeError:
        raise ValueError(f"concat must list state numbers such as [2, 3, 4, 5], got {concat!r}") from None
    if not states:
        raise ValueError("concat is empty: list the states the cell output concatenates, e.g. [2, 3, 4, 5]")
    for state in states:
        if not 2 <= state < steps + 2:
            raise ValueError(
                f"concat state {state} is not an intermediate node: states run 2..{steps + 1} "
                f"(state 2 = node 0), e.g. concat=[2, 3, 4, 5]"
            )
    if len(set(states)) != len(states):
        raise ValueError(f"concat lists a state twice: {states}")
    return checked, states


# ---------------------------------------------------------------------------------------------------
# DOT text


def _dot_quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_edge_attributes(op: str) -> str:
    """DOT attributes of an op edge: label and colour, dashed grey for `none`."""
    attributes = [f"label={_dot_quote(op)}", f"color={_dot_quote(op_color(op))}"]
    if op == NONE_OP:
        attributes.append("style=dashed")
    return ", ".join(attributes)


def nb201_cell_dot(ops: Sequence[str]) -> str:
    """DOT text of an NB201 cell: nodes 0 (input) … 3 (output), six edges labelled with their ops."""
    ops = _check_nb201_ops(ops)
    fills = {0: INPUT_FILL, 1: NODE_FILL, 2: NODE_FILL, 3: OUTPUT_FILL}
    lines = [
        'digraph "nb201_cell" {',
        "  rankdir=LR;",
        '  node [shape=circle, style=filled, fontname="Helvetica", penwidth=1.5];',
        '  edge [fontname="Helvetica", fontsize=11];',
    ]
    lines += [f'  "{node}" [label="{node}", fillcolor="{fill}"];' for node, fill in fills.items()]
    lines += [
        f'  "{source}" -> "{target}" [{_dot_edge_attributes(op)}];'
        for (target, source), op in zip(NB201_EDGES, ops, strict=True)
    ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _darts_node_names(steps: int) -> list[str]:
    """Display names of the DARTS cell states: c_{k-2}, c_{k-1}, 0 … steps-1."""
    return ["c_{k-2}", "c_{k-1}"] + [str(node) for node in range(steps)]


def _darts_dot_body(edges: list[tuple[str, int]], concat: list[int], steps: int, prefix: str, indent: str) -> list[str]:
    """Node and edge statements of one DARTS cell; node ids carry `prefix` so two cells can share a graph."""
    names = _darts_node_names(steps)
    output = "c_{k}"

    def node_id(name: str) -> str:
        return _dot_quote(prefix + name)

    lines = [f"{indent}{node_id(name)} [label={_dot_quote(name)}, fillcolor=darkseagreen2];" for name in names[:2]]
    lines += [f"{indent}{node_id(name)} [label={_dot_quote(name)}, fillcolor=lightblue];" for name in names[2:]]
    lines.append(f"{indent}{node_id(output)} [label={_dot_quote(output)}, fillcolor=palegoldenrod];")
    targets = _targets(len(edges), steps)
    for position, (op, source) in enumerate(edges):
        target = names[targets[position]]
        lines.append(f"{indent}{node_id(names[source])} -> {node_id(target)} [{_dot_edge_attributes(op)}];")
    lines += [f"{indent}{node_id(names[state])} -> {node_id(output)} [color=gray];" for state in concat]
    return lines


_DARTS_DOT_STYLE = (
    "rankdir=LR;",
    'node [style=filled, shape=rect, align=center, fontsize=20, height=0.5, width=0.5, penwidth=2, fontname="times"];',
    'edge [fontsize=20, fontname="times"];',
)


def darts_cell_dot(edges: Sequence[tuple[str, int]], concat: Sequence[int], name: str = "cell", steps: int = 4) -> str:
    """DOT text of one DARTS cell as the DARTS paper drew it: c_{k-2}, c_{k-1} → nodes 0..3 → c_{k}."""
    checked, states = _check_darts_half(edges, concat, steps)
    lines = [f"digraph {_dot_quote(name)} {{"] + [f"  {line}" for line in _DARTS_DOT_STYLE]
    lines += _darts_dot_body(checked, states, steps, prefix="", indent="  ")
    lines.append("}")
    return "\n".join(lines) + "\n"


def darts_genotype_dot(
    normal: Sequence[tuple[str, int]],
    normal_concat: Sequence[int],
    reduce: Sequence[tuple[str, int]],
    reduce_concat: Sequence[int],
    name: str = "genotype",
    steps: int = 4,
) -> str:
    """DOT text of a DARTS genotype: the normal and the reduction cell as two clusters of one graph."""
    halves = [
        ("normal", "normal cell", *_check_darts_half(normal, normal_concat, steps)),
        ("reduce", "reduction cell", *_check_darts_half(reduce, reduce_concat, steps)),
    ]
    lines = [f"digraph {_dot_quote(name)} {{"] + [f"  {line}" for line in _DARTS_DOT_STYLE]
    for cell_name, caption, cell_edges, cell_concat in halves:
        lines.append(f"  subgraph {_dot_quote('cluster_' + cell_name)} {{")
        lines.append(f"    label={_dot_quote(caption)};")
        lines += _darts_dot_body(cell_edges, cell_concat, steps, prefix=f"{cell_name}_", indent="    ")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------
# Panels (all lengths in inches: a panel's axes are sized so that one data unit is one inch)


@dataclass(frozen=True)
class _Note:
    """Free text placed in a panel (e.g. 'input' beside node 0)."""

    text: str
    x: float
    y: float
    ha: str


@dataclass(frozen=True)
class EdgeStyle:
    """How one op edge is drawn instead of by its op's colour: its label text (may hold several lines), colour,
    line width and whether it is dashed."""

    text: str
    color: str
    width: float = 1.5
    dashed: bool = False


LegendEntry = tuple[str, str, bool]
"""(text, colour, dashed) of one legend line."""


@dataclass
class _Panel:
    """One cell diagram: nodes, routed edges and notes, plus an optional caption above it; `styles` (one per op
    edge, in edge order) overrides the op colours."""

    nodes: dict[str, Node]
    routes: list[Route]
    notes: list[_Note]
    caption: str | None
    styles: Sequence[EdgeStyle] | None = None

    def note_box(self, note: _Note) -> Box:
        """The box a note occupies."""
        width, height = text_size(note.text, _OP_FONTSIZE)
        offset = {"left": width / 2, "right": -width / 2, "center": 0.0}[note.ha]
        return Box(note.x + offset, note.y, width / 2, height / 2 + 0.02)

    def bounds(self, margin: float = 0.14) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) covering every node, edge, label and note."""
        extents = [node.box.extent() for node in self.nodes.values()]
        extents += [route.label_box.extent() for route in self.routes if route.label_box is not None]
        extents += [self.note_box(note).extent() for note in self.notes]
        extents += [route.bounds for route in self.routes]
        array = np.array(extents)
        return (
            array[:, 0].min() - margin,
            array[:, 1].max() + margin,
            array[:, 2].min() - margin,
            array[:, 3].max() + margin,
        )


# ---------------------------------------------------------------------------------------------------
# Drawing


def _draw_panel(axes: Axes, panel: _Panel) -> None:
    """Draw nodes, edges, labels and notes of one panel onto `axes` (data units = inches)."""
    patches = {}
    for node in panel.nodes.values():
        if node.shape == "circle":
            patch = Circle((node.x, node.y), node.half_w, facecolor=node.fill, edgecolor="black", lw=1.4, zorder=3)
        else:
            patch = FancyBboxPatch(
                (node.x - node.half_w, node.y - node.half_h),
                2 * node.half_w,
                2 * node.half_h,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=node.fill,
                edgecolor="black",
                lw=1.4,
                zorder=3,
            )
        axes.add_patch(patch)
        patches[node.key] = patch
        axes.text(node.x, node.y, node.label, ha="center", va="center", fontsize=_NODE_FONTSIZE, zorder=4)
    for index, route in enumerate(panel.routes):
        edge = route.edge
        source, target = panel.nodes[edge.source], panel.nodes[edge.target]
        style = panel.styles[index] if panel.styles is not None and edge.label is not None else None
        if style is not None:
            color, dashed, width = style.color, style.dashed, style.width
        else:
            color = CONCAT_EDGE_COLOR if edge.label is None else op_color(edge.label)
            dashed, width = edge.label == NONE_OP, 1.0 if edge.label is None else 1.5
        axes.add_patch(
            FancyArrowPatch(
                posA=(source.x, source.y),
                posB=(target.x, target.y),
                connectionstyle=f"arc3,rad={route.rad}",
                arrowstyle="-|>",
                mutation_scale=11 if edge.label is not None else 9,
                lw=width,
                linestyle=(0, (4, 2.5)) if dashed else "-",
                color=color,
                patchA=patches[edge.source],
                patchB=patches[edge.target],
                shrinkA=0.5,
                shrinkB=1.0,
                zorder=2,
            )
        )
        if route.label_box is not None and edge.label is not None:
            axes.text(
                route.label_box.cx,
                route.label_box.cy,
                edge.label,
                ha="center",
                va="center",
                fontsize=_OP_FONTSIZE,
                color="#555555" if dashed else "black",
                zorder=5,
                bbox={
                    "boxstyle": f"round,pad={_LABEL_PAD}",
                    "facecolor": "white",
                    "edgecolor": color,
                    "linewidth": 0.9,
                    "linestyle": "--" if dashed else "-",
                },
            )
    for note in panel.notes:
        axes.text(
            note.x, note.y, note.text, ha=note.ha, va="center", fontsize=_OP_FONTSIZE, style="italic", color="#444444"
        )


def _legend_layout(texts: Sequence[str], max_width: float) -> tuple[int, int, float]:
    """Columns, rows and total width (inches) of a one-line-per-entry legend that fits `max_width`."""
    widths = [0.62 + text_size(text, _OP_FONTSIZE)[0] for text in texts]
    columns = len(texts)
    while columns > 1:
        column_widths = [max(widths[c::columns]) for c in range(columns)]
        if sum(column_widths) <= max_width:
            break
        columns -= 1
    rows = math.ceil(len(texts) / columns)
    return columns, rows, sum(max(widths[c::columns]) for c in range(columns))


def _op_legend(ops: Sequence[str]) -> list[LegendEntry]:
    """One legend line per op, in its edge colour (`none` dashed)."""
    return [(op, op_color(op), op == NONE_OP) for op in ops]


def _render(panels: Sequence[_Panel], title: str | None, legend: Sequence[LegendEntry]) -> Figure:
    """A figure holding the panels side by side, a title above and a legend below."""
    side, gap = 0.12, 0.45
    bounds = [panel.bounds() for panel in panels]
    widths = [b[1] - b[0] for b in bounds]
    heights = [b[3] - b[2] for b in bounds]
    content_width = sum(widths) + gap * (len(panels) - 1)
    figure_width = content_width + 2 * side
    title_height = 0.0
    if title:
        lines = title.split("\n")
        title_width = max(text_size(line, _TITLE_FONTSIZE, weight="bold")[0] for line in lines)
        figure_width = max(figure_width, title_width + 0.4)
        # matplotlib spaces the lines of a text 1.2 font sizes apart
        title_height = text_size(lines[0], _TITLE_FONTSIZE)[1] + 1.2 * _TITLE_FONTSIZE / 72.0 * (len(lines) - 1) + 0.22
    legend_height = 0.0
    if legend:
        columns, rows, legend_width = _legend_layout([text for text, _, _ in legend], max(figure_width, 4.0) - 0.2)
        figure_width = max(figure_width, legend_width + 0.3)
        legend_height = 0.24 * rows + 0.16
    caption_height = 0.32 if any(panel.caption for panel in panels) else 0.0
    panel_height = max(heights)
    figure_height = legend_height + panel_height + caption_height + title_height + 0.08

    figure = Figure(figsize=(figure_width, figure_height))
    left = (figure_width - content_width) / 2
    for panel, (xmin, xmax, ymin, ymax), width, height in zip(panels, bounds, widths, heights, strict=True):
        bottom = legend_height + (panel_height - height) / 2
        axes = figure.add_axes(
            (left / figure_width, bottom / figure_height, width / figure_width, height / figure_height)
        )
        axes.set_xlim(xmin, xmax)
        axes.set_ylim(ymin, ymax)
        axes.set_axis_off()
        _draw_panel(axes, panel)
        if panel.caption:
            figure.text(
                (left + width / 2) / figure_width,
                (legend_height + panel_height + 0.06) / figure_height,
                panel.caption,
                ha="center",
                va="bottom",
                fontsize=_CAPTION_FONTSIZE,
            )
        left += width + gap
    if title:
        figure.text(0.5, 1 - 0.1 / figure_height, title, ha="center", va="top", fontsize=_TITLE_FONTSIZE, weight="bold")
    if legend:
        handles = [Line2D([], [], color=color, lw=2.0, linestyle=(0, (4, 2.5)) if dashed else "-")
                   for _, color, dashed in legend]
        figure.legend(
            handles,
            [text for text, _, _ in legend],
            loc="lower center",
            bbox_to_anchor=(0.5, 0.04 / figure_height),
            ncol=columns,
            frameon=False,
            fontsize=_OP_FONTSIZE,
            handlelength=2.2,
            columnspacing=1.2,
        )
    return figure


def _text_block_size(text: str) -> tuple[float, float]:
    """Width and height (inches) of edge-label text of one or more lines."""
    sizes = [text_size(line, _OP_FONTSIZE) for line in text.split("\n")]
    line_gaps = 0.25 * _OP_FONTSIZE / 72.0 * (len(sizes) - 1)
    return max(size[0] for size in sizes), sum(size[1] for size in sizes) + line_gaps


def _label_size(text: str) -> tuple[float, float]:
    """Width and height (inches) of an edge label including its box padding."""
    width, height = _text_block_size(text)
    pad = 2 * _LABEL_PAD * _OP_FONTSIZE / 72.0
    return width + pad, height + pad


def _ordered_ops(ops: Sequence[str]) -> list[str]:
    """Distinct ops in palette order, unknown ones after in order of appearance."""
    distinct = list(dict.fromkeys(ops))
    known = [op for op in _OP_ORDER if op in distinct]
    return known + [op for op in distinct if op not in OP_COLORS]


# ---------------------------------------------------------------------------------------------------
# NB201


def _nb201_panel(ops: list[str], styles: Sequence[EdgeStyle] | None = None) -> _Panel:
    """Four circles in a row; the skip edges arc over (0→2, 0→3) and under (1→3) the chain."""
    radius = 0.23
    texts = [style.text for style in styles] if styles is not None else ops
    spacing = max(1.75, max(_text_block_size(text)[0] for text in texts) + 2 * radius + 0.55)
    fills = [INPUT_FILL, NODE_FILL, NODE_FILL, OUTPUT_FILL]
    nodes = {str(i): Node(str(i), str(i), i * spacing, 0.0, radius, radius, fills[i], "circle") for i in range(4)}
    # Fixed arcs give the familiar symmetric picture; positive rad bends a left-to-right edge downwards.
    arcs = {(2, 0): -0.36, (3, 0): -0.56, (3, 1): 0.4}
    edges = [
        Edge(str(source), str(target), text, _label_size(text), arcs.get((target, source), 0.0))
        for (target, source), text in zip(NB201_EDGES, texts, strict=True)
    ]
    notes = [_Note("input", -radius - 0.08, 0.0, "right"), _Note("output", 3 * spacing + radius + 0.08, 0.0, "left")]
    obstacles = [_Panel(nodes, [], [], None).note_box(note) for note in notes]
    return _Panel(nodes, EdgeRouter(nodes, edges, obstacles).route(), notes, None, styles)


def _check_styles(styles: Sequence[EdgeStyle] | None, count: int, what: str) -> None:
    if styles is not None and len(styles) != count:
        raise ValueError(f"{what} has {count} edges, got {len(styles)} edge styles")


def draw_nb201_cell(ops: Sequence[str], out_paths: Sequence[Path | str], title: str | None = None,
                    styles: Sequence[EdgeStyle] | None = None,
                    legend: Sequence[LegendEntry] | None = None) -> list[Path]:
    """Draw an NB201 cell (6 ops in canonical edge order) to each path: .png/.svg/.pdf, or .dot text; `styles`
    (one per edge) replace the op colours and labels, `legend` the op legend."""
    ops = _check_nb201_ops(ops)
    _check_styles(styles, len(ops), "an NB201 cell")
    check_suffixes(out_paths, allow_dot=True)

    def build() -> Figure:
        return _render([_nb201_panel(ops, styles)], title,
                       legend=_op_legend(_ordered_ops(ops)) if legend is None else legend)

    return save_outputs(build, out_paths, dot_text=nb201_cell_dot(ops))


# ---------------------------------------------------------------------------------------------------
# DARTS


def _darts_panel(edges: list[tuple[str, int]], concat: list[int], steps: int, caption: str | None,
                 styles: Sequence[EdgeStyle] | None = None) -> _Panel:
    """Left-to-right ranks as graphviz lays out the DARTS figures: inputs, intermediate nodes, c_{k}."""
    # A state's rank is its longest distance from the inputs, so every edge points rightwards.
    rank = {0: 0, 1: 0}
    for node in range(steps):
        rank[node + 2] = 1 + max(rank[source] for _, source in _node_pairs(edges, steps, node + 2))
    targets = _targets(len(edges), steps)
    output_rank = max(rank.values()) + 1
    texts = [style.text for style in styles] if styles is not None else [op for op, _ in edges]
    label_width = max(_text_block_size(text)[0] for text in texts)
    # A gap between two ranks widens with the number of labelled edges that cross it.
    column_x = [0.0]
    for gap in range(output_rank):
        crossing = sum(1 for position, (_, source) in enumerate(edges) if rank[source] <= gap < rank[targets[position]])
        column_x.append(column_x[-1] + max(1.75, label_width + 0.95) + 0.1 * max(0, crossing - 4))
    row_gap = 1.2

    first_rank = sum(1 for state in range(2, steps + 2) if rank[state] == 1)
    input_offset = max(0.55, 0.4 * (first_rank - 1) * row_gap)
    y = {0: input_offset, 1: -input_offset}
    for current in range(1, output_rank):
        members = [state for state in range(2, steps + 2) if rank[state] == current]
        if not members:
            continue
        # Order a rank by the mean height of each node's inputs (barycentre), as graphviz does.
        barycentre = {
            state: float(np.mean([y[source] for _, source in _node_pairs(edges, steps, state)]))
            for state in members
        }
        members.sort(key=lambda state: (-barycentre[state], state))
        centre = float(np.mean(list(barycentre.values())))
        for position, state in enumerate(members):
            y[state] = centre - (position - (len(members) - 1) / 2) * row_gap

    names = ["$c_{k-2}$", "$c_{k-1}$"] + [str(node) for node in range(steps)]
    nodes: dict[str, Node] = {}
    for state in range(steps + 2):
        width, _ = text_size(names[state], _NODE_FONTSIZE)
        half_w = max(0.2, width / 2 + 0.1)
        fill = INPUT_FILL if state < 2 else NODE_FILL
        nodes[str(state)] = Node(str(state), names[state], column_x[rank[state]], y[state], half_w, 0.2, fill, "box")
    output_width, _ = text_size("$c_{k}$", _NODE_FONTSIZE)
    output_y = float(np.mean([y[state] for state in concat]))
    nodes["out"] = Node(
        "out", "$c_{k}$", column_x[output_rank], output_y, max(0.2, output_width / 2 + 0.1), 0.2, OUTPUT_FILL, "box"
    )
    drawn_edges = [
        Edge(str(source), str(targets[position]), texts[position], _label_size(texts[position]))
        for position, (_, source) in enumerate(edges)
    ]
    drawn_edges += [Edge(str(state), "out", None) for state in concat]
    return _Panel(nodes, EdgeRouter(nodes, drawn_edges).route(), [], caption, styles)


def draw_darts_cell(
    edges: Sequence[tuple[str, int]],
    concat: Sequence[int],
    out_paths: Sequence[Path | str],
    title: str | None = None,
    steps: int = 4,
    styles: Sequence[EdgeStyle] | None = None,
    legend: Sequence[LegendEntry] = (),
) -> list[Path]:
    """Draw one DARTS cell (flat (op, input) pairs + concat states) to each .png/.svg/.pdf/.dot path; `styles`
    (one per pair) replace the op colours and labels."""
    checked, states = _check_darts_half(edges, concat, steps)
    _check_styles(styles, len(checked), "the cell")
    check_suffixes(out_paths, allow_dot=True)

    def build() -> Figure:
        return _render([_darts_panel(checked, states, steps, None, styles)], title, legend=legend)

    dot_text = darts_cell_dot(checked, states, name=title or "cell", steps=steps)
    return save_outputs(build, out_paths, dot_text=dot_text)


def draw_darts_genotype(
    normal: Sequence[tuple[str, int]],
    normal_concat: Sequence[int],
    reduce: Sequence[tuple[str, int]],
    reduce_concat: Sequence[int],
    out_paths: Sequence[Path | str],
    title: str | None = None,
    steps: int = 4,
) -> list[Path]:
    """Draw a DARTS genotype, normal and reduction cell side by side in one figure per path (.dot: two clusters)."""
    normal_edges, normal_states = _check_darts_half(normal, normal_concat, steps)
    reduce_edges, reduce_states = _check_darts_half(reduce, reduce_concat, steps)
    check_suffixes(out_paths, allow_dot=True)

    def build() -> Figure:
        panels = [
            _darts_panel(normal_edges, normal_states, steps, "normal cell"),
            _darts_panel(reduce_edges, reduce_states, steps, "reduction cell"),
        ]
        return _render(panels, title, legend=())

    dot_text = darts_genotype_dot(
        normal_edges, normal_states, reduce_edges, reduce_states, name=title or "genotype", steps=steps
    )
    return save_outputs(build, out_paths, dot_text=dot_text)


# ---------------------------------------------------------------------------------------------------
# Free graphs (e.g. the motifs of the redundancy analysis)


def graph_panel(labels: Sequence[str], edges: Sequence[tuple[int, int, str]]) -> _Panel:
    """A small directed graph: circles on a ring (the first at the top), op-coloured edges whose curvature and
    label places are routed clear of the nodes and of each other; fills by role (input, output, other)."""
    count = max(1, len(labels))
    radius = max(0.95, 0.42 * count)  # inches: room for two labels between neighbours on the ring
    nodes: dict[str, Node] = {}
    for index, label in enumerate(labels):
        angle = math.pi / 2 - 2 * math.pi * index / count
        half = max(0.24, text_size(label, _OP_FONTSIZE)[0] / 2 + 0.07)
        fill = INPUT_FILL if label.startswith("input") else OUTPUT_FILL if label == "output" else NODE_FILL
        nodes[str(index)] = Node(str(index), label, radius * math.cos(angle), radius * math.sin(angle), half, half,
                                 fill, "circle")
    routed = [Edge(str(source), str(target), op, _label_size(op)) for source, target, op in edges]
    return _Panel(nodes, EdgeRouter(nodes, routed).route(), [], None)


def draw_panel(axes: Axes, panel: _Panel) -> tuple[float, float, float, float]:
    """Draw `panel` onto `axes` (one data unit = one inch, equal aspect); returns the limits it set."""
    _draw_panel(axes, panel)
    xmin, xmax, ymin, ymax = panel.bounds()
    axes.set_xlim(xmin, xmax)
    axes.set_ylim(ymin, ymax)
    axes.set_aspect("equal")
    axes.set_axis_off()
    return xmin, xmax, ymin, ymax


__all__ = [
    "NB201_EDGES",
    "EdgeStyle",
    "LegendEntry",
    "OP_COLORS",
    "darts_cell_dot",
    "darts_genotype_dot",
    "draw_darts_cell",
    "draw_darts_genotype",
    "draw_panel",
    "draw_nb201_cell",
    "graph_panel",
    "nb201_cell_dot",
    "op_color",
]
