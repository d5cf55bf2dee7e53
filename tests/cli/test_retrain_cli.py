"""`nas retrain` end to end: a tiny run and its resume, malformed genotypes, --list-genotypes, the shipped recipes."""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from nascli.artifacts import read_jsonl, read_manifest
from nascli.cli.main import app
from nascli.config import RetrainConfig, resolve_config
from nascli.spaces.genotypes import get_named_genotype
from nascli.train.schedule import learning_rate
from tests.conftest import require_shared

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"
NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
TINY = ["--dataset", "synthetic", "--channels", "8", "--layers", "5", "--batch-size", "8", "--device", "cpu",
        "--set", "data.synthetic_train=16", "--set", "data.synthetic_test=16", "--set", "data.eval_batch_size=16"]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Networks this small run faster on one intra-op thread, and do not stall when other jobs share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def nas(*args: str) -> tuple[int, str]:
    """Run `nas ARGS` in-process on a wide terminal; returns (exit code, stdout + stderr)."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "240"}, catch_exceptions=False)
    return result.exit_code, result.output


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def darts_v2_with(old: str, new: str) -> str:
    text = get_named_genotype("DARTS_V2").text
    assert old in text
    return text.replace(old, new, 1)


def test_tiny_darts_retrain_runs_resumes_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "run"
    recipe = str(RECIPES / "darts" / "retrain-cifar10.yaml")
    code, output = nas("retrain", "--recipe", recipe, *TINY, "--epochs", "2", "--stop-after", "1", "--out", str(out))
    assert code == 0, output
    assert {"best.pt", "last.pt", "metrics.jsonl", "manifest.json"} <= {p.name for p in out.iterdir()}
    assert "best weights" in output
    manifest = read_manifest(out)
    assert manifest["kind"] == "retrain" and manifest["space"] == "darts" and manifest["epochs_done"] == 1
    assert manifest["arch"] == get_named_genotype("DARTS_V2").text
    assert manifest["config"]["aux_weight"] == 0.4 and manifest["config"]["drop_path_prob"] == 0.2
    assert manifest["params_m"] > 0 and manifest["flops_m"] > 0

    code, output = nas("retrain", "--recipe", recipe, *TINY, "--epochs", "2", "--out", str(out), "--resume", "--quiet")
    assert code == 0, output
    records = read_jsonl(out / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [0, 1]
    assert records[1]["drop_path_prob"] == pytest.approx(0.2 * 1 / 2)
    assert read_manifest(out)["status"] == "done"

    before = snapshot(out)
    code, output = nas("retrain", "--recipe", recipe, *TINY, "--epochs", "2", "--out", str(out))
    assert code == 2 and "finished retrain run: pass --overwrite" in output
    assert snapshot(out) == before


def test_auxiliary_weight_flag_turns_the_head_off(tmp_path: Path) -> None:
    recipe = str(RECIPES / "darts" / "retrain-cifar10.yaml")
    code, output = nas("retrain", "--recipe", recipe, *TINY, "--epochs", "1", "--auxiliary-weight", "0",
                       "--drop-path", "0", "--out", str(tmp_path / "noaux"), "--quiet")
    assert code == 0, output
    state = torch.load(tmp_path / "noaux" / "best.pt", weights_only=True)
    assert not any(name.startswith("auxiliary_head") for name in state["model"])
    assert state["network"]["options"]["auxiliary"] is False


@pytest.mark.parametrize(("genotype", "fault"), [
    (darts_v2_with("('dil_conv_3x3', 2)", "('dil_conv_9x9', 2)"), "unknown operation 'dil_conv_9x9'"),
    (darts_v2_with("('dil_conv_3x3', 2)", "('dil_conv_3x3', 7)"), "input index 7 of node 5"),
    (darts_v2_with("('skip_connect', 0), ('dil_conv_3x3', 2)", "('skip_connect', 0)"), "wrong number of edges"),
])
def test_malformed_genotype_text_exits_2_naming_the_fault(tmp_path: Path, genotype: str, fault: str) -> None:
    code, output = nas("retrain", "--genotype", genotype, "--space", "darts", "--out", str(tmp_path / "bad"))
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fault in lines[0], output
    assert not (tmp_path / "bad").exists()


def test_genotype_file_of_another_space_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "genotype.json"
    path.write_text(json.dumps({"space": "nb201", "text": NB201_ARCH}), encoding="utf-8")
    code, output = nas("retrain", "--genotype", str(path), "--space", "darts", "--out", str(tmp_path / "bad"))
    assert code == 2 and "holds a nb201 architecture, not darts" in output
    assert not (tmp_path / "bad").exists()


def test_aux_weight_without_head_setting_is_refused(tmp_path: Path) -> None:
    code, output = nas("retrain", "--recipe", str(RECIPES / "darts" / "retrain-cifar10.yaml"),
                       "--set", "aux_weight=0", "--out", str(tmp_path / "bad"))
    assert code == 2 and "aux_weight" in output


def test_list_genotypes_shows_sizes_beside_the_papers() -> None:
    code, output = nas("retrain", "--list-genotypes")
    assert code == 0, output
    darts_block, mobilenet_block = output.split("\n\n")  # one block per space, a blank line between
    assert mobilenet_block.splitlines()[0].startswith("name\t") and "RLNAS_mobilenet" in mobilenet_block
    lines = darts_block.splitlines()
    assert lines[0].split("\t")[0] == "name"  # a pipe gets one whole line per genotype, names never cut
    rows = {line.split("\t")[0]: line for line in lines[1:]}
    assert len(rows) == len(lines) - 1 and all(line.count("\t") == 4 for line in lines)

    def cells(name: str) -> list[tuple[float, str]]:
        found = re.findall(r"([\d.]+) \(paper ([^)]+)\)", rows[name])
        return [(float(value), paper) for value, paper in found]

    # DARTS paper: DARTS_V2 3.3M on CIFAR-10, 4.7M on ImageNet
    (cifar, cifar_paper), (imagenet, imagenet_paper), _ = cells("DARTS_V2")
    assert (cifar_paper, round(cifar, 1)) == ("3.3", 3.3)
    assert (imagenet_paper, round(imagenet, 1)) == ("4.7", 4.7)
    # RLNAS Table 3: the CIFAR-10-searched cell at C=48 has 5.7M params and 629M FLOPs on ImageNet
    _, (imagenet, imagenet_paper), (flops, flops_paper) = cells("RLDARTS")
    assert (imagenet_paper, round(imagenet, 1)) == ("5.7", 5.7)
    assert flops_paper == "629" and abs(flops - 629) <= 2
    assert "megvii-model/RLNAS" in rows["RLDARTS"]


def recipe(name: str) -> RetrainConfig:
    cfg, meta = resolve_config(RetrainConfig, RECIPES / name, section="retrain")
    assert meta.get("reference")
    return cfg


def test_darts_recipe_holds_the_darts_protocol() -> None:
    cfg = recipe("darts/retrain-cifar10.yaml")
    assert (cfg.space, cfg.genotype, cfg.seed, cfg.data.dataset) == ("darts", "DARTS_V2", 0, "cifar10")
    # DARTS's own model.py has no BN after its pools (DrNAS's has one): the recipe says so explicitly
    assert (cfg.model.channels, cfg.model.layers, cfg.model.options) == (36, 20, {"auxiliary": True,
                                                                                  "pool_bn": False})
    assert (cfg.data.batch_size, cfg.data.crop_pad, cfg.data.flip, cfg.data.cutout) == (96, 4, True, 16)
    assert (cfg.data.normalization, cfg.data.drop_last) == ("darts-cifar10", False)  # 50000 = 520 × 96 + 80
    assert (cfg.aux_weight, cfg.drop_path_prob) == (0.4, 0.2)
    optim = cfg.optim
    assert (optim.epochs, optim.lr, optim.lr_min, optim.schedule, optim.schedule_unit) == (600, 0.025, 0.0, "cosine",
                                                                                           "epoch")
    assert (optim.momentum, optim.nesterov, optim.weight_decay, optim.weight_decay_on) == (0.9, False, 3e-4, "all")
    assert (optim.grad_clip, optim.grad_clip_mode, optim.label_smoothing) == (5.0, "norm", 0.0)
    # CosineAnnealingLR(optimizer, 600) stepped per epoch, eta_min 0
    for epoch in (0, 1, 300, 599):
        expected = 0.025 * (1 + math.cos(math.pi * epoch / 600)) / 2
        assert learning_rate(optim, epoch, 7, 521) == pytest.approx(expected, abs=1e-12)


def test_drnas_recipe_holds_the_drnas_protocol() -> None:
    cfg = recipe("drnas/retrain-cifar10.yaml")
    assert (cfg.data.normalization, cfg.data.drop_last) == ("darts-cifar10", False)
    assert (cfg.genotype, cfg.data.batch_size, cfg.drop_path_prob, cfg.aux_weight) == ("DrNAS_cifar10", 64, 0.3, 0.4)
    assert (cfg.model.channels, cfg.model.layers, cfg.data.cutout, cfg.seed) == (36, 20, 16, 0)
    optim = cfg.optim
    assert (optim.epochs, optim.lr, optim.lr_min, optim.schedule) == (600, 0.025, 0.0, "cosine")
    assert (optim.momentum, optim.nesterov, optim.weight_decay, optim.grad_clip) == (0.9, False, 3e-4, 5.0)


def test_rlnas_imagenet_recipe_holds_the_reference_settings() -> None:
    cfg = recipe("rlnas/retrain-imagenet.yaml")
    assert (cfg.space, cfg.genotype, cfg.model.channels, cfg.model.layers) == ("darts", "RLDARTS", 46, 14)
    assert (cfg.data.dataset, cfg.data.image_size, cfg.data.batch_size) == ("imagefolder", 224, 1024)
    assert (cfg.data.batch_scope, cfg.data.workers) == ("global", 32)  # retrain.py: batch_size //= world_size
    assert cfg.data.normalize is False and cfg.data.cutout == 0
    # utils.py get_train_transform / get_eval_transform: cv2 square crop + PCA lighting 0.1 + flip; OpencvResize
    assert (cfg.data.stream, cfg.data.crop_style, cfg.data.lighting, cfg.data.flip) == (True, "megvii", 0.1, True)
    assert (cfg.aux_weight, cfg.drop_path_prob, cfg.model.options) == (0.4, 0.0, {"auxiliary": True})
    optim = cfg.optim
    assert (optim.epochs, optim.lr, optim.momentum, optim.nesterov, optim.weight_decay) == (250, 0.5, 0.9, False, 3e-5)
    assert (optim.label_smoothing, optim.grad_clip, optim.warmup_epochs) == (0.1, 5.0, 5)
    # retrain.py adjust_lr, then the warm-up multiplier (e+1)/5 for e < 5
    epochs, lr0 = 250, 0.5
    for epoch in (0, 2, 4, 5, 100, 244, 245, 249):
        if epochs - epoch > 5:
            expected = lr0 * (epochs - 5 - epoch) / (epochs - 5)
        else:
            expected = lr0 * (epochs - epoch) / ((epochs - 5) * 5)
        if epoch < 5:
            expected *= (epoch + 1) / 5.0
        assert learning_rate(optim, epoch, 3, 1251) == pytest.approx(expected, abs=1e-12)


def test_nb201_recipe_holds_the_benchmark_protocol() -> None:
    cfg = recipe("nb201/retrain.yaml")
    assert (cfg.space, cfg.genotype, cfg.data.dataset) == ("nb201", None, "cifar10")
    assert (cfg.model.channels, cfg.model.layers, cfg.aux_weight, cfg.drop_path_prob) == (16, 5, 0.0, 0.0)
    assert (cfg.data.batch_size, cfg.data.crop_pad, cfg.data.flip, cfg.data.cutout) == (256, 4, True, 0)
    optim = cfg.optim
    assert (optim.epochs, optim.lr, optim.lr_min, optim.schedule) == (200, 0.1, 0.0, "cosine")
    assert (optim.momentum, optim.nesterov, optim.weight_decay, optim.grad_clip) == (0.9, True, 5e-4, 0.0)


def test_nb201_recipe_retrains_an_nb201_cell(tmp_path: Path) -> None:
    code, output = nas("retrain", "--recipe", str(RECIPES / "nb201" / "retrain.yaml"), "--genotype", NB201_ARCH,
                       "--dataset", "synthetic", "--channels", "4", "--layers", "1", "--epochs", "1",
                       "--batch-size", "16", "--set", "data.synthetic_train=16", "--set", "data.synthetic_test=16",
                       "--device", "cpu", "--quiet", "--out", str(tmp_path / "nb201"))
    assert code == 0, output
    assert read_manifest(tmp_path / "nb201")["arch"] == NB201_ARCH
    assert len(read_jsonl(tmp_path / "nb201" / "metrics.jsonl")) == 1


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


def test_rlnas_imagenet_recipe_retrains_from_streamed_files_with_its_augmentation(tmp_path: Path) -> None:
    folder = _small_image_folder(tmp_path / "images", 6, 3)
    out = tmp_path / "run"
    args = ["retrain", "--recipe", str(RECIPES / "rlnas" / "retrain-imagenet.yaml"), "--data-root", str(folder),
            "--channels", "8", "--layers", "5", "--batch-size", "20", "--epochs", "2", "--device", "cpu", "--quiet",
            "--set", "data.image_size=32", "--set", "data.eval_batch_size=30", "--set", "data.workers=0",
            "--out", str(out)]
    code, output = nas(*args[:-1], str(out), "--stop-after", "1")
    assert code == 0, output
    code, output = nas(*args, "--resume")
    assert code == 0, output
    records = read_jsonl(out / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [0, 1]
    data = read_manifest(out)["config"]["data"]
    assert (data["stream"], data["crop_style"], data["lighting"]) == (True, "megvii", 0.1)


def test_list_genotypes_keeps_names_whole_on_an_80_column_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from nascli.cli import retrain as retrain_cli
    from nascli.spaces.genotypes import GENOTYPES

    screen = io.StringIO()
    monkeypatch.setattr(retrain_cli, "out", Console(file=screen, force_terminal=True, width=80, color_system=None))
    retrain_cli.print_genotype_table()
    text = screen.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for name in GENOTYPES:
        assert f"│ {name} " in text, name
