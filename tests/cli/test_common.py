"""What every subcommand shares: under torchrun only rank 0 prints results and progress."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nascli.cli import common
from nascli.train import progress
from tests.e2e.helpers import NAS, REPO


def test_torchrun_prints_the_result_table_and_file_list_once(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone", NAS,
               "train-supernet", "--out", str(tmp_path / "sn"), "--epochs", "1", "--channels", "4", "--layers", "1",
               "--batch-size", "16", "--set", "data.synthetic_train=64", "--device", "cpu"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("supernet nb201 on synthetic") == 1, result.stdout
    assert result.stdout.count("written") == 1, result.stdout


def test_piped_tables_keep_every_column_whole(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    command = [NAS, "analyze", "importance", "--dataset", "cifar10", "--out", str(tmp_path / "oi")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "share of important" in result.stdout and "nor_conv_3x3" in result.stdout and "…" not in result.stdout
    narrow = subprocess.run(command + ["--overwrite"], capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**environment, "COLUMNS": "80"})
    assert "…" in narrow.stdout  # COLUMNS still rules where the user sets it


def test_piped_progress_lines_and_errors_are_as_wide_as_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    consoles = (common.out, common.err, progress.console)
    monkeypatch.delenv("COLUMNS", raising=False)
    for console in consoles:
        monkeypatch.setattr(console, "width", 80)
    common.widen_when_piped()
    assert [console.width for console in consoles] == [common.PIPED_WIDTH] * 3  # pytest captures: not terminals
    for console in consoles:
        console.width = 80
    monkeypatch.setenv("COLUMNS", "100")
    common.widen_when_piped()
    assert [console.width for console in consoles] == [80] * 3
