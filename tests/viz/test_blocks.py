"""MobileNet strips: one box per block with its kernel and expansion, identity dashed, stages captioned."""

from __future__ import annotations

from pathlib import Path

import pytest

from nascli.spaces.mobilenet import BLOCK_SHAPES, STAGES, parse_arch
from nascli.viz import draw_mobilenet_strip, mobilenet_strip_dot
from tests.e2e.helpers import nas

RLNAS = parse_arch("2 0 -1 2 2 0 2 4 0 4 4 2 4 2 4 2 0 0 0 2 2")


def test_dot_lists_every_block_in_order() -> None:
    dot = mobilenet_strip_dot(RLNAS.choices, STAGES, BLOCK_SHAPES)
    assert dot.count('label="2: identity"') == 1 and 'style="dashed"' in dot
    assert 'b0 [label="0: MB3 5×5"' in dot and 'b7 [label="7: MB3 7×7"' in dot
    assert dot.count("subgraph cluster_") == 6 and "stage 6: 432 ch, stride 1" in dot
    assert "b19 -> b20;" in dot and "b20 -> head;" in dot


def test_pictures_are_written_and_bad_choices_refused(tmp_path: Path) -> None:
    paths = draw_mobilenet_strip(RLNAS.choices, STAGES, BLOCK_SHAPES, [tmp_path / "a.svg", tmp_path / "a.png"])
    svg = paths[0].read_text()
    assert svg.count("MB3") == 20 and "stage 4: 128 ch, s1" in svg and paths[1].stat().st_size > 1000
    with pytest.raises(ValueError, match="block choice 6"):
        draw_mobilenet_strip([6] * 21, STAGES, BLOCK_SHAPES, [tmp_path / "b.png"])


def test_cli_draws_a_mobilenet_architecture(tmp_path: Path) -> None:
    code, output = nas("visualize", "cell", "RLNAS_mobilenet", "--out", str(tmp_path / "strip"), "--formats", "svg,dot")
    assert code == 0, output
    assert (tmp_path / "strip.svg").exists() and "identity" in (tmp_path / "strip.dot").read_text()
    code, output = nas("visualize", "cell", "2 0 -1 2 -1 0 2 4 0 4 4 2 4 2 4 2 0 0 0 2 2", "--out", str(tmp_path / "x"))
    assert code == 2 and "block 4 cannot be identity" in output
