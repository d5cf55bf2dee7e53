"""The training loop: learning, exact resume after an interrupt, the reference zero_grad semantics."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

from nascli.artifacts import read_jsonl
from nascli.config import OptimConfig
from nascli.train.engine import Trainer, TrainHook, TrainingInterrupted


class TensorBatches:
    """A tiny deterministic batch source: order depends only on (seed, epoch)."""

    def __init__(self, n: int = 256, batch: int = 32, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 8, generator=gen)
        self.y = (self.x[:, 0] + 0.5 * self.x[:, 1] > 0).long()
        self.batch, self.seed = batch, seed

    def __len__(self) -> int:
        return len(self.x) // self.batch

    def iterate(self, epoch: int, start_step: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(self.seed * 1000 + epoch))
        for step in range(start_step, len(self)):
            idx = order[step * self.batch:(step + 1) * self.batch]
            yield self.x[idx], self.y[idx], idx


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))


def make_trainer(run_dir: Path, hooks: tuple[TrainHook, ...] = ()) -> Trainer:
    cfg = OptimConfig(epochs=4, lr=0.1, lr_min=0.0, weight_decay=1e-4, schedule="cosine", schedule_unit="step",
                      grad_clip=5.0)
    return Trainer(make_model(), cfg, TensorBatches(), run_dir, device=torch.device("cpu"), quiet=True,
                   hooks=hooks)


def test_loss_falls_and_log_has_one_record_per_epoch(tmp_path: Path) -> None:
    result = make_trainer(tmp_path).fit()
    losses = [r["loss"] for r in result.records]
    assert losses[-1] < 0.6 * losses[0]
    assert [r["epoch"] for r in read_jsonl(tmp_path / "log.jsonl")] == [0, 1, 2, 3]
    assert result.records[-1]["accuracy"] > 90


class SignalAt(TrainHook):
    """Sends SIGTERM to this process at a given (epoch, step), as `kill` would."""

    def __init__(self, epoch: int, step: int) -> None:
        self.at = (epoch, step)

    def on_step_start(self, trainer: Trainer, epoch: int, step: int) -> None:
        if (epoch, step) == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_mid_epoch_then_resume_is_bit_identical(tmp_path: Path) -> None:
    reference = make_trainer(tmp_path / "ref")
    reference.fit()
    interrupted = make_trainer(tmp_path / "run", hooks=(SignalAt(2, 3),))
    with pytest.raises(TrainingInterrupted, match="epoch 3, step 4"):
        interrupted.fit()
    resumed = make_trainer(tmp_path / "run")
    resumed.fit(resume=True)
    for (name, a), (_, b) in zip(reference.model.state_dict().items(), resumed.model.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name
    ref_log = read_jsonl(tmp_path / "ref" / "log.jsonl")
    run_log = read_jsonl(tmp_path / "run" / "log.jsonl")
    assert [r["loss"] for r in ref_log] == [r["loss"] for r in run_log]


def test_reference_zero_grad_keeps_decaying_weights_off_the_path(tmp_path: Path) -> None:
    """PyTorch 1.x zero_grad (the references) zeroes gradients in place: unused weights still decay."""

    class TwoHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(8, 2), nn.Linear(8, 2)

        def forward(self, x: torch.Tensor, path: str) -> torch.Tensor:
            return self.a(x) if path == "a" else self.b(x)

    class Alternate:
        def __init__(self) -> None:
            self.n = 0

        def sample(self) -> str:
            self.n += 1
            return "a" if self.n == 1 else "b"

        def state_dict(self) -> dict:
            return {"n": self.n}

        def load_state_dict(self, state: dict) -> None:
            self.n = state["n"]

    class Snapshot(TrainHook):
        def on_step_start(self, trainer: Trainer, epoch: int, step: int) -> None:
            if step == 1:  # after step 0 (path 'a'), before the steps on path 'b'
                self.after_a = trainer.model.a.weight.detach().clone()

    for to_none, expect_change in ((False, True), (True, False)):
        torch.manual_seed(0)
        model = TwoHeads()
        snapshot = Snapshot()
        cfg = OptimConfig(epochs=1, lr=0.1, weight_decay=0.1, schedule="constant", zero_grad_to_none=to_none)
        trainer = Trainer(model, cfg, TensorBatches(n=96), tmp_path / str(to_none), device=torch.device("cpu"),
                          quiet=True, path_sampler=Alternate(), hooks=(snapshot,))
        trainer.fit()
        assert (not torch.equal(snapshot.after_a, model.a.weight.detach())) is expect_change


def test_resume_restores_which_weights_hold_gradients(tmp_path: Path) -> None:
    """In-place zero_grad keeps decaying a weight once used; a resumed run must do the same (exactness)."""

    class TwoHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.a, self.b = nn.Linear(8, 2), nn.Linear(8, 2)

        def forward(self, x: torch.Tensor, path: str) -> torch.Tensor:
            return self.a(x) if path == "a" else self.b(x)

    class FirstEpochA:
        def __init__(self) -> None:
            self.n = 0

        def sample(self) -> str:
            self.n += 1
            return "a" if self.n <= 8 else "b"  # epoch 0 uses 'a', later epochs only 'b'

        def state_dict(self) -> dict:
            return {"n": self.n}

        def load_state_dict(self, state: dict) -> None:
            self.n = state["n"]

    def trainer(folder: str, epochs: int) -> Trainer:
        cfg = OptimConfig(epochs=3, stop_after_epochs=epochs, lr=0.1, weight_decay=0.1, schedule="constant")
        return Trainer(TwoHeads(), cfg, TensorBatches(), tmp_path / folder, device=torch.device("cpu"), quiet=True,
                       path_sampler=FirstEpochA())

    straight = trainer("straight", 3)
    straight.fit()
    trainer("resumed", 1).fit()
    resumed = trainer("resumed", 3)
    resumed.fit(resume=True)
    assert torch.equal(straight.model.a.weight, resumed.model.a.weight)
