"""`supernet-acc`: a path's accuracy with inherited supernet weights, after re-estimating BN statistics
on a few training batches (SPOS practice), on a held-out split with true labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from nascli.config import DataConfig, build_config
from nascli.data.pipeline import eval_loader, evaluation_set, train_loader, training_set
from nascli.scores.base import SCORES, Score, ScoreContext
from nascli.scores.supernet_io import load_supernet_pair
from nascli.spaces.base import Architecture
from nascli.train.distributed import DistInfo


def recalibrate_batch_norm(model: nn.Module, path: object, batches: Sequence[torch.Tensor]) -> None:
    """Reset every BN's running statistics and re-estimate them as a plain average over `batches`."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    with torch.no_grad():
        for images in batches:
            model(images, path)
    model.eval()


@SCORES.register("supernet-acc")
class SupernetAccuracyScore(Score):
    """Top-1 accuracy (%) of the path on held-out images with inherited weights and re-estimated BN."""

    name = "supernet-acc"
    needs = frozenset({"supernet"})
    description = "accuracy (%) of the path with inherited weights after BN re-estimation"

    def __init__(self, context: ScoreContext) -> None:
        super().__init__(context)
        pair = load_supernet_pair(context.supernet_dir, context.space, need_initial=False)
        self.model = pair.trained.to(context.device)
        data_settings = dict(pair.manifest.get("config", {}).get("data", {}))
        data_settings.update(labels="true")
        data_settings.update(context.options.get("data", {}))
        if context.dataset:
            data_settings["dataset"] = context.dataset
        data_cfg = build_config(DataConfig, data_settings, "supernet-acc data")
        device, dist = context.device, DistInfo()
        bn_batches = int(context.options.get("bn_batches", 10))
        eval_batches = context.options.get("eval_batches")
        train_images = training_set(data_cfg, context.seed).images
        loader = train_loader(train_images, data_cfg, context.seed, device, dist)
        self.bn_images = [x for x, _, _ in _take(loader.iterate(0), bn_batches)]
        held_out = evaluation_set(data_cfg, context.seed)
        batches = eval_loader(held_out, data_cfg, device, dist).iterate(0)
        self.eval_data = list(_take(batches, int(eval_batches) if eval_batches else None))

    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Accuracy of each architecture, one BN re-estimation each."""
        results = []
        for arch in archs:
            recalibrate_batch_norm(self.model, arch, self.bn_images)
            correct = torch.zeros((), dtype=torch.float64, device=self.context.device)
            total = 0
            with torch.no_grad():
                for images, labels, _ in self.eval_data:
                    correct += (self.model(images, arch).argmax(1) == labels).sum()
                    total += labels.shape[0]
            results.append(100.0 * float(correct) / max(total, 1))
        return np.array(results, dtype=np.float64)


def _take(iterable, count):  # type: ignore[no-untyped-def]
    for i, item in enumerate(iterable):
        if count is not None and i >= count:
            return
        yield item
