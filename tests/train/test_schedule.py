"""LR schedules against the references' formulas."""

from __future__ import annotations

import math

from nascli.config import OptimConfig
from nascli.train.schedule import learning_rate


def test_nb201_cosine_is_per_epoch_and_matches_the_reference_formula() -> None:
    cfg = OptimConfig(epochs=250, lr=0.025, lr_min=0.001, schedule="cosine", schedule_unit="epoch")
    for epoch in (0, 1, 10, 125, 249):
        expected = 0.001 + (0.025 - 0.001) * (1 + math.cos(math.pi * epoch / 250)) / 2
        assert math.isclose(learning_rate(cfg, epoch, 0, 100), expected)
        assert learning_rate(cfg, epoch, 0, 100) == learning_rate(cfg, epoch, 99, 100)


def test_warmup_multiplies_by_epoch_fraction() -> None:
    cfg = OptimConfig(epochs=10, lr=0.5, lr_min=0.0, schedule="constant", warmup_epochs=5)
    assert [round(learning_rate(cfg, e, 0, 1), 12) for e in range(6)] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.5]


def test_replace_warmup_overwrites_the_cosine_as_drnas_imagenet_does() -> None:
    """train_search_imagenet.py: param_group['lr'] = lr·(e+1)/5 for e < 5, the cosine value afterwards."""
    cfg = OptimConfig(epochs=50, lr=0.5, lr_min=0.0, schedule="cosine", warmup_epochs=5, warmup_mode="replace")
    for epoch in range(50):
        cosine = 0.5 * (1 + math.cos(math.pi * epoch / 50)) / 2
        expected = 0.5 * (epoch + 1) / 5 if epoch < 5 else cosine
        assert math.isclose(learning_rate(cfg, epoch, 0, 10), expected, abs_tol=1e-15)
    scaled = OptimConfig(epochs=50, lr=0.5, lr_min=0.0, schedule="cosine", warmup_epochs=5)
    assert learning_rate(scaled, 4, 0, 10) < learning_rate(cfg, 4, 0, 10) == 0.5


def test_linear_per_step_reaches_the_floor() -> None:
    cfg = OptimConfig(epochs=2, lr=0.1, lr_min=0.001, schedule="linear", schedule_unit="step")
    assert math.isclose(learning_rate(cfg, 1, 0, 10), 0.05)
    assert learning_rate(cfg, 1, 10, 10) == 0.001


def test_rlnas_linear_to_min_reaches_the_floor_exactly_at_the_end() -> None:
    cfg = OptimConfig(epochs=10, lr=0.25, lr_min=5e-4, schedule="linear-to-min", schedule_unit="step")
    span = 10 / (1 - 5e-4 / 0.25)
    assert math.isclose(learning_rate(cfg, 5, 0, 100), 0.25 * (1 - 5 / span))
    assert math.isclose(learning_rate(cfg, 9, 100, 100), 5e-4)


def test_rlnas_retrain_schedule_matches_the_reference_formula() -> None:
    """rlnas.md §6: lr(e)=lr0(E−5−e)/(E−5) for E−e>5, else lr0(E−e)/(5(E−5)); warm-up (e+1)/5."""
    cfg = OptimConfig(epochs=250, lr=0.5, schedule="rlnas-retrain", warmup_epochs=5)
    for e in (0, 3, 5, 100, 244, 245, 249):
        base = 0.5 * (245 - e) / 245 if 250 - e > 5 else 0.5 * (250 - e) / (5 * 245)
        warm = (e + 1) / 5 if e < 5 else 1.0
        assert math.isclose(learning_rate(cfg, e, 0, 10), base * warm)


def test_multistep_matches_torch_multisteplr_stepped_per_epoch() -> None:
    import torch

    cfg = OptimConfig(epochs=200, lr=0.1, schedule="multistep", milestones=[100, 150], gamma=0.1)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[100, 150], gamma=0.1)
    for epoch in range(200):
        expected = optimizer.param_groups[0]["lr"]
        assert math.isclose(learning_rate(cfg, epoch, 7, 391), expected, rel_tol=1e-12), epoch
        optimizer.step()
        scheduler.step()
    assert learning_rate(cfg, 99, 0, 391) == 0.1 and math.isclose(learning_rate(cfg, 150, 0, 391), 1e-3)
