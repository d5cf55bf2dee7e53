"""Hostile input across every subcommand: one line naming the problem, the documented exit code (2 bad input,
1 failure inside a stage), no traceback, and every file already in the run folder byte-identical.

CI runs as root, where permissions stop no write: read-only folders, forbidden folders and full disks are
simulated by making the file-system calls under one folder raise EROFS, EACCES or ENOSPC.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nascli.artifacts import atomic_write_json, read_jsonl
from nascli.spaces.genotypes import get_genotype
from tests.e2e.helpers import nas

TINY_SUPERNET = ["--channels", "4", "--layers", "1", "--batch-size", "32", "--set", "data.synthetic_train=128",
                 "--set", "data.synthetic_test=32", "--device", "cpu", "--quiet"]
TINY_RETRAIN = ["--genotype", "6111", "--channels", "4", "--layers", "1", "--batch-size", "32", "--device", "cpu",
                "--set", "data.synthetic_train=64", "--set", "data.synthetic_test=32", "--quiet"]
SEARCH = ["--strategy", "random", "--score", "flops", "--samples", "6", "--quiet"]


# ------------------------------------------------------------------------------------------ helpers
def sha256s(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (empty when it does not exist)."""
    if not folder.exists():
        return {}
    if folder.is_file():
        return {folder.name: hashlib.sha256(folder.read_bytes()).hexdigest()}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def failing_writes(monkeypatch: pytest.MonkeyPatch, under: Path, code: int, name: str = "",
                   after: int = 0) -> Iterator[None]:
    """Every file or folder creation under `under` whose name contains `name` raises OSError(`code`), from the
    (`after` + 1)-th such creation on: a read-only or forbidden folder, a disk that is full (or fills up)."""
    real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir
    seen = {"count": 0}

    def hit(path: object) -> bool:
        text = os.fspath(path) if isinstance(path, str | os.PathLike) else ""
        if not text or not os.path.abspath(text).startswith(str(under)) or name not in os.path.basename(text):
            return False
        seen["count"] += 1
        return seen["count"] > after

    def refuse(path: object) -> OSError:
        return OSError(code, os.strerror(code), os.fspath(path))  # type: ignore[arg-type]

    def os_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and hit(path):
            raise refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if any(c in mode for c in "wax+") and hit(file):
            raise refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def mkdir(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not os.path.exists(path) and hit(path):  # an existing folder still answers EEXIST
            raise refuse(path)
        return real_mkdir(path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", os_open)
        patch.setattr(builtins, "open", open_)
        patch.setattr(os, "mkdir", mkdir)
        yield


@dataclass
class Runs:
    """Finished runs of every stage, copied fresh for each case."""

    root: Path
    supernet: Path
    search: Path
    retrain: Path
    correlate: Path
    stopped: Path


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("finished")
    runs = Runs(root, root / "supernet", root / "search", root / "retrain", root / "correlate", root / "stopped")
    for args in (
        ["train-supernet", "--out", str(runs.supernet), "--epochs", "1", *TINY_SUPERNET],
        ["train-supernet", "--out", str(runs.stopped), "--epochs", "2", "--stop-after", "1", *TINY_SUPERNET],
        ["search", "--out", str(runs.search), *SEARCH],
        ["retrain", "--out", str(runs.retrain), "--epochs", "1", *TINY_RETRAIN],
        ["correlate", "--scores", str(runs.search), "--out", str(runs.correlate), "--n-boot", "10", "--quiet"],
    ):
        code, output = nas(*args)
        assert code == 0, output
    return runs


@pytest.fixture
def runs(finished: Runs, tmp_path: Path) -> Runs:
    copy = Runs(tmp_path, *(tmp_path / name for name in ("supernet", "search", "retrain", "correlate", "stopped")))
    for name in ("supernet", "search", "retrain", "correlate", "stopped"):
        shutil.copytree(getattr(finished, name), getattr(copy, name))
    return copy


def refused(args: list[str], watched: Path, code: int, message: str) -> str:
    """Run `nas ARGS`; check the exit code, one `error:` line containing `message`, no traceback, and that no
    file under `watched` changed (nor appeared, nor vanished)."""
    before = sha256s(watched)
    exit_code, output = nas(*args)
    lines = [line for line in output.splitlines() if line.strip()]
    assert exit_code == code, output
    assert "Traceback" not in output
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert message in lines[0], output
    assert sha256s(watched) == before
    return lines[0]


# ------------------------------------------------------------------------------ the hostile catalogue
Case = Callable[[Runs], tuple[list[str], Path, int, str]]
GENOTYPE_TEXT = str(get_genotype("DARTS_V2"))
LONG = "n" * 300

CASES: dict[str, Case] = {
    # values checked when the config is built, before anything is written (the --out stays absent)
    "supernet negative lr": lambda r: (["train-supernet", "--out", str(r.root / "new"), "--lr", "-0.1",
                                        *TINY_SUPERNET], r.root / "new", 2, "optim.lr must be greater than 0"),
    "supernet zero epochs": lambda r: (["train-supernet", "--out", str(r.root / "new"), "--epochs", "0",
                                        *TINY_SUPERNET], r.root / "new", 2, "optim.epochs must be at least 1"),
    "supernet negative epochs": lambda r: (["train-supernet", "--out", str(r.root / "new"), "--epochs", "-3",
                                            *TINY_SUPERNET], r.root / "new", 2, "optim.epochs must be at least 1"),
    "supernet stop-after 0": lambda r: (["train-supernet", "--out", str(r.root / "new"), "--stop-after", "0",
                                         *TINY_SUPERNET], r.root / "new", 2, "stop_after_epochs must be at least 1"),
    "supernet negative momentum": lambda r: (["train-supernet", "--out", str(r.root / "new"), "--set",
                                              "optim.momentum=-0.5", *TINY_SUPERNET], r.root / "new", 2,
                                             "optim.momentum must be in [0, 1)"),
    "supernet image size 0": lambda r: (["train-supernet", "--out", str(r.root / "new"), "--set",
                                         "data.image_size=0", *TINY_SUPERNET], r.root / "new", 2,
                                        "data.image_size must be at least 1"),
    "supernet fp16 on cpu": lambda r: (["train-supernet", "--out", str(r.root / "new"), "--amp", "fp16",
                                        *TINY_SUPERNET], r.root / "new", 2, "--amp fp16 needs a CUDA GPU"),
    "search max-flops nan": lambda r: (["search", "--out", str(r.root / "new"), *SEARCH, "--max-flops", "nan"],
                                       r.root / "new", 2, "constraints.max_flops must be greater than 0"),
    "search max-flops text": lambda r: (["search", "--out", str(r.root / "new"), *SEARCH, "--max-flops", "lots"],
                                        r.root / "new", 2, "is not a size"),
    "search population 0": lambda r: (["search", "--out", str(r.root / "new"), "--population", "0", "--quiet"],
                                      r.root / "new", 2, "evolution.population must be at least 1"),
    "search mutation prob 1.5": lambda r: (["search", "--out", str(r.root / "new"), "--mutation-prob", "1.5",
                                            "--quiet"], r.root / "new", 2, "mutation_prob must be in [0, 1]"),
    "search samples 0": lambda r: (["search", "--out", str(r.root / "new"), *SEARCH, "--samples", "0"],
                                   r.root / "new", 2, "samples must be at least 1"),
    "retrain drop-path 1.5": lambda r: (["retrain", "--out", str(r.root / "new"), *TINY_RETRAIN, "--drop-path",
                                         "1.5"], r.root / "new", 2, "drop_path_prob must be in [0, 1)"),
    "retrain negative aux": lambda r: (["retrain", "--out", str(r.root / "new"), *TINY_RETRAIN,
                                        "--auxiliary-weight", "-1"], r.root / "new", 2,
                                       "aux_weight must be at least 0"),
    "retrain zero epochs": lambda r: (["retrain", "--out", str(r.root / "new"), *TINY_RETRAIN, "--epochs", "0"],
                                      r.root / "new", 2, "optim.epochs must be at least 1"),
    "flops-table input size 0": lambda r: (["flops-table", "--genotype", "DARTS_V2", "--input-size", "0"],
                                           r.root, 2, "--input-size must be at least 1"),
    "flops-table channels 0": lambda r: (["flops-table", "--genotype", "DARTS_V2", "--channels", "0"],
                                         r.root, 2, "--channels must be at least 1"),
    # inputs a stage checks itself: refused before its run folder is created
    "search unknown bench dataset": lambda r: (["search", "--out", str(r.root / "new"), "--strategy", "random",
                                                "--score", "bench", "--dataset", "cifar11", "--samples", "3",
                                                "--quiet"], r.root / "new", 2, "unknown NB-201 dataset 'cifar11'"),
    "search wrong table hash": lambda r: (["search", "--out", str(r.root / "new"), *SEARCH, "--bench-sha256",
                                           "0" * 64], r.root / "new", 2, "sha256"),
    "search supernet is a search": lambda r: (["search", "--out", str(r.root / "new"), "--supernet", str(r.search),
                                               "--quiet"], r.root, 2, "not a 'supernet' run"),
    "retrain negative index": lambda r: (["retrain", "--out", str(r.root / "new"), *TINY_RETRAIN, "--genotype",
                                          "-5"], r.root / "new", 2, "index -5 is negative"),
    "bench query negative index": lambda r: (["bench", "query", "--", "-5"], r.root, 2, "index -5 is negative"),
    "bench query out of range": lambda r: (["bench", "query", "99999"], r.root, 2, "out of range"),
    "bench query unknown dataset": lambda r: (["bench", "query", "6111", "--dataset", "cifar11"], r.root, 2,
                                              "unknown NB-201 dataset 'cifar11'"),
    "bench query wrong table hash": lambda r: (["bench", "query", "6111", "--bench-sha256", "0" * 64], r.root, 2,
                                               "sha256"),
    "correlate unknown dataset": lambda r: (["correlate", "--scores", str(r.search), "--out", str(r.root / "new"),
                                             "--dataset", "cifar11", "--quiet"], r.root, 2,
                                            "unknown NB-201 dataset 'cifar11'"),
    "visualize missing history": lambda r: (["visualize", "history", str(r.root / "none.jsonl")], r.root, 2,
                                            "does not exist"),
    "visualize unknown format": lambda r: (["visualize", "cell", "DARTS_V2", "--out", str(r.root / "cell"),
                                            "--formats", "jpg"], r.root, 2, "unknown picture format"),
    # an --out that cannot hold the output
    "supernet out is a file": lambda r: (["train-supernet", "--out", str(r.search / "scores.csv"), *TINY_SUPERNET],
                                         r.search, 2, "is a file, not a folder"),
    "search out below a file": lambda r: (["search", "--out", str(r.search / "scores.csv" / "x"), *SEARCH],
                                          r.search, 2, "is a file, not a folder"),
    "retrain out name too long": lambda r: (["retrain", "--out", str(r.root / LONG), *TINY_RETRAIN], r.root, 2,
                                            "bytes, over the file system's 255"),
    "flops-table out is a folder": lambda r: (["flops-table", "--genotype", "DARTS_V2", "--out", str(r.search)],
                                              r.search, 2, "is a folder"),
    "bench import onto a file": lambda r: (["bench", "import", str(r.root / "x.pth"), "--out",
                                            str(r.search / "scores.csv")], r.search, 2, "exists"),
    # another stage's run folder, or a finished run
    "supernet resume into a search": lambda r: (["train-supernet", "--out", str(r.search), "--resume",
                                                 *TINY_SUPERNET], r.search, 2, "holds a 'search' run, not a "
                                                "'supernet' run: choose a new --out"),
    "supernet overwrite a search": lambda r: (["train-supernet", "--out", str(r.search), "--overwrite",
                                               *TINY_SUPERNET], r.search, 2, "holds a 'search' run"),
    "search into a supernet": lambda r: (["search", "--out", str(r.supernet), *SEARCH], r.supernet, 2,
                                         "holds a 'supernet' run, not a 'search' run"),
    "retrain resume a supernet": lambda r: (["retrain", "--out", str(r.supernet), "--resume", *TINY_RETRAIN],
                                            r.supernet, 2, "holds a 'supernet' run"),
    "correlate into a supernet": lambda r: (["correlate", "--scores", str(r.search), "--out", str(r.supernet),
                                             "--n-boot", "10", "--quiet"], r.supernet, 2,
                                            "holds a 'supernet' run, not a 'correlate' run"),
    "supernet finished, no flag": lambda r: (["train-supernet", "--out", str(r.supernet), "--epochs", "1",
                                              *TINY_SUPERNET], r.supernet, 2, "finished supernet run: pass "
                                             "--overwrite to replace it, or choose a new --out"),
    "supernet finished, longer schedule": lambda r: (["train-supernet", "--out", str(r.supernet), "--epochs", "3",
                                                      "--resume", *TINY_SUPERNET], r.supernet, 2,
                                                     "--resume cannot change optim.epochs (1 → 3)"),
    "search finished, no flag": lambda r: (["search", "--out", str(r.search), *SEARCH], r.search, 2,
                                           "finished search run: pass --overwrite"),
    "search finished, more samples": lambda r: (["search", "--out", str(r.search), *SEARCH, "--samples", "9",
                                                 "--resume"], r.search, 2, "cannot change samples (6 → 9)"),
    "retrain finished, no flag": lambda r: (["retrain", "--out", str(r.retrain), "--epochs", "1", *TINY_RETRAIN],
                                            r.retrain, 2, "finished retrain run: pass --overwrite"),
    "retrain finished, other genotype": lambda r: (["retrain", "--out", str(r.retrain), "--epochs", "1",
                                                    *TINY_RETRAIN, "--genotype", "6110", "--resume"], r.retrain, 2,
                                                   "cannot change genotype"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_is_answered_in_one_line(case: str, runs: Runs) -> None:
    args, watched, code, message = CASES[case](runs)
    line = refused(args, watched, code, message)
    assert "pass --resume" not in line  # never the fix for another stage's folder or a finished run
    if watched.name == "new":
        assert not watched.exists()  # refused before the run folder was created


# ------------------------------------------------------------------ read-only, forbidden and full disks
@pytest.mark.parametrize("stage", ["train-supernet", "search", "retrain", "correlate"])
@pytest.mark.parametrize("code,message", [(errno.EROFS, "the file system is read-only"),
                                          (errno.EACCES, "permission denied")], ids=["erofs", "eacces"])
def test_an_unwritable_out_is_bad_input(stage: str, code: int, message: str, runs: Runs,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    target = runs.root / "locked" / "run"
    args = {"train-supernet": ["train-supernet", "--out", str(target), *TINY_SUPERNET],
            "search": ["search", "--out", str(target), *SEARCH],
            "retrain": ["retrain", "--out", str(target), *TINY_RETRAIN],
            "correlate": ["correlate", "--scores", str(runs.search), "--out", str(target), "--n-boot", "10",
                          "--quiet"]}[stage]
    with failing_writes(monkeypatch, runs.root / "locked", code):
        line = refused(args, runs.root, 2, message)
    assert str(target) in line and "choose an --out" in line


@pytest.mark.parametrize("command", ["flops-table", "visualize"])
def test_an_unwritable_file_output_is_bad_input(command: str, runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    target = runs.root / "locked"
    target.mkdir()
    args = {"flops-table": ["flops-table", "--genotype", "DARTS_V2", "--out", str(target / "f.json"), "--quiet"],
            "visualize": ["visualize", "cell", "DARTS_V2", "--out", str(target / "cell"), "--formats", "png"]}[command]
    with failing_writes(monkeypatch, target, errno.EROFS):
        line = refused(args, runs.root, 2, "read-only")
    assert str(target / ("f.json" if command == "flops-table" else "cell.png")) in line


def test_a_disk_filling_mid_run_fails_the_stage_and_the_log_lists_only_checkpointed_epochs(
        runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    # the run stopped after epoch 1 of 2; resuming it, the checkpoint of epoch 2 finds the disk full
    kept = {name: digest for name, digest in sha256s(runs.stopped).items() if name != "manifest.json"}
    with failing_writes(monkeypatch, runs.stopped, errno.ENOSPC, name="last.pt"):
        code, output = nas("train-supernet", "--out", str(runs.stopped), "--epochs", "2", "--resume",
                           *TINY_SUPERNET)
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "no space left on the device" in lines[0], output
    assert "last.pt" in lines[0] and "--resume" in lines[0]
    assert {k: v for k, v in sha256s(runs.stopped).items() if k != "manifest.json"} == kept
    assert [r["epoch"] for r in read_jsonl(runs.stopped / "log.jsonl")] == [0]
    assert json.loads((runs.stopped / "manifest.json").read_text())["status"] == "failed"
    code, output = nas("train-supernet", "--out", str(runs.stopped), "--epochs", "2", "--resume", *TINY_SUPERNET)
    assert code == 0, output  # with space again, the run goes on
    assert [r["epoch"] for r in read_jsonl(runs.stopped / "log.jsonl")] == [0, 1]


def test_a_full_disk_while_correlating_is_a_stage_failure(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    with failing_writes(monkeypatch, runs.root / "full", errno.ENOSPC, after=2):
        refused(["correlate", "--scores", str(runs.search), "--out", str(runs.root / "full"), "--n-boot", "10",
                 "--quiet"], runs.search, 1, "no space left on the device")


# ---------------------------------------------------------------------------- what must still work
def test_a_finished_run_resumed_unchanged_is_left_byte_identical(runs: Runs) -> None:
    for folder, args in ((runs.supernet, ["train-supernet", "--epochs", "1", *TINY_SUPERNET]),
                         (runs.search, ["search", *SEARCH]),
                         (runs.retrain, ["retrain", "--epochs", "1", *TINY_RETRAIN])):
        before = sha256s(folder)
        code, output = nas(*args, "--out", str(folder), "--resume")
        assert code == 0, output
        assert sha256s(folder) == before, folder.name


def test_a_stopped_run_goes_on_with_resume(runs: Runs) -> None:
    code, output = nas("train-supernet", "--out", str(runs.stopped), "--epochs", "2", "--resume", *TINY_SUPERNET)
    assert code == 0, output
    assert [r["epoch"] for r in read_jsonl(runs.stopped / "log.jsonl")] == [0, 1]


def test_flops_table_takes_a_genotype_text() -> None:
    code, output = nas("flops-table", "--genotype", GENOTYPE_TEXT)
    assert code == 0, output
    assert "FLOPs" in output


def test_a_name_that_fills_the_limit_is_written_atomically(tmp_path: Path) -> None:
    name = "a" * 250 + ".json"  # 255 bytes: legal, but the usual hidden temporary name would not be
    atomic_write_json(tmp_path / name, {"x": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_artifacts_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        atomic_write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(previous)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640


def test_manifests_and_genotypes_name_parents_by_absolute_path(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = nas("search", "--out", "s", *SEARCH)
    assert code == 0, output
    assert Path(json.loads(Path("s/genotype.json").read_text())["source"]["search"]) == tmp_path / "s"
    code, output = nas("correlate", "--scores", "s", "--out", "c", "--n-boot", "10", "--quiet")
    assert code == 0, output
    parents = json.loads(Path("c/manifest.json").read_text())["parents"]
    assert [p["path"] for p in parents] == [str(tmp_path / "s" / "scores.csv")]


def test_duplicate_rows_count_once_and_conflicting_ones_are_refused(runs: Runs) -> None:
    scores = runs.search / "scores.csv"
    lines = scores.read_text().splitlines(keepends=True)
    doubled = runs.root / "doubled.csv"
    doubled.write_text("".join(lines + lines[1:3]))
    code, output = nas("correlate", "--scores", str(doubled), "--out", str(runs.root / "c1"), "--n-boot", "10",
                       "--quiet")
    assert code == 0, output
    report = json.loads((runs.root / "c1" / "report.json").read_text())
    assert report["n_used"] == len(lines) - 1 and report["duplicate_rows"] == 2
    arch, value, *rest = lines[1].rstrip("\n").split(",")
    conflicting = runs.root / "conflict.csv"
    conflicting.write_text("".join(lines) + ",".join([arch, str(float(value) + 1), *rest]) + "\n")
    refused(["correlate", "--scores", str(conflicting), "--out", str(runs.root / "c2"), "--quiet"], runs.root, 2,
            "twice with different values")


def test_a_python_tag_in_a_recipe_is_named_as_such(tmp_path: Path) -> None:
    recipe = tmp_path / "evil.yaml"
    recipe.write_text("optim: !!python/object/apply:os.system ['true']\n")
    refused(["train-supernet", "--recipe", str(recipe), "--out", str(tmp_path / "x"), "--quiet"], tmp_path, 2,
            "uses the YAML tag")
