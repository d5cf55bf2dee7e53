"""Cell diagrams: DOT structure against the NB201/DARTS definitions, valid PNG/SVG files, readable layout."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from PIL import Image

from nascli.viz import (
    darts_cell_dot,
    darts_genotype_dot,
    draw_darts_cell,
    draw_darts_genotype,
    draw_nb201_cell,
    nb201_cell_dot,
)
from nascli.viz.cells import (
    EdgeStyle,
    _darts_panel,
    _label_size,
    _nb201_panel,
    _Panel,
    graph_panel,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# NB201 index 9930 as the official API prints it.
ARCH_9930 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# An arch string in the official format that uses all five ops, `none` on two edges.
ARCH_WITH_NONE = "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"

# DARTS_V2 from the DARTS repository's genotypes.py.
DARTS_V2_NORMAL = [
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 1),
    ("skip_connect", 0),
    ("skip_connect", 0),
    ("dil_conv_3x3", 2),
]
DARTS_V2_REDUCE = [
    ("max_pool_3x3", 0),
    ("max_pool_3x3", 1),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
    ("max_pool_3x3", 0),
    ("skip_connect", 2),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
]
# NASNet-A from the same file: five intermediate nodes.
NASNET_NORMAL = [
    ("sep_conv_5x5", 1),
    ("sep_conv_3x3", 0),
    ("sep_conv_5x5", 0),
    ("sep_conv_3x3", 0),
    ("avg_pool_3x3", 1),
    ("skip_connect", 0),
    ("avg_pool_3x3", 0),
    ("avg_pool_3x3", 0),
    ("sep_conv_3x3", 1),
    ("skip_connect", 1),
]
CONCAT = [2, 3, 4, 5]
DOT_EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$')


def nb201_triples(arch_str: str) -> list[tuple[int, int, str]]:
    """(source, target, op) of each edge, read straight from the official string: group i is node i+1."""
    triples = []
    for target, group in enumerate(arch_str.split("+"), start=1):
        for token in filter(None, group.split("|")):
            op, source = token.split("~")
            triples.append((int(source), target, op))
    return triples


def nb201_ops(arch_str: str) -> list[str]:
    """The six ops in canonical edge order."""
    return [op for _, _, op in nb201_triples(arch_str)]


def dot_edges(dot: str) -> list[tuple[str, str, str | None, str]]:
    """(source id, target id, label or None, attribute text) of every edge statement."""
    edges = []
    for line in dot.splitlines():
        match = DOT_EDGE.match(line)
        if match:
            label = re.search(r'label="([^"]*)"', match.group(3))
            edges.append((match.group(1), match.group(2), label.group(1) if label else None, match.group(3)))
    return edges


def svg_texts(path: Path) -> list[str]:
    """The text content of every <text> element of an SVG file (the file must parse as XML)."""
    root = ElementTree.parse(path).getroot()
    return ["".join(element.itertext()).strip() for element in root.iter("{http://www.w3.org/2000/svg}text")]


def check_png(path: Path, min_size: tuple[int, int], max_size: tuple[int, int]) -> tuple[int, int]:
    """Assert a real PNG of plausible pixel size; returns (width, height)."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
    assert min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1], (width, height)
    return width, height


# ------------------------------------------------------------------------------------------------ DOT


@pytest.mark.parametrize("arch_str", [ARCH_9930, ARCH_WITH_NONE])
def test_nb201_dot_has_the_six_edges_of_the_arch_string(arch_str: str) -> None:
    edges = dot_edges(nb201_cell_dot(nb201_ops(arch_str)))
    assert [(int(source), int(target), label) for source, target, label, _ in edges] == nb201_triples(arch_str)
    for _, _, label, attributes in edges:
        assert ("style=dashed" in attributes) == (label == "none")


def test_nb201_dot_declares_four_nodes() -> None:
    dot = nb201_cell_dot(nb201_ops(ARCH_9930))
    assert sorted(re.findall(r'^\s*"(\d)" \[label=', dot, flags=re.MULTILINE)) == ["0", "1", "2", "3"]
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")


def test_darts_dot_follows_the_darts_plot_construction() -> None:
    dot = darts_cell_dot(DARTS_V2_NORMAL, CONCAT, name="normal")
    names = ["c_{k-2}", "c_{k-1}", "0", "1", "2", "3"]
    expected = [(names[source], str(position // 2), op) for position, (op, source) in enumerate(DARTS_V2_NORMAL)]
    expected += [(names[state], "c_{k}", None) for state in CONCAT]
    assert [(source, target, label) for source, target, label, _ in dot_edges(dot)] == expected
    assert dot.count("label=") == len(names) + 1 + len(DARTS_V2_NORMAL)  # node labels + 8 edge labels
    assert dot.startswith('digraph "normal"')


def test_darts_dot_concat_decides_the_output_edges() -> None:
    dot = darts_cell_dot(DARTS_V2_NORMAL, [3, 5])
    outputs = [source for source, target, _, _ in dot_edges(dot) if target == "c_{k}"]
    assert outputs == ["1", "3"]


def test_darts_dot_with_five_nodes() -> None:
    edges = dot_edges(darts_cell_dot(NASNET_NORMAL, [2, 3, 4, 5, 6], steps=5))
    assert len(edges) == 10 + 5
    assert sum(label is not None for _, _, label, _ in edges) == 10


def test_darts_genotype_dot_holds_both_cells_with_distinct_ids() -> None:
    dot = darts_genotype_dot(DARTS_V2_NORMAL, CONCAT, DARTS_V2_REDUCE, CONCAT, name="DARTS_V2")
    edges = dot_edges(dot)
    assert len(edges) == 2 * (8 + 4)
    assert dot.count("subgraph") == 2
    normal = [label for source, _, label, _ in edges if source.startswith("normal_") and label]
    reduce = [label for source, _, label, _ in edges if source.startswith("reduce_") and label]
    assert normal == [op for op, _ in DARTS_V2_NORMAL]
    assert reduce == [op for op, _ in DARTS_V2_REDUCE]


# ---------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("edges", "concat", "message"),
    [
        (DARTS_V2_NORMAL[:7], CONCAT, "8 \\(op, input\\) pairs"),
        (DARTS_V2_NORMAL + [("sep_conv_3x3", 0)] * 2, CONCAT, "got 10"),
        ([("sep_conv_3x3", 2)] + DARTS_V2_NORMAL[1:], CONCAT, "pair 0"),
        (DARTS_V2_NORMAL[:7] + [("sep_conv_3x3", 5)], CONCAT, "state 0..4"),
        (DARTS_V2_NORMAL[:1] + [("sep_conv_3x3", -1)] + DARTS_V2_NORMAL[2:], CONCAT, "pair 1"),
        ([("sep_conv_3x3",)] + DARTS_V2_NORMAL[1:], CONCAT, "\\(op name, input index\\)"),
        ([(3, 0)] + DARTS_V2_NORMAL[1:], CONCAT, "operation"),
        ([("sep_conv_3x3", 0.5)] + DARTS_V2_NORMAL[1:], CONCAT, "input index"),
        (DARTS_V2_NORMAL, [2, 3, 4, 6], "concat state 6"),
        (DARTS_V2_NORMAL, [1, 2], "concat state 1"),
        (DARTS_V2_NORMAL, [], "concat is empty"),
        (DARTS_V2_NORMAL, [2, 2], "twice"),
    ],
)
def test_invalid_darts_cells_raise_value_error(edges: list, concat: list, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        darts_cell_dot(edges, concat)
    with pytest.raises(ValueError, match=message):
        draw_darts_cell(edges, concat, [tmp_path / "cell.png"])
    assert not (tmp_path / "cell.png").exists()


def test_invalid_darts_genotype_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pair 0"):
        draw_darts_genotype(
            DARTS_V2_NORMAL, CONCAT, [("max_pool_3x3", 3)] + DARTS_V2_REDUCE[1:], CONCAT, [tmp_path / "g.png"]
        )


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (["nor_conv_3x3"] * 5, "6 edges"),
        (["nor_conv_3x3"] * 7, "got 7"),
        (ARCH_9930, "not from a string"),
        (["nor_conv_3x3"] * 5 + [""], "non-empty"),
    ],
)
def test_invalid_nb201_cells_raise_value_error(ops: object, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        nb201_cell_dot(ops)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        draw_nb201_cell(ops, [tmp_path / "cell.png"])  # type: ignore[arg-type]


def test_unknown_suffix_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.jpg"):
        draw_nb201_cell(nb201_ops(ARCH_9930), [tmp_path / "cell.png", tmp_path / "cell.jpg"])
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="no output path"):
        draw_nb201_cell(nb201_ops(ARCH_9930), [])


# ------------------------------------------------------------------------------------------- files


def test_draw_nb201_cell_writes_png_svg_and_dot(tmp_path: Path) -> None:
    ops = nb201_ops(ARCH_WITH_NONE)
    paths = [tmp_path / "nested" / "cell.png", tmp_path / "nested" / "cell.svg", tmp_path / "cell.dot"]
    assert draw_nb201_cell(ops, paths, title="NB201 cell") == paths
    width, height = check_png(paths[0], (800, 300), (4000, 2500))
    assert width > height  # the four nodes lie in a row
    texts = svg_texts(paths[1])
    for op in set(ops):
        # one label per edge plus one legend entry per distinct op
        assert texts.count(op) == ops.count(op) + 1, op
    assert {"0", "1", "2", "3", "NB201 cell"} <= set(texts)
    assert paths[2].read_text() == nb201_cell_dot(ops)
    assert not list(tmp_path.rglob("*.tmp*"))


def test_draw_darts_genotype_writes_both_cells(tmp_path: Path) -> None:
    paths = [tmp_path / "genotype.png", tmp_path / "genotype.svg", tmp_path / "genotype.dot", tmp_path / "g.pdf"]
    draw_darts_genotype(DARTS_V2_NORMAL, CONCAT, DARTS_V2_REDUCE, CONCAT, paths, title="DARTS_V2")
    width, height = check_png(paths[0], (1500, 400), (8000, 3000))
    assert width > 2 * height  # two cells side by side
    texts = svg_texts(paths[1])
    ops = [op for op, _ in DARTS_V2_NORMAL + DARTS_V2_REDUCE]
    for op in set(ops):
        assert texts.count(op) == ops.count(op), op  # exactly one label per edge
    assert {"normal cell", "reduction cell", "DARTS_V2"} <= set(texts)
    assert paths[2].read_text() == darts_genotype_dot(DARTS_V2_NORMAL, CONCAT, DARTS_V2_REDUCE, CONCAT, name="DARTS_V2")
    assert paths[3].read_bytes()[:5] == b"%PDF-"


def test_draw_darts_cell_writes_one_cell(tmp_path: Path) -> None:
    paths = [tmp_path / "normal.png", tmp_path / "normal.svg"]
    draw_darts_cell(DARTS_V2_NORMAL, CONCAT, paths, title="normal")
    check_png(paths[0], (700, 300), (5000, 3000))
    texts = svg_texts(paths[1])
    assert texts.count("sep_conv_3x3") == 5 and texts.count("skip_connect") == 2 and texts.count("dil_conv_3x3") == 1


def test_svg_is_deterministic(tmp_path: Path) -> None:
    ops = nb201_ops(ARCH_9930)
    draw_nb201_cell(ops, [tmp_path / "a.svg"])
    draw_nb201_cell(ops, [tmp_path / "b.svg"])
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


# ------------------------------------------------------------------------------------------ layout


def assert_readable(panel: _Panel) -> None:
    """No label touches a node or another label; no edge runs through a node it does not join."""
    boxes = {key: node.box for key, node in panel.nodes.items()}
    labels = [route.label_box for route in panel.routes if route.label_box is not None]
    for index, label in enumerate(labels):
        assert not any(label.overlaps(box) for box in boxes.values())
        assert not any(label.overlaps(other) for other in labels[index + 1 :])
    for route in panel.routes:
        for key, box in boxes.items():
            if key not in (route.edge.source, route.edge.target):
                assert not box.contains(route.path).any(), (route.edge, key)


@pytest.mark.parametrize("arch_str", [ARCH_9930, ARCH_WITH_NONE])
def test_nb201_layout_is_readable(arch_str: str) -> None:
    panel = _nb201_panel(nb201_ops(arch_str))
    assert_readable(panel)
    assert sum(route.label_box is not None for route in panel.routes) == 6


@pytest.mark.parametrize(
    "edges",
    [
        DARTS_V2_NORMAL,
        DARTS_V2_REDUCE,
        # a chain: every node feeds the next one
        [
            ("sep_conv_3x3", 0),
            ("sep_conv_3x3", 1),
            ("skip_connect", 2),
            ("dil_conv_5x5", 1),
            ("sep_conv_5x5", 3),
            ("avg_pool_3x3", 0),
            ("max_pool_3x3", 4),
            ("sep_conv_3x3", 1),
        ],
        # both inputs of a node from the same state
        [("sep_conv_3x3", 0), ("sep_conv_5x5", 0)] * 2 + [("skip_connect", 3), ("skip_connect", 3)] * 2,
    ],
)
def test_darts_layout_is_readable_and_flows_left_to_right(edges: list[tuple[str, int]]) -> None:
    panel = _darts_panel(edges, CONCAT, 4, None)
    assert_readable(panel)
    nodes = panel.nodes
    for route in panel.routes:
        assert nodes[route.edge.source].x < nodes[route.edge.target].x
    assert nodes["0"].y > nodes["1"].y  # c_{k-2} above c_{k-1}
    assert nodes["out"].x == max(node.x for node in nodes.values())


def test_dot_only_output_writes_just_the_dot_text(tmp_path: Path) -> None:
    path = tmp_path / "normal.dot"
    assert draw_darts_cell(DARTS_V2_NORMAL, CONCAT, [path], title="normal") == [path]
    assert path.read_text() == darts_cell_dot(DARTS_V2_NORMAL, CONCAT, name="normal")
    assert [p.name for p in tmp_path.iterdir()] == ["normal.dot"]


# ------------------------------------------------------------------------------------------ styled cells


def two_line_styles(ops: list[str]) -> list[EdgeStyle]:
    """A style per edge with a second label line, as the importance figure draws them."""
    return [EdgeStyle(f"{op}\n{0.001 * i:+.4f}", "#b22222", 1.0 + i, dashed=i % 2 == 1) for i, op in enumerate(ops)]


def test_two_line_labels_are_measured_taller_and_as_wide_as_their_longest_line() -> None:
    one, two = _label_size("sep_conv_3x3"), _label_size("sep_conv_3x3\n+0.0100")
    assert two[0] == pytest.approx(one[0]) and two[1] > 1.8 * (one[1] - 0.05)


def test_styled_layouts_are_readable_with_two_line_labels() -> None:
    nb201 = nb201_ops(ARCH_WITH_NONE)
    assert_readable(_nb201_panel(nb201, two_line_styles(nb201)))
    assert_readable(_darts_panel(DARTS_V2_NORMAL, CONCAT, 4, None, two_line_styles([op for op, _ in DARTS_V2_NORMAL])))


def test_styled_cells_draw_the_callers_text_and_colours(tmp_path: Path) -> None:
    ops = nb201_ops(ARCH_9930)
    (svg,) = draw_nb201_cell(ops, [tmp_path / "nb201.svg"], title="weighted", styles=two_line_styles(ops),
                             legend=[("important", "#b22222", False)])
    texts = svg_texts(svg)
    assert "+0.0050" in texts and "important" in texts and "weighted" in texts
    assert "#b22222" in svg.read_text() and "#1f77b4" not in svg.read_text()  # no op colour left
    darts_ops = [op for op, _ in DARTS_V2_NORMAL]
    (png,) = draw_darts_cell(DARTS_V2_NORMAL, CONCAT, [tmp_path / "darts.png"], styles=two_line_styles(darts_ops))
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    with pytest.raises(ValueError, match="the cell has 8 edges, got 7 edge styles"):
        draw_darts_cell(DARTS_V2_NORMAL, CONCAT, [tmp_path / "x.png"], styles=two_line_styles(darts_ops)[:7])
    with pytest.raises(ValueError, match="6 edges, got 5"):
        draw_nb201_cell(ops, [tmp_path / "y.png"], styles=two_line_styles(ops)[:5])


@pytest.mark.parametrize("labels,edges", [
    # motif #1 of NB201 CIFAR-10's top 5%: two edges cross the ring's centre, where a ring's midpoints meet
    (["input", "op", "op", "output"], [(0, 1, "nor_conv_3x3"), (0, 2, "nor_conv_3x3"), (0, 3, "skip_connect"),
                                       (1, 3, "nor_conv_3x3")]),
    # six vertices, the largest motif: a DARTS-like fan-in
    (["input1", "input2", "op", "op", "op", "op"], [(0, 2, "sep_conv_3x3"), (1, 2, "dil_conv_5x5"),
                                                    (2, 3, "skip_connect"), (0, 4, "max_pool_3x3"),
                                                    (3, 5, "sep_conv_5x5"), (4, 5, "avg_pool_3x3")]),
])
def test_graph_panels_are_readable(labels: list[str], edges: list[tuple[int, int, str]]) -> None:
    panel = graph_panel(labels, edges)
    assert_readable(panel)
    assert [node.label for node in panel.nodes.values()] == labels
    assert panel.nodes["0"].y == max(node.y for node in panel.nodes.values())  # the first vertex on top
