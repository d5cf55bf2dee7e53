"""Recipes: typed building, overrides, typo suggestions, sections."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nascli.config import OptimConfig, TrainSupernetConfig, build_config, parse_overrides, resolve_config
from nascli.errors import NasInputError

REPO = Path(__file__).resolve().parents[1]


def test_defaults_then_recipe_then_set_then_flags(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim:\n  lr: 0.1\n  epochs: 10\ndata:\n  dataset: cifar10\n")
    cfg, meta = resolve_config(TrainSupernetConfig, recipe, ["optim.lr=0.2", "data.labels=random"],
                               {"optim.epochs": 3})
    assert cfg.optim.lr == 0.2 and cfg.optim.epochs == 3
    assert cfg.data.dataset == "cifar10" and cfg.data.labels == "random"
    assert cfg.optim.weight_decay == OptimConfig().weight_decay
    assert meta == {}


def test_typo_in_recipe_suggests_the_key(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim:\n  lrr: 0.1\n")
    with pytest.raises(NasInputError, match=r"unknown setting 'optim.lrr' \(did you mean 'optim.lr'\?\)"):
        resolve_config(TrainSupernetConfig, recipe)


def test_bad_set_key_and_types() -> None:
    with pytest.raises(NasInputError, match="unknown setting 'optim.momentun'"):
        resolve_config(TrainSupernetConfig, None, ["optim.momentun=0.5"])
    with pytest.raises(NasInputError, match="must be an integer"):
        resolve_config(TrainSupernetConfig, None, ["optim.epochs=ten"])
    with pytest.raises(NasInputError, match="must be one of"):
        resolve_config(TrainSupernetConfig, None, ["data.labels=shuffled"])
    with pytest.raises(NasInputError, match="key=value"):
        parse_overrides(["optim.lr"])


def test_sectioned_recipe_and_wrong_section(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("meta: {paper: x}\ntrain_supernet:\n  seed: 3\nsearch: {}\n")
    cfg, meta = resolve_config(TrainSupernetConfig, recipe, section="train_supernet")
    assert cfg.seed == 3 and meta == {"paper": "x"}
    recipe.write_text("train_supernett:\n  seed: 3\n")
    with pytest.raises(NasInputError, match="unknown section 'train_supernett'"):
        resolve_config(TrainSupernetConfig, recipe, section="train_supernet")


def test_invalid_yaml_is_an_input_error(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim: [1, 2\n")
    with pytest.raises(NasInputError, match="not valid YAML"):
        resolve_config(TrainSupernetConfig, recipe)


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "imagenet16-120"])
def test_shipped_rlnas_recipes_hold_the_reference_settings(name: str) -> None:
    cfg, meta = resolve_config(TrainSupernetConfig, REPO / f"recipes/rlnas/nb201-{name}.yaml",
                               section="train_supernet")
    assert "RLNAS" in meta["reference"]
    assert (cfg.optim.epochs, cfg.data.batch_size) == (250, 64)
    assert cfg.optim.nesterov and math.isclose(cfg.optim.momentum, 0.9)
    assert math.isclose(cfg.optim.weight_decay, 5e-4)
    assert (cfg.optim.lr, cfg.optim.lr_min, cfg.optim.schedule, cfg.optim.warmup_epochs) == (0.025, 0.001, "cosine", 0)
    assert cfg.data.labels == "random" and cfg.sampler == "default"
    assert cfg.data.train_split == ("cifar10_search_split:train" if name == "cifar10" else None)
    assert cfg.data.crop_pad == (2 if name == "imagenet16-120" else 4)
    assert cfg.data.drop_last is False  # xautodl's search loader keeps the last partial batch (25000 = 390×64 + 40)
    assert (cfg.runtime.amp, cfg.path_grads) == ("off", "sampled")  # fp32; 'none' computed as x·0 (rlnas.md §2)


def test_rlnas_darts_imagenet_supernet_recipe_streams_with_the_reference_augmentation() -> None:
    """train_supernet/utils.py: ImageNetWithRandomLabels (seed 0) + cv2 square crop, PCA lighting 0.1, flip, no norm."""
    cfg, _ = resolve_config(TrainSupernetConfig, REPO / "recipes/rlnas/darts-imagenet.yaml", section="train_supernet")
    data = cfg.data
    assert (data.dataset, data.labels, data.label_seed, data.image_size) == ("imagenet", "random", 0, 224)
    assert (data.batch_size, data.batch_scope, data.workers) == (512, "global", 32)  # train.py: //= world_size
    assert data.drop_last is False
    assert (data.stream, data.crop_style, data.lighting, data.flip, data.normalize) == (True, "megvii", 0.1, True,
                                                                                        False)


@pytest.mark.parametrize("override, fault", [
    ("data.batch_size=0", "data.batch_size must be at least 1"),
    ("data.lighting=-0.1", "data.lighting must be at least 0"),
    ("data.workers=-1", "data.workers must be at least 0"),
    ("data.crop_pad=-4", "data.crop_pad must be at least 0"),
    ("data.crop_style=opencv", "data.crop_style must be one of torchvision, megvii"),
    ("data.batch_scope=all", "data.batch_scope must be one of process, global"),
])
def test_out_of_range_data_settings_fail_when_the_recipe_is_read(override: str, fault: str) -> None:
    with pytest.raises(NasInputError, match=fault):
        resolve_config(TrainSupernetConfig, None, [override])


def test_rlnas_darts_cifar10_supernet_recipe_uses_the_darts_data_pipeline() -> None:
    """darts_search_space/cifar10/rlnas/train_supernet/train.py: _data_transforms_cifar10, labels from --seed 1."""
    cfg, _ = resolve_config(TrainSupernetConfig, REPO / "recipes/rlnas/darts-cifar10.yaml", section="train_supernet")
    data = cfg.data
    assert (data.labels, data.label_seed, data.batch_size, data.crop_pad, data.cutout) == ("random", 1, 64, 4, 0)
    assert (data.normalization, data.drop_last) == ("darts-cifar10", False)
    assert (cfg.optim.lr, cfg.optim.lr_min, cfg.optim.weight_decay, cfg.optim.grad_clip) == (0.025, 0.001, 3e-4, 5)


def test_nested_section_starts_from_its_parents_default() -> None:
    from nascli.config import SearchConfig

    config = build_config(SearchConfig, {"trained_acc": {"data": {"dataset": "cifar10"}, "model": {"channels": 16}}})
    # trained_acc's own defaults (BPE1: batch 128, 16 px, 6 cells) survive a partial section
    assert config.trained_acc.data.batch_size == 128
    assert config.trained_acc.data.resize_after_augment == 16
    assert (config.trained_acc.model.channels, config.trained_acc.model.layers) == (16, 6)
