"""Candidate seeds and folders depend on the search seed and the architecture text only."""

from __future__ import annotations

from pathlib import Path

from nascli.scores.candidates import candidate_dir, candidate_key, candidate_seed


def test_seed_depends_on_search_seed_and_text_only() -> None:
    text = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"
    assert candidate_seed(0, text) == candidate_seed(0, text)
    assert candidate_seed(0, text) != candidate_seed(1, text)
    assert candidate_seed(0, text) != candidate_seed(0, text.replace("3x3", "1x1", 1))
    assert 0 <= candidate_seed(123, text) < 2**63


def test_seed_is_pinned() -> None:
    # a change of the derivation would silently reseed every resumed search
    assert candidate_seed(7, "|a|") == 2188387540565349949


def test_candidate_dir_is_under_candidates(tmp_path: Path) -> None:
    folder = candidate_dir(tmp_path, "x")
    assert folder.parent == tmp_path / "candidates"
    assert folder.name == candidate_key("x") and len(folder.name) == 16
