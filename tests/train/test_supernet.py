"""train_supernet as a library call: learning on synthetic data, labels in the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from nascli.config import DataConfig, ModelConfig, OptimConfig, RuntimeConfig, TrainSupernetConfig
from nascli.data.labels import random_labels
from nascli.data.loader import AugmentConfig, BatchLoader
from nascli.data.synthetic import make_synthetic
from nascli.train.engine import Trainer
from nascli.train.supernet import train_supernet


def _config(labels: str) -> TrainSupernetConfig:
    return TrainSupernetConfig(
        data=DataConfig(dataset="synthetic", synthetic_train=512, batch_size=32, labels=labels),
        model=ModelConfig(channels=8, layers=1),
        optim=OptimConfig(epochs=4, lr=0.05, lr_min=0.0),
        runtime=RuntimeConfig(device="cpu", quiet=True))


def test_loss_falls_on_synthetic_with_true_labels(tmp_path: Path) -> None:
    """The engine learns the built-in synthetic set with true labels (a small conv net, max-pooled head)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    loader = BatchLoader(make_synthetic(2048, seed=0), 64, train=True, seed=0,
                         augment=AugmentConfig(crop_pad=0, flip=False))
    cfg = OptimConfig(epochs=6, lr=0.05, lr_min=0.0, weight_decay=5e-4)
    result = Trainer(model, cfg, loader, tmp_path, device=torch.device("cpu"), quiet=True).fit()
    losses = [r["loss"] for r in result.records]
    accuracies = [r["accuracy"] for r in result.records]
    assert losses[-1] < 0.6 * losses[0], losses
    assert accuracies[-1] > 60, accuracies


def test_random_labels_are_recorded_and_reproducible(tmp_path: Path) -> None:
    cfg = _config("random")
    cfg.optim.epochs = 1
    first = train_supernet(cfg, tmp_path / "a")
    second = train_supernet(cfg, tmp_path / "b")
    assert first.labels_sha256 == second.labels_sha256
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["labels_sha256"] == first.labels_sha256 and manifest["labels"] == "random"
    assert random_labels(0, 10, 512).shape == (512,)
