"""The RLNAS angle in the DARTS space, built as the reference builds it (methods/rlnas.md §3.2).

Reference: RLNAS `darts_search_space/{cifar10,imagenet}/rlnas/evolution_search/test_server.py: get_arch_vector`.
Layer ℓ runs the reduce code when ℓ ∈ {L//3, 2L//3}, else the normal code. For every layer, each of the
30 cell paths (`DARTS_PATHS`) that crosses no `none` edge contributes the blocks of its edges, so an edge
on several live paths counts several times:

- max/avg pool: a constant 1/9 block of shape [C, 3, 3] (C from `sep_conv_3x3`'s first depthwise weight),
  identical in v₀ and v_T, then the pool's BN weight and bias;
- skip: FactorizedReduce (stride-2 edge) → its two convs, BN weight and bias; identity → the constant
  identity matrix I_C flattened (C from `sep_conv_3x3`'s last pointwise conv);
- sep conv: its four conv weights, then both BNs' weight and bias;
- dil conv: its two conv weights, then BN weight twice (`angle_compat: rlnas`, the reference's slip,
  kept by default for parity with the published searches) or BN weight and bias (`angle_compat: fixed`).

The extra blocks join once: the stem(s), every cell's preprocess0/preprocess1, and the classifier
weight (CIFAR) or weight and bias (ImageNet). θ = arccos(cos(v₀, v_T)).

The batched form keeps, per (cell kind, edge, op), the sums over the layers of that kind of ⟨b₀, b_T⟩,
‖b₀‖², ‖b_T‖² of the edge's blocks; an architecture's totals are those sums weighted by the number of
live paths through each edge, plus the extra blocks' sums. The cosine being a ratio of such sums, this
equals the literal construction up to float rounding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.scores.angle import ANGLE_BUILDERS, angle_of_vectors
from nascli.spaces.darts import CELL_KINDS, DARTS_OPS_RLNAS, NUM_EDGES, edge_index, path_codes
from nascli.spaces.ops import FactorizedReduce, Identity

ANGLE_COMPAT = ("rlnas", "fixed")
"""`rlnas`: dil-conv BN weight taken twice (the reference); `fixed`: BN weight and bias."""


def _paths_from(node: int, end: int) -> Iterator[tuple[int, ...]]:
    """Depth-first, successors in increasing order: the order of the reference's hand-written list."""
    if node == end:
        yield (end,)
        return
    for successor in range(max(node + 1, 2), end + 1):
        for rest in _paths_from(successor, end):
            yield (node, *rest)


def cell_paths() -> tuple[tuple[int, ...], ...]:
    """State sequences of the reference's 30 paths: all paths ending at state 5, then 4, 3, 2; input 0 before 1."""
    return tuple(path for end in (5, 4, 3, 2) for start in (0, 1) for path in _paths_from(start, end))


DARTS_PATHS = cell_paths()
"""The 30 paths of RLNAS `evolution_search/config.py: paths`, as state sequences."""

DARTS_PATH_EDGES = tuple(tuple(edge_index(k, j) for k, j in zip(path, path[1:], strict=False)) for path in DARTS_PATHS)
"""Edge indices (0..13) along each of the 30 paths."""

_INCIDENCE = np.zeros((len(DARTS_PATHS), NUM_EDGES), dtype=np.float64)
for _p, _edges in enumerate(DARTS_PATH_EDGES):
    _INCIDENCE[_p, list(_edges)] = 1.0
_PATH_MASK = _INCIDENCE.astype(bool)


def check_compat(compat: Any) -> str:
    """Validate the `angle_compat` option."""
    if compat not in ANGLE_COMPAT:
        raise NasInputError(f"angle_compat {compat!r} is unknown: choose rlnas (the reference's dil-conv BN weight "
                            "taken twice) or fixed (BN weight and bias)")
    return str(compat)


def _flat(*tensors: torch.Tensor | None) -> torch.Tensor:
    if any(t is None for t in tensors):
        raise NasInputError("the DARTS angle reads BN weights and biases, but this supernet has BN without affine "
                            "parameters or pools without BN: train it with the RLNAS defaults (affine and pool BN)")
    return torch.cat([t.detach().reshape(-1).double().cpu() for t in tensors])  # type: ignore[union-attr]


def _reference_channels(cell: nn.Module, edge: int) -> tuple[int, int]:
    """(C of the edge's sep_conv_3x3 first depthwise conv, C of its last pointwise conv): the reference's `_ops[4]`."""
    sep = cell.edges[edge]["sep_conv_3x3"].op
    return int(sep[1].weight.shape[0]), int(sep[6].weight.shape[0])


def edge_op_blocks(cell: nn.Module, edge: int, op: str, compat: str = "rlnas") -> list[torch.Tensor]:
    """The blocks one (edge, op) adds to a path's vector, in the reference's order (float64)."""
    module = cell.edges[edge][op]
    if op in ("max_pool_3x3", "avg_pool_3x3"):
        channels, _ = _reference_channels(cell, edge)
        # float32 as in the reference, whose vector is the float32 weights' concatenation
        constant = torch.full((channels * 9,), 1.0 / 9.0, dtype=torch.float32).double()
        bn = module.bn
        return [torch.cat([constant, _flat(getattr(bn, "weight", None), getattr(bn, "bias", None))])]
    if op == "skip_connect":
        if isinstance(module, FactorizedReduce):
            return [_flat(module.conv_1.weight, module.conv_2.weight, module.bn.weight, module.bn.bias)]
        if isinstance(module, Identity):
            _, channels = _reference_channels(cell, edge)
            return [torch.eye(channels, dtype=torch.float64).reshape(-1)]
        raise NasInputError(f"unexpected skip module {type(module).__name__} on edge {edge}")
    if op in ("sep_conv_3x3", "sep_conv_5x5"):
        seq = module.op
        return [_flat(seq[1].weight, seq[2].weight, seq[5].weight, seq[6].weight),
                _flat(seq[3].weight, seq[3].bias, seq[7].weight, seq[7].bias)]
    if op in ("dil_conv_3x3", "dil_conv_5x5"):
        seq = module.op
        second = seq[3].weight if compat == "rlnas" else seq[3].bias
        return [_flat(seq[1].weight, seq[2].weight), _flat(seq[3].weight, second)]
    raise NasInputError(f"the DARTS angle has no rule for op {op!r}")


def extra_blocks(model: nn.Module) -> list[torch.Tensor]:
    """Stem(s), each cell's preprocess0 and preprocess1, classifier: the blocks every path shares, in order."""
    if model.imagenet:
        stem0, stem1 = model.stem0, model.stem1
        blocks = [_flat(stem0[0].weight, stem0[1].weight, stem0[1].bias, stem0[3].weight, stem0[4].weight,
                        stem0[4].bias),
                  _flat(stem1[1].weight, stem1[2].weight, stem1[2].bias)]
    else:
        blocks = [_flat(model.stem[0].weight, model.stem[1].weight, model.stem[1].bias)]
    for cell in model.cells:
        for pre in (cell.preprocess0, cell.preprocess1):
            if isinstance(pre, FactorizedReduce):
                blocks.append(_flat(pre.conv_1.weight, pre.conv_2.weight, pre.bn.weight, pre.bn.bias))
            else:
                blocks.append(_flat(pre[1].weight, pre[2].weight, pre[2].bias))
    if model.imagenet:
        blocks.append(_flat(model.classifier.weight, model.classifier.bias))
    else:
        blocks.append(_flat(model.classifier.weight))
    return blocks


def _layer_kind(layer: int, layers: int) -> int:
    """0 = normal, 1 = reduce, by the reference's rule ℓ ∈ {L//3, 2L//3}."""
    return 1 if layer in (layers // 3, 2 * layers // 3) else 0


def darts_arch_vector(model: nn.Module, arch: Any, compat: str = "rlnas") -> torch.Tensor:
    """The reference's weight vector of `arch` (a DartsGenotype or RLNAS codes) in `model`, block by block."""
    compat = check_compat(compat)
    codes = path_codes(arch)
    layer_blocks: list[torch.Tensor] = []
    for layer, cell in enumerate(model.cells):
        code = codes[_layer_kind(layer, len(model.cells))]
        path_vectors = []
        for path in DARTS_PATHS:
            pieces: list[torch.Tensor] = []
            for k, j in zip(path, path[1:], strict=False):
                op = code[edge_index(k, j)]
                if op == 0:
                    pieces = []
                    break
                pieces.extend(edge_op_blocks(cell, edge_index(k, j), DARTS_OPS_RLNAS[op], compat))
            if pieces:
                path_vectors.append(torch.cat(pieces))
        if path_vectors:
            layer_blocks.append(torch.cat(path_vectors))
    return torch.cat(layer_blocks + extra_blocks(model))


def darts_angle_vectors(arch: Any, initial: nn.Module, trained: nn.Module,
                        compat: str = "rlnas") -> tuple[torch.Tensor, torch.Tensor]:
    """(v₀, v_T) built literally as the reference does."""
    return darts_arch_vector(initial, arch, compat), darts_arch_vector(trained, arch, compat)


def darts_angle_literal(arch: Any, initial: nn.Module, trained: nn.Module, compat: str = "rlnas") -> float:
    """The angle from the literally built vectors (radians)."""
    return angle_of_vectors(*darts_angle_vectors(arch, initial, trained, compat))


def _sums(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    return np.array([float(a @ b), float(a @ a), float(b @ b)])


@dataclass
class DartsAngleTables:
    """Sums of ⟨b₀,b_T⟩, ‖b₀‖², ‖b_T‖²: per (cell kind, edge, RLNAS op index) over that kind's layers [2, 14, 8, 3],
    and over the extra blocks [3]."""

    edge_op: np.ndarray
    fixed: np.ndarray

    @classmethod
    def build(cls, initial: nn.Module, trained: nn.Module, compat: str = "rlnas") -> DartsAngleTables:
        """Accumulate the tables from the supernet at init and after training."""
        compat = check_compat(compat)
        if len(initial.cells) != len(trained.cells):
            raise NasInputError("the initial and trained supernets have different numbers of cells")
        edge_op = np.zeros((len(CELL_KINDS), NUM_EDGES, len(DARTS_OPS_RLNAS), 3))
        layers = len(initial.cells)
        for layer, (cell0, cell_t) in enumerate(zip(initial.cells, trained.cells, strict=True)):
            kind = _layer_kind(layer, layers)
            for edge in range(NUM_EDGES):
                for op in cell0.edges[edge]:
                    if op == "none":
                        continue
                    index = DARTS_OPS_RLNAS.index(op)
                    for b0, bt in zip(edge_op_blocks(cell0, edge, op, compat), edge_op_blocks(cell_t, edge, op, compat),
                                      strict=True):
                        edge_op[kind, edge, index] += _sums(b0, bt)
        fixed = np.zeros(3)
        for b0, bt in zip(extra_blocks(initial), extra_blocks(trained), strict=True):
            fixed += _sums(b0, bt)
        return cls(edge_op=edge_op, fixed=fixed)

    def angles(self, codes: np.ndarray) -> np.ndarray:
        """Angles of many architectures given as RLNAS codes [n, 28] (14 normal + 14 reduce), in one float64 pass."""
        codes = np.asarray(codes, dtype=np.int64).reshape(-1, len(CELL_KINDS), NUM_EDGES)
        # live[n, kind, path]: the path crosses no `none` edge
        on_path_none = (codes[:, :, None, :] == 0) & _PATH_MASK[None, None, :, :]
        live = ~on_path_none.any(axis=3)
        multiplicity = live.astype(np.float64) @ _INCIDENCE  # [n, kind, edge]
        kinds = np.arange(len(CELL_KINDS))[None, :, None]
        edges = np.arange(NUM_EDGES)[None, None, :]
        per_edge = self.edge_op[kinds, edges, codes]  # [n, kind, edge, 3]
        totals = self.fixed[None, :] + np.einsum("nke,nkes->ns", multiplicity, per_edge)
        cos = totals[:, 0] / np.maximum(np.sqrt(totals[:, 1] * totals[:, 2]), 1e-8)
        return np.arccos(np.clip(cos, -1.0, 1.0))


def arch_codes(space: Any, archs: Sequence[Any]) -> np.ndarray:
    """RLNAS codes [n, 28] of DARTS architectures (genotypes, their text/JSON forms, or codes)."""
    rows = []
    for arch in archs:
        value = arch if isinstance(arch, list | tuple) and len(arch) in (2, 2 * NUM_EDGES) else space.coerce(arch)
        normal, reduce = path_codes(value)
        rows.append(normal + reduce)
    return np.array(rows, dtype=np.int64).reshape(-1, 2 * NUM_EDGES)


class DartsAngle:
    """Batched DARTS angle for the `angle` score: tables built once from the supernet pair."""

    def __init__(self, space: Any, pair: Any, options: dict[str, Any]) -> None:
        self.space = space
        self.compat = check_compat(options.get("angle_compat", "rlnas"))
        self.tables = DartsAngleTables.build(pair.initial, pair.trained, self.compat)

    def __call__(self, archs: Sequence[Any]) -> np.ndarray:
        """Angles (radians) of `archs`."""
        return self.tables.angles(arch_codes(self.space, archs))


ANGLE_BUILDERS["darts"] = DartsAngle
