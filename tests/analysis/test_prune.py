"""Successive removal by importance."""

from __future__ import annotations

import pytest

from nascli.analysis.importance import darts_slots
from nascli.analysis.prune import removal_order, successive_removal
from nascli.errors import NasInputError
from nascli.spaces.darts.genotype import parse_genotype
from nascli.spaces.genotypes import get_genotype


def test_removal_order_and_pruned_genotypes() -> None:
    genotype = get_genotype("DARTS_V2")
    slots = darts_slots()
    importance = [0.01 * ((7 * i) % 16) for i in range(16)]  # a permutation of 0..0.15
    ascending = removal_order(slots, importance, "ascending")
    assert [importance[s.index] for s in ascending] == sorted(importance)
    descending = removal_order(slots, importance, "descending")
    assert [importance[s.index] for s in descending] == sorted(importance, reverse=True)
    steps = successive_removal(genotype, slots, importance, "descending")
    assert len(steps) == 8  # round((1 − 0.51) · 16)
    for count, (pruned, removed) in enumerate(steps, start=1):
        assert removed == descending[:count]
        nones = [(s.cell, s.position) for s in slots if pruned.cell(s.cell)[s.position][0] == "none"]
        assert sorted(nones) == sorted((s.cell, s.position) for s in removed)
        for s in slots:  # inputs never change
            assert pruned.cell(s.cell)[s.position][1] == genotype.cell(s.cell)[s.position][1]
        assert parse_genotype(str(pruned)) == pruned  # the text form round-trips with `none` slots


def test_ties_keep_slot_order_and_missing_importance_is_refused() -> None:
    slots = darts_slots(("normal",))
    assert removal_order(slots, [0.0] * 8, "ascending") == slots
    assert len(successive_removal(get_genotype("DARTS_V2"), slots, [0.0] * 8, "ascending")) == 4
    with pytest.raises(NasInputError, match="no importance"):
        removal_order(slots, [0.0] * 7 + [float("nan")], "ascending")
