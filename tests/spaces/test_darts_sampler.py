"""Sampling rules of the DARTS space: Random (uniform), Prim, Skip, PrimSkip, and the reference's Skip wiring."""

from __future__ import annotations

import numpy as np
import pytest

from nascli.spaces import get_space
from nascli.spaces.darts.genotype import FINAL_OPS
from nascli.spaces.darts.sampler import GENOTYPE_SAMPLERS, PRIM_OPS, PRIMSKIP_OPS

DRAWS = 1000


def _draws(name: str, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [GENOTYPE_SAMPLERS[name](rng) for _ in range(DRAWS)]


def _inputs(pairs, state: int) -> tuple[int, int]:  # noqa: ANN001
    node = state - 2
    return pairs[2 * node][1], pairs[2 * node + 1][1]


@pytest.mark.parametrize(("name", "ops", "fixed_first", "reads"), [
    ("uniform", FINAL_OPS, False, {2: {0, 1}, 3: {0, 1, 2}, 4: {0, 1, 2, 3}, 5: {0, 1, 2, 3, 4}}),
    ("prim", PRIM_OPS, False, {2: {0, 1}, 3: {0, 1, 2}, 4: {0, 1, 2, 3}, 5: {0, 1, 2, 3, 4}}),
    ("skip", FINAL_OPS, True, {3: {0, 1, 2}, 4: {0, 1, 2, 3}, 5: {0, 1, 2, 3, 4}}),
    ("primskip", PRIMSKIP_OPS, True, {3: {0, 1, 2}, 4: {0, 1, 2, 3}, 5: {0, 1, 2, 3, 4}}),
    ("skip-reference", FINAL_OPS, True, {3: {0, 1}, 4: {0, 1, 2}, 5: {0, 1, 2, 3}}),
    ("primskip-reference", PRIMSKIP_OPS, True, {3: {0, 1}, 4: {0, 1, 2}, 5: {0, 1, 2, 3}}),
])
def test_rule_invariants(name: str, ops: tuple[str, ...], fixed_first: bool, reads: dict[int, set[int]]) -> None:
    genotypes = _draws(name)
    seen_ops: set[str] = set()
    seen_inputs: dict[int, set[int]] = {state: set() for state in reads}
    for genotype in genotypes:
        for cell in ("normal", "reduce"):
            pairs = genotype.cell(cell)
            if fixed_first:
                assert pairs[:2] == (("skip_connect", 0), ("skip_connect", 1))
            free = pairs[2:] if fixed_first else pairs
            seen_ops.update(op for op, _ in free)
            for state in range(2, 6):
                a, b = _inputs(pairs, state)
                assert a != b
                if state in reads:
                    assert {a, b} <= reads[state]
                    seen_inputs[state].update((a, b))
    assert seen_ops == set(ops)  # every allowed op occurs, no other
    assert seen_inputs == reads  # every allowed input occurs
    # normal and reduce cells are drawn independently
    assert sum(g.normal == g.reduce for g in genotypes) < DRAWS // 10


def test_prim_ops_are_uniform_and_space_uses_the_rule() -> None:
    counts = {op: 0 for op in PRIM_OPS}
    for genotype in _draws("prim", seed=1):
        for op, _ in genotype.normal:
            counts[op] += 1
    assert max(counts.values()) - min(counts.values()) < 0.1 * DRAWS * 8 / 3
    space = get_space("darts", sampler="primskip")
    genotype = space.sample(np.random.default_rng(0))
    assert genotype.normal[:2] == (("skip_connect", 0), ("skip_connect", 1))
    assert {op for op, _ in genotype.normal[2:]} <= set(PRIMSKIP_OPS)


def test_same_seed_same_draws() -> None:
    first, second = np.random.default_rng(3), np.random.default_rng(3)
    assert [GENOTYPE_SAMPLERS["skip"](first) for _ in range(5)] == [GENOTYPE_SAMPLERS["skip"](second) for _ in range(5)]
