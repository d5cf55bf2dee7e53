"""`nas train-supernet` end to end: artifacts, bad input, exact resume after SIGKILL, torchrun."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from nascli.artifacts import read_jsonl
from tests.conftest import require_shared
from tests.e2e.helpers import NAS, REPO, TINY_SUPERNET, nas, nas_process, snapshot


def test_train_supernet_writes_its_artifacts(tmp_path: Path) -> None:
    code, output = nas("train-supernet", "--out", str(tmp_path / "sn"), "--labels", "random", "--epochs", "2",
                       *TINY_SUPERNET)
    assert code == 0, output
    folder = tmp_path / "sn"
    assert {p.name for p in folder.iterdir()} == {"init.pt", "last.pt", "log.jsonl", "manifest.json"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "supernet" and manifest["space"] == "nb201" and manifest["status"] == "done"
    assert manifest["labels"] == "random" and len(manifest["labels_sha256"]) == 64
    assert [r["epoch"] for r in read_jsonl(folder / "log.jsonl")] == [0, 1]
    init = torch.load(folder / "init.pt", weights_only=True)["model"]
    last = torch.load(folder / "last.pt", weights_only=True)["model"]
    assert init.keys() == last.keys()
    assert not torch.equal(init["classifier.weight"], last["classifier.weight"])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("done") / "sn"
    code, output = nas("train-supernet", "--out", str(folder), "--epochs", "1", *TINY_SUPERNET)
    assert code == 0, output
    return folder


@pytest.mark.parametrize("args,message", [
    (["--space", "nb301"], "unknown search space 'nb301'"),
    (["--dataset", "mnist"], "unknown dataset"),
    (["--dataset", "cifar10", "--data-root", "/nonexistent/cifar"], "cifar10"),
    (["--set", "optim.lrr=0.1"], "did you mean 'optim.lr'"),
    (["--set", "optim.epochs=many"], "must be an integer"),
    (["--labels", "shuffled"], "labels must be one of"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = nas("train-supernet", "--out", str(tmp_path / "x"), *TINY_SUPERNET, *args)
    assert code == 2, output
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert message in " ".join(lines) and lines[0].startswith("error:")
    assert "Traceback" not in output
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_recipe_with_a_typo_exits_2(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("train_supernet:\n  optim:\n    momentun: 0.9\n")
    code, output = nas("train-supernet", "--out", str(tmp_path / "x"), "--recipe", str(recipe), "--quiet")
    assert code == 2 and "did you mean 'optim.momentum'" in output


def test_existing_run_is_never_damaged(tmp_path: Path, finished_run: Path) -> None:
    folder = tmp_path / "sn"
    shutil.copytree(finished_run, folder)
    before = snapshot(folder)
    # rerun without --resume
    code, output = nas("train-supernet", "--out", str(folder), "--epochs", "1", *TINY_SUPERNET)
    assert code == 2 and "--overwrite" in output
    # resume as another space
    code, output = nas("train-supernet", "--out", str(folder), "--space", "darts", "--resume", *TINY_SUPERNET)
    assert code == 2 and "made for the 'nb201' space" in output
    assert snapshot(folder) == before
    # a corrupt checkpoint
    (folder / "last.pt").write_bytes(b"\x00garbage")
    before = snapshot(folder)
    code, output = nas("train-supernet", "--out", str(folder), "--epochs", "1", "--resume", *TINY_SUPERNET)
    assert code == 2 and "corrupt" in output
    assert snapshot(folder) == before


def _state(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "last.pt", weights_only=True)["model"]


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path: Path) -> None:
    # 192 steps an epoch: an epoch lasts seconds even on a fast machine, so the kill lands inside the run
    args = ["--epochs", "3", "--channels", "4", "--layers", "1", "--batch-size", "16", "--labels", "random",
            "--set", "data.synthetic_train=3072", "--quiet", "--device", "cpu"]
    reference = nas_process("train-supernet", "--out", str(tmp_path / "ref"), *args, timeout=300)
    assert reference.returncode == 0, reference.stderr
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([NAS, "train-supernet", "--out", str(tmp_path / "run"), *args], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "run" / "log.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and len(read_jsonl(log)) < 1:
        time.sleep(0.01)
    time.sleep(0.2)  # inside epoch 2, past its first steps
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert 1 <= len(read_jsonl(log)) < 3, "the kill did not land mid-run"
    resumed = nas_process("train-supernet", "--out", str(tmp_path / "run"), *args, "--resume", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    ref_state, run_state = _state(tmp_path / "ref"), _state(tmp_path / "run")
    assert ref_state.keys() == run_state.keys()
    for key in ref_state:
        assert torch.equal(ref_state[key], run_state[key]), key
    assert [r["loss"] for r in read_jsonl(tmp_path / "ref" / "log.jsonl")] == [r["loss"] for r in read_jsonl(log)]


def test_sigterm_saves_at_the_next_step_and_exits_130(tmp_path: Path) -> None:
    args = ["--epochs", "3", "--channels", "4", "--layers", "1", "--batch-size", "16", "--set",
            "data.synthetic_train=3072", "--quiet", "--device", "cpu"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([NAS, "train-supernet", "--out", str(tmp_path / "run"), *args], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not read_jsonl(tmp_path / "run" / "log.jsonl"):
        time.sleep(0.01)  # the first epoch record: training (and its signal handler) is running
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["epoch"] == 1 and state["step_in_epoch"] > 0  # saved at a step boundary inside epoch 2
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["status"] == "interrupted"
    done = nas_process("train-supernet", "--out", str(tmp_path / "run"), *args, "--resume", timeout=300)
    assert done.returncode == 0, done.stderr


def test_torchrun_two_processes_keep_identical_weights(tmp_path: Path) -> None:
    worker = Path(__file__).with_name("ddp_worker.py")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
               str(worker), str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    manifest = json.loads((tmp_path / "sn" / "manifest.json").read_text())
    assert manifest["world_size"] == 2 and manifest["status"] == "done"
    assert len(read_jsonl(tmp_path / "sn" / "log.jsonl")) == 2


def test_trains_briefly_on_the_real_cifar10_subset(tmp_path: Path) -> None:
    root = require_shared("cifar10-subset")
    code, output = nas("train-supernet", "--out", str(tmp_path / "sn"), "--dataset", "cifar10", "--data-root",
                       str(root), "--epochs", "1", "--channels", "4", "--layers", "1", "--batch-size", "64",
                       "--labels", "random", "--quiet")
    assert code == 0, output
    manifest = json.loads((tmp_path / "sn" / "manifest.json").read_text())
    assert manifest["train_images"] == 5000 and manifest["dataset"] == "cifar10"
    record = read_jsonl(tmp_path / "sn" / "log.jsonl")[0]
    assert record["loss"] > 0 and record["images_per_s"] > 0
