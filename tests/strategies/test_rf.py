"""The `rf` strategy: the vote rules on hand-made tables, a search that finds a known optimum, identical resume."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from nascli.config import SearchConfig, build_config
from nascli.errors import NasInputError
from nascli.scores.base import SCORES, Score
from nascli.spaces.base import Architecture, get_space
from nascli.strategies.rf import vote_darts, vote_nb201
from nascli.strategies.runner import run_search

TARGET = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
DARTS_TARGET_CELL = (("sep_conv_3x3", 0), ("dil_conv_5x5", 1), ("skip_connect", 0), ("sep_conv_5x5", 2),
                     ("max_pool_3x3", 1), ("dil_conv_3x3", 3), ("avg_pool_3x3", 0), ("sep_conv_3x3", 4))


class _Crash(Exception):
    pass


_CREDIT = np.random.default_rng(0).uniform(0.0, 0.5, size=(6, 5))
for _edge, _op in enumerate((3, 2, 4, 1, 3, 3)):  # the target's op indices: full credit
    _CREDIT[_edge, _op] = 1.0


class MatchOracle(Score):
    """Synthetic additive score with a known optimum: per NB201 edge 1 for the target's op, less for the others;
    (op, input) pairs shared with a target cell on DARTS; crashes on a chosen call (a stand-in for a killed
    process)."""

    name = "rf-match-oracle"
    calls = 0
    crash_on: int | None = None

    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        MatchOracle.calls += 1
        if MatchOracle.calls == MatchOracle.crash_on:
            raise _Crash
        space = self.context.space
        if space.name == "nb201":
            return np.array([_CREDIT[np.arange(6), list(arch.op_indices())].sum() for arch in archs])
        return np.array([len(set(arch.normal) & set(DARTS_TARGET_CELL)) for arch in archs], float)


if "rf-match-oracle" not in SCORES:
    SCORES.add("rf-match-oracle", MatchOracle)


def test_nb201_vote_takes_the_most_voted_op_per_edge() -> None:
    tables = np.zeros((3, 6, 5))
    rows = [[3, 2, 4, 1, 3, 3], [3, 2, 0, 1, 2, 3], [1, 2, 4, 0, 3, 3]]
    for table, ops in zip(tables, rows, strict=True):
        table[np.arange(6), ops] = 1
    assert vote_nb201(list(tables)).tolist() == [3, 2, 4, 1, 3, 3]


def _darts_votes() -> np.ndarray:
    """A 14×7 vote table: per edge (winning op, its votes); the two edge rules keep different edges."""
    winners = {0: (0, 5), 1: (6, 1),                      # node 2: both edges kept either way
               2: (1, 5), 3: (5, 1), 4: (3, 3),            # node 3
               5: (2, 1), 6: (4, 2), 7: (0, 4), 8: (1, 3),  # node 4
               9: (6, 1), 10: (0, 5), 11: (1, 4), 12: (2, 3), 13: (3, 2)}  # node 5
    votes = np.zeros((14, 7))
    for edge, (op, count) in winners.items():
        votes[edge, op] = count
        votes[edge, (op + 1) % 7] = count - 1 if count > 1 else 0
    return votes


def test_darts_vote_most_votes_and_the_reference_largest_index_rule() -> None:
    votes = _darts_votes()
    most = vote_darts([votes], "most-votes")
    kept = {edge for edge in range(14) if most[edge] >= 0}
    assert kept == {0, 1, 2, 4, 7, 8, 10, 11}
    assert most[[0, 1, 2, 4, 7, 8, 10, 11]].tolist() == [0, 6, 1, 3, 0, 1, 0, 1]
    reference = vote_darts([votes], "largest-op-index")
    kept = {edge for edge in range(14) if reference[edge] >= 0}
    # the reference keeps per node the edges whose winning op has the largest index: ops 5, 3 / 4, 2 / 6, 3
    assert kept == {0, 1, 3, 4, 5, 6, 9, 13}
    with pytest.raises(NasInputError, match="most-votes"):
        vote_darts([votes], "strongest")


def _rf_config(space: str, **rf: object) -> SearchConfig:
    settings = {"warmup": 30, "successes": 12, "proposals": 200, "trees": 10, "max_evaluations": 120,
                "good_quantile": 0.1, "vote_top": 10, **rf}
    cfg = build_config(SearchConfig, {"space": space, "strategy": "rf", "score": "rf-match-oracle", "seed": 3,
                                      "rf": settings})
    cfg.runtime.quiet = True
    return cfg


@pytest.mark.slow
def test_rf_finds_the_known_optimum_within_a_fixed_budget(tmp_path: Path) -> None:
    cfg = _rf_config("nb201", warmup=30, successes=60, max_evaluations=200, vote_top=25, good_quantile=0.05)
    MatchOracle.calls, MatchOracle.crash_on = 0, None
    result = run_search(cfg, tmp_path / "rf")
    assert result.evaluated <= 201
    assert result.space.format(result.best) == TARGET and result.best_score == pytest.approx(6.0)
    history = [json.loads(line) for line in (tmp_path / "rf" / "history.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in history[:30]] == ["warmup"] * 30 and history[30]["phase"] == "rf"
    assert history[-1]["phase"] == "final" or history[-1]["best_arch"] == TARGET
    assert len({r["threshold_loss"] for r in history[30:]}) == 1  # fixed after the warm-up


def test_rf_resumes_to_the_identical_result(tmp_path: Path) -> None:
    cfg = _rf_config("nb201")
    MatchOracle.calls, MatchOracle.crash_on = 0, None
    run_search(cfg, tmp_path / "straight")
    MatchOracle.calls, MatchOracle.crash_on = 0, 38  # killed in the forest phase
    with pytest.raises(_Crash):
        run_search(cfg, tmp_path / "run")
    MatchOracle.calls, MatchOracle.crash_on = 0, None
    run_search(cfg, tmp_path / "run", resume=True)
    for name in ("scores.csv", "history.jsonl"):
        assert (tmp_path / "run" / name).read_text() == (tmp_path / "straight" / name).read_text(), name
    a, b = (json.loads((tmp_path / d / "genotype.json").read_text()) for d in ("straight", "run"))
    a["source"].pop("search"), b["source"].pop("search")
    assert a == b


def test_rf_on_darts_shares_one_cell_and_votes_a_genotype(tmp_path: Path) -> None:
    cfg = _rf_config("darts", warmup=20, successes=3, proposals=50, trees=5, max_evaluations=30, vote_top=5)
    MatchOracle.calls, MatchOracle.crash_on = 0, None
    result = run_search(cfg, tmp_path / "darts")
    rows = (tmp_path / "darts" / "scores.csv").read_text().splitlines()[1:]
    archs = [get_space("darts").parse(row.rsplit(",", 2)[0].strip('"')) for row in rows]
    assert all(arch.normal == arch.reduce for arch in archs)
    assert result.best.normal == result.best.reduce and len(result.best.normal) == 8
    assert 21 <= result.evaluated <= 31


def test_rf_refuses_a_space_it_cannot_encode_and_too_few_goods() -> None:
    cfg = _rf_config("nb201", proposals=20_000)
    with pytest.raises(NasInputError, match="proposals"):
        run_search(cfg, "/nonexistent/never-written")


def test_rf_k_proposals_per_step_are_the_forests_top_k(tmp_path: Path) -> None:
    """The parallel form: k warm-up draws per step, then the k most likely good untried candidates of one fit."""
    from nascli.strategies.base import make_strategy

    cfg = _rf_config("nb201", warmup=12, proposals=200, successes=4, max_evaluations=30, vote_top=5,
                     proposals_per_step=3)
    strategy = make_strategy("rf", get_space("nb201"), cfg)
    oracle = MatchOracle.__new__(MatchOracle)
    oracle.context = type("Context", (), {"space": get_space("nb201")})()
    drawn: list[list[Architecture]] = []
    draw = strategy._random_candidates
    strategy._random_candidates = lambda count, distinct: drawn.append(draw(count, distinct)) or drawn[-1]
    sizes = []
    while True:
        tried, forest_step = set(strategy.tried), strategy.threshold is not None and not strategy._should_stop()
        archs = strategy.ask()
        if not archs:
            break
        sizes.append(len(archs))
        if forest_step and strategy.forest is not None:  # the forest's 3 highest P(good) among untried proposals
            untried = list({strategy.space.format(a): a for a in drawn[-1]
                            if strategy.space.format(a) not in tried}.values())
            good = strategy.forest.predict_proba(np.array([strategy.encode(a).ravel() for a in untried]))[:, 1]
            ranked = [strategy.space.format(untried[i]) for i in np.argsort(-good, kind="stable")]
            assert [strategy.space.format(a) for a in archs] == ranked[:3]
        strategy.tell(archs, oracle.score(archs).tolist())
    assert sizes[:4] == [3, 3, 3, 3]  # the warm-up of 12 in steps of 3
    assert len(strategy.evaluated) <= 30 + 3 and len({strategy.space.format(a) for a, _ in strategy.evaluated}) == len(
        strategy.evaluated)
    with pytest.raises(NasInputError, match="proposals_per_step"):
        _rf_config("nb201", proposals_per_step=0)
