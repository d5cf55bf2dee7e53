"""The RLNAS MobileNet recipes set every value of the reference (methods/rlnas.md §2.2, §4.1, §6), fp32."""

from __future__ import annotations

import numpy as np

from nascli.config import EvolutionConfig, RetrainConfig, SearchConfig, TrainSupernetConfig, resolve_config
from nascli.spaces import get_space
from nascli.strategies.evolution import EvolutionStrategy
from tests.e2e.helpers import REPO

RECIPE = REPO / "recipes" / "rlnas" / "mobilenet-imagenet.yaml"


def test_supernet_section_is_the_reference_training() -> None:
    cfg, meta = resolve_config(TrainSupernetConfig, RECIPE, section="train_supernet")
    assert "RLNAS" in meta["reference"] and cfg.space == "mobilenet" and cfg.seed == 5
    d, o = cfg.data, cfg.optim
    assert (d.dataset, d.labels, d.label_seed, d.batch_size, d.batch_scope, d.image_size) == (
        "imagenet", "random", 0, 512, "global", 224)
    assert (d.crop_style, d.lighting, d.flip, d.normalize, d.drop_last) == ("megvii", 0.1, True, False, False)
    assert (o.epochs, o.lr, o.lr_min, o.schedule, o.schedule_unit, o.warmup_epochs) == (
        120, 0.25, 0.0005, "linear-to-min", "step", 0)
    assert (o.momentum, o.nesterov, o.weight_decay, o.weight_decay_on) == (0.9, False, 4e-5, "conv+linear+bias")
    assert (o.grad_clip, o.grad_clip_mode, o.label_smoothing) == (5, "value", 0.1)
    assert cfg.runtime.amp == "off" and cfg.model.channels == 40


def test_search_section_is_the_reference_evolution_under_475m() -> None:
    cfg, _ = resolve_config(SearchConfig, RECIPE, section="search")
    e, c = cfg.evolution, cfg.constraints
    assert (cfg.space, cfg.strategy, cfg.score, cfg.seed, cfg.dataset) == ("mobilenet", "evolution", "angle", 1,
                                                                            "imagenet")
    assert (e.population, e.parents, e.crossover, e.mutation_fill, e.generations, e.mutation_prob) == (
        50, 10, 25, True, 20, 0.1)
    assert e.mutation_ops is None and e.max_tries_factor == 1000
    assert (c.max_flops, c.flops_convention) == (475, "rlnas-thop")
    darts, _ = resolve_config(SearchConfig, REPO / "recipes" / "rlnas" / "darts-imagenet.yaml", section="search")
    assert (darts.constraints.max_flops, darts.constraints.flops_convention) == (600, "rlnas-thop")


def test_retrain_recipe_is_the_reference_retraining() -> None:
    cfg, _ = resolve_config(RetrainConfig, REPO / "recipes" / "rlnas" / "retrain-mobilenet.yaml", section="retrain")
    d, o = cfg.data, cfg.optim
    assert (cfg.space, cfg.genotype, cfg.model.options) == ("mobilenet", "RLNAS_mobilenet", {"dropout": 0.2})
    assert (d.batch_size, d.batch_scope, d.crop_style, d.normalize, d.lighting, d.flip) == (
        1024, "global", "torchvision", True, 0, True)
    assert (o.epochs, o.lr, o.lr_min, o.schedule, o.schedule_unit, o.warmup_epochs) == (240, 0.5, 0.0, "linear",
                                                                                         "step", 0)
    assert (o.momentum, o.nesterov, o.weight_decay, o.weight_decay_on) == (0.9, False, 4e-5, "conv")
    assert (o.grad_clip, o.grad_clip_mode, o.label_smoothing, cfg.aux_weight) == (5, "norm", 0.1, 0.0)
    assert cfg.runtime.amp == "off"


def test_mutation_fill_breeds_crossover_first_and_fills_with_mutants() -> None:
    space = get_space("mobilenet")
    cfg = SearchConfig(space="mobilenet", seed=0, evolution=EvolutionConfig(
        population=12, parents=4, mutation=3, crossover=5, generations=3, mutation_fill=True))
    strategy = EvolutionStrategy(space, cfg)
    archs = strategy.ask()
    record = strategy.tell(archs, list(np.arange(len(archs), dtype=float)))
    assert record["next_crossover"] == 5 and record["next_mutation"] == 12 - 5
    assert len(strategy.ask()) == 12


def test_supernet_decay_groups_are_the_references() -> None:
    """get_optimizer_schedule: ndim 4 or 'classifier.0.weight' / 'classifier.0.bias' decay; BN parameters do not."""
    from nascli.spaces.base import NetworkConfig
    from nascli.train.engine import build_optimizer

    cfg, _ = resolve_config(TrainSupernetConfig, RECIPE, section="train_supernet")
    model = get_space("mobilenet").supernet(NetworkConfig(num_classes=10, channels=8, input_size=32))
    optimizer = build_optimizer(model, cfg.optim)
    decayed = {id(p) for group in optimizer.param_groups if group["weight_decay"] > 0 for p in group["params"]}
    expected = {id(p) for name, p in model.named_parameters()
                if p.ndim == 4 or name in ("classifier.0.weight", "classifier.0.bias")}
    assert decayed == expected and optimizer.param_groups[0]["weight_decay"] == 4e-5
