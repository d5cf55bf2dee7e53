"""RLNAS NB201 supernet training against the reference's `search_func` (tests/fixtures/rlnas/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from nascli.config import OptimConfig
from nascli.spaces.base import NetworkConfig, get_space
from nascli.train.engine import Trainer
from nascli.train.supernet import SampledPathGrads

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rlnas" / "nb201_supernet.json"


@pytest.fixture(autouse=True)
def default_float64() -> Any:
    """The fixtures were made with float64 as torch's default dtype (weights, θ and inputs drawn in float64)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


class FixedBatches:
    """The same batches every epoch, in order."""

    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def iterate(self, epoch: int, start_step: int = 0) -> Any:
        for index, (images, labels) in enumerate(self.batches[start_step:], start_step):
            yield images, labels, torch.full((labels.shape[0],), index)


def train(tmp_path: Path, path_grads: str) -> tuple[torch.nn.Module, Trainer, list[dict[str, Any]]]:
    """Two epochs of the 250-epoch RLNAS NB201 schedule on 3 fixed random-label batches (C=4, N=1, float64)."""
    space = get_space("nb201")
    cfg = NetworkConfig(num_classes=10, input_size=8, channels=4, layers=1)
    torch.manual_seed(0)
    model = space.supernet(cfg).double()
    torch.manual_seed(7)
    batches = [(torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.randint(0, 10, (4,))) for _ in range(3)]
    optim = OptimConfig(epochs=250, stop_after_epochs=2, lr=0.025, lr_min=0.001, momentum=0.9, nesterov=True,
                        weight_decay=5e-4, grad_clip=0, zero_grad_to_none=False)
    trainer = Trainer(model, optim, FixedBatches(batches), tmp_path, device=torch.device("cpu"), quiet=True,
                      path_sampler=space.path_sampler(0, cfg),
                      hooks=[SampledPathGrads(space)] if path_grads == "sampled" else [])
    return model, trainer, trainer.fit().records


def test_rlnas_nb201_supernet_steps_match_the_reference(tmp_path: Path) -> None:
    """Losses, LR and every weight after 6 steps; which weights carry momentum (the `none` = x·0 zero gradients)."""
    expected = json.loads(FIXTURE.read_text())
    model, trainer, records = train(tmp_path, "sampled")
    for record, reference in zip(records, expected["epochs"], strict=True):
        assert abs(record["lr"] - reference["lr"]) < 1e-15
        assert abs(record["loss"] - reference["loss"]) < 1e-10
    params = [p.detach() for p in model.parameters()]
    assert len(params) == len(expected["parameter_sums"])
    for param, total, norm in zip(params, expected["parameter_sums"].values(), expected["parameter_norms"].values(),
                                  strict=True):
        assert abs(float(param.sum()) - total) < 1e-9 and abs(float(param.norm()) - norm) < 1e-9
    momentum = [("momentum_buffer" in trainer.optimizer.state.get(p, {})) for p in model.parameters()]
    assert momentum == list(expected["momentum_present"].values())


def test_reachable_path_grads_skip_the_dead_node_convs_the_reference_decays(tmp_path: Path) -> None:
    """nascli's default leaves a conv whose node feeds only `none` edges without a gradient on its first use."""
    expected = json.loads(FIXTURE.read_text())
    if not expected["zero_first_gradient"]:
        pytest.skip("the replayed paths have no dead node")
    model, trainer, _ = train(tmp_path, "reachable")
    momentum = [("momentum_buffer" in trainer.optimizer.state.get(p, {})) for p in model.parameters()]
    assert momentum != list(expected["momentum_present"].values())
