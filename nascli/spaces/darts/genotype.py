"""DARTS genotypes: the op vocabulary, the genotype value and its text and JSON forms (methods/spaces.md §2)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nascli.errors import NasInputError

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
        # `none` marks a slot removed by pruning (redundancy paper §1.3): the node keeps its two input slots
        if op not in FINAL_OPS and op != "none":
            raise NasInputError(
                f"unknown operation {op!r} in node {state} of the {cell} cell: choose one of {', '.join(FINAL_OPS)} "
                "(or none for a pruned slot)"
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

    def is_pruned(self) -> bool:
        """Whether any slot holds `none` (a genotype written by `nas analyze prune`)."""
        return any(op == "none" for cell in CELL_KINDS for op, _ in getattr(self, cell))

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


