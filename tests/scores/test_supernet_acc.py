"""supernet-acc: BN statistics re-estimated as a plain average; accuracy of paths on held-out data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from nascli.config import DataConfig, ModelConfig, OptimConfig, RuntimeConfig, TrainSupernetConfig
from nascli.scores import ScoreContext, make_score
from nascli.scores.supernet_acc import recalibrate_batch_norm
from nascli.spaces import get_space
from nascli.train.supernet import train_supernet


class OneBN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x: torch.Tensor, path: object) -> torch.Tensor:
        return self.bn(x)


def test_recalibration_is_the_plain_average_of_batch_statistics() -> None:
    model = OneBN()
    model.bn.running_mean.fill_(100.0)
    batches = [torch.randn(8, 3, 4, 4) + i for i in range(3)]
    recalibrate_batch_norm(model, None, batches)
    expected = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches]).mean(0)
    torch.testing.assert_close(model.bn.running_mean, expected)
    assert not model.training


def test_scores_paths_of_a_trained_supernet(tmp_path: Path) -> None:
    cfg = TrainSupernetConfig(
        data=DataConfig(dataset="synthetic", synthetic_train=256, synthetic_test=128, batch_size=32),
        model=ModelConfig(channels=4, layers=1), optim=OptimConfig(epochs=2),
        runtime=RuntimeConfig(device="cpu", quiet=True))
    train_supernet(cfg, tmp_path / "sn")
    space = get_space("nb201")
    context = ScoreContext(space=space, supernet_dir=tmp_path / "sn", options={"bn_batches": 2})
    score = make_score("supernet-acc", context)
    archs = [space.arch_at(i) for i in (0, 6111, 9930)]
    first = score.score(archs)
    assert first.shape == (3,) and np.all((first >= 0) & (first <= 100))
    np.testing.assert_array_equal(first, score.score(archs))  # deterministic: BN re-estimated each time
    assert len(score.eval_data) == 1 and score.eval_data[0][1].shape[0] == 128
