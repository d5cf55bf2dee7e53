"""Per-candidate identity for training-based scores: a seed and a folder that depend only on the architecture.

A score that trains a candidate (BPE's `trained-acc`, RMI-NAS's `rmi`) seeds it from the search seed and the
architecture's canonical text, so its value does not depend on when, in which order or on which process it
was scored; its checkpoints live under `<search run>/candidates/<key>/`, so a killed search resumes there.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CANDIDATES_DIR = "candidates"


def candidate_key(text: str) -> str:
    """A short, filesystem-safe key of a canonical architecture text (16 hex digits of its sha256)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def candidate_seed(search_seed: int, text: str) -> int:
    """A 63-bit seed derived from the search seed and a canonical architecture text."""
    digest = hashlib.sha256(f"{int(search_seed)}\n{text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def candidate_dir(run_dir: str | Path, text: str) -> Path:
    """The folder of one candidate's checkpoints inside a search run folder."""
    return Path(run_dir) / CANDIDATES_DIR / candidate_key(text)
