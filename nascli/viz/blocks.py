"""MobileNet-space architectures drawn as a strip of blocks per stage (kernel, expansion, identity), PNG/SVG/PDF/DOT.

Each choice block is a box whose width grows with the kernel (3/5/7) and whose height grows with the
expansion (3/6), coloured by kernel and labelled `MB{e} {k}×{k}`; an identity block is a small dashed box.
Stages are grouped under a caption with their width and stride; the fixed stem, first block and head frame
the strip.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from nascli.viz.output import save_outputs

KERNEL_COLORS = {3: "#9ecae1", 5: "#4292c6", 7: "#08519c"}
FIXED_COLOR = "#d9d9d9"
IDENTITY_COLOR = "#ffffff"
_GAP = 0.25


def block_label(kernel: int | None, expansion: int | None) -> str:
    """`MB6 5×5`, or `identity` for None."""
    return "identity" if kernel is None else f"MB{expansion} {kernel}×{kernel}"


def _check(choices: Sequence[int], stages: Sequence[tuple[int, int, int]], shapes: Sequence[tuple[int, int]]) -> None:
    if len(choices) != sum(n for _, n, _ in stages):
        raise ValueError(f"{len(choices)} block choices for {sum(n for _, n, _ in stages)} blocks")
    for choice in choices:
        if not -1 <= int(choice) < len(shapes):
            raise ValueError(f"block choice {choice} is not -1 (identity) or 0..{len(shapes) - 1}")


def mobilenet_strip_dot(choices: Sequence[int], stages: Sequence[tuple[int, int, int]],
                        shapes: Sequence[tuple[int, int]]) -> str:
    """Graphviz DOT of the strip: stem → first block → one cluster per stage → head."""
    _check(choices, stages, shapes)
    lines = ["digraph mobilenet {", "  rankdir=LR;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
             f'  stem [label="stem 3×3 s2", fillcolor="{FIXED_COLOR}"];',
             f'  first [label="MB1 3×3", fillcolor="{FIXED_COLOR}"];', "  stem -> first;"]
    previous, block = "first", 0
    for stage, (width, count, stride) in enumerate(stages):
        lines.append(f"  subgraph cluster_{stage} {{")
        lines.append(f'    label="stage {stage + 1}: {width} ch, stride {stride}";')
        for _ in range(count):
            choice = int(choices[block])
            kernel, expansion = shapes[choice] if choice >= 0 else (None, None)
            style = ', style="dashed"' if choice < 0 else ""
            color = KERNEL_COLORS.get(kernel, IDENTITY_COLOR) if kernel else IDENTITY_COLOR
            lines.append(f'    b{block} [label="{block}: {block_label(kernel, expansion)}", '
                         f'fillcolor="{color}"{style}];')
            block += 1
        lines.append("  }")
    for index in range(block):
        lines.append(f"  {previous} -> b{index};")
        previous = f"b{index}"
    lines += [f'  head [label="1×1 conv, pool, FC", fillcolor="{FIXED_COLOR}"];', f"  {previous} -> head;", "}"]
    return "\n".join(lines) + "\n"


def _figure(choices: Sequence[int], stages: Sequence[tuple[int, int, int]], shapes: Sequence[tuple[int, int]],
            title: str | None) -> Figure:
    items: list[tuple[str, float, float, str, bool]] = [("stem\n3×3 s2", 0.9, 0.9, FIXED_COLOR, False),
                                                        ("MB1\n3×3", 0.9, 0.9, FIXED_COLOR, False)]
    stage_spans: list[tuple[int, int, str]] = []
    block = 0
    for width, count, stride in stages:
        start = len(items)
        for _ in range(count):
            choice = int(choices[block])
            if choice < 0:
                items.append(("id", 0.45, 0.5, IDENTITY_COLOR, True))
            else:
                kernel, expansion = shapes[choice]
                items.append((f"MB{expansion}\n{kernel}×{kernel}", 0.5 + 0.1 * kernel, 0.55 + 0.1 * expansion,
                              KERNEL_COLORS[kernel], False))
            block += 1
        stage_spans.append((start, len(items) - 1, f"{width} ch, s{stride}"))
    items.append(("1×1 conv\npool, FC", 1.1, 0.9, FIXED_COLOR, False))

    positions, x = [], 0.0
    for _, w, _, _, _ in items:
        positions.append(x)
        x += w + _GAP
    total = x - _GAP
    figure = Figure(figsize=(max(6.0, total * 0.75), 2.6))
    axes = figure.add_axes((0.01, 0.02, 0.98, 0.8 if title else 0.9))
    axes.set_xlim(-0.2, total + 0.2)
    axes.set_ylim(-1.1, 1.1)
    axes.axis("off")
    for (label, w, h, color, dashed), left in zip(items, positions, strict=True):
        axes.add_patch(FancyBboxPatch((left, -h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.06",
                                      facecolor=color, edgecolor="#555555", linestyle="--" if dashed else "-",
                                      linewidth=0.8))
        dark = color in (KERNEL_COLORS[5], KERNEL_COLORS[7])
        axes.text(left + w / 2, 0, label, ha="center", va="center", fontsize=6.5, color="white" if dark else "black")
    for left, (_, w, _, _, _), right in zip(positions, items, positions[1:], strict=False):
        axes.add_patch(FancyArrowPatch((left + w, 0), (right, 0), arrowstyle="-|>", mutation_scale=6,
                                       linewidth=0.6, color="#777777"))
    for stage, (first, last, caption) in enumerate(stage_spans):
        start, end = positions[first], positions[last] + items[last][1]
        axes.plot([start, end], [-0.85, -0.85], color="#333333", linewidth=0.8)
        axes.text((start + end) / 2, -1.0, f"stage {stage + 1}: {caption}", ha="center", va="center", fontsize=7)
    if title:
        figure.suptitle(title, fontsize=8)
    return figure


def draw_mobilenet_strip(choices: Sequence[int], stages: Sequence[tuple[int, int, int]],
                         shapes: Sequence[tuple[int, int]], out_paths: Sequence[Path | str],
                         title: str | None = None) -> list[Path]:
    """Draw the architecture (21 choices, −1 identity) as a strip of blocks per stage to PNG/SVG/PDF/DOT paths."""
    _check(choices, stages, shapes)
    return save_outputs(lambda: _figure(choices, stages, shapes, title), out_paths,
                        dot_text=mobilenet_strip_dot(choices, stages, shapes))
