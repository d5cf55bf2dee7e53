"""Shared fixtures: the real data in ../shared/data (skip without it, fail in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NASCLI_SHARED_DATA", REPO.parent / "shared" / "data"))


def require_shared(relative: str = "") -> Path:
    """Path inside ../shared/data; skips the test when absent, fails when the CI variable is set."""
    path = SHARED_DATA / relative
    if not path.exists():
        message = f"{path} is absent: the real-data tests need ../shared/data beside the repository"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder (see `require_shared`)."""
    return require_shared()
