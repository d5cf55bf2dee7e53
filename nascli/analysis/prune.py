"""Successive removal by importance (redundancy paper §1.3, notebooks/remove_important_ops.ipynb)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nascli.analysis.importance import DartsSlot, with_pair
from nascli.errors import NasInputError
from nascli.spaces.darts.genotype import DartsGenotype

ORDERS = ("ascending", "descending")


def removal_order(slots: Sequence[DartsSlot], importance: Sequence[float], order: str) -> list[DartsSlot]:
    """Slots sorted by importance, least important first (`ascending`) or most important first; ties keep
    the slot order (normal 0..7, reduce 0..7), as numpy's stable argsort in the reference."""
    if order not in ORDERS:
        raise NasInputError(f"unknown order {order!r}: choose ascending or descending")
    values = np.asarray(importance, dtype=np.float64)
    if len(values) != len(slots):
        raise NasInputError(f"{len(values)} importances for {len(slots)} slots")
    if not np.isfinite(values).all():
        raise NasInputError("some slots have no importance (missing neighbours): complete the performance "
                            "source, or prune another architecture")
    keys = values if order == "ascending" else -values
    return [slots[i] for i in np.argsort(keys, kind="stable")]


def default_max_removed(n_slots: int) -> int:
    """round((1 − 0.51) · n): 8 of 16 slots, as the reference."""
    return int(round((1 - 0.51) * n_slots))


def successive_removal(genotype: DartsGenotype, slots: Sequence[DartsSlot], importance: Sequence[float],
                       order: str, max_removed: int | None = None) -> list[tuple[DartsGenotype, list[DartsSlot]]]:
    """Genotypes with 1, 2, …, `max_removed` slots replaced by `none`, in importance order; each with the
    removed slots."""
    ranked = removal_order(slots, importance, order)
    limit = default_max_removed(len(slots)) if max_removed is None else int(max_removed)
    if not 1 <= limit <= len(slots):
        raise NasInputError(f"--max-removed {max_removed} is out of range: remove 1..{len(slots)} slots")
    out = []
    current = genotype
    for step in range(limit):
        slot = ranked[step]
        _, source = current.cell(slot.cell)[slot.position]
        current = with_pair(current, slot, ("none", source))
        out.append((current, ranked[: step + 1]))
    return out

