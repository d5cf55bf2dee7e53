"""`nas search --strategy drnas` end to end: debug recipe, stop and --resume, trajectory figure, `nas retrain`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nascli.cli.main import app

REPO = Path(__file__).resolve().parents[2]
DEBUG = REPO / "recipes" / "drnas" / "debug.yaml"
SMALL = ["--set", "differentiable.data.synthetic_train=64", "--set", "differentiable.data.batch_size=16",
         "--set", "differentiable.trajectory_samples=20"]


def _search(out: Path, *extra: str) -> object:
    return CliRunner().invoke(app, ["search", "--recipe", str(DEBUG), "--out", str(out), "--device", "cpu",
                                    "--quiet", *SMALL, *extra])


def test_debug_search_stops_resumes_and_retrains(tmp_path: Path) -> None:
    full = _search(tmp_path / "full")
    assert full.exit_code == 0, full.output
    genotype = json.loads((tmp_path / "full" / "genotype.json").read_text())
    assert genotype["space"] == "nb201" and genotype["source"]["strategy"] == "drnas"
    assert set(genotype["bench"]) == {"cifar10", "cifar100", "imagenet16-120"}
    history = [json.loads(line) for line in (tmp_path / "full" / "history.jsonl").read_text().splitlines()]
    assert [record["epoch"] for record in history] == [0, 1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "theta", "genotype", "bench", "sampled_min",
            "sampled_max", "sampled_mean", "mean_genotype_acc"} <= set(history[-1])
    assert history[-1]["genotype"] == genotype["text"]

    stopped = _search(tmp_path / "resumed", "--set", "differentiable.optim.stop_after_epochs=2")
    assert stopped.exit_code == 0, stopped.output
    assert json.loads((tmp_path / "resumed" / "manifest.json").read_text())["status"] == "stopped"
    resumed = _search(tmp_path / "resumed", "--resume")
    assert resumed.exit_code == 0, resumed.output
    again = json.loads((tmp_path / "resumed" / "genotype.json").read_text())
    assert again["text"] == genotype["text"] and again["arch"] == genotype["arch"]

    picture = CliRunner().invoke(app, ["visualize", "trajectory", str(tmp_path / "full" / "history.jsonl")])
    assert picture.exit_code == 0, picture.output
    assert (tmp_path / "full" / "trajectory.png").stat().st_size > 0

    retrain = CliRunner().invoke(app, [
        "retrain", "--genotype", str(tmp_path / "full" / "genotype.json"), "--out", str(tmp_path / "retrain"),
        "--dataset", "synthetic", "--epochs", "1", "--channels", "4", "--layers", "1", "--batch-size", "16",
        "--device", "cpu", "--quiet", "--set", "data.synthetic_train=64", "--set", "data.synthetic_test=32",
    ])
    assert retrain.exit_code == 0, retrain.output
    manifest = json.loads((tmp_path / "retrain" / "manifest.json").read_text())
    assert manifest["status"] == "done"


def test_bad_differentiable_settings_exit_2(tmp_path: Path) -> None:
    result = _search(tmp_path / "bad", "--strategy", "darts", "--set", "differentiable.regularizer=kl")
    assert result.exit_code == 2
    assert "kl" in result.output and not (tmp_path / "bad").exists()
