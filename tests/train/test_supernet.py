"""train_supernet as a library call: learning on synthetic data, labels in the manifest."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from torch import nn

from nascli.config import DataConfig, ModelConfig, OptimConfig, RuntimeConfig, TrainSupernetConfig
from nascli.data.datasets import ImageSet
from nascli.data.labels import random_labels
from nascli.data.loader import AugmentConfig, BatchLoader
from nascli.data.pipeline import training_set
from nascli.data.synthetic import make_synthetic
from nascli.train.engine import Trainer
from nascli.train.supernet import train_supernet
from tests.conftest import require_shared


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


def test_streamed_image_folder_trains_with_the_same_labels_and_resumes_exactly(tmp_path: Path) -> None:
    """A folder too large for memory (here: forced with stream) trains from disk; a stop and --resume is exact."""
    folder = require_shared("cifar10-subset/imagefolder")
    data = DataConfig(dataset="imagefolder", root=str(folder), stream=True, image_size=16, batch_size=100,
                      labels="random", workers=0, crop_style="megvii", lighting=0.1, normalize=False)
    cfg = TrainSupernetConfig(data=data, model=ModelConfig(channels=4, layers=1),
                              optim=OptimConfig(epochs=2, lr=0.05, lr_min=0.0),
                              runtime=RuntimeConfig(device="cpu", quiet=True))
    full = train_supernet(cfg, tmp_path / "full")
    in_memory = training_set(dataclasses.replace(data, stream=False), cfg.seed)
    assert isinstance(in_memory.images, ImageSet) and full.labels_sha256 == in_memory.labels_sha256
    manifest = json.loads((tmp_path / "full" / "manifest.json").read_text())
    assert manifest["train_images"] == 5000 and manifest["config"]["data"]["stream"] is True
    stopped = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, stop_after_epochs=1))
    train_supernet(stopped, tmp_path / "resumed")
    train_supernet(cfg, tmp_path / "resumed", resume=True)
    ours = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)["model"]
    reference = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["model"]
    assert ours.keys() == reference.keys() and all(torch.equal(ours[k], reference[k]) for k in ours)
