"""Integer and one-hot encodings of DARTS genotypes used by the references (methods/spaces.md §2.3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nascli.errors import NasInputError
from nascli.spaces.darts.genotype import (
    CELL_KINDS,
    CONCAT,
    DARTS_OPS_DRNAS,
    DARTS_OPS_PT,
    DARTS_OPS_RLNAS,
    FINAL_OPS,
    NB301_PREFIX,
    NUM_EDGES,
    Code,
    DartsGenotype,
    Pairs,
    edge_index,
)


def _cell_code(pairs: Pairs, order: Sequence[str], none_value: int) -> Code:
    code = [none_value] * NUM_EDGES
    for position, (op, index) in enumerate(pairs):
        code[edge_index(index, 2 + position // 2)] = order.index(op)
    return tuple(code)


def check_code(code: Sequence[int], name: str, low: int, high: int) -> Code:
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


def _refuse_pruned(genotype: DartsGenotype, encoding: str) -> None:
    if genotype.is_pruned():
        raise NasInputError(f"the genotype has 'none' (pruned) slots, which the {encoding} encoding cannot hold: "
                            "use the Genotype(...) text form")


def to_rlnas_codes(genotype: DartsGenotype) -> Code:
    """28 ints (14 normal + 14 reduce), value = RLNAS op index, 0 = none (RLNAS `cand`)."""
    return _cell_code(genotype.normal, DARTS_OPS_RLNAS, 0) + _cell_code(genotype.reduce, DARTS_OPS_RLNAS, 0)


def from_rlnas_codes(codes: Sequence[int] | Sequence[Sequence[int]]) -> DartsGenotype:
    """Inverse of `to_rlnas_codes`; takes the flat 28 ints or the (normal 14, reduce 14) pair."""
    normal, reduce = split_codes(codes, "RLNAS code", 0, len(DARTS_OPS_RLNAS) - 1)
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
    normal, reduce = split_codes(codes, "BPE code", 0, len(DARTS_OPS_PT) - 1)
    return DartsGenotype(
        _cell_from_code(normal, DARTS_OPS_PT, 7, "normal BPE code"),
        CONCAT,
        _cell_from_code(reduce, DARTS_OPS_PT, 7, "reduce BPE code"),
        CONCAT,
    )


def split_codes(codes: Any, name: str, low: int, high: int) -> tuple[Code, Code]:
    values = list(codes)
    if len(values) == 2 and all(isinstance(v, Sequence | np.ndarray) for v in values):
        normal, reduce = values
    elif len(values) == 2 * NUM_EDGES:
        normal, reduce = values[:NUM_EDGES], values[NUM_EDGES:]
    else:
        raise NasInputError(
            f"wrong number of edges: a {name} has 28 integers (14 normal + 14 reduce), got {len(values)}"
        )
    return check_code(normal, f"normal {name}", low, high), check_code(reduce, f"reduce {name}", low, high)


def to_rmi_onehot(genotype: DartsGenotype) -> tuple[np.ndarray, np.ndarray]:
    """Two 14×7 one-hot matrices (rows = edges, columns = the 7 non-none ops; unused edges all zero)."""
    _refuse_pruned(genotype, "RMI one-hot")
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
    _refuse_pruned(genotype, "NB301 config")
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


