"""Aging evolution (BPE `run_evolution.py`): the oldest dies, not the worst; one-variable mutation; the EA parse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nascli.config import SearchConfig, build_config
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.darts import DartsGenotype
from nascli.strategies import make_strategy
from nascli.strategies.runner import run_search
from tests.strategies.bpe_helpers import TARGET_CHOICE, Crash, reset


def config(space: str = "nb201", **settings) -> SearchConfig:  # type: ignore[no-untyped-def]
    options = {"variant": "dense"} if space == "darts" else {}
    return build_config(SearchConfig, {"space": space, "space_options": options, "strategy": "aging-evolution",
                                       "score": "bpe-target", "seed": 5, "aging_evolution": settings,
                                       "runtime": {"quiet": True}})


def test_the_oldest_member_dies_not_the_worst() -> None:
    space = get_space("nb201")
    strategy = make_strategy("aging-evolution", space, config(population=4, sample_size=2, evaluations=8))
    scores = [0.1, 0.9, 0.5, 0.7, 0.2, 0.3, 0.4, 0.6]  # the first member is the worst, the second the best
    asked = []
    for score in scores:
        (arch,) = strategy.ask()
        asked.append(arch)
        strategy.tell([arch], [score])
        members = [a for a, _ in strategy.population]
        assert members == asked[-4:]  # always the 4 youngest, whatever their scores
    assert [s for _, s in strategy.population] == scores[-4:]
    assert strategy.ask() == []


def test_a_child_differs_from_a_tournament_winner_in_exactly_one_variable() -> None:
    space = get_space("darts", variant="dense")
    strategy = make_strategy("aging-evolution", space, config("darts", population=10, sample_size=10,
                                                                    evaluations=60, subcells=0))
    for _ in range(60):
        (arch,) = strategy.ask()
        values = space.to_categorical(arch)
        if len(strategy.evaluated) >= 10:
            population = [space.to_categorical(a) for a, _ in strategy.population]
            distances = [sum(x != y for x, y in zip(values, member, strict=True)) for member in population]
            assert min(distances) == 1
        strategy.tell([arch], [sum(v == TARGET_CHOICE for v in values) / 28])
    assert strategy.ask() == []


def test_aging_evolution_finds_the_nb201_optimum_region() -> None:
    space = get_space("nb201")
    strategy = make_strategy("aging-evolution", space, config(population=20, sample_size=5, evaluations=200))
    while archs := strategy.ask():
        values = space.to_categorical(archs[0])
        strategy.tell(archs, [sum(v == TARGET_CHOICE for v in values) / 6])
    assert strategy.best()[1] == 1.0  # 5^6 = 15,625 cells; random search with 200 draws finds it with p ≈ 0.013


def test_settings_are_checked() -> None:
    with pytest.raises(NasInputError, match="below the population"):
        make_strategy("aging-evolution", get_space("nb201"), config(population=50, evaluations=20))
    with pytest.raises(NasInputError, match="variant dense"):
        make_strategy("aging-evolution", get_space("darts"), build_config(SearchConfig, {"space": "darts"}))


def test_dense_search_scores_the_ea_subcells_resumes_identically_and_writes_both_genotypes(tmp_path: Path) -> None:
    cfg = config("darts", population=6, sample_size=3, evaluations=14, subcells=4)
    reset()
    run_search(cfg, tmp_path / "straight")
    reset(crash_on=16)  # inside the parse: two sub-cells scored
    with pytest.raises(Crash):
        run_search(cfg, tmp_path / "run")
    reset()
    run_search(cfg, tmp_path / "run", resume=True)
    for name in ("scores.csv", "history.jsonl"):
        assert (tmp_path / "straight" / name).read_text() == (tmp_path / "run" / name).read_text(), name
    genotype = json.loads((tmp_path / "run" / "genotype.json").read_text())
    other = json.loads((tmp_path / "straight" / "genotype.json").read_text())
    genotype["source"].pop("search"), other["source"].pop("search")
    assert genotype == other

    rows = (tmp_path / "run" / "scores.csv").read_text().splitlines()[1:]
    assert len(rows) == 18  # 14 dense cells, then the 4 sub-cells
    space = get_space("darts", variant="dense")
    dense = space.from_json(genotype["dense"]["arch"])
    subcells = [space.parse(entry["text"]) for entry in genotype["parse"]["subcells"]]
    assert len(subcells) == 4 and all(isinstance(g, DartsGenotype) for g in subcells)
    dense_pairs = {kind: set(dense.cell(kind)) for kind in ("normal", "reduce")}
    for subcell in subcells:  # each sub-cell keeps 2 of each node's dense edges, with their ops
        assert all(set(subcell.cell(kind)) <= dense_pairs[kind] for kind in dense_pairs)
    best = max(genotype["parse"]["subcells"], key=lambda entry: entry["bpe-target"])
    assert genotype["text"] == best["text"] and genotype["scores"] == {"bpe-target": best["bpe-target"]}
    assert genotype["dense"]["scores"]["bpe-target"] == max(
        float(row.rsplit(",", 2)[1]) for row in rows[:14])
    assert get_space("darts").from_json(genotype["arch"]) == subcells[
        genotype["parse"]["subcells"].index(best)]
