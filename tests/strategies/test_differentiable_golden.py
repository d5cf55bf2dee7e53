"""Differentiable search against numbers produced by the original DARTS and DrNAS code (tests/fixtures/*/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from nascli.config import OptimConfig, StageConfig
from nascli.spaces.base import NetworkConfig, get_space
from nascli.strategies.differentiable import ArchitectureHook, ArchParameters, CyclingBatches, unrolled_arch_gradients
from nascli.strategies.progressive import StagePlan
from nascli.train.engine import Trainer, build_optimizer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def as_tensor(value: Any) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


@pytest.fixture(autouse=True)
def default_float64() -> Any:
    """The fixtures were made with float64 as torch's default dtype (weights, θ and inputs drawn in float64)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_second_order_architecture_gradient_matches_darts_architect() -> None:
    """quark0/darts `Architect._backward_step_unrolled` (η 0.025, momentum buffers set, wd 3e-4) on a tiny network."""
    expected = load("darts/second_order.json")
    torch.manual_seed(0)
    model = get_space("darts", variant="rlnas").supernet(NetworkConfig(
        num_classes=10, input_size=32, channels=4, layers=5, options={"affine": False, "pool_bn": True})).double()
    torch.manual_seed(1)
    arch = [(0.5 * torch.randn(14, 8, dtype=torch.float64)).requires_grad_() for _ in range(2)]
    torch.manual_seed(2)
    x_train, x_valid = torch.randn(3, 3, 16, 16, dtype=torch.float64), torch.randn(3, 3, 16, 16, dtype=torch.float64)
    y_train, y_valid = torch.tensor([1, 4, 9]), torch.tensor([0, 4, 2])
    torch.manual_seed(3)
    buffers = [1e-2 * torch.randn_like(p) for p in model.parameters()]
    optimizer = build_optimizer(model, OptimConfig(lr=0.025, momentum=0.9, nesterov=False, weight_decay=3e-4))
    for param, buffer in zip(model.parameters(), buffers, strict=True):
        optimizer.state[param]["momentum_buffer"] = buffer

    def loss(x: torch.Tensor, y: torch.Tensor) -> Any:
        weights = lambda: {"normal": F.softmax(arch[0], -1), "reduce": F.softmax(arch[1], -1)}  # noqa: E731
        return lambda: F.cross_entropy(model(x, weights()), y)

    grads = unrolled_arch_gradients(list(model.parameters()), arch, loss(x_train, y_train), loss(x_valid, y_valid),
                                    0.025, optimizer)
    torch.testing.assert_close(grads[0], as_tensor(expected["grad_normal"]), rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(grads[1], as_tensor(expected["grad_reduce"]), rtol=1e-6, atol=1e-12)


class FixedBatches:
    """The same batches every epoch, in order (the fixture replaced the reference's loaders by such lists)."""

    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def iterate(self, epoch: int, start_step: int = 0) -> Any:
        for index, (images, labels) in enumerate(self.batches[start_step:], start_step):
            yield images, labels, torch.full((labels.shape[0],), index)


def test_progressive_nb201_across_a_stage_boundary_matches_drnas(tmp_path: Path) -> None:
    """DrNAS 201-space progressive loop, [2, 2] epochs, K 4 → 2, 5 → 3 ops, θ frozen 1 epoch per stage, torch 1.3.0 LR,
    gradient clip 0.5 (binding here).

    Per epoch: the LR the optimizer ran at (the base LR in the first epoch of stage 2), the mean training loss and θ;
    then the pruning mask. The weight step's clip counts θ's gradient, as the reference's `model.parameters()` does.
    """
    expected = load("drnas/nb201_progressive.json")
    space = get_space("nb201")
    torch.manual_seed(0)
    model = space.supernet(NetworkConfig(num_classes=10, input_size=8, channels=8, layers=1,
                                         options={"partial_channels": 4})).double()
    arch = ArchParameters(space, "dirichlet")
    torch.manual_seed(1)
    arch.theta["cell"] = (0.3 * torch.randn(6, 5, dtype=torch.float64)).requires_grad_()
    torch.manual_seed(7)
    train = [(torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.randint(0, 10, (4,))) for _ in range(2)]
    valid = [(torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.randint(0, 10, (4,))) for _ in range(3)]
    plan = StagePlan([StageConfig(epochs=2, partial_channels=4), StageConfig(epochs=2, partial_channels=2, ops_kept=3)],
                     len(space.ops))
    optim = OptimConfig(epochs=4, lr=0.025, lr_min=0.001, momentum=0.9, nesterov=False, weight_decay=3e-4,
                        grad_clip=0.5, zero_grad_to_none=False)
    arch_optimizer = torch.optim.Adam(arch.parameters(), lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    hook = ArchitectureHook(space=space, arch=arch, optimizer=arch_optimizer, valid=CyclingBatches(FixedBatches(valid)),
                            plan=plan, freeze_epochs=1, seed=2, stage_lr="reference", weight_clip_with_arch=True)
    trainer = Trainer(model, optim, FixedBatches(train), tmp_path, device=torch.device("cpu"), quiet=True,
                      forward=lambda net, images, _path: net(images, arch.mixing_weights(), active=arch.active_ops()),
                      hooks=[hook], clip_extra=arch.parameters())
    torch.manual_seed(3)
    records = trainer.fit().records
    for record, reference in zip(records, expected["records"], strict=True):
        assert abs(record["lr"] - reference["lr"]) < 1e-15, (record["epoch"], record["lr"], reference["lr"])
        assert abs(record["loss"] - reference["loss"]) < 1e-9 * max(1.0, abs(reference["loss"]))
        torch.testing.assert_close(as_tensor(record["theta"]["cell"]), as_tensor(reference["theta"]),
                                   rtol=1e-8, atol=1e-12)
    assert arch.masks["cell"].tolist() == expected["mask"]
    torch.testing.assert_close(model.classifier.weight.detach(), as_tensor(expected["final_classifier"]),
                               rtol=1e-8, atol=1e-12)
