"""Operation importance: NB201 against a hand computation from the table, DARTS neighbour sets and sources."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nascli.analysis.importance import (
    DartsSlot,
    FileSource,
    darts_importance,
    darts_slot_neighbours,
    darts_slots,
    genotype_key,
    nb201_errors,
    nb201_importance,
    nb201_neighbour_ops,
    select_by_error,
    summarise_by_op,
)
from nascli.bench.table import BenchTable
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.darts.genotype import FINAL_OPS, format_genotype
from nascli.spaces.genotypes import get_genotype
from nascli.spaces.nb201 import NB201_OPS


@pytest.fixture(scope="module")
def table() -> BenchTable:
    return BenchTable.load()


def _hand_importance(table: BenchTable, arch_str: str, edge: int, dataset: str) -> float:
    """Edit the arch string's `edge`-th op token to each other op and average the table's error changes."""
    groups = arch_str.split("+")
    tokens = [(g, t) for g, group in enumerate(groups) for t in group.strip("|").split("|")]
    column = {"cifar10": "cifar10_test", "cifar100": "cifar100_test", "imagenet16-120": "imagenet16_test"}[dataset]

    def error(text: str) -> float:
        return 1.0 - table.row(int(table.indices_of_strings(text)[0]))[column] / 100.0

    own_op, source = tokens[edge][1].split("~")
    changes = []
    for other in NB201_OPS:
        if other == own_op:
            continue
        edited = [list(group.strip("|").split("|")) for group in groups]
        g = tokens[edge][0]
        position = [t for gg, t in tokens[: edge + 1] if gg == g]
        edited[g][len(position) - 1] = f"{other}~{source}"
        changes.append(error("+".join("|" + "|".join(group) + "|" for group in edited)) - error(arch_str))
    return float(np.mean(changes))


@pytest.mark.parametrize(("dataset", "arch_index"), [
    ("cifar10", 6111),   # the table's cifar10 test optimum (94.37)
    ("cifar100", 9930),  # the cifar100 test optimum
    ("imagenet16-120", 857),  # the ImageNet16-120 test optimum
    ("cifar10", 0),
    ("cifar10", 11),
    ("cifar100", 284),
])
def test_nb201_importance_equals_a_hand_computation(table: BenchTable, dataset: str, arch_index: int) -> None:
    space = get_space("nb201")
    errors = nb201_errors(table, dataset)
    got = nb201_importance(errors, np.array([arch_index]), space.op_index_matrix(), space.indices_of)[0]
    arch_str = table.arch_str(arch_index)
    expected = [_hand_importance(table, arch_str, edge, dataset) for edge in range(6)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_nb201_arch_with_none_edges(table: BenchTable) -> None:
    space = get_space("nb201")
    text = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    index = int(table.indices_of_strings(text)[0])
    errors = nb201_errors(table, "cifar10")
    got = nb201_importance(errors, np.array([index]), space.op_index_matrix(), space.indices_of)[0]
    expected = [_hand_importance(table, text, edge, "cifar10") for edge in range(6)]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    # a `none` edge's importance is the mean change when it becomes one of the 4 real ops
    assert got[2] == pytest.approx(expected[2])


def test_nb201_neighbours_are_the_four_other_ops() -> None:
    space = get_space("nb201")
    ops = np.asarray(space.op_index_matrix()[[0, 6111, 15624]], dtype=np.int64)
    neighbours = nb201_neighbour_ops(ops)
    assert neighbours.shape == (3, 6, 4, 6)
    for a in range(3):
        for edge in range(6):
            block = neighbours[a, edge]
            assert len({tuple(row) for row in block}) == 4
            differs = block != ops[a]
            assert differs[:, edge].all() and not np.delete(differs, edge, axis=1).any()


def test_selection_counts_and_seeded_uniform_sample() -> None:
    errors = np.random.default_rng(1).random(15625)
    top = select_by_error(errors, "top")
    bottom = select_by_error(errors, "bottom")
    assert len(top) == len(bottom) == 781
    assert errors[top].max() < errors[bottom].min()
    assert set(top) == set(np.argsort(errors)[:781])
    uniform = select_by_error(errors, "uniform", n_uniform=1000, seed=0)
    np.testing.assert_array_equal(uniform, np.random.RandomState(0).choice(15625, 1000, replace=False))
    with pytest.raises(NasInputError, match="unknown selection"):
        select_by_error(errors, "middle")


def test_darts_neighbour_sets() -> None:
    genotype = get_genotype("DARTS_V2")
    for slot in darts_slots():
        neighbours = darts_slot_neighbours(genotype, slot)
        assert len(neighbours) == 6 + slot.node
        keys = {genotype_key(g) for g in neighbours}
        assert len(keys) == len(neighbours) and genotype_key(genotype) not in keys
        own = genotype.cell(slot.cell)
        sibling_input = own[slot.position ^ 1][1]
        for g in neighbours:
            changed = [(c, p) for c in ("normal", "reduce") for p in range(8)
                       if g.cell(c)[p] != genotype.cell(c)[p]]
            assert changed == [(slot.cell, slot.position)]
            op, source = g.cell(slot.cell)[slot.position]
            assert op != "none" and source != sibling_input
        rewired = {g.cell(slot.cell)[slot.position][1] for g in neighbours} - {own[slot.position][1]}
        assert rewired == set(range(slot.node + 2)) - {own[slot.position][1], sibling_input}
        ops = {g.cell(slot.cell)[slot.position][0] for g in neighbours[:6]}
        assert ops == set(FINAL_OPS) - {own[slot.position][0]}


class _DictSource:
    name = "dict"
    percent = True

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values
        self.calls = 0

    def accuracies(self, genotypes):  # noqa: ANN001, ANN201
        self.calls += 1
        return np.array([self.values.get(genotype_key(g), math.nan) for g in genotypes])


def _toy_accuracy(genotype) -> float:  # noqa: ANN001
    """A deterministic fake accuracy: sep convs help, pools hurt, reading the newest state helps."""
    score = 90.0
    for cell, weight in (("normal", 1.0), ("reduce", 0.3)):
        for position, (op, source) in enumerate(genotype.cell(cell)):
            score += weight * ({"sep_conv_3x3": 0.5, "sep_conv_5x5": 0.4, "max_pool_3x3": -0.7}.get(op, 0.0)
                               + 0.05 * source + 0.01 * position)
    return score


def test_darts_importance_from_one_source_by_hand() -> None:
    genotype = get_genotype("DARTS_V2")
    slots = darts_slots(("normal",))
    everything = [genotype] + [n for s in slots for n in darts_slot_neighbours(genotype, s)]
    source = _DictSource({genotype_key(g): _toy_accuracy(g) for g in everything})
    result = darts_importance(genotype, source, slots)
    assert source.calls == 1  # the arch and all its neighbours in one evaluation
    assert not result.missing
    for s, slot in enumerate(slots):
        neighbours = darts_slot_neighbours(genotype, slot)
        expected = np.mean([(_toy_accuracy(genotype) - _toy_accuracy(n)) / 100 for n in neighbours])
        assert result.importance[s] == pytest.approx(expected, abs=1e-12)


def test_missing_neighbours_are_reported_not_filled(tmp_path) -> None:  # noqa: ANN001
    genotype = get_genotype("DARTS_V2")
    slots = darts_slots(("normal",))
    rows = [genotype] + [n for s in slots for n in darts_slot_neighbours(genotype, s)]
    dropped = darts_slot_neighbours(genotype, DartsSlot("normal", 3))[2]
    path = tmp_path / "acc.csv"
    path.write_text("arch,accuracy\n" + "".join(f'"{format_genotype(g)}",{_toy_accuracy(g)}\n'
                                                 for g in rows if g != dropped), encoding="utf-8")
    source = FileSource(path)
    assert source.percent
    result = darts_importance(genotype, source, slots)
    assert [(s.position, genotype_key(g)) for s, g in result.missing] == [(3, genotype_key(dropped))]
    assert math.isnan(result.importance[3])
    assert np.isfinite(np.delete(result.importance, 3)).all()


def test_summary_shares() -> None:
    rows = summarise_by_op(["a", "a", "b", "b"], np.array([0.002, 0.0, 0.005, math.nan]), 0.001, ["a", "b"])
    assert rows[0].pop("op") == "a"
    assert rows[0] == pytest.approx({"count": 2, "mean": 0.001, "median": 0.001, "important": 1,
                                     "share_important": 0.5, "share_of_all_important": 0.5})
    assert rows[1]["count"] == 1 and rows[1]["share_important"] == 1.0


def test_summary_counts_the_important_slots_that_stand_above_their_noise() -> None:
    values = np.array([0.002, 0.03, -0.05, 0.02, 0.004])
    noise = np.array([0.01, 0.01, 0.01, math.nan, 0.004])  # slot 3 unmeasured; slot 4 equal to its noise
    rows = summarise_by_op(["a", "a", "a", "b", "b"], values, 0.001, ["a", "b"], noise)
    assert [(r["important"], r["important_above_noise"]) for r in rows] == [(2, 1), (2, 1)]
    assert "important_above_noise" not in summarise_by_op(["a"], np.array([0.5]), 0.001)[0]


def test_darts_neighbours_equal_the_reference_in_order() -> None:
    """tests/fixtures/redundancy/README.md: the reference's find_node_proximate_archs on four genotypes."""
    from pathlib import Path

    from nascli.spaces.darts.genotype import CONCAT, DartsGenotype

    fixture = json.loads((Path(__file__).parents[1] / "fixtures" / "redundancy" / "darts_neighbours_reference.json")
                         .read_text(encoding="utf-8"))
    assert len(fixture["cases"]) == 4
    for case in fixture["cases"]:
        genotype = DartsGenotype(case["normal"], CONCAT, case["reduce"], CONCAT)
        for slot, expected in zip(darts_slots(), case["slot_neighbours"], strict=True):
            got = [list(g.cell(slot.cell)[slot.position]) for g in darts_slot_neighbours(genotype, slot)]
            assert got == expected
