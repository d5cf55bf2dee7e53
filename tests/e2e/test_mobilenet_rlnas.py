"""RLNAS in the MobileNet space through the CLI: tiny random-label supernet → lookup-capped angle evolution →
retrain, on synthetic data and on real CIFAR-10 JPEGs with the paper recipes, and the resume of each stage."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from nascli.config import EvolutionConfig, RuntimeConfig, SearchConfig
from nascli.errors import NasInputError
from nascli.scores.angle_mobilenet import MobileNetAngle, mobilenet_angle_literal
from nascli.scores.supernet_io import load_supernet_pair
from nascli.spaces import get_space
from nascli.spaces.flops_lookup import read_lookup, space_cost_from_lookup
from nascli.strategies.runner import run_search
from tests.conftest import require_shared
from tests.e2e.helpers import REPO, nas

SPACE = get_space("mobilenet")
RECIPE = REPO / "recipes" / "rlnas" / "mobilenet-imagenet.yaml"
RETRAIN_RECIPE = REPO / "recipes" / "rlnas" / "retrain-mobilenet.yaml"
TINY_EVOLUTION = ["--population", "8", "--parents", "4", "--mutation", "4", "--crossover", "4", "--generations", "3"]
SYNTHETIC = ["--set", "data.synthetic_train=64", "--set", "data.synthetic_test=32", "--device", "cpu", "--quiet"]


def _scores(folder: Path) -> list[dict[str, str]]:
    with open(folder / "scores.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def _same_weights(a: Path, b: Path) -> bool:
    first, second = _weights(a), _weights(b)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.fixture(scope="module")
def supernet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mobilenet") / "sn"
    code, output = nas("train-supernet", "--out", str(folder), "--space", "mobilenet", "--labels", "random",
                       "--channels", "8", "--epochs", "1", "--batch-size", "32", *SYNTHETIC)
    assert code == 0, output
    return folder


@pytest.fixture(scope="module")
def lookup_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lookup") / "lookup.json"
    code, output = nas("flops-table", "--space", "mobilenet", "--lookup", "--dataset", "synthetic", "--channels", "8",
                       "--out", str(path), "--quiet")
    assert code == 0, output
    return path


def _cap(lookup: dict) -> float:
    """A cap (M) that excludes about half of the space."""
    rng = np.random.default_rng(0)
    values = [space_cost_from_lookup(lookup, SPACE, SPACE.sample(rng)) / 1e6 for _ in range(200)]
    return float(np.median(values))


def test_synthetic_chain_supernet_search_under_the_lookup_cap_retrain(tmp_path: Path, supernet: Path,
                                                                      lookup_path: Path) -> None:
    manifest = json.loads((supernet / "manifest.json").read_text())
    assert manifest["space"] == "mobilenet" and manifest["labels"] == "random" and manifest["network"]["channels"] == 8
    state = _weights(supernet / "last.pt")
    assert "blocks.20.ops.5.conv.6.weight" in state and "classifier.0.weight" in state
    lookup = read_lookup(lookup_path)
    assert lookup["flops_convention"] == "rlnas-thop" and lookup["channels"] == 8
    cap = _cap(lookup)

    out = tmp_path / "search"
    code, output = nas("search", "--space", "mobilenet", "--strategy", "evolution", "--score", "angle",
                       "--supernet", str(supernet), "--lookup", str(lookup_path), "--max-flops", f"{cap}M",
                       "--set", "constraints.flops_convention=rlnas-thop", "--set", "evolution.mutation_fill=true",
                       *TINY_EVOLUTION, "--seed", "1", "--device", "cpu", "--quiet", "--out", str(out))
    assert code == 0, output
    rows = _scores(out)
    assert len(rows) == 24 and len({r["arch"] for r in rows}) == 24
    assert max(space_cost_from_lookup(lookup, SPACE, r["arch"]) / 1e6 for r in rows) <= cap
    genotype = json.loads((out / "genotype.json").read_text())
    best = SPACE.parse(genotype["text"])
    pair = load_supernet_pair(supernet, SPACE)
    assert genotype["space"] == "mobilenet" and genotype["scores"]["angle"] == max(float(r["angle"]) for r in rows)
    assert genotype["scores"]["angle"] == pytest.approx(mobilenet_angle_literal(best, pair.initial, pair.trained),
                                                        abs=1e-9)

    # a lookup counted in another convention than the search caps in is refused, nothing written
    code, output = nas("search", "--space", "mobilenet", "--score", "angle", "--supernet", str(supernet),
                       "--lookup", str(lookup_path), "--max-flops", f"{cap}M", *TINY_EVOLUTION, "--quiet",
                       "--out", str(tmp_path / "refused"))
    assert code == 2 and "convention" in output and not (tmp_path / "refused" / "scores.csv").exists()

    code, output = nas("retrain", "--recipe", str(RETRAIN_RECIPE), "--genotype", str(out / "genotype.json"),
                       "--dataset", "synthetic", "--channels", "8", "--batch-size", "32", "--epochs", "1",
                       "--set", "data.image_size=32", "--set", "data.workers=0", "--set", "data.eval_batch_size=32",
                       "--set", "data.stream=null",
                       *SYNTHETIC, "--out", str(tmp_path / "retrain"))
    assert code == 0, output
    retrained = json.loads((tmp_path / "retrain" / "manifest.json").read_text())
    assert retrained["arch"] == genotype["text"] and retrained["config"]["optim"]["nesterov"] is False
    assert retrained["flops_convention"] == "rlnas-thop"
    assert "classifier.1.weight" in _weights(tmp_path / "retrain" / "best.pt")  # Dropout(0.2), then the Linear


def test_supernet_and_retrain_resume_exactly(tmp_path: Path) -> None:
    args = ["--space", "mobilenet", "--labels", "random", "--channels", "8", "--epochs", "2", "--batch-size", "32",
            *SYNTHETIC]
    assert nas("train-supernet", "--out", str(tmp_path / "straight"), *args)[0] == 0
    assert nas("train-supernet", "--out", str(tmp_path / "resumed"), *args, "--stop-after", "1")[0] == 0
    assert nas("train-supernet", "--out", str(tmp_path / "resumed"), *args, "--resume")[0] == 0
    assert _same_weights(tmp_path / "straight" / "last.pt", tmp_path / "resumed" / "last.pt")

    retrain = ["--genotype", "RLNAS_mobilenet", "--dataset", "synthetic", "--channels", "8", "--batch-size", "32",
               "--epochs", "2", "--lr", "0.05", *SYNTHETIC]
    assert nas("retrain", *retrain, "--out", str(tmp_path / "r_straight"))[0] == 0
    assert nas("retrain", *retrain, "--stop-after", "1", "--out", str(tmp_path / "r_resumed"))[0] == 0
    code, output = nas("retrain", *retrain, "--resume", "--out", str(tmp_path / "r_resumed"))
    assert code == 0, output
    assert _same_weights(tmp_path / "r_straight" / "last.pt", tmp_path / "r_resumed" / "last.pt")


class _Crash(RuntimeError):
    pass


def test_an_interrupted_search_resumes_to_the_identical_result(tmp_path: Path, supernet: Path, lookup_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = SearchConfig(space="mobilenet", strategy="evolution", score="angle", seed=3,
                       evolution=EvolutionConfig(population=8, parents=4, mutation=4, crossover=4, generations=3,
                                                 mutation_fill=True),
                       runtime=RuntimeConfig(device="cpu", quiet=True))
    cfg.constraints.lookup, cfg.constraints.flops_convention = str(lookup_path), "rlnas-thop"
    cfg.constraints.max_flops = _cap(read_lookup(lookup_path))
    run_search(cfg, tmp_path / "straight", supernet=supernet)
    original = MobileNetAngle.__call__
    calls = {"n": 0}

    def crashing(self, archs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise _Crash
        return original(self, archs)

    monkeypatch.setattr(MobileNetAngle, "__call__", crashing)
    with pytest.raises(_Crash):
        run_search(cfg, tmp_path / "run", supernet=supernet)
    monkeypatch.setattr(MobileNetAngle, "__call__", original)
    run_search(cfg, tmp_path / "run", supernet=supernet, resume=True)
    assert (tmp_path / "straight" / "scores.csv").read_text() == (tmp_path / "run" / "scores.csv").read_text()
    a, b = (json.loads((tmp_path / part / "genotype.json").read_text()) for part in ("straight", "run"))
    assert a["text"] == b["text"] and a["scores"] == b["scores"]
    with pytest.raises(NasInputError, match="convention"):
        run_search(dataclasses.replace(cfg, constraints=dataclasses.replace(cfg.constraints, flops_convention="macs")),
                   tmp_path / "macs", supernet=supernet)


def _small_image_folder(root: Path, train: int, test: int) -> Path:
    """A train/ + val/ folder of real CIFAR-10 JPEGs, `train` and `test` images per class."""
    source = require_shared("cifar10-subset/imagefolder")
    for part, count, source_part in (("train", train, "train"), ("val", test, "test")):
        for class_folder in sorted((source / source_part).iterdir()):
            target = root / part / class_folder.name
            target.mkdir(parents=True)
            for image in sorted(class_folder.iterdir())[:count]:
                shutil.copy(image, target / image.name)
    return root


def test_paper_recipes_chain_on_real_cifar10_jpegs(tmp_path: Path) -> None:
    folder = _small_image_folder(tmp_path / "images", 8, 3)
    small = ["--set", "data.image_size=32", "--set", "data.workers=0", "--device", "cpu", "--quiet"]
    code, output = nas("train-supernet", "--recipe", str(RECIPE), "--data-root", str(folder), "--channels", "8",
                       "--epochs", "1", "--batch-size", "40", *small, "--out", str(tmp_path / "sn"))
    assert code == 0, output
    manifest = json.loads((tmp_path / "sn" / "manifest.json").read_text())
    config = manifest["config"]
    assert manifest["train_images"] == 80 and manifest["network"]["num_classes"] == 10
    assert (config["seed"], config["optim"]["weight_decay_on"], config["data"]["normalize"]) == (
        5, "conv+linear+bias", False)

    lookup = tmp_path / "lookup.json"
    code, output = nas("flops-table", "--space", "mobilenet", "--lookup", "--dataset", "cifar10", "--channels", "8",
                       "--out", str(lookup), "--quiet")
    assert code == 0, output
    cap = _cap(read_lookup(lookup))
    code, output = nas("search", "--recipe", str(RECIPE), "--supernet", str(tmp_path / "sn"), "--lookup", str(lookup),
                       "--max-flops", f"{cap}M", *TINY_EVOLUTION, "--device", "cpu", "--quiet",
                       "--out", str(tmp_path / "search"))
    assert code == 0, output
    rows = _scores(tmp_path / "search")
    assert len(rows) == 24 and max(space_cost_from_lookup(read_lookup(lookup), SPACE, r["arch"]) / 1e6
                                   for r in rows) <= cap
    code, output = nas("retrain", "--recipe", str(RETRAIN_RECIPE), "--genotype",
                       str(tmp_path / "search" / "genotype.json"), "--data-root", str(folder), "--channels", "8",
                       "--epochs", "1", "--batch-size", "40", "--set", "data.eval_batch_size=30", *small,
                       "--out", str(tmp_path / "retrain"))
    assert code == 0, output
    retrained = json.loads((tmp_path / "retrain" / "manifest.json").read_text())
    assert retrained["space"] == "mobilenet" and retrained["config"]["optim"]["weight_decay_on"] == "conv"
    assert retrained["status"] == "done"
