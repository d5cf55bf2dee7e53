"""Plots: JSONL reading, and valid PNG/SVG files whose content reflects the data (real NB201 records)."""

from __future__ import annotations

import csv
import gzip
import json
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.stats import kendalltau

from nascli.viz import (
    plot_dirichlet_trajectory,
    plot_score_scatter,
    plot_search_history,
    plot_training_curves,
    read_jsonl,
)
from tests.conftest import require_shared

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


def svg_root(path: Path) -> ElementTree.Element:
    """The parsed SVG (fails the test when it is not well-formed XML)."""
    return ElementTree.parse(path).getroot()


def svg_texts(path: Path) -> list[str]:
    """Text content of every <text> element."""
    return ["".join(element.itertext()).strip() for element in svg_root(path).iter(f"{SVG}text")]


def axes_count(path: Path) -> int:
    """Number of matplotlib axes in an SVG (each is a <g id="axes_N">)."""
    return sum(1 for element in svg_root(path).iter(f"{SVG}g") if element.get("id", "").startswith("axes_"))


def png_size(path: Path) -> tuple[int, int]:
    """Pixel size of a PNG after checking its signature and integrity."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return image.size


# ------------------------------------------------------------------------------------------ read_jsonl


def test_read_jsonl_skips_a_truncated_last_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"epoch": 0, "loss": 2.3}\n{"epoch": 1, "loss": 1.9}\n{"epoch": 2, "lo')
    assert read_jsonl(log) == [{"epoch": 0, "loss": 2.3}, {"epoch": 1, "loss": 1.9}]


def test_read_jsonl_keeps_a_complete_last_line_without_newline_and_ignores_blank_lines(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"epoch": 0}\n\n{"epoch": 1}\n   \n{"epoch": 2}')
    assert [record["epoch"] for record in read_jsonl(log)] == [0, 1, 2]


def test_read_jsonl_skips_a_last_line_cut_inside_a_utf8_character(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'{"name": "a"}\n' + '{"name": "τ'.encode()[:-1])
    assert read_jsonl(log) == [{"name": "a"}]


def test_read_jsonl_refuses_a_damaged_line_before_the_end(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"epoch": 0}\n{"epoch": \n{"epoch": 2}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_jsonl(log)


def test_read_jsonl_refuses_lines_that_are_not_objects(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"epoch": 0}\n[1, 2]\n')
    with pytest.raises(ValueError, match="line 2"):
        read_jsonl(log)


def test_read_jsonl_of_an_empty_file(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("")
    assert read_jsonl(log) == []


# ----------------------------------------------------------------------------------- training curves


def official_records(arch: str = "0", seed: str = "777") -> list[dict]:
    """Per-epoch records of an official NATS-tss cifar10-valid run (200 epochs) in the JSONL log form."""
    path = require_shared("nb201/nats_tss_official_samples.json.gz")
    with gzip.open(path, "rt") as handle:
        result = json.load(handle)["archs"][arch]["200"]["results"]["cifar10-valid"][seed]
    records = []
    for epoch in range(result["epochs"]):
        records.append(
            {
                "epoch": epoch,
                "loss": result["train_losses"][str(epoch)],
                "accuracy": result["train_acc1es"][str(epoch)],
                "val_loss": result["eval_losses"][f"x-valid@{epoch}"],
                "val_accuracy": result["eval_acc1es"][f"x-valid@{epoch}"],
                "lr": 0.05 * (1 + math.cos(math.pi * epoch / result["epochs"])),
            }
        )
    return records


def test_training_curves_from_official_records_via_jsonl(tmp_path: Path) -> None:
    records = official_records()
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(record) + "\n" for record in records) + '{"epoch": 200, "lo')
    loaded = read_jsonl(log)
    assert loaded == records
    png = plot_training_curves(loaded, tmp_path / "curves.png", title="arch 0")
    width, height = png_size(png)
    assert 1500 <= width <= 4000 and 400 <= height <= 1500 and width > 2 * height  # three panels in a row
    svg = plot_training_curves(loaded, tmp_path / "curves.svg")
    assert axes_count(svg) == 3
    texts = svg_texts(svg)
    assert {"loss", "accuracy (%)", "learning rate", "train", "validation", "epoch"} <= set(texts)
    # the validation curves are dashed
    assert "stroke-dasharray" in svg.read_text()


def test_training_curves_skip_missing_keys_and_draw_val_only_keys(tmp_path: Path) -> None:
    records = [{"epoch": epoch, "loss": 2.0 / (epoch + 1), "val_accuracy": 10.0 + epoch} for epoch in range(5)]
    records.append({"epoch": 5, "loss": float("nan"), "note": "summary"})
    svg = plot_training_curves(records, tmp_path / "curves.svg")
    assert axes_count(svg) == 2  # loss (train only), accuracy (validation only); no lr
    assert "learning rate" not in svg_texts(svg)
    assert "stroke-dasharray" in svg.read_text()


def test_training_curves_without_any_key_raise(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no record holds"):
        plot_training_curves([{"epoch": 0, "other": 1.0}], tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()


def test_plots_refuse_an_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.png"):
        plot_training_curves([{"epoch": 0, "loss": 1.0}], tmp_path / "curves.dot")


# ------------------------------------------------------------------------------------ search history


def test_search_history(tmp_path: Path) -> None:
    # a generation's best falls (no architecture is scored twice); the best so far does not
    bests = [60 + g - 3 * (g % 4) for g in range(20)]
    records = [{"generation": g, "best": bests[g], "best_so_far": max(bests[: g + 1]), "mean": 50 + 0.8 * g,
                "topk_mean": 57 + 0.9 * g} for g in range(20)]
    png_size(plot_search_history(records, tmp_path / "history.png"))
    texts = svg_texts(plot_search_history(records, tmp_path / "history.svg", score_name="angle"))
    assert {"best so far", "generation best", "generation mean", "top-k mean", "generation", "angle"} <= set(texts)
    without_topk = [{key: value for key, value in record.items() if key != "topk_mean"} for record in records]
    assert "top-k mean" not in svg_texts(plot_search_history(without_topk, tmp_path / "plain.svg"))
    with pytest.raises(ValueError, match="best"):
        plot_search_history([{"generation": 0}], tmp_path / "empty.png")


# --------------------------------------------------------------------------------------- score scatter


def test_score_scatter_on_all_nb201_architectures(tmp_path: Path) -> None:
    path = require_shared("nb201/nb201_benchmark.csv.gz")
    with gzip.open(path, "rt") as handle:
        rows = list(csv.DictReader(handle))
    params = np.array([float(row["params_cifar10"]) for row in rows])
    accuracy = np.array([float(row["cifar10_test"]) for row in rows])
    tau = kendalltau(params, accuracy).statistic
    assert tau == pytest.approx(0.578, abs=5e-4)  # the README's reference value
    best = int(np.argmax(accuracy))
    assert best == 6111  # the official cifar10 optimum (94.37)
    png = plot_score_scatter(params, accuracy, tmp_path / "scatter.png", "params (M)", "test accuracy (%)", best, tau)
    png_size(png)
    svg = plot_score_scatter(params, accuracy, tmp_path / "scatter.svg", "params (M)", "test accuracy (%)", best, tau)
    texts = svg_texts(svg)
    assert "15,625 architectures" in texts
    assert "selected (#6111): 94.37" in texts
    assert any("Kendall τ = 0.578" in text for text in texts)
    # 15,625 points are rasterised into one image, which keeps the SVG small
    assert sum(1 for _ in svg_root(svg).iter(f"{SVG}image")) >= 1
    assert svg.stat().st_size < 400_000


def test_score_scatter_drops_non_finite_pairs(tmp_path: Path) -> None:
    score = [1.0, float("nan"), 3.0, 4.0, float("inf")]
    truth = [10.0, 20.0, float("nan"), 40.0, 50.0]
    texts = svg_texts(plot_score_scatter(score, truth, tmp_path / "s.svg", "naswot", "accuracy", highlight=3))
    assert "2 architectures" in texts
    assert "selected (#3): 40.00" in texts
    assert not any("Kendall" in text for text in texts)


@pytest.mark.parametrize(
    ("score", "truth", "highlight", "message"),
    [
        ([1.0, 2.0], [1.0], None, "one value per architecture"),
        ([float("nan")], [1.0], None, "nothing to plot"),
        ([1.0, 2.0], [1.0, 2.0], 2, "outside 0..1"),
        ([1.0, float("nan")], [1.0, 2.0], 1, "no finite"),
    ],
)
def test_score_scatter_bad_input(score: list, truth: list, highlight: int | None, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        plot_score_scatter(score, truth, tmp_path / "s.png", "score", "accuracy", highlight=highlight)


# --------------------------------------------------------------------------------- DrNAS trajectory


def test_dirichlet_trajectory(tmp_path: Path) -> None:
    records = []
    for epoch in range(50):
        centre = 40 + 50 * (1 - math.exp(-epoch / 15))
        records.append(
            {
                "epoch": epoch,
                "sampled_min": centre - 10,
                "sampled_max": centre + 2,
                "sampled_mean": centre - 3,
                "mean_genotype_acc": centre + 1,
            }
        )
    records[10].pop("sampled_min")  # a missing value leaves a gap, not an error
    width, height = png_size(plot_dirichlet_trajectory(records, tmp_path / "trajectory.png", title="DrNAS"))
    assert 800 <= width <= 2500 and 400 <= height <= 1500
    svg = plot_dirichlet_trajectory(records, tmp_path / "trajectory.svg")
    texts = svg_texts(svg)
    assert {"sampled architectures (min–max)", "sampled architectures (mean)", "mean genotype", "epoch"} <= set(texts)
    only_line = [{"epoch": r["epoch"], "mean_genotype_acc": r["mean_genotype_acc"]} for r in records]
    texts = svg_texts(plot_dirichlet_trajectory(only_line, tmp_path / "line.svg"))
    assert "mean genotype" in texts and "sampled architectures (min–max)" not in texts
    with pytest.raises(ValueError, match="sampled_min"):
        plot_dirichlet_trajectory([{"epoch": 0, "sampled_mean": 50.0}], tmp_path / "none.png")
