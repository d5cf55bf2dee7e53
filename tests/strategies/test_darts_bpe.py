"""The BPE knobs of the `darts` strategy: pt.darts's Hessian divisor, the best-validation-epoch genotype."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from nascli.config import DifferentiableConfig, SearchConfig, build_config
from nascli.strategies.differentiable import unrolled_arch_gradients
from nascli.strategies.differentiable_search import best_validation_record
from nascli.strategies.runner import run_search


class _Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.w1 = nn.Parameter(torch.randn(3, 4, generator=generator, dtype=torch.float64))
        self.w2 = nn.Parameter(torch.randn(4, 3, generator=generator, dtype=torch.float64))

    def forward(self, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        a = torch.softmax(alpha, dim=0)
        h = x @ self.w1
        return (a[0] * torch.tanh(h) + a[1] * torch.sin(h) + a[2] * h) @ self.w2


def test_the_hessian_divisor_bug_shrinks_the_second_order_term_by_the_radius_squared() -> None:
    generator = torch.Generator().manual_seed(1)
    x_train, x_valid = (torch.randn(8, 3, generator=generator, dtype=torch.float64) for _ in range(2))
    y_train, y_valid = (torch.randint(0, 3, (8,), generator=generator) for _ in range(2))
    model = _Mixed()
    alpha = torch.tensor([0.2, -0.1, 0.4], dtype=torch.float64, requires_grad=True)
    eta = 0.1
    optimizer = torch.optim.SGD(model.parameters(), lr=eta)
    weights = list(model.parameters())

    def train_loss() -> torch.Tensor:
        return F.cross_entropy(model(x_train, alpha), y_train)

    def valid_loss() -> torch.Tensor:
        return F.cross_entropy(model(x_valid, alpha), y_valid)

    correct = unrolled_arch_gradients(weights, [alpha], train_loss, valid_loss, eta, optimizer)[0]
    buggy = unrolled_arch_gradients(weights, [alpha], train_loss, valid_loss, eta, optimizer,
                                    hessian_divisor_bug=True)[0]
    # the first term ∇α L_val(w', α) and v = ∇w' L_val at the virtual step w' = w − η ∇w L_train, by hand
    grads = torch.autograd.grad(train_loss(), weights)
    stepped = {name: (p - eta * g).detach().requires_grad_() for name, p, g in zip(("w1", "w2"), weights, grads,
                                                                                    strict=True)}
    loss = F.cross_entropy(torch.func.functional_call(model, stepped, (x_valid, alpha)), y_valid)
    first, *vector = torch.autograd.grad(loss, [alpha, *stepped.values()])
    radius = 0.01 / torch.cat([v.reshape(-1) for v in vector]).norm()
    assert not torch.allclose(correct, first)
    torch.testing.assert_close(buggy - first, (correct - first) * radius**2, rtol=1e-6, atol=1e-15)


def test_best_validation_record_is_the_first_epoch_with_the_highest_accuracy() -> None:
    records = [{"epoch": 0, "val_accuracy": 40.0}, {"epoch": 1, "val_accuracy": 55.0},
               {"epoch": 2, "val_accuracy": 55.0}, {"epoch": 3, "val_accuracy": 50.0}]
    assert best_validation_record(records)["epoch"] == 1
    settings = DifferentiableConfig()
    assert (settings.hessian_divisor_bug, settings.genotype_from) == (False, "last-epoch")


def test_a_search_reports_the_best_validation_epochs_genotype(tmp_path: Path) -> None:
    cfg = build_config(SearchConfig, {
        "space": "nb201", "strategy": "darts", "seed": 3, "runtime": {"device": "cpu", "quiet": True,
                                                                     "channels_last": False},
        "differentiable": {"data": {"dataset": "synthetic", "synthetic_train": 64, "batch_size": 16, "workers": 0,
                                    "eval_batch_size": 32},
                           "model": {"channels": 4, "layers": 1}, "stages": [{"epochs": 4}],
                           "trajectory_samples": 0, "genotype_from": "best-val-epoch",
                           "arch": {"lr": 0.3}},
    })
    run_search(cfg, tmp_path / "run")
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    best = best_validation_record(history)
    genotype = json.loads((tmp_path / "run" / "genotype.json").read_text())
    assert genotype["text"] == best["genotype"] and genotype["source"]["epoch"] == best["epoch"]
    assert genotype["scores"]["val_accuracy"] == best["val_accuracy"]
    assert genotype["bench"] == best["bench"]
