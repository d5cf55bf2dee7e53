"""The BPE1/BPE2 score recipes hold the reference's values (methods/bpe.md §2; param_setting.py, config.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from nascli.config import SearchConfig, resolve_config
from nascli.spaces import NetworkConfig, get_space

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "bpe"


@pytest.mark.parametrize("name,epochs,layers,channels", [("bpe1", 10, 6, 8), ("bpe2", 30, 16, 16)])
def test_bpe_score_recipe_holds_the_reference_values(name: str, epochs: int, layers: int, channels: int) -> None:
    cfg, meta = resolve_config(SearchConfig, RECIPES / f"{name}-score.yaml", section="search")
    assert "af83b7a" in meta["reference"] and "param_setting.py" in meta["reference"]
    assert (cfg.space, cfg.strategy, cfg.score, cfg.batch) == ("darts", "list", "trained-acc", 1)
    assert cfg.runtime.amp == "off"
    settings = cfg.trained_acc
    data = settings.data
    assert (data.dataset, data.train_split, data.eval_split, data.batch_size) == ("cifar10", None, None, 128)
    assert (data.crop_pad, data.flip, data.cutout, data.resize_after_augment, data.image_size) == (4, True, 0, 16, None)
    assert (data.normalize, data.normalization, data.drop_last, data.labels) == (True, "darts-cifar10", False, "true")
    assert (settings.model.channels, settings.model.layers, settings.model.options) == (
        channels, layers, {"pool_bn": True, "aux_pool": "adaptive"})  # pt.darts PoolBN after every pool
    optim = settings.optim
    assert (optim.epochs, optim.lr, optim.lr_min, optim.schedule, optim.schedule_unit) == (
        epochs, 0.03, 0.0, "cosine", "epoch")
    assert (optim.momentum, optim.nesterov, optim.weight_decay, optim.weight_decay_on) == (0.9, False, 3e-4, "all")
    assert (optim.grad_clip, optim.grad_clip_mode, optim.label_smoothing, optim.warmup_epochs) == (5.0, "norm", 0, 0)
    assert optim.stop_after_epochs is None
    assert (settings.aux_weight, settings.drop_path_prob, settings.selection) == (0.4, 0.2, "test-max")

    if name == "bpe2":
        return
    # the network the recipe builds: pt.darts AugmentCNN at 16 px with the adaptive auxiliary head
    net = get_space("darts").network("DARTS_V2", NetworkConfig(
        num_classes=10, channels=channels, layers=layers, input_size=16,
        options={**settings.model.options, "auxiliary": True})).train()
    logits, aux = net.forward_with_aux(torch.randn(2, 3, 16, 16))
    assert logits.shape == aux.shape == (2, 10)
    assert isinstance(net.auxiliary_head.features[1], torch.nn.AdaptiveAvgPool2d)
    assert [i for i, cell in enumerate(net.cells) if cell.reduction] == [layers // 3, 2 * layers // 3]


def test_darts_cpu_score_recipe_is_bpe1_with_only_its_named_cuts() -> None:
    bpe1, _ = resolve_config(SearchConfig, RECIPES / "bpe1-score.yaml", section="search")
    cpu, _ = resolve_config(SearchConfig, RECIPES / "darts-cpu-score.yaml", section="search")
    reference, cut = dataclasses.asdict(bpe1), dataclasses.asdict(cpu)

    def differences(first: dict, second: dict, prefix: str = "") -> dict[str, tuple]:
        found = {}
        for key in first:
            if isinstance(first[key], dict) and isinstance(second[key], dict) and first[key] and second[key]:
                found |= differences(first[key], second[key], f"{prefix}{key}.")
            elif first[key] != second[key]:
                found[f"{prefix}{key}"] = (first[key], second[key])
        return found

    assert differences(reference, cut) == {
        "batch": (1, 2), "seed": (2, 0),
        "trained_acc.data.dataset": ("cifar10", "imagefolder"), "trained_acc.data.stream": (None, False),
        "trained_acc.data.normalization": ("darts-cifar10", "cifar10"), "trained_acc.data.workers": (4, 0),
        "trained_acc.model.channels": (8, 4), "trained_acc.model.layers": (6, 3),
        "trained_acc.optim.epochs": (10, 1), "trained_acc.optim.schedule_unit": ("epoch", "step"),
        "trained_acc.selection": ("test-max", "holdout-last"),
    }
