"""The DARTS search recipe holds quark0/darts cnn/train_search.py's values (--unrolled, DARTS V2)."""

from __future__ import annotations

from pathlib import Path

from nascli.config import SearchConfig, resolve_config

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "darts" / "search-cifar10.yaml"


def test_darts_search_recipe() -> None:
    cfg = resolve_config(SearchConfig, RECIPE, section="search")[0]
    settings = cfg.differentiable
    assert (cfg.space, cfg.space_options, cfg.strategy, cfg.seed) == ("darts", {"variant": "rlnas"}, "darts", 2)
    assert (settings.model.channels, settings.model.layers, settings.model.options) == (
        16, 8, {"affine": False, "pool_bn": True})
    data = settings.data
    assert (data.batch_size, data.crop_pad, data.cutout, data.normalization, data.drop_last) == (
        64, 4, 0, "darts-cifar10", False)
    assert (settings.split, settings.train_portion, settings.order) == ("first-half", 0.5, "second")
    optim = settings.optim
    assert (optim.lr, optim.lr_min, optim.momentum, optim.weight_decay, optim.grad_clip, optim.schedule) == (
        0.025, 0.001, 0.9, 3e-4, 5, "cosine")
    assert (settings.arch.lr, tuple(settings.arch.betas), settings.arch.weight_decay) == (3e-4, (0.5, 0.999), 1e-3)
    assert [(s.epochs, s.partial_channels) for s in settings.stages] == [(50, 1)] and settings.freeze_epochs == 0


def test_darts_recipes_run_fp32_and_the_retrain_network_has_plain_pools() -> None:
    """The references' precision; quark0/darts' model.py has no BN after a pool (unlike DrNAS's)."""
    from nascli.config import RetrainConfig

    assert resolve_config(SearchConfig, RECIPE, section="search")[0].runtime.amp == "off"
    retrain = resolve_config(RetrainConfig, RECIPE.with_name("retrain-cifar10.yaml"), section="retrain")[0]
    assert retrain.runtime.amp == "off" and retrain.model.options["pool_bn"] is False
