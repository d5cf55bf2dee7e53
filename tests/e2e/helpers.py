"""Shared helpers for CLI tests: run `nas` in-process or as a subprocess, tiny settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from nascli.cli.main import app

REPO = Path(__file__).resolve().parents[2]
NAS = str(Path(sys.executable).with_name("nas"))

TINY_SUPERNET = ["--channels", "4", "--layers", "1", "--batch-size", "32", "--set", "data.synthetic_train=256",
                 "--set", "data.synthetic_test=64", "--quiet"]


def nas(*args: str) -> tuple[int, str]:
    """Run `nas ARGS` in-process; returns (exit code, stdout+stderr)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def nas_process(*args: str, **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    """Run `nas ARGS` as a separate process (for signals and torchrun)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([NAS, *args], capture_output=True, text=True, env=env, cwd=REPO, **kwargs)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes under `folder` (to check that nothing was touched)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
