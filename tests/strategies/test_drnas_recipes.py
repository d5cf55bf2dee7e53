"""The shipped DrNAS recipes hold the reference's values (methods/drnas.md §2 and §3.1), set explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest

from nascli.config import RetrainConfig, SearchConfig, resolve_config

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "drnas"


def search_recipe(name: str) -> SearchConfig:
    return resolve_config(SearchConfig, RECIPES / name, section="search")[0]


def stages(cfg: SearchConfig) -> list[tuple[int, int, int | None]]:
    return [(stage.epochs, stage.partial_channels, stage.ops_kept) for stage in cfg.differentiable.stages]


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagenet16-120"])
@pytest.mark.parametrize("progressive", [False, True])
def test_nb201_recipes(dataset: str, progressive: bool) -> None:
    """201-space/train_search.py and train_search_progressive.py (--method dirichlet)."""
    cfg = search_recipe(f"nb201-{dataset}{'-progressive' if progressive else ''}.yaml")
    settings = cfg.differentiable
    assert (cfg.space, cfg.strategy, cfg.seed, cfg.dataset, settings.data.dataset) == (
        "nb201", "drnas", 2, dataset, dataset)
    assert (settings.model.channels, settings.model.layers, settings.data.batch_size) == (16, 5, 64)
    assert (settings.split, settings.train_portion, settings.data.cutout) == ("first-half", 0.5, 0)
    # utils._data_transforms_cifar10/100 (ImageNet16: NB201's constants, the dataset default); no drop_last
    expected_norm = {"cifar10": "darts-cifar10", "cifar100": "darts-cifar100", "imagenet16-120": None}[dataset]
    assert (settings.data.normalization, settings.data.drop_last) == (expected_norm, False)
    optim = settings.optim
    assert (optim.lr, optim.lr_min, optim.momentum, optim.weight_decay, optim.grad_clip) == (0.025, 0.001, 0.9,
                                                                                              3e-4, 5)
    assert (optim.schedule, optim.nesterov, optim.warmup_epochs) == ("cosine", False, 0)
    arch = settings.arch
    assert (arch.lr, tuple(arch.betas), arch.weight_decay, settings.regularizer) == (3e-4, (0.5, 0.999), 1e-3, "l2")
    assert settings.order == "first" and settings.trajectory_samples == 100
    if progressive:
        assert stages(cfg) == [(50, 4, None), (50, 2, 3)] and settings.freeze_epochs == 10
    else:
        assert stages(cfg) == [(100, 1, None)] and settings.freeze_epochs == 0


def test_darts_cifar10_recipe() -> None:
    """DARTS-space/train_search.py: the search network at evaluation size, lr 0.1, arch lr 6e-4."""
    cfg = search_recipe("darts-cifar10.yaml")
    settings = cfg.differentiable
    assert (cfg.space, cfg.space_options, cfg.strategy, cfg.seed) == ("darts", {"variant": "drnas"}, "drnas", 2)
    assert (settings.model.channels, settings.model.layers, settings.data.batch_size) == (36, 20, 64)
    assert (settings.split, settings.train_portion) == ("first-half", 0.5)
    assert (settings.data.normalization, settings.data.drop_last) == ("darts-cifar10", False)
    optim = settings.optim
    assert (optim.lr, optim.lr_min, optim.weight_decay, optim.grad_clip, optim.schedule) == (0.1, 0.0, 3e-4, 5,
                                                                                              "cosine")
    assert (settings.arch.lr, tuple(settings.arch.betas), settings.arch.weight_decay) == (6e-4, (0.5, 0.999), 1e-3)
    assert stages(cfg) == [(25, 6, None), (25, 4, 4)] and settings.freeze_epochs == 10
    assert settings.edge_normalization is False


def test_darts_imagenet_recipe() -> None:
    """DARTS-space/train_search_imagenet.py: batch 512 in all, lr 0.5 with a 5-epoch warm-up, K 6 → 3."""
    cfg = search_recipe("darts-imagenet.yaml")
    settings = cfg.differentiable
    data = settings.data
    assert (cfg.space, cfg.strategy, cfg.seed, settings.split) == ("darts", "drnas", 0, "train-val")
    assert (settings.model.channels, settings.model.layers, settings.model.options["imagenet"]) == (48, 14, True)
    assert (data.batch_size, data.batch_scope, data.image_size, data.normalize, data.workers) == (
        512, "global", 224, True, 16)
    assert data.drop_last is False and data.normalization is None  # ImageNet mean/std, the dataset default
    optim = settings.optim
    assert (optim.lr, optim.lr_min, optim.weight_decay, optim.grad_clip, optim.warmup_epochs) == (0.5, 0.0, 3e-4, 5,
                                                                                                   5)
    assert optim.warmup_mode == "replace"  # param_group['lr'] = lr·(e+1)/5, not a multiple of the cosine
    arch = settings.arch
    assert (arch.lr, arch.weight_decay, arch.grad_clip) == (6e-3, 1e-3, 5)
    assert stages(cfg) == [(25, 6, None), (25, 3, 4)] and settings.freeze_epochs == 10


def test_debug_recipe_shrinks_the_stages_to_two_epochs() -> None:
    assert [stage.epochs for stage in search_recipe("debug.yaml").differentiable.stages] == [2, 2]


@pytest.mark.parametrize("name", sorted(p.name for p in RECIPES.glob("*.yaml") if p.name != "debug.yaml"))
def test_recipes_run_the_references_precision_and_quirks(name: str) -> None:
    """fp32 everywhere (the references); the stage-boundary LR, θ in the NB201 clip and the pools' BN as the code."""
    section = "retrain" if name.startswith("retrain") else "search"
    cls = RetrainConfig if section == "retrain" else SearchConfig
    cfg = resolve_config(cls, RECIPES / name, section=section)[0]
    assert cfg.runtime.amp == "off"
    if section == "retrain":  # model.py: OPS[name](C, stride, True) builds AvgPoolBN / MaxPoolBN, BN affine=False
        assert (cfg.model.options["pool_bn"], cfg.model.options["pool_bn_affine"]) == (True, False)
        return
    settings = cfg.differentiable
    assert settings.stage_lr == ("reference" if len(settings.stages) > 1 else "continue")
    assert settings.weight_clip_with_arch is (cfg.space == "nb201")  # θ is an nn.Parameter only in 201-space
    if cfg.space == "darts":
        assert settings.model.options["pool_bn"] is True
        assert settings.model.options.get("stem_multiplier", 1) == (3 if "imagenet" in name else 1)
