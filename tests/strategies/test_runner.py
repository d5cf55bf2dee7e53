"""The search runner: artifacts byte-identical to the recorded baseline, per-step persistence, exact resume."""

from __future__ import annotations

import copy
import csv
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from nascli.artifacts import RunFolder, atomic_torch_save
from nascli.config import ConstraintConfig, EvolutionConfig, SearchConfig
from nascli.scores.cost import BenchScore
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.strategies.runner import JOURNAL_FILE, STATE_FILE, run_search
from tests.strategies.recorded_outputs import assert_same_csv_rows

BASELINE = Path(__file__).resolve().parents[1] / "fixtures" / "search_baseline"
EVOLUTION = EvolutionConfig(population=30, parents=10, mutation=15, crossover=15, generations=8)


def make_angle_supernet(folder: Path) -> Path:
    """A tiny NB201 supernet folder (C=4, N=1) with seeded init.pt and a seeded perturbation as last.pt."""
    network = NetworkConfig(num_classes=10, channels=4, layers=1)
    space = get_space("nb201")
    torch.manual_seed(0)
    initial = space.supernet(network)
    trained = copy.deepcopy(initial)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    run = RunFolder(folder)
    run.start(kind="supernet", space="nb201", dataset="cifar10", config={}, seed=0,
              extra={"network": dataclasses.asdict(network)})
    atomic_torch_save({"model": initial.state_dict()}, run.file("init.pt"))
    atomic_torch_save({"model": trained.state_dict()}, run.file("last.pt"))
    return folder


def baseline_configs() -> dict[str, SearchConfig]:
    """The two recorded evolution searches: NB201 oracle (with an extra score and a FLOPs limit), tiny angle."""
    bench = SearchConfig(space="nb201", strategy="evolution", score="bench", extra_scores=["flops"],
                         dataset="cifar10", seed=7, evolution=EVOLUTION,
                         constraints=ConstraintConfig(max_flops=150.0))
    angle = SearchConfig(space="nb201", strategy="evolution", score="angle", seed=3, evolution=EVOLUTION)
    random = SearchConfig(space="nb201", strategy="random", score="bench", extra_scores=["params"],
                          dataset="cifar100", seed=5, samples=3000, batch=400,
                          constraints=ConstraintConfig(max_params=1.0))
    exhaustive = SearchConfig(space="nb201", strategy="exhaustive", score="bench", dataset="cifar10", batch=1000,
                              constraints=ConstraintConfig(max_flops=100.0))
    configs = {"bench": bench, "angle": angle, "random": random, "exhaustive": exhaustive}
    for cfg in configs.values():
        cfg.runtime.quiet = True
    return configs


def run_baseline(name: str, folder: Path) -> dict[str, bytes]:
    """Run one recorded search into `folder`; its scores.csv and genotype.json, folder paths made neutral."""
    cfg = baseline_configs()[name]
    supernet = make_angle_supernet(folder / "supernet") if name == "angle" else None
    out = folder / "search"
    run_search(cfg, out, supernet=supernet)
    genotype = (out / "genotype.json").read_text(encoding="utf-8")
    genotype = genotype.replace(str(out), "<search>").replace(str(folder / "supernet"), "<supernet>")
    return {"scores.csv": (out / "scores.csv").read_bytes(), "genotype.json": genotype.encode("utf-8")}


@pytest.mark.parametrize("name", ["bench", "angle", "random", "exhaustive"])
def test_search_artifacts_are_byte_identical_to_the_recorded_baseline(name: str, tmp_path: Path) -> None:
    """scores.csv and genotype.json equal those the runner wrote before per-step persistence (commit 80280f4)."""
    files = run_baseline(name, tmp_path)
    expected = json.loads((BASELINE / "sha256.json").read_text())
    for file, data in files.items():
        if name == "angle" and file == "scores.csv":
            recorded = (BASELINE / f"evolution_{name}_{file}").read_bytes()
            assert hashlib.sha256(recorded).hexdigest() == expected[f"{name}/{file}"]  # the file the hash pins
            assert_same_csv_rows(data.decode(), recorded.decode())
            continue
        if name in ("bench", "angle"):
            assert data == (BASELINE / f"evolution_{name}_{file}").read_bytes(), file
        assert hashlib.sha256(data).hexdigest() == expected[f"{name}/{file}"], file


class _Crash(Exception):
    pass


def _crash_on_call(monkeypatch: pytest.MonkeyPatch, call: int) -> None:
    """Make the oracle raise on its `call`-th call (a stand-in for a killed process)."""
    original = BenchScore.score
    calls = [0]

    def flaky(self: BenchScore, archs: Any) -> Any:
        calls[0] += 1
        if calls[0] == call:
            raise _Crash
        return original(self, archs)

    monkeypatch.setattr(BenchScore, "score", flaky)


def _search_files(folder: Path) -> dict[str, str]:
    files = {name: (folder / name).read_text() for name in ("scores.csv", "history.jsonl", "genotype.json")}
    files["genotype.json"] = files["genotype.json"].replace(str(folder), "<out>")
    return files


@pytest.mark.parametrize("strategy", ["evolution", "random"])
def test_a_search_killed_between_its_appends_and_its_state_resumes_identically(
        strategy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = SearchConfig(space="nb201", strategy=strategy, score="bench", dataset="cifar10", seed=2, samples=120,
                       batch=20, evolution=dataclasses.replace(EVOLUTION, generations=6, population=20, mutation=10,
                                                               crossover=10),
                       constraints=ConstraintConfig(max_flops=120.0))
    cfg.runtime.quiet = True
    run_search(cfg, tmp_path / "straight")
    with monkeypatch.context() as patch:
        _crash_on_call(patch, 4)
        with pytest.raises(_Crash):
            run_search(cfg, tmp_path / "run")
    run = tmp_path / "run"
    state = json.loads((run / STATE_FILE).read_text())
    assert state["rows_written"] == 60 and state["journal_entries"] == 3
    assert set(state["strategy"]) == {"name", "step", "rng"} | ({"parents", "candidates"} if strategy == "evolution"
                                                                  else set())
    # step 3's appends landed, the state write did not: rows, a history record, a journal entry, half a line
    with (run / "scores.csv").open("a") as handle:
        handle.write("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,0.0,3,0\n|none~0|+|no")
    with (run / "history.jsonl").open("a") as handle:
        handle.write(json.dumps({"generation": 3}) + "\n")
    with (run / JOURNAL_FILE).open("a") as handle:
        handle.write(json.dumps({"seen" if strategy == "random" else "visited": ["junk"]}) + "\n{\"vis")
    run_search(cfg, run, resume=True)
    assert _search_files(run) == _search_files(tmp_path / "straight")
    assert (run / JOURNAL_FILE).read_text() == (tmp_path / "straight" / JOURNAL_FILE).read_text()


def test_a_state_saved_with_the_history_inside_still_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Folders written before the history left the state (the whole `evaluated` and `visited` in it) resume."""
    cfg = SearchConfig(space="nb201", strategy="evolution", score="bench", dataset="cifar10", seed=8,
                       evolution=dataclasses.replace(EVOLUTION, generations=5))
    cfg.runtime.quiet = True
    run_search(cfg, tmp_path / "straight")
    with monkeypatch.context() as patch:
        _crash_on_call(patch, 3)
        with pytest.raises(_Crash):
            run_search(cfg, tmp_path / "run")
    run = tmp_path / "run"
    state = json.loads((run / STATE_FILE).read_text())
    space = get_space("nb201")
    rows = list(csv.reader((run / "scores.csv").read_text().splitlines()[1:]))
    visited = [text for line in (run / JOURNAL_FILE).read_text().splitlines() for text in json.loads(line)["visited"]]
    state["strategy"]["evaluated"] = [[space.to_json(space.parse(r[0])), float(r[1])] for r in rows]
    state["strategy"]["visited"] = sorted(visited)
    del state["journal_entries"]
    (run / STATE_FILE).write_text(json.dumps(state))
    (run / JOURNAL_FILE).unlink()
    run_search(cfg, run, resume=True)
    assert _search_files(run) == _search_files(tmp_path / "straight")


def test_the_state_stays_the_same_size_as_the_search_grows(tmp_path: Path) -> None:
    sizes = {}
    for generations in (2, 12):
        cfg = SearchConfig(space="nb201", strategy="evolution", score="bench", dataset="cifar10", seed=1,
                           evolution=dataclasses.replace(EVOLUTION, generations=generations))
        cfg.runtime.quiet = True
        out = tmp_path / str(generations)
        run_search(cfg, out)
        sizes[generations] = (out / STATE_FILE).stat().st_size
        journal = [json.loads(line) for line in (out / JOURNAL_FILE).read_text().splitlines()]
        # one entry per step that bred a generation (the first also holds generation 0), none for the last
        assert len(journal) == generations - 1
        assert len({t for entry in journal for t in entry["visited"]}) == sum(len(e["visited"]) for e in journal)
    assert sizes[12] < 1.2 * sizes[2]


TORCHRUN = Path(sys.executable).parent / "torchrun"
WORKER = Path(__file__).resolve().parent / "ddp_search_worker.py"
REPO = Path(__file__).resolve().parents[2]


def _launch(out: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the worker's search into `out` as 2 gloo processes under torchrun, 1 thread each."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **env}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        environment.pop(name, None)
    return subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", str(WORKER), str(out), *args],
                          env=environment, capture_output=True, text=True, timeout=300)


def _trained_steps(run: Path) -> dict[str, list[str]]:
    """Per candidate folder, the `rank step` lines of every training step it ran (a folder whose rank was stopped
    before its first step, when torchrun ended the survivors of a killed rank, has none)."""
    return {folder.name: (folder / "trained_by.txt").read_text().splitlines()
            for folder in sorted((run / "candidates").iterdir()) if (folder / "trained_by.txt").is_file()}


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed beside the interpreter")
def test_an_expensive_score_split_over_two_processes_equals_one_even_when_a_rank_is_killed(tmp_path: Path) -> None:
    from tests.strategies import ddp_search_worker

    threads = torch.get_num_threads()
    try:  # the one-process reference, in this process (1 thread, as the ranks)
        ddp_search_worker.main([str(tmp_path / "one")])
    finally:
        torch.set_num_threads(threads)
    # rank 1 dies right after its 11th training step: generation 1, its first candidate, 2 of 3 steps done
    killed = _launch(tmp_path / "run", KILL_RANK="1", KILL_AFTER="11")
    assert killed.returncode != 0
    assert len((tmp_path / "run" / "scores.csv").read_text().splitlines()) == 1 + 6  # generation 0 only
    half_trained = [name for name, lines in _trained_steps(tmp_path / "run").items() if lines == ["1 0", "1 1"]]
    assert len(half_trained) == 1
    resumed = _launch(tmp_path / "run", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _search_files(tmp_path / "run") == _search_files(tmp_path / "one")
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["world_size"] == 2
    # each rank trained its share (candidates r, r + 2, r + 4 of every generation)
    assert {lines[-1].split()[0] for lines in _trained_steps(tmp_path / "run").values()} == {"0", "1"}
    # the half-trained candidate continued from its checkpoint instead of starting again
    assert [line.split()[1] for line in _trained_steps(tmp_path / "run")[half_trained[0]]] == ["0", "1", "2"]


def test_an_expensive_step_scores_each_distinct_architecture_once_across_ranks(monkeypatch: pytest.MonkeyPatch
                                                                              ) -> None:
    """Repeats of one architecture in a step (a concentrated policy, two equal children) are scored once, by one
    rank, so two ranks never train the same candidate folder at once; every repeat gets that value."""
    import nascli.strategies.runner as runner
    from nascli.scores.base import Score
    from nascli.train.distributed import DistInfo

    space = get_space("nb201")
    calls: list[list[str]] = []

    class Counting(Score):
        name = "counting"
        expensive = True

        def score(self, archs):  # type: ignore[no-untyped-def]
            calls.append([space.format(a) for a in archs])
            return [float(space.index(a)) for a in archs]

    score = Counting.__new__(Counting)
    a, b, c = (space.arch_at(i) for i in (5, 700, 9930))
    archs = [a, b, a, c, b, a]

    def fake_gather(gathered: list, mine: list) -> None:  # rank 1 scores the odd distinct candidates
        gathered[0], gathered[1] = mine, Counting.score(score, [b])

    monkeypatch.setattr(runner.dist, "all_gather_object", fake_gather)
    values = runner._score_step(score, archs, DistInfo(rank=0, world_size=2), space)
    assert values.tolist() == [5.0, 700.0, 5.0, 9930.0, 700.0, 5.0]
    assert calls == [[space.format(a), space.format(c)], [space.format(b)]]  # each distinct one once in all


def test_steps_smaller_than_the_process_count_get_one_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An expensive score under torchrun with steps of one architecture leaves processes waiting: say so, once."""
    import nascli.strategies.runner as runner
    from nascli.scores.base import SCORES, Score
    from nascli.train.distributed import DistInfo

    class Slow(Score):
        name = "test-slow-expensive"
        expensive = True

        def score(self, archs):  # type: ignore[no-untyped-def]
            return [float(self.context.space.index(a)) for a in archs]

    if Slow.name not in SCORES:
        SCORES.add(Slow.name, Slow)
    notes: list[str] = []
    monkeypatch.setattr(runner, "init_device_and_ranks", lambda device: (torch.device("cpu"), DistInfo(0, 2)))
    monkeypatch.setattr(runner, "barrier", lambda ranks: None)
    monkeypatch.setattr(runner.dist, "all_gather_object", lambda gathered, mine: gathered.__setitem__(
        slice(None), [mine, []]))
    monkeypatch.setattr(runner, "notice", notes.append)
    archs = tmp_path / "archs.txt"
    archs.write_text("5\n700\n9930\n")
    cfg = SearchConfig(strategy="list", score="test-slow-expensive", batch=1, archs=str(archs))
    cfg.runtime.quiet = True
    run_search(cfg, tmp_path / "run")
    assert len(notes) == 1 and "1 architecture(s) on 2 processes" in notes[0] and "--batch" in notes[0]
