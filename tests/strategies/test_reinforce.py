"""REINFORCE (BPE `run_rl.py`): learning, the baseline and advantage by hand, resampling, resume, the RL parse."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nascli.config import SearchConfig, build_config
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.darts import parse_genotype, rl_parse
from nascli.strategies import make_strategy
from nascli.strategies.runner import run_search
from tests.strategies.bpe_helpers import TARGET_CHOICE, Crash, TargetScore, one_per_step_files, reset
from tests.strategies.recorded_outputs import assert_same_json_lines


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


# --- samples_per_update: k architectures per policy update --------------------------------------------------
ONE_PER_STEP = Path(__file__).resolve().parents[1] / "fixtures" / "bpe_one_per_step"


@pytest.mark.parametrize("name", ["reinforce-nb201", "reinforce-dense"])
def test_one_sample_per_update_writes_what_it_wrote_before_the_option(name: str, tmp_path: Path) -> None:
    expected = json.loads((ONE_PER_STEP / "sha256.json").read_text())
    for file, data in one_per_step_files(name, tmp_path / name).items():
        if file == "history.jsonl":
            recorded = gzip.decompress((ONE_PER_STEP / f"{name}.history.jsonl.gz").read_bytes())
            assert hashlib.sha256(recorded).hexdigest() == expected[f"{name}/{file}"]  # the file the hash pins
            assert_same_json_lines(data.decode(), recorded.decode())
        else:
            assert hashlib.sha256(data).hexdigest() == expected[f"{name}/{file}"], file


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


@pytest.mark.parametrize("baseline", ["before-advantage", "after-advantage"])
def test_two_samples_per_update_equal_a_hand_computation(baseline: str) -> None:
    space = get_space("nb201")
    strategy = make_strategy("reinforce", space, config(lr=0.5, momentum=0.9, baseline=baseline,
                                                        samples_per_update=2))
    logits = np.zeros((6, 5))
    numerator = denominator = 0.0
    for step, rewards in enumerate([(0.62, 0.2), (0.35, 0.9), (0.8, 0.1)]):
        archs = strategy.ask()
        assert len(archs) == 2
        samples = [list(space.to_categorical(arch)) for arch in archs]
        record = strategy.tell(archs, list(rewards))
        previous = numerator / denominator if denominator else None
        numerator = 0.9 * numerator + 0.1 * (rewards[0] + rewards[1]) / 2  # the average takes in the step's mean
        denominator = 0.9 * denominator + 0.1
        if baseline == "before-advantage":
            advantages = [r - numerator / denominator for r in rewards]
        else:
            advantages = [0.0, 0.0] if previous is None else [r - previous for r in rewards]
        probs = softmax_rows(logits)  # both terms at the logits before the update
        terms = [a * (np.eye(5)[sample] - probs) for a, sample in zip(advantages, samples, strict=True)]
        logits = logits + 0.5 * (terms[0] + terms[1]) / 2
        assert record["samples"] == samples and record["rewards"] == list(rewards)
        assert record["resampled"] == [False, False] and record["update"] == step
        assert record["baseline"] == pytest.approx(numerator / denominator, abs=1e-12)
        assert record["advantages"] == pytest.approx(advantages, abs=1e-12)
        np.testing.assert_allclose(np.array(record["probabilities"]), softmax_rows(logits), atol=1e-12)
        if step == 0 and baseline == "before-advantage":  # unlike k = 1, the first step moves: b = the mean 0.41
            assert advantages == pytest.approx([0.21, -0.21])
    np.testing.assert_allclose(np.array(strategy.logits), logits, atol=1e-12)
    assert strategy.updates == 3 and len(strategy.evaluated) == 6


def test_rewards_at_or_below_the_bound_leave_the_mean_and_a_step_with_none_left_samples_again() -> None:
    space = get_space("nb201")
    strategy = make_strategy("reinforce", space, config(iterations=2, lr=1.0, samples_per_update=3,
                                                        resample_at_or_below=0.001))
    first = strategy.ask()
    record = strategy.tell(first, [0.5, 0.0, 0.4])
    assert record["resampled"] == [False, True, False] and record["advantages"] == [0.0, None, 0.0]
    assert record["baseline"] == pytest.approx(0.45)  # the mean of the two rewards that count
    logits = np.array(strategy.logits)
    record = strategy.tell(strategy.ask(), [0.0, 0.001, float("nan")])
    assert record["resampled"] == [True, True, True] and record["update"] == 1 and "probabilities" not in record
    assert strategy.updates == 1 and np.array_equal(np.array(strategy.logits), logits)
    third = strategy.ask()
    record = strategy.tell(third, [0.6, 0.3, 0.0])
    assert record["advantages"][:2] == pytest.approx([0.15, -0.15]) and record["advantages"][2] is None  # − 0.45
    assert record["baseline"] == pytest.approx((0.09 * 0.45 + 0.1 * 0.45) / 0.19)
    samples = [list(space.to_categorical(arch)) for arch in third[:2]]
    probs = softmax_rows(logits)
    expected = logits + 1.0 * (0.15 * (np.eye(5)[samples[0]] - probs) - 0.15 * (np.eye(5)[samples[1]] - probs)) / 2
    np.testing.assert_allclose(np.array(strategy.logits), expected, atol=1e-12)
    assert strategy.updates == 2 and strategy.ask() == [] and len(strategy.evaluated) == 9
    assert strategy.update_of == [0, 0, 0, 1, 1, 1, 1, 1, 1]


def test_samples_per_update_is_checked() -> None:
    with pytest.raises(NasInputError, match="reinforce.samples_per_update must be at least 1"):
        config(samples_per_update=0)


def test_k_samples_are_scored_together_resume_identically_and_feed_the_rl_parse(tmp_path: Path) -> None:
    cfg = dense_config(iterations=6, samples_per_update=2, baseline="before-advantage", first_reward_zero=True)
    reset()
    run_search(cfg, tmp_path / "straight")
    assert TargetScore.calls == 6  # one score call per update, with both samples
    reset(crash_on=4)  # inside the fourth update's scoring: three updates saved
    with pytest.raises(Crash):
        run_search(cfg, tmp_path / "run")
    reset()
    run_search(cfg, tmp_path / "run", resume=True)
    for name in ("scores.csv", "history.jsonl"):
        assert (tmp_path / "straight" / name).read_text() == (tmp_path / "run" / name).read_text(), name
    rows = (tmp_path / "run" / "scores.csv").read_text().splitlines()[1:]
    assert [int(row.rsplit(",", 1)[1]) for row in rows] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    genotype = json.loads((tmp_path / "run" / "genotype.json").read_text())
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    rewards = [reward for record in history for reward in record["rewards"]]
    rewards[0] = 0.0  # first_reward_zero
    best = int(np.argmax(rewards))
    space = get_space("darts", variant="dense")
    dense = space.from_json(genotype["dense"]["arch"])
    assert list(dense.codes()) == history[best // 2]["samples"][best % 2]
    assert genotype["dense"]["update"] == best // 2  # the probabilities after the update its reward made
    assert parse_genotype(genotype["text"]) == rl_parse(dense, history[best // 2]["probabilities"])


TORCHRUN = Path(sys.executable).parent / "torchrun"
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed beside the interpreter")
def test_k_candidates_of_reinforce_and_aging_evolution_split_over_two_processes_equal_one(tmp_path: Path) -> None:
    """reinforce.samples_per_update 4 and aging_evolution.workers 4 under torchrun (2 gloo processes): each rank
    trains its share of every step (`tiny-trained`, an expensive score), and the results equal one process's."""
    from tests.strategies import ddp_bpe_worker

    threads = torch.get_num_threads()
    try:
        ddp_bpe_worker.main([str(tmp_path / "one")])
    finally:
        torch.set_num_threads(threads)
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        environment.pop(name, None)
    done = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", ddp_bpe_worker.__file__,
                           str(tmp_path / "two")], env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("reinforce", "aging"):
        one, two = tmp_path / "one" / name, tmp_path / "two" / name
        rows = (two / "scores.csv").read_text().splitlines()[1:]
        assert [int(row.split(",")[2]) for row in rows] == [0] * 4 + [1] * 4, name
        # no candidate twice in a step (two ranks would train one folder at once: see the runner)
        assert all(len({row.split(",")[0] for row in rows[s : s + 4]}) == 4 for s in (0, 4)), name
        for file in ("scores.csv", "history.jsonl"):
            assert (one / file).read_text() == (two / file).read_text(), (name, file)
        ranks = {(folder / "trained_by.txt").read_text().split()[0] for folder in (two / "candidates").iterdir()
                 if (folder / "trained_by.txt").exists()}
        assert ranks == {"0", "1"}, name  # each rank trained its share of the 4 candidates of a step
