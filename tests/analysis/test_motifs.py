"""Motif mining: equal to a brute-force subgraph count on small graphs; support, reference incidence, ranking."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from networkx.algorithms.isomorphism import DiGraphMatcher

from nascli.analysis.motifs import (
    CellGraph,
    canonical_code,
    contains,
    darts_cell_graph,
    describe,
    is_out_tree,
    min_support_count,
    mine_frequent,
    nb201_cell_graph,
    random_reference_graph,
    rank_motifs,
    reference_incidence,
)


def _random_graph(rng: np.random.Generator) -> CellGraph:
    """A random small DARTS-like cell graph: inputs 0, 1 and 'op' nodes 2..4, ops from a 3-letter alphabet."""
    pairs = []
    for state in range(2, 5):
        for source in rng.choice(state, size=2, replace=False):
            pairs.append((str(rng.choice(["s3", "sk", "mp"])), int(source)))
    keep = rng.random(len(pairs)) < 0.8
    edges = tuple((i, 2 + p // 2, op) for p, ((op, i), k) in enumerate(zip(pairs, keep, strict=True)) if k)
    used = {u for u, _, _ in edges} | {v for _, v, _ in edges}
    labels = {0: "input1", 1: "input2", 2: "op", 3: "op", 4: "op"}
    return CellGraph({n: labels[n] for n in sorted(used)}, edges)


def _nx(graph: CellGraph) -> nx.DiGraph:
    g = nx.DiGraph()
    for n, label in graph.labels.items():
        g.add_node(n, label=label)
    for u, v, op in graph.edges:
        g.add_edge(u, v, op=op)
    return g


def _brute_force(graphs: list[CellGraph], min_support: int, lo: int, hi: int) -> list[tuple[nx.DiGraph, int]]:
    """Every connected edge subset of every graph as a candidate; deduplicate by networkx isomorphism; count
    the graphs containing each candidate by networkx monomorphism."""
    node_match = lambda a, b: a["label"] == b["label"]  # noqa: E731
    edge_match = lambda a, b: a["op"] == b["op"]  # noqa: E731
    candidates: list[nx.DiGraph] = []
    for graph in graphs:
        full = _nx(graph)
        for size in range(1, len(graph.edges) + 1):
            for subset in itertools.combinations(graph.edges, size):
                sub = full.edge_subgraph([(u, v) for u, v, _ in subset]).copy()
                if not lo <= sub.number_of_nodes() <= hi or not nx.is_weakly_connected(sub):
                    continue
                if not any(nx.is_isomorphic(sub, c, node_match=node_match, edge_match=edge_match)
                           for c in candidates):
                    candidates.append(sub)
    out = []
    for pattern in candidates:
        support = sum(DiGraphMatcher(_nx(g), pattern, node_match=node_match, edge_match=edge_match)
                      .subgraph_is_monomorphic() for g in graphs)
        if support >= min_support:
            out.append((pattern, support))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_miner_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    graphs = [_random_graph(rng) for _ in range(6)]
    lo, hi, min_support = 2, 4, 2
    mined = mine_frequent(graphs, min_support, lo, hi)
    brute = _brute_force(graphs, min_support, lo, hi)
    assert len(brute) > 5 and len(mined) == len(brute)
    for pattern, support in brute:
        labels = {n: d["label"] for n, d in pattern.nodes(data=True)}
        code = canonical_code(labels, [(u, v, d["op"]) for u, v, d in pattern.edges(data=True)])
        assert mined[code] == support


def test_support_counts_graphs_not_occurrences_and_finds_in_stars() -> None:
    # the skip residual cell: both inputs into state 2 (an in-star the PyPI gspan-mining misses when directed)
    residual = darts_cell_graph([("skip_connect", 0), ("skip_connect", 1)]
                                + [("sep_conv_3x3", 0), ("sep_conv_3x3", 2), ("sep_conv_3x3", 0),
                                   ("sep_conv_3x3", 1), ("sep_conv_3x3", 2), ("sep_conv_3x3", 3)])
    other = darts_cell_graph([("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 2),
                              ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2), ("sep_conv_3x3", 3)])
    mined = mine_frequent([residual, residual, other], 1, 2, 6)
    in_star = canonical_code({0: "input1", 1: "input2", 2: "op"},
                             [(0, 2, "skip_connect"), (1, 2, "skip_connect")])
    assert mined[in_star] == 2
    # a pattern occurring several times in one graph counts once per graph
    sep_edge = canonical_code({2: "op", 3: "op"}, [(2, 3, "sep_conv_3x3")])
    assert mined[sep_edge] == 3


def test_threshold_keeps_important_edges_and_drops_isolated_nodes() -> None:
    graph = nb201_cell_graph(["nor_conv_3x3", "none", "skip_connect", "skip_connect", "avg_pool_3x3",
                              "nor_conv_1x1"], weights=[0.01, 0.0, float("nan"), 0.002, -0.1, 0.001],
                             threshold=0.001)
    assert graph.edges == ((0, 1, "nor_conv_3x3"), (0, 3, "skip_connect"), (2, 3, "nor_conv_1x1"))
    assert graph.labels == {0: "input", 1: "op", 2: "op", 3: "output"}


def test_min_support_rounds_like_the_reference() -> None:
    assert min_support_count(0.05, 781) == 39
    assert min_support_count(0.05, 2589) == 129
    assert min_support_count(7, 100) == 7


def test_reference_incidence_and_ranking() -> None:
    a = canonical_code({0: "input1", 1: "op"}, [(0, 1, "x")])
    b = canonical_code({0: "input1", 1: "op"}, [(0, 1, "y")])
    c = canonical_code({0: "input1", 1: "op"}, [(0, 1, "z")])
    reference = [CellGraph({0: "input1", 2: "op"}, ((0, 2, "x"),)), CellGraph({0: "input1", 2: "op"}, ((0, 2, "y"),)),
                 CellGraph({0: "input1", 2: "op"}, ((0, 2, "y"),))]
    incidence = reference_incidence([a, b, c], reference)
    assert incidence == {a: 1, b: 2, c: 0}
    ranked = rank_motifs({a: 3, b: 8, c: 2}, incidence)
    assert [m.code for m in ranked] == [c, b, a]  # ∞ first, then 4.0 > 3.0
    assert ranked[0].ref_incidence == 0 and ranked[0].ratio == float("inf")
    assert describe(b) == "input1 -y-> op"


def test_induced_matching_differs_from_monomorphism() -> None:
    graph = CellGraph({0: "input1", 2: "op", 3: "op"}, ((0, 2, "s"), (2, 3, "s"), (0, 3, "s")))
    path = CellGraph({0: "input1", 1: "op", 2: "op"}, ((0, 1, "s"), (1, 2, "s")))
    assert contains(graph, path, induced=False)
    assert not contains(graph, path, induced=True)


def test_random_reference_subgraph_has_the_requested_edges() -> None:
    full = darts_cell_graph([("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4)
    rng = np.random.RandomState(0)
    for n in range(0, 9):
        sub = random_reference_graph(full, n, rng)
        assert len(sub.edges) == n and set(sub.edges) <= set(full.edges)


def test_out_tree_patterns_equal_the_reference_gspan_output() -> None:
    """tests/fixtures/redundancy/README.md: the reference's directed gSpan on 40 real important NB201 cells."""
    fixture = json.loads((Path(__file__).parents[1] / "fixtures" / "redundancy" / "gspan_nb201_top40.json")
                         .read_text(encoding="utf-8"))
    graphs = [CellGraph({int(k): v for k, v in g["labels"].items()}, tuple(tuple(e) for e in g["edges"]))
              for g in fixture["graphs"]]
    reference = {canonical_code({int(k): v for k, v in p["labels"].items()}, [tuple(e) for e in p["edges"]]):
                 p["support"] for p in fixture["reference_patterns"]}
    args = (fixture["min_support"], fixture["min_vertices"], fixture["max_vertices"])
    assert mine_frequent(graphs, *args, out_trees_only=True) == reference
    everything = mine_frequent(graphs, *args)
    assert all(everything[code] == support for code, support in reference.items())
    extra = [code for code in everything if code not in reference]
    assert len(extra) == 75 and not any(is_out_tree(code) for code in extra)
