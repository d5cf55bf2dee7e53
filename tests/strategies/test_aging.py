"""Aging evolution (BPE `run_evolution.py`): the oldest dies, not the worst; one-variable mutation; the EA parse."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from nascli.config import SearchConfig, build_config
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.darts import DartsGenotype
from nascli.strategies import make_strategy
from nascli.strategies.runner import run_search
from tests.strategies.bpe_helpers import TARGET_CHOICE, Crash, TargetScore, one_per_step_files, reset


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


# --- workers: k children per step --------------------------------------------------------------------------
ONE_PER_STEP = Path(__file__).resolve().parents[1] / "fixtures" / "bpe_one_per_step"


@pytest.mark.parametrize("name", ["aging-nb201", "aging-dense"])
def test_one_worker_writes_what_it_wrote_before_the_option(name: str, tmp_path: Path) -> None:
    expected = json.loads((ONE_PER_STEP / "sha256.json").read_text())
    for file, data in one_per_step_files(name, tmp_path / name).items():
        assert hashlib.sha256(data).hexdigest() == expected[f"{name}/{file}"], file


def test_three_workers_ask_three_children_of_the_step_start_population_and_the_three_oldest_die() -> None:
    space = get_space("nb201")
    strategy = make_strategy("aging-evolution", space, config(population=5, sample_size=2, evaluations=14,
                                                              workers=3))
    asked: list = []
    sizes = []
    while archs := strategy.ask():
        sizes.append(len(archs))
        before = [space.to_categorical(a) for a, _ in strategy.population]
        if len(strategy.evaluated) >= 5:  # each child mutates one variable of a member of the step-start population
            for child in archs:
                values = space.to_categorical(child)
                assert min(sum(x != y for x, y in zip(values, member, strict=True)) for member in before) == 1
        asked.extend(archs)
        record = strategy.tell(archs, [sum(v == TARGET_CHOICE for v in space.to_categorical(a)) / 6 for a in archs])
        assert [a for a, _ in strategy.population] == asked[-5:]  # the k joined, the k oldest died, in order
        assert record["phase"] == ("population" if len(asked) <= 5 else "evolution")
    assert sizes == [3, 2, 3, 3, 3]  # a step never mixes the random population and children


def test_a_step_of_children_never_sees_its_own_members() -> None:
    """With a population of 1 and workers 2, both children of a step mutate the same (only) member."""
    space = get_space("nb201")
    strategy = make_strategy("aging-evolution", space, config(population=1, sample_size=1, evaluations=9,
                                                              workers=2))
    strategy.tell(strategy.ask(), [0.5])
    for _ in range(4):
        (parent, _), = strategy.population
        children = strategy.ask()
        assert len(children) == 2
        for child in children:
            assert sum(x != y for x, y in zip(space.to_categorical(child), space.to_categorical(parent),
                                              strict=True)) == 1
        strategy.tell(children, [0.1, 0.2])
        assert [a for a, _ in strategy.population] == [children[1]]


def test_workers_is_checked() -> None:
    with pytest.raises(NasInputError, match="aging_evolution.workers must be at least 1"):
        config(workers=0)


@pytest.mark.parametrize("crash_on", [4, 6])  # in the evolution; in the EA parse
def test_three_workers_resume_identically_after_a_crash(crash_on: int, tmp_path: Path) -> None:
    cfg = config("darts", population=6, sample_size=3, evaluations=14, subcells=4, workers=3)
    reset()
    run_search(cfg, tmp_path / "straight")
    assert TargetScore.calls == 7  # random 3 + 3, children 3 + 3 + 2, sub-cells 3 + 1
    reset(crash_on=crash_on)
    with pytest.raises(Crash):
        run_search(cfg, tmp_path / "run")
    reset()
    run_search(cfg, tmp_path / "run", resume=True)
    for name in ("scores.csv", "history.jsonl"):
        assert (tmp_path / "straight" / name).read_text() == (tmp_path / "run" / name).read_text(), name
    genotype, other = (json.loads((tmp_path / folder / "genotype.json").read_text()) for folder in ("run", "straight"))
    genotype["source"].pop("search"), other["source"].pop("search")
    assert genotype == other
    rows = (tmp_path / "run" / "scores.csv").read_text().splitlines()[1:]
    assert [int(row.rsplit(",", 1)[1]) for row in rows] == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3 + [4] * 2 + [
        5] * 3 + [6]
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in history] == ["population"] * 2 + ["evolution"] * 3 + ["parse"] * 2
    assert [r["subcells"] for r in history[5:]] == [[0, 1, 2], [3]]
    assert genotype["dense"]["scores"]["bpe-target"] == max(float(row.rsplit(",", 2)[1]) for row in rows[:14])
