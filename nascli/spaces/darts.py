"""The DARTS cell search space: genotypes, their encodings, stand-alone networks and the RLNAS supernet.

A cell has two inputs (states 0, 1: the outputs of the two previous cells) and four intermediate
states 2..5; state s may read any of the states 0..s-1, which gives 14 candidate edges, numbered
node-major: the edge from state k into state s has index k + Σ_{t=2}^{s-1} t (offsets 0, 2, 5, 9).
A final genotype keeps exactly two edges with one non-`none` op each per intermediate state, and
the cell output concatenates states 2..5 (methods/spaces.md §2).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.base import SPACES, NetworkConfig, PathSampler, SearchSpace
from nascli.spaces.mixed import MixedEdge, active_ops, check_partial_channels
from nascli.spaces.ops import DilConv, FactorizedReduce, Identity, Pool, ReLUConvBN, SepConv, Zero

DARTS_OPS_RLNAS = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
"""The RLNAS op order (also the original DARTS `PRIMITIVES`): index = value in the RLNAS 28-int code."""

DARTS_OPS_DRNAS = DARTS_OPS_RLNAS[1:]
"""DrNAS has no `none`; the same 7 ops, which are also columns 0..6 of the pt.darts / BPE / RMI / NB301 order."""

DARTS_OPS_PT = (*DARTS_OPS_DRNAS, "none")
"""pt.darts order (BPE, RMI-NAS, NB301): `none` last, so a BPE code uses 7 for a dropped edge."""

FINAL_OPS = DARTS_OPS_DRNAS
"""The ops a final (discrete) genotype may use."""

NUM_STATES = 4
NUM_EDGES = 14
EDGE_OFFSETS = (0, 2, 5, 9)
CONCAT = (2, 3, 4, 5)
CELL_KINDS = ("normal", "reduce")
EDGES: tuple[tuple[int, int], ...] = tuple((k, s) for s in range(2, 6) for k in range(s))
"""(input state, output state) of each of the 14 edges, in edge-index order."""

NB301_PREFIX = "NetworkSelectorDatasetInfo:darts:"

Pairs = tuple[tuple[str, int], ...]
Code = tuple[int, ...]


def edge_index(input_state: int, state: int) -> int:
    """Index (0..13) of the edge from `input_state` into intermediate `state` (2..5)."""
    if not 2 <= state <= 5 or not 0 <= input_state < state:
        raise ValueError(f"no DARTS edge from state {input_state} into state {state}")
    return EDGE_OFFSETS[state - 2] + input_state


# --------------------------------------------------------------------------------------------------
# Genotype value
# --------------------------------------------------------------------------------------------------


def _as_pairs(cell: str, value: Any) -> Pairs:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise NasInputError(f"the {cell} cell must be a list of (op, input) pairs, got {value!r}")
    pairs = []
    for item in value:
        if isinstance(item, str | bytes) or not isinstance(item, Sequence) or len(item) != 2:
            raise NasInputError(f"the {cell} cell holds {item!r}: each entry must be an (op, input) pair")
        op, index = item
        if not isinstance(op, str):
            raise NasInputError(f"the {cell} cell holds {item!r}: the op must be a name such as 'sep_conv_3x3'")
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise NasInputError(f"the {cell} cell holds {item!r}: the input must be an integer state index")
        pairs.append((op, int(index)))
    return tuple(pairs)


def _as_concat(cell: str, value: Any) -> tuple[int, ...]:
    try:
        concat = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise NasInputError(f"{cell}_concat must be a list of state indices, got {value!r}") from None
    if concat != CONCAT:
        raise NasInputError(
            f"{cell}_concat is {list(concat)}: the DARTS space concatenates states 2..5, "
            f"use {cell}_concat=[2, 3, 4, 5]"
        )
    return concat


def _validate_cell(cell: str, pairs: Pairs) -> None:
    if len(pairs) != 2 * NUM_STATES:
        raise NasInputError(
            f"wrong number of edges: the {cell} cell has {len(pairs)} (op, input) pairs, a DARTS cell needs "
            f"{2 * NUM_STATES} (two per intermediate node 2..5)"
        )
    for position, (op, index) in enumerate(pairs):
        state = 2 + position // 2
        if op == "none":
            raise NasInputError(
                f"node {state} of the {cell} cell uses 'none': a final genotype has two non-none inputs per node"
            )
        if op not in FINAL_OPS:
            raise NasInputError(
                f"unknown operation {op!r} in node {state} of the {cell} cell: choose one of {', '.join(FINAL_OPS)}"
            )
        if not 0 <= index < state:
            raise NasInputError(
                f"input index {index} of node {state} in the {cell} cell is out of range: "
                f"node {state} can read states 0..{state - 1}"
            )
    for state in range(2, 6):
        first, second = pairs[2 * (state - 2)][1], pairs[2 * (state - 2) + 1][1]
        if first == second:
            # every published DARTS-space genotype checked (DARTS, PC-DARTS, P-DARTS, DrNAS, RLNAS,
            # GDAS, SNAS) uses two distinct inputs, as the DARTS top-2-edges parse rule guarantees
            raise NasInputError(
                f"node {state} of the {cell} cell reads state {first} twice: each node needs two distinct inputs"
            )


@dataclass(frozen=True)
class DartsGenotype:
    """A final DARTS architecture in the papers' flat form: pairs 2i, 2i+1 feed state i+2."""

    normal: Pairs
    normal_concat: tuple[int, ...]
    reduce: Pairs
    reduce_concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for cell in CELL_KINDS:
            pairs = _as_pairs(cell, getattr(self, cell))
            _validate_cell(cell, pairs)
            object.__setattr__(self, cell, pairs)
            object.__setattr__(self, f"{cell}_concat", _as_concat(cell, getattr(self, f"{cell}_concat")))

    def cell(self, kind: str) -> Pairs:
        """The (op, input) pairs of the `normal` or `reduce` cell."""
        if kind not in CELL_KINDS:
            raise NasInputError(f"unknown cell kind {kind!r}: choose normal or reduce")
        return getattr(self, kind)

    def canonical(self) -> DartsGenotype:
        """The same architecture with each node's two pairs sorted by input (the form codes decode to)."""
        def sort_cell(pairs: Pairs) -> Pairs:
            out: list[tuple[str, int]] = []
            for node in range(NUM_STATES):
                out.extend(sorted(pairs[2 * node : 2 * node + 2], key=lambda pair: pair[1]))
            return tuple(out)

        return DartsGenotype(sort_cell(self.normal), self.normal_concat, sort_cell(self.reduce), self.reduce_concat)

    def __str__(self) -> str:
        return format_genotype(self)


# --------------------------------------------------------------------------------------------------
# Text forms
# --------------------------------------------------------------------------------------------------

_GENOTYPE_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
_EXAMPLE = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5], "
    "reduce=[...], reduce_concat=[2, 3, 4, 5])"
)


def _literal(node: ast.AST) -> Any:
    """A Python literal from an AST node: numbers, strings, lists/tuples and `range(a, b)` only."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand)
        if isinstance(value, int | float):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(element) for element in node.elts]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and not node.keywords
        and 1 <= len(node.args) <= 3
    ):
        bounds = [_literal(arg) for arg in node.args]
        if all(isinstance(bound, int) for bound in bounds) and len(range(*bounds)) <= 16:
            return list(range(*bounds))
    raise NasInputError(
        f"the genotype text contains {ast.unparse(node)!r}, which is not a literal: expected {_EXAMPLE}"
    )


def _strip_weights(cell: str, value: Any) -> Any:
    """Accept the (op, input, weight) triples that GDAS/NAS-Projects print by dropping the weight."""
    if not isinstance(value, list):
        return value
    out = []
    for item in value:
        if isinstance(item, list) and len(item) == 3 and isinstance(item[2], float):
            item = item[:2]
        out.append(item)
    return out


def _flatten_cell(cell: str, value: Any) -> Any:
    """Turn the pt.darts nested form [[(op, in), (op, in)], ×4] into the flat form; flat passes through."""
    if not isinstance(value, list) or not value:
        return value
    nested = all(isinstance(node, list) and node and isinstance(node[0], list) for node in value)
    if not nested:
        return _strip_weights(cell, value)
    if len(value) != NUM_STATES:
        raise NasInputError(
            f"wrong number of edges: the nested {cell} cell has {len(value)} nodes, a DARTS cell has 4 (states 2..5)"
        )
    flat = []
    for node_index, node in enumerate(value):
        node = _strip_weights(cell, node)
        if len(node) != 2:
            raise NasInputError(
                f"wrong number of edges: node {node_index + 2} of the {cell} cell has {len(node)} inputs, "
                "a final DARTS genotype needs exactly 2"
            )
        flat.extend(node)
    return flat


def _call_node(text: str) -> ast.Call:
    try:
        module = ast.parse(text.strip(), mode="exec")
    except SyntaxError as error:
        raise NasInputError(f"cannot parse the genotype text ({error.msg}): expected {_EXAMPLE}") from None
    if len(module.body) != 1:
        raise NasInputError(f"the genotype text holds {len(module.body)} statements: give one {_EXAMPLE}")
    statement = module.body[0]
    # accept `NAME = Genotype(...)` as the repos' genotypes.py files print it
    value = statement.value if isinstance(statement, ast.Assign | ast.Expr) else None
    if not isinstance(value, ast.Call):
        raise NasInputError(f"the genotype text is not a Genotype(...) call: expected {_EXAMPLE}")
    func = value.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name != "Genotype":
        raise NasInputError(f"the genotype text calls {ast.unparse(func)!r}, not Genotype: expected {_EXAMPLE}")
    return value


def parse_genotype(text: str) -> DartsGenotype:
    """Parse a genotype exactly as the papers and repos print it (flat or nested, lists or `range(2, 6)`)."""
    if not isinstance(text, str):
        raise NasInputError(f"a genotype text must be a string, got {type(text).__name__}")
    call = _call_node(text)
    fields: dict[str, Any] = {}
    if len(call.args) > len(_GENOTYPE_FIELDS):
        raise NasInputError(f"Genotype(...) takes 4 fields, got {len(call.args)} positional values")
    for field_name, arg in zip(_GENOTYPE_FIELDS, call.args, strict=False):
        fields[field_name] = _literal(arg)
    for keyword in call.keywords:
        if keyword.arg is None:
            raise NasInputError(f"the genotype text uses **-unpacking: expected {_EXAMPLE}")
        if keyword.arg not in _GENOTYPE_FIELDS:
            # pt.darts-derived repos add e.g. normal_bottleneck='' — ignore fields the space has no use for
            continue
        if keyword.arg in fields:
            raise NasInputError(f"the genotype text gives {keyword.arg!r} twice")
        fields[keyword.arg] = _literal(keyword.value)
    missing = [name for name in _GENOTYPE_FIELDS if name not in fields]
    if missing:
        raise NasInputError(
            f"the genotype text lacks {', '.join(missing)}: give normal, normal_concat, reduce and reduce_concat"
        )
    for cell in CELL_KINDS:
        fields[cell] = _flatten_cell(cell, fields[cell])
    return DartsGenotype(**fields)


def _format_pairs(pairs: Iterable[tuple[str, int]]) -> str:
    return "[" + ", ".join(f"({op!r}, {index})" for op, index in pairs) + "]"


def format_genotype(genotype: DartsGenotype) -> str:
    """The papers' flat text form: `Genotype(normal=[('sep_conv_3x3', 0), …], normal_concat=[2, 3, 4, 5], …)`."""
    return (
        f"Genotype(normal={_format_pairs(genotype.normal)}, normal_concat={list(genotype.normal_concat)}, "
        f"reduce={_format_pairs(genotype.reduce)}, reduce_concat={list(genotype.reduce_concat)})"
    )


def to_nested(genotype: DartsGenotype) -> dict[str, Any]:
    """The pt.darts nested form: `{"normal": [[(op, in), (op, in)], ×4], "normal_concat": [2..5], …}`."""
    out: dict[str, Any] = {}
    for cell in CELL_KINDS:
        pairs = genotype.cell(cell)
        out[cell] = [[pairs[2 * node], pairs[2 * node + 1]] for node in range(NUM_STATES)]
        out[f"{cell}_concat"] = list(getattr(genotype, f"{cell}_concat"))
    return out


def from_nested(nested: dict[str, Any]) -> DartsGenotype:
    """Inverse of `to_nested` (nodes must hold exactly two pairs)."""
    fields = {}
    for cell in CELL_KINDS:
        value = [[list(pair) for pair in node] for node in nested[cell]]
        fields[cell] = _flatten_cell(cell, value)
        fields[f"{cell}_concat"] = nested.get(f"{cell}_concat", CONCAT)
    return DartsGenotype(**fields)


def format_nested(genotype: DartsGenotype) -> str:
    """The pt.darts nested text form, with `range(2, 6)` concats as pt.darts prints them."""
    parts = []
    for cell in CELL_KINDS:
        pairs = genotype.cell(cell)
        nodes = ", ".join(_format_pairs(pairs[2 * node : 2 * node + 2]) for node in range(NUM_STATES))
        parts.append(f"{cell}=[{nodes}], {cell}_concat=range(2, 6)")
    return f"Genotype({', '.join(parts)})"


def genotype_to_json(genotype: DartsGenotype) -> dict[str, Any]:
    """`{"normal": [[op, in], ...], "normal_concat": [...], "reduce": ..., "reduce_concat": ...}`."""
    return {
        "normal": [[op, index] for op, index in genotype.normal],
        "normal_concat": list(genotype.normal_concat),
        "reduce": [[op, index] for op, index in genotype.reduce],
        "reduce_concat": list(genotype.reduce_concat),
    }


def genotype_from_json(obj: Any) -> DartsGenotype:
    """Inverse of `genotype_to_json`; also accepts the text form as a JSON string."""
    if isinstance(obj, str):
        return parse_genotype(obj)
    if not isinstance(obj, dict):
        raise NasInputError(f"a DARTS genotype in JSON is an object with normal/reduce lists, got {type(obj).__name__}")
    missing = [name for name in _GENOTYPE_FIELDS if name not in obj]
    if missing:
        raise NasInputError(
            f"the genotype JSON lacks {', '.join(missing)}: give normal, normal_concat, reduce and reduce_concat"
        )
    fields = {name: obj[name] for name in _GENOTYPE_FIELDS}
    for cell in CELL_KINDS:
        fields[cell] = _flatten_cell(cell, fields[cell])
    return DartsGenotype(**fields)


# --------------------------------------------------------------------------------------------------
# Integer and one-hot encodings (spaces.md §2.3)
# --------------------------------------------------------------------------------------------------


def _cell_code(pairs: Pairs, order: Sequence[str], none_value: int) -> Code:
    code = [none_value] * NUM_EDGES
    for position, (op, index) in enumerate(pairs):
        code[edge_index(index, 2 + position // 2)] = order.index(op)
    return tuple(code)


def _check_code(code: Sequence[int], name: str, low: int, high: int) -> Code:
    try:
        values = tuple(int(v) for v in code)
    except (TypeError, ValueError):
        raise NasInputError(f"the {name} must be a list of integers, got {code!r}") from None
    if len(values) != NUM_EDGES:
        raise NasInputError(f"wrong number of edges: the {name} has {len(values)} entries, a cell has 14")
    bad = [v for v in values if not low <= v <= high]
    if bad:
        raise NasInputError(f"the {name} holds {bad[0]}: values must lie in {low}..{high}")
    return values


def _cell_from_code(code: Code, order: Sequence[str], none_value: int, name: str) -> Pairs:
    pairs: list[tuple[str, int]] = []
    for state in range(2, 6):
        values = [code[edge_index(k, state)] for k in range(state)]
        chosen = [(order[value], k) for k, value in enumerate(values) if value != none_value]
        if len(chosen) != 2:
            raise NasInputError(
                f"node {state} of the {name} has {len(chosen)} non-none edges: a genotype needs exactly 2 "
                "(pass the code through repair first)"
            )
        pairs.extend(chosen)
    return tuple(pairs)


def to_rlnas_codes(genotype: DartsGenotype) -> Code:
    """28 ints (14 normal + 14 reduce), value = RLNAS op index, 0 = none (RLNAS `cand`)."""
    return _cell_code(genotype.normal, DARTS_OPS_RLNAS, 0) + _cell_code(genotype.reduce, DARTS_OPS_RLNAS, 0)


def from_rlnas_codes(codes: Sequence[int] | Sequence[Sequence[int]]) -> DartsGenotype:
    """Inverse of `to_rlnas_codes`; takes the flat 28 ints or the (normal 14, reduce 14) pair."""
    normal, reduce = _split_codes(codes, "RLNAS code", 0, len(DARTS_OPS_RLNAS) - 1)
    return DartsGenotype(
        _cell_from_code(normal, DARTS_OPS_RLNAS, 0, "normal RLNAS code"),
        CONCAT,
        _cell_from_code(reduce, DARTS_OPS_RLNAS, 0, "reduce RLNAS code"),
        CONCAT,
    )


def to_bpe_codes(genotype: DartsGenotype) -> Code:
    """28 ints in pt.darts op order (BPE `convert_sample_to_genotype`), 7 = none (dropped edge)."""
    return _cell_code(genotype.normal, DARTS_OPS_PT, 7) + _cell_code(genotype.reduce, DARTS_OPS_PT, 7)


def from_bpe_codes(codes: Sequence[int]) -> DartsGenotype:
    """Inverse of `to_bpe_codes` (each node must keep exactly two non-none edges)."""
    normal, reduce = _split_codes(codes, "BPE code", 0, len(DARTS_OPS_PT) - 1)
    return DartsGenotype(
        _cell_from_code(normal, DARTS_OPS_PT, 7, "normal BPE code"),
        CONCAT,
        _cell_from_code(reduce, DARTS_OPS_PT, 7, "reduce BPE code"),
        CONCAT,
    )


def _split_codes(codes: Any, name: str, low: int, high: int) -> tuple[Code, Code]:
    values = list(codes)
    if len(values) == 2 and all(isinstance(v, Sequence | np.ndarray) for v in values):
        normal, reduce = values
    elif len(values) == 2 * NUM_EDGES:
        normal, reduce = values[:NUM_EDGES], values[NUM_EDGES:]
    else:
        raise NasInputError(
            f"wrong number of edges: a {name} has 28 integers (14 normal + 14 reduce), got {len(values)}"
        )
    return _check_code(normal, f"normal {name}", low, high), _check_code(reduce, f"reduce {name}", low, high)


def to_rmi_onehot(genotype: DartsGenotype) -> tuple[np.ndarray, np.ndarray]:
    """Two 14×7 one-hot matrices (rows = edges, columns = the 7 non-none ops; unused edges all zero)."""
    matrices = []
    for cell in CELL_KINDS:
        matrix = np.zeros((NUM_EDGES, len(DARTS_OPS_DRNAS)), dtype=np.int64)
        for position, (op, index) in enumerate(genotype.cell(cell)):
            matrix[edge_index(index, 2 + position // 2), DARTS_OPS_DRNAS.index(op)] = 1
        matrices.append(matrix)
    return matrices[0], matrices[1]


def from_rmi_onehot(normal: np.ndarray, reduce: np.ndarray) -> DartsGenotype:
    """Inverse of `to_rmi_onehot`."""
    cells = {}
    for cell, matrix in zip(CELL_KINDS, (normal, reduce), strict=True):
        matrix = np.asarray(matrix)
        if matrix.shape != (NUM_EDGES, len(DARTS_OPS_DRNAS)):
            raise NasInputError(f"the {cell} one-hot matrix has shape {matrix.shape}: expected (14, 7)")
        if not np.isin(matrix, (0, 1)).all() or (matrix.sum(axis=1) > 1).any():
            raise NasInputError(f"the {cell} one-hot matrix must hold 0/1 with at most one 1 per row (edge)")
        code = tuple(int(np.argmax(row)) + 1 if row.any() else 0 for row in matrix)
        cells[cell] = _cell_from_code(code, DARTS_OPS_RLNAS, 0, f"{cell} one-hot matrix")
    return DartsGenotype(cells["normal"], CONCAT, cells["reduce"], CONCAT)


def to_nb301_config(genotype: DartsGenotype) -> dict[str, str]:
    """The NB301 ConfigSpace dict: `…:edge_{cell}_{e}` = op, `…:inputs_node_{cell}_{3..5}` = "a_b" (sorted)."""
    config: dict[str, str] = {}
    for cell in CELL_KINDS:
        pairs = genotype.cell(cell)
        for position, (op, index) in enumerate(pairs):
            config[f"{NB301_PREFIX}edge_{cell}_{edge_index(index, 2 + position // 2)}"] = op
        for state in range(3, 6):
            inputs = sorted(pair[1] for pair in pairs[2 * (state - 2) : 2 * (state - 2) + 2])
            config[f"{NB301_PREFIX}inputs_node_{cell}_{state}"] = "_".join(str(i) for i in inputs)
    return config


def from_nb301_config(config: dict[str, Any]) -> DartsGenotype:
    """Inverse of `to_nb301_config`; keys outside the DARTS cell (batch size, etc.) are ignored."""
    cells = {}
    for cell in CELL_KINDS:
        code = [0] * NUM_EDGES
        for edge in range(NUM_EDGES):
            op = config.get(f"{NB301_PREFIX}edge_{cell}_{edge}")
            if op is None:
                continue
            if op not in FINAL_OPS:
                raise NasInputError(
                    f"unknown operation {op!r} on NB301 edge_{cell}_{edge}: choose one of {', '.join(FINAL_OPS)}"
                )
            code[edge] = DARTS_OPS_RLNAS.index(op)
        pairs = _cell_from_code(tuple(code), DARTS_OPS_RLNAS, 0, f"NB301 {cell} cell")
        for state in range(3, 6):
            declared = config.get(f"{NB301_PREFIX}inputs_node_{cell}_{state}")
            actual = "_".join(str(p[1]) for p in pairs[2 * (state - 2) : 2 * (state - 2) + 2])
            if declared is not None and declared != actual:
                raise NasInputError(
                    f"NB301 inputs_node_{cell}_{state} is {declared!r} but the edges present give {actual!r}"
                )
        cells[cell] = pairs
    return DartsGenotype(cells["normal"], CONCAT, cells["reduce"], CONCAT)


# --------------------------------------------------------------------------------------------------
# Random operators on the 14-int RLNAS codes
# --------------------------------------------------------------------------------------------------


def repair(code: Sequence[int], rng: np.random.Generator) -> Code:
    """RLNAS `check_cand`: give node j (j+2 edges) exactly j nones, i.e. exactly two non-none inputs.

    Too few nones: pick surplus non-none edges uniformly without replacement and set them to none.
    Too many: pick surplus none edges uniformly without replacement and give each a uniform op in 1..7.
    """
    edges = list(_check_code(code, "RLNAS cell code", 0, len(DARTS_OPS_RLNAS) - 1))
    for node in range(NUM_STATES):
        offset = EDGE_OFFSETS[node]
        local = edges[offset : offset + node + 2]
        nones = [k for k, value in enumerate(local) if value == 0]
        if len(nones) < node:
            others = [k for k in range(node + 2) if k not in nones]
            for k in rng.choice(others, size=node - len(nones), replace=False):
                local[int(k)] = 0
        elif len(nones) > node:
            for k in rng.choice(nones, size=len(nones) - node, replace=False):
                local[int(k)] = 1 + int(rng.integers(len(DARTS_OPS_RLNAS) - 1))
        edges[offset : offset + node + 2] = local
    return tuple(edges)


def random_code(rng: np.random.Generator) -> Code:
    """A repaired 14-int code whose edges were each drawn uniformly over the 8 RLNAS ops (RLNAS sampling)."""
    return repair(tuple(int(v) for v in rng.integers(len(DARTS_OPS_RLNAS), size=NUM_EDGES)), rng)


class DartsRepairSampler(PathSampler):
    """RLNAS DARTS path sampler: per step one normal and one reduce code, each edge uniform over 8 ops, repaired.

    The reference reseeds numpy before every edge draw with a running integer counter, so every DDP rank
    draws the same path without communication. nascli draws from one numpy Generator seeded once:
    the distribution is the same, and every rank seeded identically draws the same sequence.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.steps = 0

    def sample(self) -> tuple[Code, Code]:
        """The next (normal code, reduce code) pair."""
        self.steps += 1
        return random_code(self.rng), random_code(self.rng)

    def state_dict(self) -> dict[str, Any]:
        """Seed, step count and the generator state (restores the exact sequence)."""
        return {"seed": self.seed, "steps": self.steps, "bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the sequence saved by `state_dict`."""
        self.seed = int(state["seed"])
        self.steps = int(state["steps"])
        self.rng = np.random.default_rng(self.seed)
        self.rng.bit_generator.state = state["bit_generator"]


# --------------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------------


def build_op(name: str, channels: int, stride: int, affine: bool = True, pool_bn: bool = False) -> nn.Module:
    """One DARTS op on `channels` channels (RLNAS supernet: `pool_bn=True` puts a BN after each pool)."""
    if name == "none":
        return Zero(channels, channels, stride)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        return Pool(name[:3], channels, stride, bn_after=pool_bn, affine=affine)
    if name == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(channels, channels, affine=affine)
    if name in ("sep_conv_3x3", "sep_conv_5x5"):
        return SepConv(channels, channels, int(name[-1]), stride, affine=affine)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        return DilConv(channels, channels, int(name[-1]), stride, 2, affine=affine)
    raise NasInputError(f"unknown operation {name!r}: choose one of {', '.join(DARTS_OPS_RLNAS)}")


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples with probability `drop_prob` and rescale the rest (DARTS drop-path)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask.div_(keep)  # scale the [N,1,1,1] mask, not the activation: one full-size temporary


def _preprocess(
    c_prev_prev: int, c_prev: int, c: int, reduction_prev: bool, affine: bool
) -> tuple[nn.Module, nn.Module]:
    pre0: nn.Module
    if reduction_prev:
        pre0 = FactorizedReduce(c_prev_prev, c, affine=affine)
    else:
        pre0 = ReLUConvBN(c_prev_prev, c, 1, 1, 0, affine=affine)
    return pre0, ReLUConvBN(c_prev, c, 1, 1, 0, affine=affine)


class DartsCell(nn.Module):
    """A stand-alone cell: two preprocessed inputs, 8 ops (pair order of the genotype), concat of states 2..5."""

    def __init__(
        self,
        pairs: Pairs,
        concat: Sequence[int],
        c_prev_prev: int,
        c_prev: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
        affine: bool = True,
        pool_bn: bool = False,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = _preprocess(c_prev_prev, c_prev, channels, reduction_prev, affine)
        self.indices = tuple(index for _, index in pairs)
        self.concat = tuple(concat)
        self.multiplier = len(self.concat)
        self.ops = nn.ModuleList(
            build_op(op, channels, 2 if reduction and index < 2 else 1, affine, pool_bn) for op, index in pairs
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        """Cell output; drop-path on non-identity op outputs while training."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(len(self.ops) // 2):
            total = None
            for k in (2 * node, 2 * node + 1):
                op = self.ops[k]
                h = op(states[self.indices[k]])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    h = drop_path(h, drop_prob)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS CIFAR auxiliary head on the 8×8 map after cell 2L//3."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            # not in place (the reference is): the cell output it reads feeds the next cells too
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Auxiliary logits."""
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryHeadImageNet(nn.Module):
    """DARTS ImageNet auxiliary head; keeps the reference's missing BN after the 768-conv (paper parity)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Auxiliary logits."""
        return self.classifier(self.features(x).flatten(1))


def _reduction_layers(layers: int) -> tuple[int, int]:
    return layers // 3, 2 * layers // 3


def _check_sizes(channels: int, layers: int, num_classes: int) -> None:
    if channels < 2 or channels % 2:
        raise NasInputError(f"channels={channels}: DARTS networks need an even channel count ≥ 2 (FactorizedReduce)")
    if layers < 3:
        raise NasInputError(f"layers={layers}: a DARTS network needs at least 3 cells (two are reductions)")
    if num_classes < 1:
        raise NasInputError(f"num_classes={num_classes} must be positive")


class _DartsNetwork(nn.Module):
    """Shared cell stack, drop-path setting, auxiliary head and stage outputs of the two stand-alone networks."""

    auxiliary_head: nn.Module | None

    def __init__(self, layers: int, drop_path_prob: float) -> None:
        super().__init__()
        self.layers = layers
        self.drop_path_prob = float(drop_path_prob)
        self.cells = nn.ModuleList()

    def _build_cells(
        self, genotype: DartsGenotype, c_stem_prev_prev: int, c_stem_prev: int, channels: int,
        reduction_prev: bool, affine: bool, pool_bn: bool,
    ) -> tuple[int, int]:
        c_prev_prev, c_prev, c_curr = c_stem_prev_prev, c_stem_prev, channels
        c_aux = c_prev
        for i in range(self.layers):
            reduction = i in _reduction_layers(self.layers)
            if reduction:
                c_curr *= 2
            kind = "reduce" if reduction else "normal"
            cell = DartsCell(
                genotype.cell(kind), getattr(genotype, f"{kind}_concat"), c_prev_prev, c_prev, c_curr,
                reduction, reduction_prev, affine, pool_bn,
            )
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == 2 * self.layers // 3:
                c_aux = c_prev
        return c_prev, c_aux

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s0, s1), the two inputs of the first cell; each network defines its own stem."""
        raise TypeError(f"{type(self).__name__} defines no stem: subclass NetworkCIFAR or NetworkImageNet")

    def _run(self, x: torch.Tensor, want_aux: bool, keep: frozenset[int] = frozenset()
             ) -> tuple[torch.Tensor, torch.Tensor | None, dict[int, torch.Tensor]]:
        s0, s1 = self._stem(x)
        aux_logits = None
        outputs = {}  # only the cells asked for: keeping every cell output would raise the peak memory
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i in keep:
                outputs[i] = s1
            if want_aux and i == 2 * self.layers // 3 and self.auxiliary_head is not None and self.training:
                aux_logits = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits, aux_logits, outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self._run(x, want_aux=False)[0]

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits, auxiliary logits); the auxiliary logits exist only in training mode with the head built."""
        logits, aux_logits, _ = self._run(x, want_aux=True)
        return logits, aux_logits

    def stage_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of cells L//3−1, 2L//3−1 and L−1 (the three feature maps RMI-NAS compares)."""
        wanted = (self.layers // 3 - 1, 2 * self.layers // 3 - 1, self.layers - 1)
        outputs = self._run(x, want_aux=False, keep=frozenset(wanted))[2]
        return [outputs[i] for i in wanted]


class NetworkCIFAR(_DartsNetwork):
    """DARTS stand-alone CIFAR network: Conv3×3(3→3C)+BN stem, L cells (reductions at L//3, 2L//3), GAP, Linear."""

    def __init__(
        self,
        genotype: DartsGenotype,
        channels: int = 36,
        num_classes: int = 10,
        layers: int = 20,
        auxiliary: bool = False,
        drop_path_prob: float = 0.0,
        input_size: int = 32,
        affine: bool = True,
        pool_bn: bool = False,
    ) -> None:
        _check_sizes(channels, layers, num_classes)
        super().__init__(layers, drop_path_prob)
        c_stem = 3 * channels
        self.stem = nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        c_prev, c_aux = self._build_cells(genotype, c_stem, c_stem, channels, False, affine, pool_bn)
        self.auxiliary_head = None
        if auxiliary:
            _check_auxiliary_fits(input_size, halvings=2, pool_stride=3, after_cell=2 * layers // 3)
            self.auxiliary_head = AuxiliaryHeadCIFAR(c_aux, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.stem(x)
        return s, s


class NetworkImageNet(_DartsNetwork):
    """DARTS stand-alone ImageNet network: two strided stems (224 → 28), L cells, global pool, Linear."""

    def __init__(
        self,
        genotype: DartsGenotype,
        channels: int = 48,
        num_classes: int = 1000,
        layers: int = 14,
        auxiliary: bool = False,
        drop_path_prob: float = 0.0,
        input_size: int = 224,
        affine: bool = True,
        pool_bn: bool = False,
    ) -> None:
        _check_sizes(channels, layers, num_classes)
        super().__init__(layers, drop_path_prob)
        self.stem0, self.stem1 = _imagenet_stems(channels)
        c_prev, c_aux = self._build_cells(genotype, channels, channels, channels, True, affine, pool_bn)
        self.auxiliary_head = None
        if auxiliary:
            _check_auxiliary_fits(input_size, halvings=5, pool_stride=2, after_cell=2 * layers // 3)
            self.auxiliary_head = AuxiliaryHeadImageNet(c_aux, num_classes)
        # the reference's AvgPool2d(7) on the final 7×7 map at 224 px; adaptive so reduced sizes also work
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return s0, self.stem1(s0)


def _check_auxiliary_fits(input_size: int, halvings: int, pool_stride: int, after_cell: int) -> None:
    """The auxiliary head pools 5×5 with `pool_stride`, then a 2×2 conv, then a Linear on 768 features: the
    pooled map must be exactly 2×2, which holds only for a narrow band of input sizes."""

    def fits(size: int) -> bool:
        side = _downsampled(size, halvings)
        return side >= 5 and (side - 5) // pool_stride + 1 == 2

    if not fits(input_size):
        working = [size for size in range(1, 1025) if fits(size)]
        raise NasInputError(
            f"the auxiliary head after cell {after_cell} does not fit input size {input_size} (its map is "
            f"{_downsampled(input_size, halvings)}×{_downsampled(input_size, halvings)}): disable the auxiliary head "
            f"or use an input size in {working[0]}..{working[-1]}"
        )


def _downsampled(size: int, halvings: int) -> int:
    for _ in range(halvings):
        size = (size + 1) // 2
    return size


def _imagenet_stems(channels: int) -> tuple[nn.Sequential, nn.Sequential]:
    stem0 = nn.Sequential(
        nn.Conv2d(3, channels // 2, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(channels // 2),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels // 2, channels, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(channels),
    )
    stem1 = nn.Sequential(
        nn.ReLU(inplace=False),  # stem0's output is also cell 0's first input
        nn.Conv2d(channels, channels, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(channels),
    )
    return stem0, stem1


# --------------------------------------------------------------------------------------------------
# Single-path supernet (RLNAS, methods/rlnas.md §2.2)
# --------------------------------------------------------------------------------------------------


def path_codes(path: Any) -> tuple[Code, Code]:
    """(normal, reduce) RLNAS codes of a path given as a DartsGenotype, a (normal, reduce) pair or 28 ints."""
    if isinstance(path, DartsGenotype):
        codes = to_rlnas_codes(path)
        return codes[:NUM_EDGES], codes[NUM_EDGES:]
    return _split_codes(path, "supernet path", 0, len(DARTS_OPS_RLNAS) - 1)


class SupernetCell(nn.Module):
    """A supernet cell: every one of the 14 edges holds every op of the space (a `MixedEdge` keyed by op name).

    With `partial_channels` K > 1 the ops are built for C/K channels and only the mixed forward applies.
    """

    def __init__(
        self, ops: Sequence[str], c_prev_prev: int, c_prev: int, channels: int, reduction: bool,
        reduction_prev: bool, affine: bool = True, pool_bn: bool = True, partial_channels: int = 1,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = _preprocess(c_prev_prev, c_prev, channels, reduction_prev, affine)
        check_partial_channels(channels, partial_channels, f"a DARTS cell of width {channels}")
        op_channels = channels // partial_channels
        self.edges = nn.ModuleList(
            MixedEdge(
                {op: build_op(op, op_channels, 2 if reduction and k < 2 else 1, affine, pool_bn) for op in ops},
                channels, 2 if reduction and k < 2 else 1, partial_channels,
            )
            for k, _ in EDGES
        )

    def forward_mixed(
        self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor, active: Sequence[Sequence[bool]],
        edge_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Node s = Σ_{k<s} [β_e ·] Σ_op w_{e,op} · op(state k); weights [14, ops] in the supernet's op order."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for state in range(2, 6):
            total = None
            for k in range(state):
                e = edge_index(k, state)
                h = self.edges[e].mixed(states[k], weights[e], active[e])
                if edge_weights is not None:
                    h = edge_weights[e] * h
                total = h if total is None else total + h
            states.append(total)
        return torch.cat(states[2:], dim=1)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, code: Code) -> torch.Tensor:
        """Run the path `code` (14 RLNAS op indices); `none` edges are skipped."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for state in range(2, 6):
            total = None
            for k in range(state):
                e = edge_index(k, state)
                if code[e] == 0:
                    continue
                h = self.edges[e][DARTS_OPS_RLNAS[code[e]]](states[k])
                total = h if total is None else total + h
            if total is None:
                raise NasInputError(f"the supernet path leaves node {state} without inputs: repair the code first")
            states.append(total)
        return torch.cat(states[2:], dim=1)


class DartsSupernet(nn.Module):
    """RLNAS single-path DARTS supernet: `forward(x, path)` runs one normal code in all normal cells, one reduce."""

    def __init__(
        self,
        channels: int = 16,
        num_classes: int = 10,
        layers: int = 8,
        ops: Sequence[str] = DARTS_OPS_RLNAS,
        imagenet: bool = False,
        affine: bool = True,
        pool_bn: bool = True,
        partial_channels: int = 1,
    ) -> None:
        _check_sizes(channels, layers, num_classes)
        super().__init__()
        self.layers = layers
        self.ops = tuple(ops)
        self.imagenet = imagenet
        self.partial_channels = int(partial_channels)
        if imagenet:
            self.stem0, self.stem1 = _imagenet_stems(channels)
            c_prev_prev = c_prev = channels
            reduction_prev = True
        else:
            c_prev_prev = c_prev = 3 * channels
            self.stem = nn.Sequential(nn.Conv2d(3, c_prev, 3, padding=1, bias=False), nn.BatchNorm2d(c_prev))
            reduction_prev = False
        c_curr = channels
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in _reduction_layers(layers)
            if reduction:
                c_curr *= 2
            self.cells.append(
                SupernetCell(self.ops, c_prev_prev, c_prev, c_curr, reduction, reduction_prev, affine, pool_bn,
                             self.partial_channels)
            )
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, NUM_STATES * c_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def stem_modules(self) -> list[nn.Module]:
        """The stem(s), in forward order."""
        return [self.stem0, self.stem1] if self.imagenet else [self.stem]

    def _forward_mixed(self, x: torch.Tensor, weights: Mapping[str, torch.Tensor],
                       edge_weights: Mapping[str, torch.Tensor] | None,
                       active: Mapping[str, Sequence[Sequence[bool]]] | None = None) -> torch.Tensor:
        if set(weights) != set(CELL_KINDS):
            raise NasInputError(f"DARTS op weights are {{'normal': w, 'reduce': w}}, got keys {sorted(weights)}")
        for kind in CELL_KINDS:
            if tuple(weights[kind].shape) != (NUM_EDGES, len(self.ops)):
                raise NasInputError(
                    f"the {kind} op weights have shape {list(weights[kind].shape)}, expected [14, {len(self.ops)}]"
                )
        if active is None:  # one device sync; search loops pass the pruning masks instead
            active = {kind: active_ops(weights[kind]) for kind in CELL_KINDS}
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        for cell in self.cells:
            kind = "reduce" if cell.reduction else "normal"
            betas = None if edge_weights is None else edge_weights[kind]
            s0, s1 = s1, cell.forward_mixed(s0, s1, weights[kind], active[kind], betas)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def forward(self, x: torch.Tensor, path: Any, edge_weights: Mapping[str, torch.Tensor] | None = None,
                active: Mapping[str, Sequence[Sequence[bool]]] | None = None) -> torch.Tensor:
        """Logits of the sub-network `path` (DartsGenotype, (normal, reduce) codes, or 28 ints), or of the mixed
        supernet when `path` is `{"normal": w, "reduce": w}`: op weights [14, ops] in `self.ops` order, shared by
        all cells of a type; ops whose weight is exactly 0 are skipped; `edge_weights` ([14] per type) scale edges;
        `active` (per type, [14][ops] bools) names the ops to run without reading the weights on the host.
        """
        if isinstance(path, Mapping):
            return self._forward_mixed(x, path, edge_weights, active)
        if self.partial_channels != 1:
            raise NasInputError("a supernet with partial channels runs only mixed (op weights), not single paths")
        normal, reduce = path_codes(path)
        for code in (normal, reduce):
            missing = {DARTS_OPS_RLNAS[v] for v in code if v != 0} - set(self.ops)
            if missing:
                raise NasInputError(
                    f"the path uses {', '.join(sorted(missing))}, which this supernet does not hold "
                    f"(ops: {', '.join(self.ops)})"
                )
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(self.global_pooling(s1).flatten(1))


def _stem_names(supernet: DartsSupernet) -> tuple[str, ...]:
    return ("stem0", "stem1") if supernet.imagenet else ("stem",)


def _path_modules(supernet: DartsSupernet, arch: Any) -> Iterator[tuple[str, nn.Module]]:
    normal, reduce = path_codes(arch)
    yield from zip(_stem_names(supernet), supernet.stem_modules(), strict=True)
    for c, cell in enumerate(supernet.cells):
        yield f"cells.{c}.preprocess0", cell.preprocess0
        yield f"cells.{c}.preprocess1", cell.preprocess1
        code = reduce if cell.reduction else normal
        for e in range(NUM_EDGES):
            if code[e] != 0:
                op = DARTS_OPS_RLNAS[code[e]]
                yield f"cells.{c}.edges.{e}.{op}", cell.edges[e][op]
    yield "classifier", supernet.classifier


def supernet_path_parameters(supernet: DartsSupernet, arch: Any) -> list[nn.Parameter]:
    """Parameters the path uses, each once: stem, per cell preprocess0/1 and chosen ops by edge, classifier."""
    params: list[nn.Parameter] = []
    seen: set[int] = set()
    for _, module in _path_modules(supernet, arch):
        for parameter in module.parameters():
            if id(parameter) not in seen:
                seen.add(id(parameter))
                params.append(parameter)
    return params


def network_state_from_supernet(supernet: DartsSupernet, genotype: DartsGenotype) -> dict[str, torch.Tensor]:
    """State dict (parameters and BN buffers) of the stand-alone network of `genotype` inherited from `supernet`.

    Load it into `NetworkCIFAR`/`NetworkImageNet` built with the supernet's channels, layers and
    `pool_bn=True` (the supernet's pools carry a BN).
    """
    state: dict[str, torch.Tensor] = {}

    def copy(prefix: str, module: nn.Module) -> None:
        for key, value in module.state_dict().items():
            state[f"{prefix}.{key}"] = value.detach().clone()

    for name, stem in zip(_stem_names(supernet), supernet.stem_modules(), strict=True):
        copy(name, stem)
    for c, cell in enumerate(supernet.cells):
        copy(f"cells.{c}.preprocess0", cell.preprocess0)
        copy(f"cells.{c}.preprocess1", cell.preprocess1)
        pairs = genotype.cell("reduce" if cell.reduction else "normal")
        for position, (op, index) in enumerate(pairs):
            copy(f"cells.{c}.ops.{position}", cell.edges[edge_index(index, 2 + position // 2)][op])
    copy("classifier", supernet.classifier)
    return state


# --------------------------------------------------------------------------------------------------
# The space
# --------------------------------------------------------------------------------------------------

_VARIANT_OPS = {"rlnas": DARTS_OPS_RLNAS, "drnas": DARTS_OPS_DRNAS}
_NETWORK_OPTIONS = ("auxiliary", "drop_path_prob", "imagenet", "affine", "pool_bn", "partial_channels")
_CIFAR_LIKE = {"cifar10": 10, "cifar100": 100, "synthetic": 10}
_IMAGENET_LIKE = {"imagenet": 1000, "imagefolder": 1000}


@SPACES.register("darts")
class DartsSpace(SearchSpace):
    """The DARTS cell space; `variant="rlnas"` has 8 ops incl. none, `variant="drnas"` the 7 without."""

    name = "darts"

    def __init__(self, variant: str = "rlnas") -> None:
        if variant not in _VARIANT_OPS:
            raise NasInputError(f"unknown DARTS space variant {variant!r}: choose one of {', '.join(_VARIANT_OPS)}")
        self.variant = variant
        self.ops = _VARIANT_OPS[variant]
        self._cost_cache: dict[tuple[Any, ...], float] = {}

    # --- text and JSON forms -------------------------------------------------------------------
    def parse(self, text: str) -> DartsGenotype:
        """Parse the papers' flat or pt.darts nested `Genotype(...)` text."""
        return parse_genotype(text)

    def format(self, arch: DartsGenotype) -> str:
        """The papers' flat text form."""
        return format_genotype(self.coerce(arch))

    def to_json(self, arch: DartsGenotype) -> dict[str, Any]:
        """`{"normal": [[op, in], ...], "normal_concat": [...], ...}`."""
        return genotype_to_json(self.coerce(arch))

    def from_json(self, obj: Any) -> DartsGenotype:
        """Inverse of `to_json`; a list of 28 ints is read as an RLNAS code."""
        if isinstance(obj, list | tuple) and len(obj) in (2, 2 * NUM_EDGES):
            return from_rlnas_codes(obj)
        return genotype_from_json(obj)

    def coerce(self, value: Any) -> DartsGenotype:
        """A genotype, its text or JSON form, a registered name (e.g. RLDARTS) or 28 RLNAS ints."""
        if isinstance(value, DartsGenotype):
            return value
        inner = getattr(value, "genotype", None)
        if isinstance(inner, DartsGenotype):
            return inner
        if isinstance(value, str) and not value.lstrip().startswith(("Genotype", "{", "[")) and "(" not in value:
            from nascli.spaces.genotypes import get_genotype

            return get_genotype(value.strip())
        result = super().coerce(value)
        if not isinstance(result, DartsGenotype):
            raise NasInputError(f"cannot read {value!r} as a DARTS genotype: give Genotype(...) text or a name")
        return result

    # --- random operators ----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> DartsGenotype:
        """Per cell and node: two distinct inputs uniformly, each with an op uniform over the non-none ops."""
        cells = []
        for _ in CELL_KINDS:
            pairs: list[tuple[str, int]] = []
            for state in range(2, 6):
                inputs = sorted(int(i) for i in rng.choice(state, size=2, replace=False))
                pairs.extend((FINAL_OPS[int(rng.integers(len(FINAL_OPS)))], i) for i in inputs)
            cells.append(tuple(pairs))
        return DartsGenotype(cells[0], CONCAT, cells[1], CONCAT)

    def repair(self, code: Sequence[int], rng: np.random.Generator) -> Code:
        """RLNAS `check_cand` on one 14-int cell code (see `repair`)."""
        return repair(code, rng)

    def mutate(
        self,
        arch: DartsGenotype,
        rng: np.random.Generator,
        prob: float,
        ops: Sequence[str] | None = None,
        cells: Sequence[str] = CELL_KINDS,
    ) -> DartsGenotype:
        """Each edge gene of `cells` redrawn with probability `prob` uniformly from `ops`, then repaired.

        `ops` defaults to the variant's ops (RLNAS CIFAR: all 8 incl. none; RLNAS ImageNet uses the 7
        non-none); `cells=("normal",)` reproduces the RLNAS reference, which mutates the normal cell only.
        """
        choices = self._op_indices(ops)
        unknown = [cell for cell in cells if cell not in CELL_KINDS]
        if unknown:
            raise NasInputError(f"unknown cell kind {unknown[0]!r}: choose normal and/or reduce")
        codes = list(path_codes(self.coerce(arch)))
        for c, cell in enumerate(CELL_KINDS):
            if cell not in cells:
                continue
            code = list(codes[c])
            for e in range(NUM_EDGES):
                if rng.random() < prob:
                    code[e] = choices[int(rng.integers(len(choices)))]
            codes[c] = repair(code, rng)
        return from_rlnas_codes(codes)

    def crossover(self, a: DartsGenotype, b: DartsGenotype, rng: np.random.Generator) -> DartsGenotype:
        """Each of the 28 edge genes from `a` or `b` with probability ½, then each cell repaired."""
        codes_a, codes_b = path_codes(self.coerce(a)), path_codes(self.coerce(b))
        children = []
        for code_a, code_b in zip(codes_a, codes_b, strict=True):
            child = [x if rng.random() < 0.5 else y for x, y in zip(code_a, code_b, strict=True)]
            children.append(repair(child, rng))
        return from_rlnas_codes(children)

    def _op_indices(self, ops: Sequence[str] | None) -> list[int]:
        names = list(self.ops if ops is None else ops)
        unknown = [op for op in names if op not in self.ops]
        if unknown or not names:
            raise NasInputError(
                f"unknown operation {unknown[0] if unknown else '(none given)'!r} for the {self.variant} DARTS "
                f"space: choose from {', '.join(self.ops)}"
            )
        return [DARTS_OPS_RLNAS.index(op) for op in names]

    # --- networks ------------------------------------------------------------------------------
    def _options(self, cfg: NetworkConfig) -> dict[str, Any]:
        unknown = sorted(set(cfg.options) - set(_NETWORK_OPTIONS))
        if unknown:
            raise NasInputError(
                f"unknown DARTS network option {unknown[0]!r}: choose from {', '.join(_NETWORK_OPTIONS)}"
            )
        options = dict(cfg.options)
        options.setdefault("imagenet", cfg.input_size >= 64)
        return options

    def supernet(self, cfg: NetworkConfig) -> DartsSupernet:
        """CIFAR C=16 with 8 cells (ImageNet C=48, 14 cells), BN affine (RLNAS; option `affine`), and a BN after
        each pool in the rlnas variant (RLNAS, DARTS, PC-DARTS) but not in the drnas one (option `pool_bn`);
        option `partial_channels` K builds the ops for C/K channels (mixed forward only)."""
        options = self._options(cfg)
        imagenet = bool(options["imagenet"])
        partial = options.get("partial_channels", 1)
        if isinstance(partial, bool) or not isinstance(partial, int):
            raise NasInputError(f"network option 'partial_channels' must be an integer K ≥ 1, got {partial!r}")
        return DartsSupernet(
            channels=cfg.channels or (48 if imagenet else 16),
            num_classes=cfg.num_classes,
            layers=cfg.layers or (14 if imagenet else 8),
            ops=self.ops,
            imagenet=imagenet,
            affine=bool(options.get("affine", True)),
            pool_bn=bool(options.get("pool_bn", self.variant != "drnas")),
            partial_channels=partial,
        )

    def network(self, arch: DartsGenotype, cfg: NetworkConfig) -> NetworkCIFAR | NetworkImageNet:
        """Stand-alone network: CIFAR C=36 L=20 or ImageNet C=48 L=14 unless `cfg` says otherwise."""
        genotype = self.coerce(arch)
        options = self._options(cfg)
        common = {
            "num_classes": cfg.num_classes,
            "auxiliary": bool(options.get("auxiliary", False)),
            "drop_path_prob": float(options.get("drop_path_prob", 0.0)),
            "input_size": cfg.input_size,
            "affine": bool(options.get("affine", True)),
            "pool_bn": bool(options.get("pool_bn", False)),
        }
        if options["imagenet"]:
            return NetworkImageNet(genotype, channels=cfg.channels or 48, layers=cfg.layers or 14, **common)
        return NetworkCIFAR(genotype, channels=cfg.channels or 36, layers=cfg.layers or 20, **common)

    def cost(self, arch: Any, what: str, dataset: str | None = None) -> float:
        """FLOPs or params (millions, aux head excluded) of the paper-size network for `dataset` (default CIFAR-10).

        CIFAR-like datasets: C=36, L=20 at 32 px; ImageNet: C=48, L=14 at 224 px. Summed from the per-op
        lookup (`nascli.spaces.flops_lookup`, built once per size), which equals `count_flops` /
        `count_params` on the built network.
        """
        from nascli.spaces.flops_lookup import lookup_cost

        if what not in ("flops", "params"):
            raise NasInputError(f"unknown cost {what!r}: choose flops or params")
        genotype = self.coerce(arch)
        key = (genotype, what, dataset or "cifar10")
        if key not in self._cost_cache:
            self._cost_cache[key] = lookup_cost(self, genotype, what, dataset)
        return self._cost_cache[key]

    def path_parameters(self, supernet: nn.Module, arch: Any) -> list[nn.Parameter]:
        """Parameters of `arch`'s path in `supernet`, each once, in forward order."""
        if not isinstance(supernet, DartsSupernet):
            raise NasInputError(f"expected a DARTS supernet, got {type(supernet).__name__}")
        return supernet_path_parameters(supernet, arch if not isinstance(arch, str) else self.coerce(arch))

    def path_sampler(self, seed: int, cfg: NetworkConfig | None = None) -> DartsRepairSampler:
        """RLNAS uniform sampling with `check_cand` repair, from one seeded generator."""
        return DartsRepairSampler(seed)

    def default_config(self, dataset: str) -> NetworkConfig:
        """CIFAR-10/100 and synthetic: the 32 px CIFAR network; ImageNet / image folders: the 224 px network."""
        key = dataset.lower().replace("_", "").replace("-", "")
        if key in _CIFAR_LIKE:
            return NetworkConfig(num_classes=_CIFAR_LIKE[key], input_size=32)
        if key in _IMAGENET_LIKE:
            return NetworkConfig(num_classes=_IMAGENET_LIKE[key], input_size=224)
        known = ", ".join([*_CIFAR_LIKE, *_IMAGENET_LIKE])
        raise NasInputError(f"the DARTS space has no default network for dataset {dataset!r}: choose one of {known}")
