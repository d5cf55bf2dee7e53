"""recipes/bpe/bpe{1,2}-{rl,ea,rs,darts}.yaml hold the BPE reference's values (methods/bpe.md §2, §3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nascli.config import SearchConfig, resolve_config
from nascli.spaces import get_space
from nascli.strategies import make_strategy

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "bpe"
SETTINGS = {"bpe1": {"epochs": 10, "layers": 6, "channels": 8}, "bpe2": {"epochs": 30, "layers": 16, "channels": 16}}


def load(name: str) -> SearchConfig:
    return resolve_config(SearchConfig, RECIPES / f"{name}.yaml", section="search")[0]


def test_every_bpe_search_recipe_exists_and_names_its_reference() -> None:
    names = sorted(path.stem for path in RECIPES.glob("bpe?-*.yaml") if path.stem.split("-")[1] != "score")
    assert names == sorted(f"{s}-{m}" for s in SETTINGS for m in ("rl", "ea", "rs", "darts"))
    for name in names:
        text = (RECIPES / f"{name}.yaml").read_text()
        meta = resolve_config(SearchConfig, RECIPES / f"{name}.yaml", section="search")[1]
        assert "rethinking_performance_estimation_in_NAS@af83b7a" in meta["reference"]
        assert text.startswith("# BPE") and "python " in text.splitlines()[0]


@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("method", ["rl", "ea", "rs"])
def test_trained_acc_sections_are_the_bpe_protocol(setting: str, method: str) -> None:
    cfg = load(f"{setting}-{method}")
    expected = SETTINGS[setting]
    assert (cfg.score, cfg.seed, cfg.runtime.amp) == ("trained-acc", 2, "off")
    ta = cfg.trained_acc
    data = ta.data
    assert (data.dataset, data.batch_size, data.crop_pad, data.flip, data.cutout, data.resize_after_augment,
            data.image_size, data.normalization) == ("cifar10", 128, 4, True, 0, 16, None, "darts-cifar10")
    assert (ta.model.channels, ta.model.layers) == (expected["channels"], expected["layers"])
    assert ta.model.options == {"pool_bn": True, "aux_pool": "adaptive"}
    optim = ta.optim
    assert (optim.epochs, optim.lr, optim.lr_min, optim.momentum, optim.nesterov, optim.weight_decay,
            optim.schedule, optim.schedule_unit, optim.grad_clip, optim.grad_clip_mode) == (
        expected["epochs"], 0.03, 0.0, 0.9, False, 3e-4, "cosine", "epoch", 5.0, "norm")
    assert (ta.aux_weight, ta.drop_path_prob, ta.selection) == (0.4, 0.2, "test-max")


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_rl_recipe_sets_the_reference_reinforce_and_its_quirks(setting: str) -> None:
    cfg = load(f"{setting}-rl")
    assert (cfg.space, cfg.space_options, cfg.strategy) == ("darts", {"variant": "dense"}, "reinforce")
    rl = cfg.reinforce
    assert (rl.iterations, rl.lr, rl.momentum, rl.baseline, rl.resample_at_or_below, rl.reward_scale,
            rl.first_reward_zero) == (100, 0.1, 0.9, "before-advantage", 0.001, 1.0, True)
    space = get_space(cfg.space, **cfg.space_options)
    assert make_strategy(cfg.strategy, space, cfg).sizes == (7,) * 28


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_ea_recipe_sets_the_reference_evolution(setting: str) -> None:
    cfg = load(f"{setting}-ea")
    assert (cfg.space, cfg.space_options, cfg.strategy) == ("darts", {"variant": "dense"}, "aging-evolution")
    ea = cfg.aging_evolution
    assert (ea.population, ea.sample_size, ea.evaluations, ea.subcells) == (50, 10, 100, 10)


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_rs_recipe_draws_100_genotypes_with_the_reference_generator(setting: str) -> None:
    cfg = load(f"{setting}-rs")
    assert (cfg.space, cfg.space_options, cfg.strategy, cfg.samples, cfg.batch) == (
        "darts", {"variant": "rlnas", "sampler": "bpe-rs"}, "random", 100, 1)


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_darts_recipe_is_pt_darts_with_the_bpe_flags(setting: str) -> None:
    cfg = load(f"{setting}-darts")
    expected = SETTINGS[setting]
    assert (cfg.space, cfg.space_options, cfg.strategy, cfg.seed, cfg.runtime.amp) == (
        "darts", {"variant": "rlnas"}, "darts", 2, "off")
    d = cfg.differentiable
    assert (d.data.batch_size, d.data.cutout, d.data.resize_after_augment, d.data.crop_pad, d.data.normalization,
            d.data.drop_last) == (128, 0, 16, 4, "darts-cifar10", False)
    assert (d.split, d.train_portion) == ("first-half", 0.5)
    assert (d.model.channels, d.model.layers, d.model.options) == (
        expected["channels"], expected["layers"], {"affine": False, "pool_bn": True})
    assert [(s.epochs, s.partial_channels, s.ops_kept) for s in d.stages] == [(expected["epochs"], 1, None)]
    o = d.optim
    assert (o.lr, o.lr_min, o.momentum, o.nesterov, o.weight_decay, o.grad_clip, o.schedule) == (
        0.03, 0.001, 0.9, False, 3e-4, 5.0, "cosine")
    assert (d.arch.lr, tuple(d.arch.betas), d.arch.weight_decay) == (3e-4, (0.5, 0.999), 1e-3)
    assert (d.order, d.hessian_divisor_bug, d.genotype_from, d.regularizer) == (
        "second", True, "best-val-epoch", "l2")
    assert (d.edge_normalization, d.freeze_epochs, d.valid_batches) == (False, 0, None)
