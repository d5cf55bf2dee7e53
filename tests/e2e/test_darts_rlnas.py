"""RLNAS in the DARTS space through the CLI: tiny random-label supernet → constrained angle evolution → genotype."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nascli.scores.angle_darts import darts_angle_literal
from nascli.scores.supernet_io import load_supernet_pair
from nascli.spaces import get_space
from nascli.spaces.darts import DartsGenotype
from nascli.spaces.flops_lookup import flops_from_lookup, params_from_lookup, read_lookup
from nascli.spaces.resolve import resolve_architecture
from tests.e2e.helpers import REPO, nas

SPACE = get_space("darts")
TINY_EVOLUTION = ["--population", "8", "--parents", "4", "--mutation", "3", "--crossover", "3", "--generations", "3"]


def _scores(folder: Path) -> list[dict[str, str]]:
    with open(folder / "scores.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def supernet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("darts") / "sn"
    code, output = nas("train-supernet", "--out", str(folder), "--space", "darts",
                       "--set", "space_options.variant=rlnas", "--labels", "random",
                       "--channels", "4", "--layers", "5", "--epochs", "1", "--batch-size", "32",
                       "--set", "data.synthetic_train=64", "--set", "data.synthetic_test=32", "--device", "cpu",
                       "--quiet")
    assert code == 0, output
    return folder


@pytest.fixture(scope="module")
def cifar_lookup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("lookup") / "flops.json"
    code, output = nas("flops-table", "--space", "darts", "--lookup", "--out", str(path), "--dataset", "cifar10",
                       "--quiet")
    assert code == 0, output
    return read_lookup(path)


def test_supernet_is_the_rlnas_single_path_darts_supernet(supernet: Path) -> None:
    manifest = json.loads((supernet / "manifest.json").read_text())
    assert manifest["space"] == "darts" and manifest["labels"] == "random" and manifest["status"] == "done"
    assert manifest["network"]["channels"] == 4 and manifest["network"]["layers"] == 5
    state = torch.load(supernet / "last.pt", weights_only=True)["model"]
    # reductions at L//3 = 1 and 2L//3 = 3: their input edges hold FactorizedReduce skips; pools carry an affine BN
    reductions = [c for c in range(5) if f"cells.{c}.edges.0.skip_connect.conv_1.weight" in state]
    assert reductions == [1, 3]
    assert "cells.0.edges.0.max_pool_3x3.bn.weight" in state and "cells.4.edges.13.dil_conv_5x5.op.3.bias" in state


def test_constrained_angle_evolution_stays_under_the_limit(tmp_path: Path, supernet: Path, cifar_lookup: dict) -> None:
    limit = 420.0
    rng = np.random.default_rng(0)
    sampled = [flops_from_lookup(cifar_lookup, SPACE.sample(rng)) / 1e6 for _ in range(200)]
    assert max(sampled) > limit > min(sampled)  # the cap excludes a good share of the space
    out = tmp_path / "search"
    code, output = nas("search", "--space", "darts", "--strategy", "evolution", "--score", "angle", "--max-flops",
                       f"{limit:.0f}M", "--supernet", str(supernet), "--out", str(out), "--seed", "0",
                       *TINY_EVOLUTION, "--device", "cpu", "--quiet")
    assert code == 0, output
    rows = _scores(out)
    assert len(rows) == 24 and len({r["arch"] for r in rows}) == 24
    flops = [flops_from_lookup(cifar_lookup, SPACE.parse(r["arch"])) / 1e6 for r in rows]
    assert max(flops) <= limit
    assert all(SPACE.cost(r["arch"], "flops", "synthetic") <= limit for r in rows)

    _, best = resolve_architecture(str(out / "genotype.json"), "darts")
    assert isinstance(best, DartsGenotype)
    genotype = json.loads((out / "genotype.json").read_text())
    assert genotype["space"] == "darts" and SPACE.parse(genotype["text"]) == best
    assert flops_from_lookup(cifar_lookup, best) / 1e6 <= limit
    angles = [float(r["angle"]) for r in rows]
    assert genotype["scores"]["angle"] == max(angles)
    # the search's angle is the reference construction on init.pt / last.pt
    pair = load_supernet_pair(supernet, SPACE)
    assert max(angles) == pytest.approx(darts_angle_literal(best, pair.initial, pair.trained, "rlnas"), abs=1e-9)

    code, output = nas("flops-table", "--genotype", str(out / "genotype.json"))
    assert code == 0 and f"{flops_from_lookup(cifar_lookup, best) / 1e6:.2f}" in output


@pytest.mark.parametrize("score,flag,limit", [("flops", "--max-flops", 450.0), ("params", "--max-params", 3.0)])
def test_evolution_maximising_cost_never_crosses_the_cap(tmp_path: Path, cifar_lookup: dict, score: str, flag: str,
                                                         limit: float) -> None:
    """The adversarial case: the strategy climbs towards the cap, and nothing above it is ever scored or returned."""
    out = tmp_path / score
    code, output = nas("search", "--space", "darts", "--strategy", "evolution", "--score", score, flag, f"{limit}M",
                       "--dataset", "cifar10", "--out", str(out), "--population", "20", "--parents", "5",
                       "--mutation", "8", "--crossover", "8", "--generations", "5", "--quiet")
    assert code == 0, output
    count = flops_from_lookup if score == "flops" else params_from_lookup
    values = [count(cifar_lookup, SPACE.parse(r["arch"])) / 1e6 for r in _scores(out)]
    assert len(values) == 100 and max(values) <= limit
    assert max(values) > 0.9 * limit  # the search did push against the cap
    genotype = json.loads((out / "genotype.json").read_text())
    assert count(cifar_lookup, SPACE.parse(genotype["text"])) / 1e6 == pytest.approx(max(values))


def test_imagenet_recipe_search_section_runs_under_600m(tmp_path: Path, supernet: Path) -> None:
    out = tmp_path / "search"
    code, output = nas("search", "--recipe", str(REPO / "recipes/rlnas/darts-imagenet.yaml"), "--supernet",
                       str(supernet), "--out", str(out), "--population", "6", "--parents", "3", "--mutation", "2",
                       "--crossover", "2", "--generations", "2", "--device", "cpu", "--quiet")
    assert code == 0, output
    manifest = json.loads((out / "manifest.json").read_text())
    evolution = manifest["config"]["evolution"]
    assert evolution["mutate_cells"] == ["normal"] and "none" not in evolution["mutation_ops"]
    assert manifest["config"]["score_options"] == {"angle_compat": "rlnas"}
    rows = _scores(out)
    assert len(rows) == 12
    assert all(SPACE.cost(r["arch"], "flops", "imagenet") <= 600 for r in rows)
