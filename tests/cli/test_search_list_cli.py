"""`nas search --strategy list --archs FILE --score trained-acc --recipe recipes/bpe/bpe1-score.yaml` end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch
from typer.testing import CliRunner

from nascli.cli.main import app

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "bpe" / "bpe1-score.yaml"


def test_bpe1_recipe_scores_a_list_through_the_cli(tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    archs = tmp_path / "cells.txt"
    archs.write_text("# two registered cells\nDARTS_V2\nRLDARTS\n", encoding="utf-8")
    toy = ["trained_acc.data.dataset=synthetic", "trained_acc.data.synthetic_train=32",
           "trained_acc.data.synthetic_test=16", "trained_acc.data.batch_size=16", "trained_acc.optim.epochs=1",
           "trained_acc.model.channels=4", "trained_acc.model.layers=3", "runtime.device=cpu",
           "runtime.channels_last=false"]
    args = ["search", "--strategy", "list", "--archs", str(archs), "--score", "trained-acc", "--recipe", str(RECIPE),
            "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--quiet"]
    try:
        result = CliRunner().invoke(app, [*args, *[item for pair in toy for item in ("--set", pair)]])
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "run" / "scores.csv").open(encoding="utf-8")))
    assert [row["step"] for row in rows] == ["0", "1"]  # batch 1: one cell per step
    assert all(0.0 <= float(row["trained-acc"]) <= 1.0 for row in rows)
    assert len(list((tmp_path / "run" / "candidates").glob("*/result.json"))) == 2
    config = json.loads((tmp_path / "run" / "manifest.json").read_text())["config"]
    assert config["trained_acc"]["data"]["root"] == str(tmp_path / "data")  # --data-root reaches trained_acc
    assert (config["trained_acc"]["selection"], config["runtime"]["amp"]) == ("test-max", "off")
