"""Importance figures: each edge's style follows its importance, the threshold and the measured noise."""

from __future__ import annotations

import math
from pathlib import Path

from nascli.viz.importance import importance_edge_styles, plot_importance_darts_cell, plot_motifs

OPS = ["sep_conv_3x3", "skip_connect", "max_pool_3x3", "dil_conv_5x5"]


def test_edges_are_styled_by_importance_threshold_and_missing() -> None:
    styles, legend = importance_edge_styles(OPS, [0.02, 0.0005, -0.01, math.nan], threshold=0.001)
    important, small, negative, missing = styles
    assert important.color == "#b22222" and not important.dashed and important.text == "sep_conv_3x3\n+0.0200"
    assert small.color == negative.color != important.color
    assert important.width == 6.0 and negative.width == 1.0 and 1.0 < small.width < 1.2  # ∝ max(importance, 0)
    assert missing.dashed and missing.text == "dil_conv_5x5\nmissing"
    assert [text for text, _, _ in legend] == ["important (> 0.001)", "not important (≤ 0.001)",
                                               "a neighbour is missing"]


def test_importances_below_the_noise_are_marked_whatever_their_sign() -> None:
    styles, legend = importance_edge_styles(OPS, [0.03, 0.015, -0.015, 0.0], threshold=0.001, noise=0.02)
    assert [style.dashed for style in styles] == [False, True, True, True]
    assert styles[0].color == "#b22222" and len({style.color for style in styles[1:]}) == 1
    assert [text for text, _, _ in legend] == ["important (> 0.001)", "|importance| below the noise (0.0200)"]


def test_darts_importance_cell_is_written(tmp_path: Path) -> None:
    pairs = [("sep_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 0), ("dil_conv_5x5", 2),
             ("sep_conv_5x5", 1), ("avg_pool_3x3", 3), ("none", 0), ("dil_conv_3x3", 4)]
    path = plot_importance_darts_cell(pairs, [2, 3, 4, 5], [0.01 * i for i in range(8)], tmp_path / "cell.svg",
                                      "normal cell", threshold=0.001, noise=0.025)
    text = path.read_text()
    assert "below the noise" in text and "+0.0700" in text and "normal cell" in text


def test_motif_grid_draws_every_motif_with_its_caption(tmp_path: Path) -> None:
    motifs = [(["input", "op", "output"], [(0, 1, "nor_conv_3x3"), (1, 2, "skip_connect")], f"#{k}: support {k}")
              for k in range(1, 6)]
    text = plot_motifs(motifs, tmp_path / "motifs.svg").read_text()
    assert all(f"#{k}: support {k}" in text for k in range(1, 6)) and text.count("nor_conv_3x3") == 5
