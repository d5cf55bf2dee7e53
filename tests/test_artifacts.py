"""Atomic writes, manifests and loaders that refuse the wrong artifact."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nascli.artifacts import (
    RunFolder,
    append_jsonl,
    atomic_torch_save,
    atomic_write_json,
    load_checkpoint,
    read_jsonl,
    read_manifest,
)
from nascli.errors import NasInputError


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "a.json", {"x": 1})
    atomic_torch_save({"w": torch.ones(2)}, tmp_path / "c.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "c.pt"]
    assert torch.equal(load_checkpoint(tmp_path / "c.pt")["w"], torch.ones(2))


def test_corrupt_and_missing_checkpoints_are_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "last.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(NasInputError, match="corrupt"):
        load_checkpoint(bad)
    with pytest.raises(NasInputError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_jsonl_skips_a_truncated_last_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    append_jsonl(log, {"epoch": 0})
    with open(log, "a") as handle:
        handle.write('{"epoch": 1, "lo')
    assert read_jsonl(log) == [{"epoch": 0}]


def test_run_folder_refuses_overwrite_and_foreign_resume(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "run")
    assert run.prepare(kind="supernet", space="nb201", resume=False) is False
    run.start(kind="supernet", space="nb201", dataset="synthetic", config={}, seed=0)
    before = (tmp_path / "run" / "manifest.json").read_bytes()
    with pytest.raises(NasInputError, match="--resume"):
        RunFolder(tmp_path / "run").prepare(kind="supernet", space="nb201", resume=False)
    with pytest.raises(NasInputError, match="made for the 'nb201' space"):
        RunFolder(tmp_path / "run").prepare(kind="supernet", space="darts", resume=True)
    with pytest.raises(NasInputError, match="not a 'search' run"):
        RunFolder(tmp_path / "run").prepare(kind="search", space="nb201", resume=True)
    assert (tmp_path / "run" / "manifest.json").read_bytes() == before
    assert RunFolder(tmp_path / "run").prepare(kind="supernet", space="nb201", resume=True) is True
    assert read_manifest(tmp_path / "run")["status"] == "running"
