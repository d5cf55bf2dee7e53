"""REINFORCE (BPE `run_rl.py`): learning, the baseline and advantage by hand, resampling, resume, the RL parse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nascli.config import SearchConfig, build_config
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.darts import parse_genotype, rl_parse
from nascli.strategies import make_strategy
from nascli.strategies.runner import run_search
from tests.strategies.bpe_helpers import TARGET_CHOICE, Crash, reset


def config(**reinforce) -> SearchConfig:  # type: ignore[no-untyped-def]
    return build_config(SearchConfig, {"space": "nb201", "strategy": "reinforce", "score": "bpe-target", "seed": 1,
                                       "reinforce": reinforce, "runtime": {"quiet": True}})


def drive(strategy, rewards):  # type: ignore[no-untyped-def]
    """Ask/tell with the given rewards; returns the asked architectures and the history records."""
    asked, records = [], []
    for reward in rewards:
        arch = strategy.ask()[0]
        asked.append(strategy.space.to_categorical(arch))
        records.append(strategy.tell([arch], [reward]))
    return asked, records


def test_reinforce_raises_the_optimum_probability_on_every_edge() -> None:
    space = get_space("nb201")
    strategy = make_strategy("reinforce", space, config(lr=1.0, iterations=150, baseline="before-advantage"))
    while archs := strategy.ask():
        values = space.to_categorical(archs[0])
        strategy.tell(archs, [sum(v == TARGET_CHOICE for v in values) / len(values)])
    assert strategy.updates == 150
    target = [float(p[TARGET_CHOICE]) for p in strategy.probabilities()]
    assert min(target) > 0.8, target  # uniform start: 0.2 per op


@pytest.mark.parametrize("baseline", ["before-advantage", "after-advantage"])
def test_first_three_steps_equal_a_hand_computation(baseline: str) -> None:
    space = get_space("nb201")
    strategy = make_strategy("reinforce", space, config(lr=0.1, momentum=0.9, baseline=baseline))
    rewards = [0.62, 0.35, 0.8]
    asked, records = drive(strategy, rewards)
    logits = np.zeros((6, 5))
    numerator = denominator = 0.0
    seen: list[float] = []
    for step, (sample, reward) in enumerate(zip(asked, rewards, strict=True)):
        previous = numerator / denominator if denominator else None
        numerator = 0.9 * numerator + 0.1 * reward
        denominator = 0.9 * denominator + 0.1
        average = numerator / denominator
        if baseline == "before-advantage":
            advantage = reward - average
        else:
            advantage = 0.0 if previous is None else reward - previous
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        onehot = np.eye(5)[list(sample)]
        logits = logits + 0.1 * advantage * (onehot - probs)
        seen.append(advantage)
        assert records[step]["baseline"] == pytest.approx(average, abs=1e-12)
        assert records[step]["advantage"] == pytest.approx(advantage, abs=1e-12)
        expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(np.array(records[step]["probabilities"]), expected, atol=1e-12)
    np.testing.assert_allclose(np.array([lg for lg in strategy.logits]), logits, atol=1e-12)
    assert seen[0] == 0.0  # the first step moves nothing either way
    if baseline == "before-advantage":  # 0.35 − (0.09·0.62 + 0.1·0.35)/0.19
        assert seen[1] == pytest.approx(0.35 - (0.09 * 0.62 + 0.035) / 0.19)
    else:
        assert seen[1] == pytest.approx(0.35 - 0.62)


def test_rewards_at_or_below_the_bound_are_recorded_but_resampled() -> None:
    space = get_space("nb201")
    strategy = make_strategy("reinforce", space, config(iterations=2, resample_at_or_below=0.001))
    _, records = drive(strategy, [0.5, 0.001, 0.0, 0.4])
    assert [r["resampled"] for r in records] == [False, True, True, False]
    assert strategy.updates == 2 and len(strategy.evaluated) == 4 and strategy.ask() == []
    assert strategy.update_of == [0, 1, 1, 1]
    assert "probabilities" not in records[1] and records[3]["baseline"] == pytest.approx(
        (0.09 * 0.5 + 0.1 * 0.4) / 0.19)  # the resampled rewards never entered the average
    plain = make_strategy("reinforce", space, config(iterations=2))
    assert [r["resampled"] for r in drive(plain, [0.5, 0.001])[1]] == [False, False]


def test_reinforce_needs_categorical_variables() -> None:
    cfg = build_config(SearchConfig, {"space": "darts", "strategy": "reinforce"})
    with pytest.raises(NasInputError, match="variant dense"):
        make_strategy("reinforce", get_space("darts"), cfg)


def dense_config(**reinforce) -> SearchConfig:  # type: ignore[no-untyped-def]
    return build_config(SearchConfig, {"space": "darts", "space_options": {"variant": "dense"},
                                       "strategy": "reinforce", "score": "bpe-target", "seed": 3,
                                       "reinforce": {"iterations": 12, "lr": 2.0, **reinforce},
                                       "runtime": {"quiet": True}})


def test_dense_search_resumes_identically_and_writes_the_rl_parse(tmp_path: Path) -> None:
    cfg = dense_config(baseline="before-advantage", first_reward_zero=True, resample_at_or_below=0.001)
    reset()
    run_search(cfg, tmp_path / "straight")
    reset(crash_on=7)
    with pytest.raises(Crash):
        run_search(cfg, tmp_path / "run")
    reset()
    run_search(cfg, tmp_path / "run", resume=True)
    for name in ("scores.csv", "history.jsonl"):
        assert (tmp_path / "straight" / name).read_text() == (tmp_path / "run" / name).read_text(), name
    straight, resumed = (json.loads((tmp_path / folder / "genotype.json").read_text())
                         for folder in ("straight", "run"))
    straight["source"].pop("search"), resumed["source"].pop("search")
    assert straight == resumed

    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert len(history) == 12 and all(len(r["probabilities"]) == 28 and len(r["probabilities"][0]) == 7
                                      for r in history)
    space = get_space("darts", variant="dense")
    rewards = [r["reward"] for r in history]
    rewards[0] = 0.0  # first_reward_zero
    best = int(np.argmax(rewards))
    dense = space.from_json(straight["dense"]["arch"])
    assert list(dense.codes()) == history[best]["sample"]
    expected = rl_parse(dense, history[best]["probabilities"])
    assert parse_genotype(straight["text"]) == expected
    assert straight["parse"] == {"rule": "rl", "first_reward_zero": True}
    assert get_space("darts").from_json(straight["arch"]) == expected  # retrainable by the default DARTS space
