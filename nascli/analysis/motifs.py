"""Important-motif mining (redundancy paper §2): frequent connected subgraphs of the cells' important edges.

Each cell is a directed graph with labelled nodes ('input1', 'input2', 'op' for DARTS; 'input', 'op',
'output' for NB201) and op-labelled edges. A pattern's support is the number of graphs that contain it
(as a not necessarily induced subgraph: gSpan's semantics, directed and labelled). The cells are tiny
(≤ 8 edges), so every connected edge subset of every graph is enumerated and reduced to a canonical
code; this is exact (it equals a brute-force subgraph-isomorphism count, see the tests). The reference's
directed gSpan (a copy of the PyPI `gspan-mining` code) grows patterns along out-edges only and reports just
the out-trees among them; `out_trees_only=True` reproduces that (tests/fixtures/redundancy).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nascli.errors import NasInputError

Edge = tuple[int, int, str]
"""(source node, target node, op label)."""

NB201_NODE_LABELS = ("input", "op", "op", "output")
NB201_EDGE_NODES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
"""(from, to) of the six NB201 edges in canonical edge order (reference `to_networkx_edge`)."""
DARTS_NODE_LABELS = ("input1", "input2", "op", "op", "op", "op")


@dataclass(frozen=True)
class CellGraph:
    """A directed graph with labelled nodes and op-labelled edges (at most one edge per ordered pair)."""

    labels: dict[int, str]
    edges: tuple[Edge, ...]

    def nodes(self) -> list[int]:
        """The nodes touched by an edge, sorted (isolated nodes are dropped by construction)."""
        return sorted({u for u, _, _ in self.edges} | {v for _, v, _ in self.edges})


def nb201_cell_graph(ops: Sequence[str], weights: Sequence[float] | None = None,
                     threshold: float | None = None) -> CellGraph:
    """The NB201 cell as a graph; with `threshold`, only the edges of weight ≥ threshold (NaN dropped)."""
    return _graph(NB201_NODE_LABELS, [(u, v, op) for (u, v), op in zip(NB201_EDGE_NODES, ops, strict=True)],
                  weights, threshold)


def darts_cell_graph(pairs: Sequence[tuple[str, int]], weights: Sequence[float] | None = None,
                     threshold: float | None = None) -> CellGraph:
    """A DARTS cell as a graph (input → state 2 + position // 2, no output node: `no_concat=True`)."""
    return _graph(DARTS_NODE_LABELS, [(int(i), 2 + p // 2, op) for p, (op, i) in enumerate(pairs)],
                  weights, threshold)


def _graph(labels: Sequence[str], edges: list[Edge], weights: Sequence[float] | None,
           threshold: float | None) -> CellGraph:
    if threshold is not None:
        if weights is None:
            raise NasInputError("an importance threshold needs the edge importances")
        edges = [e for e, w in zip(edges, weights, strict=True) if math.isfinite(w) and w >= threshold]
    used = {u for u, _, _ in edges} | {v for _, v, _ in edges}
    return CellGraph({n: labels[n] for n in sorted(used)}, tuple(edges))


# --------------------------------------------------------------------------------------------------
# Canonical codes
# --------------------------------------------------------------------------------------------------

Code = tuple[tuple[str, ...], tuple[tuple[int, int, str], ...]]
"""(node labels in canonical order, sorted (source position, target position, op) triples)."""


def canonical_code(labels: dict[int, str], edges: Sequence[Edge]) -> Code:
    """The smallest code over all relabellings that keep nodes sorted by label: equal iff isomorphic."""
    nodes = sorted({u for u, _, _ in edges} | {v for _, v, _ in edges})
    groups: dict[str, list[int]] = defaultdict(list)
    for node in nodes:
        groups[labels[node]].append(node)
    names = sorted(groups)
    label_tuple = tuple(name for name in names for _ in groups[name])
    best: tuple[tuple[int, int, str], ...] | None = None
    for choice in itertools.product(*(itertools.permutations(groups[name]) for name in names)):
        order = [node for block in choice for node in block]
        position = {node: p for p, node in enumerate(order)}
        code = tuple(sorted((position[u], position[v], op) for u, v, op in edges))
        if best is None or code < best:
            best = code
    return label_tuple, best or ()


def _weakly_connected(edges: Sequence[Edge]) -> bool:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for u, v, _ in edges:
        parent[find(u)] = find(v)
    return len({find(u) for u, _, _ in edges} | {find(v) for _, v, _ in edges}) == 1


def connected_subpatterns(graph: CellGraph, min_vertices: int = 2, max_vertices: int = 6) -> set[Code]:
    """Canonical codes of every weakly connected edge subset of `graph` with min..max vertices."""
    codes: set[Code] = set()
    edges = graph.edges
    for size in range(1, len(edges) + 1):
        for subset in itertools.combinations(edges, size):
            n_vertices = len({u for u, _, _ in subset} | {v for _, v, _ in subset})
            if not min_vertices <= n_vertices <= max_vertices or not _weakly_connected(subset):
                continue
            codes.add(canonical_code(graph.labels, subset))
    return codes


def code_graph(code: Code) -> CellGraph:
    """The pattern graph of a canonical code (nodes 0..m−1)."""
    labels, edges = code
    return CellGraph(dict(enumerate(labels)), tuple(edges))


def describe(code: Code) -> str:
    """A readable form: `input1 -skip_connect-> op#2; op#2 -sep_conv_3x3-> op#3`."""
    labels, edges = code
    counts = Counter(labels)

    def name(node: int) -> str:
        return labels[node] if counts[labels[node]] == 1 else f"{labels[node]}#{node}"

    return "; ".join(f"{name(u)} -{op}-> {name(v)}" for u, v, op in edges)


# --------------------------------------------------------------------------------------------------
# Mining, reference incidence, ranking
# --------------------------------------------------------------------------------------------------


def min_support_count(min_support: float, n_graphs: int) -> int:
    """A fraction < 1 becomes round(fraction · n) (the reference's np.round); ≥ 1 is a count."""
    if min_support <= 0:
        raise NasInputError(f"min support {min_support} must be positive: a fraction such as 0.05 or a count")
    return int(np.round(min_support * n_graphs)) if min_support < 1 else int(np.round(min_support))


def mine_frequent(graphs: Sequence[CellGraph], min_support: int, min_vertices: int = 2,
                  max_vertices: int = 6, out_trees_only: bool = False) -> dict[Code, int]:
    """Every connected pattern with min..max vertices contained in at least `min_support` graphs → support;
    `out_trees_only` keeps what the reference's directed gSpan finds (see `is_out_tree`)."""
    if min_vertices < 2 or max_vertices < min_vertices:
        raise NasInputError(f"vertex bounds {min_vertices}..{max_vertices}: need 2 ≤ min ≤ max")
    support: Counter[Code] = Counter()
    for graph in graphs:
        support.update(connected_subpatterns(graph, min_vertices, max_vertices))
    return {code: count for code, count in support.items()
            if count >= max(1, min_support) and (not out_trees_only or is_out_tree(code))}


def is_out_tree(code: Code) -> bool:
    """Whether the pattern is an out-tree (one root, every other vertex entered by exactly one edge): the only
    patterns the reference's directed gSpan reports, since its DFS grows patterns along out-edges only."""
    labels, edges = code
    entered = Counter(v for _, v, _ in edges)
    return len(edges) == len(labels) - 1 and all(entered[v] == 1 for v in entered) and len(entered) == len(edges)


def random_reference_graph(full: CellGraph, n_edges: int, rng: np.random.RandomState) -> CellGraph:
    """`n_edges` edges of the full cell drawn uniformly without replacement, isolated nodes dropped
    (reference `sample_random_subgraph`)."""
    if n_edges <= 0:
        return CellGraph({}, ())
    keep = set(rng.choice(len(full.edges), size=n_edges, replace=False).tolist())
    edges = tuple(e for i, e in enumerate(full.edges) if i in keep)
    used = {u for u, _, _ in edges} | {v for _, v, _ in edges}
    return CellGraph({n: full.labels[n] for n in sorted(used)}, edges)


def reference_edge_count(n_important: int, rng: np.random.RandomState, split_like_reference: bool) -> int:
    """Edges of an architecture's reference subgraph: as many as its important subgraph, or, with
    `split_like_reference`, the reference's `--normal_only` draw randint(n) (fewer: a biased baseline)."""
    if not split_like_reference:
        return n_important
    return int(rng.randint(n_important)) if n_important > 0 else 0


def contains(graph: CellGraph, pattern: CellGraph, induced: bool = False) -> bool:
    """Whether `pattern` is a subgraph of `graph` matching node labels and edge ops (networkx VF2);
    `induced=True` is the reference's `subgraph_is_isomorphic` test, otherwise a monomorphism (gSpan's)."""
    from networkx.algorithms.isomorphism import DiGraphMatcher

    matcher = DiGraphMatcher(to_networkx(graph), to_networkx(pattern),
                             node_match=lambda a, b: a["label"] == b["label"],
                             edge_match=lambda a, b: a["op"] == b["op"])
    return matcher.subgraph_is_isomorphic() if induced else matcher.subgraph_is_monomorphic()


def to_networkx(graph: CellGraph) -> Any:
    """The graph as a networkx DiGraph with node attribute `label` and edge attribute `op`."""
    import networkx as nx

    g = nx.DiGraph()
    for node, label in graph.labels.items():
        g.add_node(node, label=label)
    for u, v, op in graph.edges:
        g.add_edge(u, v, op=op)
    return g


def reference_incidence(patterns: Iterable[Code], reference: Sequence[CellGraph], induced: bool = False
                        ) -> dict[Code, int]:
    """How many reference graphs contain each pattern."""
    out: dict[Code, int] = {}
    if not induced:
        contained: Counter[Code] = Counter()
        for graph in reference:
            contained.update(connected_subpatterns(graph, 1, 99))
        return {code: contained.get(code, 0) for code in patterns}
    for code in patterns:
        pattern = code_graph(code)
        out[code] = sum(contains(graph, pattern, induced=True) for graph in reference if graph.edges)
    return out


@dataclass
class Motif:
    """A mined pattern with its support, reference incidence and ranking score."""

    code: Code
    support: int
    ref_incidence: int

    @property
    def ratio(self) -> float:
        """support / reference incidence (inf when the reference never contains it)."""
        return math.inf if self.ref_incidence == 0 else self.support / self.ref_incidence

    @property
    def n_vertices(self) -> int:
        """Vertices of the pattern."""
        return len(self.code[0])

    @property
    def n_edges(self) -> int:
        """Edges of the pattern."""
        return len(self.code[1])


def rank_motifs(support: dict[Code, int], incidence: dict[Code, int]) -> list[Motif]:
    """Patterns ranked by support / reference incidence; incidence 0 first (by support), ties by support,
    then by the pattern text (a stable order)."""
    motifs = [Motif(code, count, incidence.get(code, 0)) for code, count in support.items()]
    return sorted(motifs, key=lambda m: (m.ref_incidence != 0, -m.ratio if m.ref_incidence else 0.0,
                                         -m.support, describe(m.code)))
