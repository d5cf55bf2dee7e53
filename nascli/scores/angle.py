"""The RLNAS/ABS angle score: θ = arccos(cos(v₀, v_T)) between a path's weights at init and after training.

NB201 follows the reference vector exactly (methods/rlnas.md §3.1, RLNAS `weight_angle.py: get_arch_angle`):
live paths of the cell contribute their edges' blocks for each of the searched cells (conv weights;
a constant 1/9 block of shape [C, 3, 3] for `avg_pool_3x3`, identical in v₀ and v_T; nothing for skip),
an edge lying on two live paths counts twice; the fixed parts (stem conv + BN, both reduction blocks,
final BN, classifier) join once when at least one path is live; with no live path the score is 0.

The exhaustive form keeps, per (edge, op), the sums over cells of ⟨w₀, w_T⟩, ‖w₀‖², ‖w_T‖²; an
architecture's totals are those sums weighted by how many live paths use each edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.scores.base import SCORES, Score, ScoreContext
from nascli.scores.supernet_io import load_supernet_pair
from nascli.spaces.base import Architecture

NB201_PATHS = ((3,), (1, 5), (0, 2, 5), (0, 4))
"""Edge indices of the cell's input→output paths in the reference order: 0→3, 0→2→3, 0→1→2→3, 0→1→3."""

_INCIDENCE = np.zeros((len(NB201_PATHS), 6), dtype=np.float64)
for _p, _edges in enumerate(NB201_PATHS):
    _INCIDENCE[_p, list(_edges)] = 1.0


def _searched_cells(model: nn.Module) -> list[tuple[int, nn.Module]]:
    return [(i, cell) for i, cell in enumerate(model.cells) if hasattr(cell, "edges")]


def _reduction_blocks(model: nn.Module) -> list[nn.Module]:
    return [cell for cell in model.cells if not hasattr(cell, "edges")]


def _fixed_head(model: nn.Module) -> list[torch.Tensor]:
    return [model.stem[0].weight, model.stem[1].weight, model.stem[1].bias]


def _reduction_tensors(block: nn.Module) -> list[torch.Tensor]:
    return [block.conv_a.conv.weight, block.conv_a.bn.weight, block.conv_a.bn.bias,
            block.conv_b.conv.weight, block.conv_b.bn.weight, block.conv_b.bn.bias, block.downsample[1].weight]


def _fixed_tail(model: nn.Module) -> list[torch.Tensor]:
    return [model.lastact[0].weight, model.lastact[0].bias, model.classifier.weight, model.classifier.bias]


def _edge_block(cell: nn.Module, edge: int, op: str) -> torch.Tensor | None:
    """The edge's block in the reference vector (None for skip)."""
    if op in ("nor_conv_1x1", "nor_conv_3x3"):
        return cell.edges[edge][op].conv.weight.detach().reshape(-1)
    if op == "avg_pool_3x3":
        channels = cell.edges[edge]["nor_conv_3x3"].conv.weight.shape[0]
        device = cell.edges[edge]["nor_conv_3x3"].conv.weight.device
        return torch.full((channels * 9,), 1.0 / 9.0, dtype=torch.float64, device=device)
    return None


def nb201_angle_vectors(arch: Architecture, initial: nn.Module, trained: nn.Module) -> tuple[torch.Tensor, ...] | None:
    """(v₀, v_T) built literally as the reference does, block by block; None when no path is live."""
    ops = arch.ops
    vectors = []
    for model in (initial, trained):
        blocks: list[torch.Tensor] = [t.detach().reshape(-1) for t in _fixed_head(model)]
        reductions_added: set[int] = set()
        none_paths = 0
        for path in NB201_PATHS:
            if any(ops[e] == "none" for e in path):
                none_paths += 1
                continue
            for index, cell in enumerate(model.cells):
                if not hasattr(cell, "edges"):
                    if index not in reductions_added:
                        blocks.extend(t.detach().reshape(-1) for t in _reduction_tensors(cell))
                        reductions_added.add(index)
                    continue
                path_blocks = [b for e in path if (b := _edge_block(cell, e, ops[e])) is not None]
                if path_blocks:
                    blocks.append(torch.cat([b.double() for b in path_blocks]))
        if none_paths == len(NB201_PATHS):
            return None
        blocks.extend(t.detach().reshape(-1) for t in _fixed_tail(model))
        vectors.append(torch.cat([b.double() for b in blocks]))
    return tuple(vectors)


def angle_of_vectors(v0: torch.Tensor, vt: torch.Tensor) -> float:
    """arccos of the cosine similarity (clamped), in radians."""
    cos = torch.dot(v0, vt) / torch.clamp(v0.norm() * vt.norm(), min=1e-8)
    return float(torch.arccos(torch.clamp(cos, -1.0, 1.0)))


def nb201_angle_literal(arch: Architecture, initial: nn.Module, trained: nn.Module) -> float:
    """The angle from the literally built vectors (0 when no path is live)."""
    vectors = nb201_angle_vectors(arch, initial, trained)
    return 0.0 if vectors is None else angle_of_vectors(*vectors)


def _sums(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    a, b = a.detach().double().reshape(-1), b.detach().double().reshape(-1)
    return np.array([float(a @ b), float(a @ a), float(b @ b)])


@dataclass
class NB201AngleTables:
    """Per-(edge, op) sums over cells of ⟨w₀,w_T⟩, ‖w₀‖², ‖w_T‖² [6, 5, 3], and the fixed parts' sums [3]."""

    edge_op: np.ndarray
    fixed: np.ndarray

    @classmethod
    def build(cls, initial: nn.Module, trained: nn.Module, ops: Sequence[str]) -> NB201AngleTables:
        """Accumulate the tables from the two supernets."""
        edge_op = np.zeros((6, len(ops), 3))
        for (_, cell0), (_, cell_t) in zip(_searched_cells(initial), _searched_cells(trained), strict=True):
            for edge in range(6):
                for k, op in enumerate(ops):
                    block0, block_t = _edge_block(cell0, edge, op), _edge_block(cell_t, edge, op)
                    if block0 is not None:
                        edge_op[edge, k] += _sums(block0, block_t)
        fixed = np.zeros(3)
        fixed_pairs = list(zip(_fixed_head(initial), _fixed_head(trained), strict=True))
        for red0, red_t in zip(_reduction_blocks(initial), _reduction_blocks(trained), strict=True):
            fixed_pairs += list(zip(_reduction_tensors(red0), _reduction_tensors(red_t), strict=True))
        fixed_pairs += list(zip(_fixed_tail(initial), _fixed_tail(trained), strict=True))
        for a, b in fixed_pairs:
            fixed += _sums(a, b)
        return cls(edge_op=edge_op, fixed=fixed)

    def angles(self, op_indices: np.ndarray, none_index: int = 0) -> np.ndarray:
        """Angles of many architectures given as an int matrix [n, 6] of op indices, in one float64 pass."""
        op_indices = np.asarray(op_indices, dtype=np.int64)
        live = ~np.stack([(op_indices[:, list(p)] == none_index).any(1) for p in NB201_PATHS], axis=1)
        multiplicity = live.astype(np.float64) @ _INCIDENCE  # [n, 6]: live paths through each edge
        per_edge = self.edge_op[np.arange(6)[None, :], op_indices]  # [n, 6, 3]
        totals = self.fixed[None, :] + np.einsum("ne,nek->nk", multiplicity, per_edge)
        cos = totals[:, 0] / np.maximum(np.sqrt(totals[:, 1] * totals[:, 2]), 1e-8)
        angle = np.arccos(np.clip(cos, -1.0, 1.0))
        angle[~live.any(1)] = 0.0
        return angle


@SCORES.register("angle")
class AngleScore(Score):
    """RLNAS angle between a path's initial and trained supernet weights (radians; larger ranks higher)."""

    name = "angle"
    needs = frozenset({"supernet"})
    description = "RLNAS angle between init.pt and last.pt weights of the path (radians)"

    def __init__(self, context: ScoreContext) -> None:
        super().__init__(context)
        space = context.space
        if space.name not in ANGLE_BUILDERS:
            raise NasInputError(f"the angle score is not defined for the {space.name} space yet")
        pair = load_supernet_pair(context.supernet_dir, space)
        self._impl = ANGLE_BUILDERS[space.name](space, pair, context.options)

    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Angles of `archs`."""
        return self._impl(archs)


class _NB201Angle:
    def __init__(self, space: object, pair: object, options: dict) -> None:
        self.space = space
        self.tables = NB201AngleTables.build(pair.initial, pair.trained, space.ops)  # type: ignore[attr-defined]

    def __call__(self, archs: Sequence[Architecture]) -> np.ndarray:
        matrix = np.array([a.op_indices() for a in archs], dtype=np.int64).reshape(-1, 6)
        return self.tables.angles(matrix)


ANGLE_BUILDERS = {"nb201": _NB201Angle}
"""space name → builder(space, supernet pair, options) returning a batched angle function."""
