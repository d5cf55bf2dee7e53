"""BPE's random-search generator as the DARTS space's `bpe-rs` sampling rule (methods/bpe.md §3.4)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from nascli.spaces import get_space
from nascli.spaces.darts import FINAL_OPS, parse_genotype
from nascli.spaces.darts.sampler import GENOTYPE_SAMPLERS, bpe_rs_from_weights

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpe"


def test_the_parse_of_a_weight_table_equals_the_reference_generator() -> None:
    cases = json.loads((FIXTURES / "rs_generator.json").read_text())["cases"]
    for case in cases:
        expected = parse_genotype(case["genotype"])
        found = bpe_rs_from_weights(np.array(case["weights"]))
        assert found == expected  # same pairs in the same order (strongest edge first, as torch.topk lists them)


def test_bpe_rs_draws_two_distinct_inputs_per_node_and_never_none() -> None:
    space = get_space("darts", sampler="bpe-rs")
    assert "uniform" in GENOTYPE_SAMPLERS and "bpe-rs" in GENOTYPE_SAMPLERS
    rng = np.random.default_rng(0)
    ops, node5_inputs = Counter(), Counter()
    pair_lists = []
    for _ in range(1500):
        genotype = space.sample(rng)
        for kind in ("normal", "reduce"):
            pairs = genotype.cell(kind)
            for node in range(4):
                (op_a, a), (op_b, b) = pairs[2 * node : 2 * node + 2]
                assert a != b and max(a, b) < node + 2
                ops.update((op_a, op_b))
                pair_lists.append(pairs[2 * node : 2 * node + 2])
            node5_inputs[frozenset((pairs[6][1], pairs[7][1]))] += 1
    assert set(ops) == set(FINAL_OPS)  # 'none' is ignored by the parse
    shares = np.array([ops[op] for op in FINAL_OPS]) / sum(ops.values())
    assert np.abs(shares - 1 / 7).max() < 0.01  # the argmax of 7 iid normals is uniform
    assert len(node5_inputs) == 10  # every pair of node 5's five inputs occurs (max of iid normals: uniform)
    descending = sum(pairs[0][1] > pairs[1][1] for pairs in pair_lists)
    assert 0.4 < descending / len(pair_lists) < 0.6  # strongest edge first: half the nodes list the later input first
