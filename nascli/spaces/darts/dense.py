"""BPE's dense DARTS cell (methods/bpe.md §3.1) and the two rules that turn a dense result into a genotype.

The RL and EA searches of BPE do not search the 2-input DARTS genotype: they search 28 categorical
variables, one per edge of the normal and the reduction cell (node j ∈ 2..5 reads every earlier state),
each one of the 7 non-`none` ops, and every node sums ALL of its inputs (`convert_sample_to_genotype`
keeps every edge whose op is not `none`, and RL/EA never sample `none`). The 28 values, in pt.darts op
order, node-major edge order, normal cell first, are the reference's `sample` list — nascli's
`{"bpe_code": [...]}` JSON form. Only the final parse turns the dense cell into a 2-input genotype:
RL's (`parse_json.py: RL_choose_by_prob`, §3.2) or EA's (`Evolution_choose_randomly`, §3.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nascli.errors import NasInputError
from nascli.spaces.darts.genotype import (
    CELL_KINDS,
    CONCAT,
    DARTS_OPS_DRNAS,
    EDGE_OFFSETS,
    EDGES,
    NUM_EDGES,
    NUM_STATES,
    Code,
    DartsGenotype,
    Pairs,
    _call_node,
    _literal,
)

DENSE_OPS = DARTS_OPS_DRNAS
"""The 7 ops of a dense edge, in pt.darts order (`PRIMITIVES[0:-1]`): a code value indexes this tuple."""

NODE_SIZES = (2, 3, 4, 5)
"""Inputs of intermediate states 2..5 in the dense cell: every earlier state."""

NUM_VARIABLES = 2 * NUM_EDGES

_EXAMPLE = ("Genotype(normal=[[('sep_conv_3x3', 0), ('max_pool_3x3', 1)], [(op, 0), (op, 1), (op, 2)], … (2, 3, 4 "
            "and 5 inputs)], normal_concat=range(2, 6), reduce=[…], reduce_concat=range(2, 6))")


def _check_code(values: Sequence[Any], name: str) -> Code:
    try:
        code = tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise NasInputError(f"the {name} must be a list of integers, got {values!r}") from None
    if len(code) != NUM_EDGES:
        raise NasInputError(f"wrong number of edges: the {name} has {len(code)} entries, a dense cell has 14")
    bad = [v for v in code if not 0 <= v < len(DENSE_OPS)]
    if bad:
        hint = " (7 = none: the dense cell keeps every edge)" if bad[0] == len(DENSE_OPS) else ""
        raise NasInputError(f"the {name} holds {bad[0]}{hint}: values must lie in 0..{len(DENSE_OPS) - 1}, "
                            f"one of {', '.join(DENSE_OPS)}")
    return code


@dataclass(frozen=True)
class DenseGenotype:
    """A dense DARTS architecture: one op index (0..6, pt.darts order) per edge of each cell, every edge kept."""

    normal: Code
    reduce: Code

    def __post_init__(self) -> None:
        for cell in CELL_KINDS:
            object.__setattr__(self, cell, _check_code(getattr(self, cell), f"{cell} dense code"))

    normal_concat = CONCAT
    reduce_concat = CONCAT
    node_sizes = NODE_SIZES

    def cell(self, kind: str) -> Pairs:
        """The 14 (op, input) pairs of the `normal` or `reduce` cell, node-major (2, 3, 4, 5 per node)."""
        if kind not in CELL_KINDS:
            raise NasInputError(f"unknown cell kind {kind!r}: choose normal or reduce")
        code = getattr(self, kind)
        return tuple((DENSE_OPS[code[e]], source) for e, (source, _state) in enumerate(EDGES))

    def canonical(self) -> DenseGenotype:
        """Itself: a dense cell has one form (every node lists its inputs in order)."""
        return self

    def codes(self) -> Code:
        """The 28 values: normal cell then reduction cell (the reference's `sample`)."""
        return self.normal + self.reduce

    def __str__(self) -> str:
        return format_dense(self)


def dense_from_codes(codes: Sequence[Any]) -> DenseGenotype:
    """A dense genotype from 28 values (or a (normal 14, reduce 14) pair) in pt.darts op order."""
    values = list(codes)
    if len(values) == 2 and all(isinstance(v, Sequence | np.ndarray) and not isinstance(v, str) for v in values):
        return DenseGenotype(tuple(values[0]), tuple(values[1]))
    if len(values) != NUM_VARIABLES:
        raise NasInputError(f"wrong number of edges: a dense BPE code has 28 integers (14 normal + 14 reduce), "
                            f"got {len(values)}")
    return DenseGenotype(tuple(values[:NUM_EDGES]), tuple(values[NUM_EDGES:]))


def format_dense(genotype: DenseGenotype) -> str:
    """The nested pt.darts text with every edge, as the reference's `convert_sample_to_genotype` prints it."""
    parts = []
    for cell in CELL_KINDS:
        pairs = genotype.cell(cell)
        nodes = []
        for node in range(NUM_STATES):
            start = EDGE_OFFSETS[node]
            nodes.append("[" + ", ".join(f"({op!r}, {source})" for op, source in
                                          pairs[start : start + NODE_SIZES[node]]) + "]")
        parts.append(f"{cell}=[{', '.join(nodes)}], {cell}_concat=range(2, 6)")
    return f"Genotype({', '.join(parts)})"


def _dense_cell_code(cell: str, value: Any) -> Code:
    """The 14-value code of one cell given as nested nodes (or flat, node-major) of (op, input) pairs."""
    if not isinstance(value, list):
        raise NasInputError(f"the dense {cell} cell must be a list of nodes of (op, input) pairs: expected {_EXAMPLE}")
    nested = bool(value) and all(isinstance(node, list) and node and isinstance(node[0], list) for node in value)
    if nested:
        if len(value) != NUM_STATES:
            raise NasInputError(f"the dense {cell} cell has {len(value)} nodes: a DARTS cell has 4 (states 2..5)")
        nodes = value
    else:
        if len(value) != NUM_EDGES:
            raise NasInputError(f"wrong number of edges: the dense {cell} cell has {len(value)} (op, input) pairs, "
                                f"a dense cell has 14 (2, 3, 4, 5 per node)")
        nodes = [value[EDGE_OFFSETS[n] : EDGE_OFFSETS[n] + NODE_SIZES[n]] for n in range(NUM_STATES)]
    code = [0] * NUM_EDGES
    for node, pairs in enumerate(nodes):
        state = node + 2
        seen = set()
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str) or not isinstance(
                    pair[1], int):
                raise NasInputError(f"node {state} of the dense {cell} cell holds {pair!r}: each entry is (op, input)")
            op, source = pair
            if op not in DENSE_OPS:
                raise NasInputError(f"unknown operation {op!r} in node {state} of the dense {cell} cell: choose one "
                                    f"of {', '.join(DENSE_OPS)}")
            if not 0 <= source < state or source in seen:
                raise NasInputError(f"node {state} of the dense {cell} cell reads state {source} "
                                    f"{'twice' if source in seen else 'out of range'}: it reads each of 0..{state - 1}"
                                    " once")
            seen.add(source)
            code[EDGE_OFFSETS[node] + source] = DENSE_OPS.index(op)
        if len(seen) != state:
            raise NasInputError(f"node {state} of the dense {cell} cell has {len(seen)} inputs: in the dense cell "
                                f"node {state} reads every earlier state 0..{state - 1}")
    return tuple(code)


def parse_dense(text: str) -> DenseGenotype:
    """Parse the dense nested text (each node lists every earlier state once, in any order)."""
    if not isinstance(text, str):
        raise NasInputError(f"a dense genotype text must be a string, got {type(text).__name__}")
    call = _call_node(text)
    fields: dict[str, Any] = {}
    names = ("normal", "normal_concat", "reduce", "reduce_concat")
    for name, arg in zip(names, call.args, strict=False):
        fields[name] = _literal(arg)
    for keyword in call.keywords:
        if keyword.arg in names:
            fields[keyword.arg] = _literal(keyword.value)
    missing = [name for name in names if name not in fields]
    if missing:
        raise NasInputError(f"the dense genotype text lacks {', '.join(missing)}: expected {_EXAMPLE}")
    for cell in CELL_KINDS:
        if tuple(fields[f"{cell}_concat"]) != CONCAT:
            raise NasInputError(f"{cell}_concat is {fields[f'{cell}_concat']}: the dense cell concatenates states "
                                "2..5, use range(2, 6)")
    return DenseGenotype(_dense_cell_code("normal", fields["normal"]), _dense_cell_code("reduce", fields["reduce"]))


def dense_to_json(genotype: DenseGenotype) -> dict[str, list[int]]:
    """`{"bpe_code": [28 ints]}` (pt.darts op order, node-major edges, normal cell first)."""
    return {"bpe_code": list(genotype.codes())}


def dense_from_json(obj: Any) -> DenseGenotype:
    """Inverse of `dense_to_json`; also accepts the bare 28-int list and the text form."""
    if isinstance(obj, str):
        return parse_dense(obj)
    if isinstance(obj, dict):
        if set(obj) != {"bpe_code"}:
            raise NasInputError(f"a dense DARTS architecture in JSON is {{\"bpe_code\": [28 ints]}}, got keys "
                                f"{sorted(obj)}")
        obj = obj["bpe_code"]
    if not isinstance(obj, list | tuple):
        raise NasInputError(f"a dense DARTS architecture in JSON is {{\"bpe_code\": [28 ints]}}, got {obj!r}")
    return dense_from_codes(obj)


# --------------------------------------------------------------------------------------------------
# From a dense result to a 2-input genotype
# --------------------------------------------------------------------------------------------------


def _genotype_from_kept(code: Code, keep: Sequence[bool]) -> DartsGenotype:
    """The 2-input genotype keeping the marked edges (two per node) with their dense ops, in input order."""
    cells = []
    for c in range(2):
        pairs: list[tuple[str, int]] = []
        for e, (source, _state) in enumerate(EDGES):
            if keep[c * NUM_EDGES + e]:
                pairs.append((DENSE_OPS[code[c * NUM_EDGES + e]], source))
        cells.append(tuple(pairs))
    return DartsGenotype(cells[0], CONCAT, cells[1], CONCAT)


def rl_parse(best: DenseGenotype, probabilities: Sequence[Sequence[float]] | np.ndarray) -> DartsGenotype:
    """BPE's RL parse (`RL_choose_by_prob`): per node the 2 edges whose largest op probability is highest (the
    policy at the step of the best reward; ties: the lower edge), each with the op of the best sample."""
    table = np.asarray(probabilities, dtype=np.float64)
    if table.shape != (NUM_VARIABLES, len(DENSE_OPS)):
        raise NasInputError(f"the RL parse needs a 28 × 7 probability table, got shape {table.shape}")
    strength = table.max(axis=1)
    keep = [False] * NUM_VARIABLES
    for c in range(2):
        for node in range(NUM_STATES):
            start = c * NUM_EDGES + EDGE_OFFSETS[node]
            rows = list(strength[start : start + NODE_SIZES[node]])
            for _ in range(2):
                k = int(np.argmax(rows))  # first maximum, as numpy's argmax in the reference
                keep[start + k] = True
                rows[k] = -np.inf
    return _genotype_from_kept(best.codes(), keep)


def ea_subcells(best: DenseGenotype, rng: np.random.Generator, number: int = 10) -> list[DartsGenotype]:
    """BPE's EA parse (`Evolution_choose_randomly`): `number` random 2-input sub-cells of the best dense cell, each
    node keeping 2 of its edges drawn uniformly (the reference removes node−2 edges one by one), same ops."""
    subcells = []
    for _ in range(number):
        keep: list[bool] = []
        for _cell in CELL_KINDS:
            for node in range(NUM_STATES):
                size = NODE_SIZES[node]
                kept = rng.choice(size, size=2, replace=False)
                keep.extend(k in kept for k in range(size))
        subcells.append(_genotype_from_kept(best.codes(), keep))
    return subcells


def sample_dense(rng: np.random.Generator) -> DenseGenotype:
    """28 ops drawn independently and uniformly from the 7 (ConfigSpace `sample_configuration`)."""
    return dense_from_codes(rng.integers(len(DENSE_OPS), size=NUM_VARIABLES).tolist())
