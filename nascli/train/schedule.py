"""Learning-rate schedules as pure functions of (epoch, step), so a resumed run needs no scheduler state."""

from __future__ import annotations

import math

from nascli.config import OptimConfig


def learning_rate(cfg: OptimConfig, epoch: int, step: int, steps_per_epoch: int) -> float:
    """LR at `step` (0-based, within `epoch`) of the schedule configured in `cfg`.

    `cosine`: η_min + (η₀ − η_min)(1 + cos(π t / T))/2 with t in epochs (held within an epoch, as the
    NB201/DARTS references) or in steps. `linear`: η₀ (1 − t/T) down to η_min. `multistep`: η₀ γ^k, k = the
    number of milestones ≤ the epoch (always per epoch). Warm-up multiplies by
    (e+1)/W over the first W epochs (per epoch, as the RLNAS ImageNet retraining), or with warmup_mode
    `replace` sets η₀(e+1)/W.
    """
    total = max(cfg.epochs, 1)
    if cfg.schedule_unit == "step":
        t = epoch + step / max(steps_per_epoch, 1)
    else:
        t = float(epoch)
    if cfg.schedule == "constant":
        lr = cfg.lr
    elif cfg.schedule == "cosine":
        lr = cfg.lr_min + (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t / total)) / 2
    elif cfg.schedule == "linear":
        lr = max(cfg.lr * (1 - t / total), cfg.lr_min)
    elif cfg.schedule == "linear-to-min":
        span = total / (1 - cfg.lr_min / cfg.lr) if cfg.lr > cfg.lr_min else total
        lr = max(cfg.lr * (1 - t / span), cfg.lr_min)
    elif cfg.schedule == "multistep":
        lr = cfg.lr * cfg.gamma ** sum(1 for milestone in cfg.milestones if milestone <= epoch)
    elif cfg.schedule == "rlnas-retrain":
        plateau = max(total - 5, 1)
        lr = cfg.lr * (total - 5 - t) / plateau if total - t > 5 else cfg.lr * (total - t) / (5 * plateau)
    else:
        raise ValueError(f"unknown schedule {cfg.schedule!r}")
    if cfg.warmup_epochs > 0 and epoch < cfg.warmup_epochs:
        base = cfg.lr if cfg.warmup_mode == "replace" else lr
        lr = base * (epoch + 1) / cfg.warmup_epochs
    return lr
