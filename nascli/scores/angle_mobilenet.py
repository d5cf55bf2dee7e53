"""The RLNAS angle in the MobileNet space, built as the reference builds it (methods/rlnas.md §3.3).

Reference: RLNAS `mobilenet_search_space/rlnas/evolution_search/test_server.py: get_arch_vector`. The vector
is the fixed blocks — stem conv weight, the expansion-1 block's depthwise and pointwise conv weights, the
final 1×1 conv weight, the classifier's Linear weight (no BN parameters, no bias) — then, per choice block,
[pw-expand conv w, BN1 w, BN1 b, dw conv w, BN2 w, BN2 b, pw-linear conv w] of the chosen MBConv (its last
BN left out), or for identity the constant matrix I_{C_out×C_in} flattened, identical in v₀ and v_T.
θ = arccos(cos(v₀, v_T)).

The batched form keeps, per (block, choice), ⟨b₀, b_T⟩, ‖b₀‖², ‖b_T‖² of that block's piece, and the same
sums over the fixed blocks; an architecture's cosine is a ratio of sums of those entries, so it equals the
literal construction up to float rounding. Everything is float64 on the CPU: in float32 the norms of
five-million-entry vectors move the angle by ~4e-4 rad.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.scores.angle import ANGLE_BUILDERS, angle_of_vectors
from nascli.spaces.mobilenet import IDENTITY, NUM_BLOCKS, MobileNetArch, MobileNetSupernet

_CHOICES = 7
"""Columns of the per-block table: choices 0..5, then identity (index 6)."""


def _flat(*tensors: torch.Tensor) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1).double().cpu() for t in tensors])


def fixed_blocks(model: MobileNetSupernet) -> list[torch.Tensor]:
    """Stem conv, first block's dw and pw convs, final 1×1 conv and classifier Linear weights (float64)."""
    linear = [m for m in model.classifier if isinstance(m, nn.Linear)][0]
    return [_flat(model.stem[0].weight), _flat(model.first.conv[0].weight), _flat(model.first.conv[3].weight),
            _flat(model.head[0].weight), _flat(linear.weight)]


def choice_piece(model: MobileNetSupernet, block: int, choice: int) -> torch.Tensor:
    """Block `block`'s piece of the vector for `choice` (identity: the constant I_{C_out×C_in})."""
    position = model.blocks[block]
    if choice == IDENTITY:
        return torch.eye(position.oup, position.inp, dtype=torch.float64).reshape(-1)
    conv = position.ops[choice].conv
    return _flat(conv[0].weight, conv[1].weight, conv[1].bias, conv[3].weight, conv[4].weight, conv[4].bias,
                 conv[6].weight)


def mobilenet_arch_vector(model: MobileNetSupernet, arch: MobileNetArch | Sequence[int]) -> torch.Tensor:
    """The reference's weight vector of `arch` in `model`, block by block (float64)."""
    choices = tuple(arch)
    if len(choices) != NUM_BLOCKS:
        raise NasInputError(f"a MobileNet architecture has {NUM_BLOCKS} choices, got {len(choices)}")
    pieces = fixed_blocks(model) + [choice_piece(model, i, int(c)) for i, c in enumerate(choices)]
    return torch.cat(pieces)


def mobilenet_angle_literal(arch: MobileNetArch | Sequence[int], initial: MobileNetSupernet,
                            trained: MobileNetSupernet) -> float:
    """The angle from the literally built vectors (radians, float64)."""
    return angle_of_vectors(mobilenet_arch_vector(initial, arch), mobilenet_arch_vector(trained, arch))


def _sums(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    return np.array([float(a @ b), float(a @ a), float(b @ b)])


@dataclass
class MobileNetAngleTables:
    """⟨b₀,b_T⟩, ‖b₀‖², ‖b_T‖² per (block, choice) [21, 7, 3] (column 6 = identity) and over the fixed blocks [3]."""

    block_choice: np.ndarray
    fixed: np.ndarray

    @classmethod
    def build(cls, initial: MobileNetSupernet, trained: MobileNetSupernet) -> MobileNetAngleTables:
        """Accumulate the tables from the supernet at init and after training."""
        for model in (initial, trained):
            if not isinstance(model, MobileNetSupernet):
                raise NasInputError(f"expected a MobileNet supernet, got {type(model).__name__}")
        table = np.zeros((NUM_BLOCKS, _CHOICES, 3))
        for block in range(NUM_BLOCKS):
            for column in range(_CHOICES):
                choice = IDENTITY if column == _CHOICES - 1 else column
                table[block, column] = _sums(choice_piece(initial, block, choice), choice_piece(trained, block, choice))
        fixed = np.zeros(3)
        for b0, bt in zip(fixed_blocks(initial), fixed_blocks(trained), strict=True):
            fixed += _sums(b0, bt)
        return cls(block_choice=table, fixed=fixed)

    def angles(self, choices: np.ndarray) -> np.ndarray:
        """Angles of many architectures given as an int matrix [n, 21] of choices (−1 identity), float64."""
        choices = np.asarray(choices, dtype=np.int64).reshape(-1, NUM_BLOCKS)
        columns = np.where(choices == IDENTITY, _CHOICES - 1, choices)
        totals = self.fixed[None, :] + self.block_choice[np.arange(NUM_BLOCKS)[None, :], columns].sum(axis=1)
        cos = totals[:, 0] / np.maximum(np.sqrt(totals[:, 1] * totals[:, 2]), 1e-300)
        return np.arccos(np.clip(cos, -1.0, 1.0))


class MobileNetAngle:
    """Batched MobileNet angle for the `angle` score: tables built once from the supernet pair."""

    def __init__(self, space: Any, pair: Any, options: dict[str, Any]) -> None:
        self.space = space
        self.tables = MobileNetAngleTables.build(pair.initial, pair.trained)

    def __call__(self, archs: Sequence[Any]) -> np.ndarray:
        """Angles (radians) of `archs`."""
        matrix = np.array([self.space.coerce(a).choices for a in archs], dtype=np.int64).reshape(-1, NUM_BLOCKS)
        return self.tables.angles(matrix)


ANGLE_BUILDERS["mobilenet"] = MobileNetAngle
