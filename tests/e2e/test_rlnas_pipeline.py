"""RLNAS on NB201 through the CLI: train-supernet → search → exhaustive angle → correlate → visualize;
bad input to search/correlate; a search interrupted and resumed ends identical."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from nascli.config import EvolutionConfig, SearchConfig
from nascli.errors import NasInputError
from nascli.scores.base import SCORES, ScoreContext
from nascli.scores.cost import BenchScore
from nascli.strategies.runner import run_search
from tests.e2e.helpers import TINY_SUPERNET, nas, snapshot


@pytest.fixture(scope="module")
def supernet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rlnas") / "supernet"
    code, output = nas("train-supernet", "--out", str(folder), "--labels", "random", "--epochs", "2",
                       *TINY_SUPERNET)
    assert code == 0, output
    return folder


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_whole_chain_runs_and_its_artifacts_agree(supernet: Path, tmp_path: Path) -> None:
    search = tmp_path / "search"
    code, output = nas("search", "--supernet", str(supernet), "--out", str(search), "--population", "20",
                       "--parents", "5", "--mutation", "5", "--crossover", "5", "--generations", "3",
                       "--extra-score", "flops")
    assert code == 0, output
    assert "top 10 of 60 by angle" in output and "C10 test" in output
    rows = _rows(search / "scores.csv")
    assert len(rows) == 60 == len({r["arch"] for r in rows})
    assert list(rows[0]) == ["arch", "angle", "flops", "step", "index"]
    genotype = json.loads((search / "genotype.json").read_text())
    best = max(rows, key=lambda r: float(r["angle"]))
    assert genotype["text"] == best["arch"] and genotype["index"] == int(best["index"])
    assert set(genotype["bench"]) == {"cifar10", "cifar100", "imagenet16-120"}
    history = [json.loads(line) for line in (search / "history.jsonl").read_text().splitlines()]
    assert [h["generation"] for h in history] == [0, 1, 2]
    assert history[-1]["best_so_far"] == pytest.approx(float(best["angle"]))

    everything = tmp_path / "all"
    code, output = nas("search", "--supernet", str(supernet), "--out", str(everything), "--strategy", "exhaustive",
                       "--score", "angle", "--quiet")
    assert code == 0, output
    all_rows = _rows(everything / "scores.csv")
    assert [int(r["index"]) for r in all_rows] == list(range(15625))
    assert sum(float(r["angle"]) == 0.0 for r in all_rows) == 341  # architectures without a live path

    code, output = nas("correlate", "--scores", str(everything / "scores.csv"), "--out", str(tmp_path / "corr"),
                       "--n-boot", "50")
    assert code == 0, output
    report = json.loads((tmp_path / "corr" / "report.json").read_text())
    assert report["n_used"] == 15625 and -1 <= report["kendall_tau_b"]["value"] <= 1
    assert (tmp_path / "corr" / "scatter.png").stat().st_size > 10_000

    for args in (["cell", str(search / "genotype.json"), "--out", str(tmp_path / "cell")],
                 ["curves", str(supernet / "log.jsonl"), "--out", str(tmp_path / "curves.png")],
                 ["history", str(search / "history.jsonl"), "--out", str(tmp_path / "history.png")]):
        code, output = nas("visualize", *args)
        assert code == 0, output
    assert {p.name for p in tmp_path.glob("cell.*")} == {"cell.png", "cell.svg", "cell.dot"}


def test_correlating_the_oracle_gives_tau_one(tmp_path: Path) -> None:
    code, output = nas("search", "--space", "nb201", "--strategy", "random", "--score", "bench", "--dataset",
                       "cifar10", "--samples", "300", "--out", str(tmp_path / "oracle"), "--quiet")
    assert code == 0, output
    code, output = nas("correlate", "--scores", str(tmp_path / "oracle"), "--out", str(tmp_path / "c"),
                       "--n-boot", "20", "--quiet")
    assert code == 0, output
    report = json.loads((tmp_path / "c" / "report.json").read_text())
    assert report["kendall_tau_b"]["value"] == pytest.approx(1.0)
    assert report["rank_of_true_best"] == 1


def test_correlate_drops_nan_rows(tmp_path: Path) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("arch,proxy\n"
                      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|,3\n"
                      "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,nan\n"
                      "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n"
                      "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|,2\n")
    code, output = nas("correlate", "--scores", str(scores), "--out", str(tmp_path / "c"), "--n-boot", "10")
    assert code == 0, output
    report = json.loads((tmp_path / "c" / "report.json").read_text())
    assert report["n_used"] == 3 and report["n_dropped"] == 1


@pytest.mark.parametrize("args,message", [
    (["--strategy", "annealing"], "unknown strategy 'annealing'"),
    (["--score", "zen"], "unknown score 'zen'"),
    (["--bench-sha", "x"], "No such option"),
])
def test_search_bad_input(supernet: Path, tmp_path: Path, args: list[str], message: str) -> None:
    code, output = nas("search", "--supernet", str(supernet), "--out", str(tmp_path / "s"), *args)
    assert code == 2 and message in output
    assert "Traceback" not in output


def test_supernet_folder_without_init_and_table_with_wrong_hash(supernet: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("manifest.json", "last.pt", "log.jsonl"):
        (broken / name).write_bytes((supernet / name).read_bytes())
    code, output = nas("search", "--supernet", str(broken), "--out", str(tmp_path / "s"))
    assert code == 2 and "has no init.pt" in output and "train-supernet" in output
    code, output = nas("search", "--space", "nb201", "--score", "bench", "--dataset", "cifar10", "--set",
                       "bench_sha256=" + "0" * 64, "--out", str(tmp_path / "s2"))
    assert code == 2 and "expected" in output and "sha256" in output


def test_correlate_refuses_a_scores_file_of_another_space(tmp_path: Path) -> None:
    scores = tmp_path / "darts.csv"
    scores.write_text("arch,angle\n\"Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                      "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
                      "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
                      "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                      "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
                      "reduce_concat=[2, 3, 4, 5])\",0.5\n")
    code, output = nas("correlate", "--scores", str(scores), "--out", str(tmp_path / "c"))
    assert code == 2 and "darts-space" in output and "--against" in output
    assert not (tmp_path / "c").exists()


def test_rerunning_a_finished_search_without_resume_leaves_it_intact(supernet: Path, tmp_path: Path) -> None:
    args = ["search", "--supernet", str(supernet), "--out", str(tmp_path / "s"), "--strategy", "random",
            "--samples", "20", "--quiet"]
    assert nas(*args)[0] == 0
    before = snapshot(tmp_path / "s")
    code, output = nas(*args)
    assert code == 2 and "finished search run: pass --overwrite" in output and "--resume" not in output
    assert snapshot(tmp_path / "s") == before


class _Crash(Exception):
    pass


class FlakyBench(BenchScore):
    """The oracle, crashing on a chosen call (a stand-in for a killed process)."""

    name = "flaky-bench"
    calls = 0
    crash_on: int | None = None

    def score(self, archs):  # type: ignore[no-untyped-def]
        FlakyBench.calls += 1
        if FlakyBench.calls == FlakyBench.crash_on:
            raise _Crash
        return super().score(archs)


if "flaky-bench" not in SCORES:
    SCORES.add("flaky-bench", FlakyBench)


def _straight_and_crashed(tmp_path: Path, generations: int, crash_on: int) -> SearchConfig:
    """An evolution on the flaky oracle run straight into tmp/straight, and into tmp/run crashing at a call."""
    cfg = SearchConfig(space="nb201", strategy="evolution", score="flaky-bench", dataset="cifar10", seed=4,
                       evolution=EvolutionConfig(population=20, parents=10, mutation=10, crossover=10,
                                                 generations=generations))
    cfg.runtime.quiet = True
    FlakyBench.calls, FlakyBench.crash_on = 0, None
    run_search(cfg, tmp_path / "straight")
    FlakyBench.calls, FlakyBench.crash_on = 0, crash_on
    with pytest.raises(_Crash):
        run_search(cfg, tmp_path / "run")
    return cfg


def test_an_interrupted_search_resumes_to_the_identical_result(tmp_path: Path) -> None:
    cfg = _straight_and_crashed(tmp_path, generations=6, crash_on=4)
    assert len(_rows(tmp_path / "run" / "scores.csv")) == 60
    FlakyBench.calls, FlakyBench.crash_on = 0, None
    run_search(cfg, tmp_path / "run", resume=True)
    for name in ("scores.csv", "genotype.json"):
        a, b = (tmp_path / "straight" / name).read_text(), (tmp_path / "run" / name).read_text()
        if name == "genotype.json":
            a, b = json.loads(a), json.loads(b)
            a["source"].pop("search"), b["source"].pop("search")
        assert a == b, name
    assert (tmp_path / "straight" / "history.jsonl").read_text() == (tmp_path / "run" / "history.jsonl").read_text()


def test_rows_appended_after_the_last_state_are_scored_again_on_resume(tmp_path: Path) -> None:
    """scores.csv grows by appends; a stop between a step's append and its state write leaves rows no state
    accounts for: --resume cuts them and scores that step again, so the file equals an uninterrupted run's."""
    cfg = _straight_and_crashed(tmp_path, generations=4, crash_on=3)
    scores = tmp_path / "run" / "scores.csv"
    with scores.open("a") as handle:  # the rows of step 3, appended before a kill that beat the state write
        handle.write("".join(f"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,0.0,2,{k}\n" for k in range(20)))
        handle.write("|none~0|+|none~0|none")  # and half a line
    FlakyBench.calls, FlakyBench.crash_on = 0, None
    run_search(cfg, tmp_path / "run", resume=True)
    assert scores.read_text() == (tmp_path / "straight" / "scores.csv").read_text()


def test_unknown_context_needs_are_reported() -> None:
    from nascli.spaces import get_space

    with pytest.raises(NasInputError, match="needs supernet"):
        SCORES.get("angle")(ScoreContext(space=get_space("nb201")))
    assert np.isfinite(BenchScore(ScoreContext(space=get_space("nb201"), dataset="cifar10")).score(
        [get_space("nb201").arch_at(0)])).all()
