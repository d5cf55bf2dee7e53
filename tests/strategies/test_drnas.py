"""Differentiable search: Dirichlet/softmax mixing, KL, pruning, genotypes, second order, widening, resume, DDP."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.special import digamma, gammaln
from torch import nn

from nascli.config import OptimConfig, SearchConfig, StageConfig, build_config
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.darts import DartsGenotype
from nascli.strategies.differentiable import (
    ArchParameters,
    CyclingBatches,
    derive_genotype,
    unrolled_arch_gradients,
)
from nascli.strategies.progressive import StagePlan, prune, widen_supernet
from nascli.strategies.runner import run_search
from nascli.train.engine import build_optimizer

REPO = Path(__file__).resolve().parents[2]


# --- mixing weights ----------------------------------------------------------------------------------------


def test_dirichlet_weights_are_the_reference_draw_and_give_theta_gradients() -> None:
    torch.manual_seed(0)
    arch = ArchParameters(get_space("nb201"), "dirichlet")
    theta = arch.theta["cell"]
    assert theta.shape == (6, 5) and theta.abs().max() < 1e-2  # 1e-3·N(0,1)
    with torch.no_grad():
        theta.copy_(torch.randn(6, 5))
    state = torch.get_rng_state()
    weights = arch.mixing_weights()["cell"]
    torch.set_rng_state(state)
    reference = torch.distributions.Dirichlet(F.elu(theta) + 1).rsample()  # concentration ELU(θ) + 1
    assert torch.equal(weights, reference)
    assert torch.allclose(weights.sum(1), torch.ones(6))
    (weights * torch.arange(5.0)).sum().backward()
    assert theta.grad is not None and torch.isfinite(theta.grad).all() and theta.grad.abs().sum() > 0


def test_pathwise_gradient_matches_the_gradient_of_the_dirichlet_mean() -> None:
    torch.manual_seed(1)
    theta = torch.tensor([0.3, -0.4, 1.2, 0.0, -2.0], requires_grad=True)
    concentration = F.elu(theta) + 1
    draws = torch.distributions.Dirichlet(concentration.expand(200_000, 5)).rsample()
    draws[:, 2].mean().backward()
    estimate = theta.grad.clone()
    theta.grad = None
    concentration = F.elu(theta) + 1
    mean = concentration / concentration.sum()
    mean[2].backward()
    assert torch.allclose(estimate, theta.grad, atol=2e-3)


def test_masked_weights_are_zero_and_renormalised() -> None:
    for method in ("dirichlet", "softmax"):
        arch = ArchParameters(get_space("nb201"), method)
        with torch.no_grad():
            arch.theta["cell"].copy_(torch.randn(6, 5))
        arch.prune(3)
        weights = arch.mixing_weights()["cell"]
        mask = arch.masks["cell"]
        assert mask.sum(1).tolist() == [3] * 6
        assert (weights[~mask] == 0).all() and torch.allclose(weights.sum(1), torch.ones(6))
        probs = arch.probabilities()["cell"]
        kept_softmax = torch.softmax(arch.theta["cell"].detach().masked_fill(~mask, -math.inf), dim=1)
        assert np.allclose(probs, kept_softmax.numpy())


def test_kl_regulariser_is_the_closed_form() -> None:
    arch = ArchParameters(get_space("darts", variant="drnas"), "dirichlet")
    with torch.no_grad():
        for theta in arch.theta.values():
            theta.copy_(torch.randn_like(theta))
    expected = 0.0
    for theta in arch.theta.values():
        a = (F.elu(theta) + 1).detach().double().numpy()
        total = a.sum(1)
        # KL(Dir(a) ‖ Dir(1)) = lnΓ(Σa) − Σ lnΓ(a_i) − lnΓ(K) + Σ (a_i − 1)(ψ(a_i) − ψ(Σa))
        expected += float(np.sum(gammaln(total) - gammaln(a).sum(1) - gammaln(a.shape[1])
                                 + ((a - 1) * (digamma(a) - digamma(total)[:, None])).sum(1)))
    assert math.isclose(float(arch.kl_to_uniform().detach()), expected, rel_tol=1e-5)


# --- pruning and genotypes ------------------------------------------------------------------------------------


def test_pruning_keeps_the_strongest_and_pruned_ops_never_return() -> None:
    theta = torch.tensor([[0.5, 0.1, 0.9, -0.2, 0.3], [-1.0, -0.5, -0.7, 0.2, 0.0]], dtype=torch.float64)
    mask = prune(theta, 3, None)
    assert mask.tolist() == [[True, False, True, False, True], [False, True, False, True, True]]
    assert theta.tolist() == [[0.5, 0.0, 0.9, 0.0, 0.3], [0.0, -0.5, 0.0, 0.2, 0.0]]  # kept θ not reset
    theta[~mask] = 10.0  # pruned ops that would now win
    mask = prune(theta, 2, mask)
    assert mask.tolist() == [[True, False, True, False, False], [False, False, False, True, True]]


def test_nb201_genotype_is_the_argmax_per_edge() -> None:
    space = get_space("nb201")
    probs = np.full((6, 5), 0.1)
    chosen = [3, 0, 1, 4, 2, 3]
    probs[np.arange(6), chosen] = 0.6
    arch = derive_genotype(space, {"cell": probs})
    expected = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    assert space.format(arch) == expected


def test_darts_genotype_follows_the_parse_rule() -> None:
    drnas = get_space("darts", variant="drnas")  # ops: max, avg, skip, sep3, sep5, dil3, dil5
    probs = np.full((14, 7), 0.01)
    strong = {0: (3, 0.5), 1: (4, 0.4), 2: (0, 0.2), 3: (6, 0.7), 4: (2, 0.3), 7: (5, 0.9), 8: (1, 0.8),
              10: (3, 0.6), 13: (2, 0.65)}
    for edge, (op, value) in strong.items():
        probs[edge, op] = value
    arch = derive_genotype(drnas, {"normal": probs, "reduce": probs})
    expected = (("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("dil_conv_5x5", 1), ("skip_connect", 2),
                ("dil_conv_3x3", 2), ("avg_pool_3x3", 3), ("skip_connect", 4), ("sep_conv_3x3", 1))
    assert arch == DartsGenotype(expected, (2, 3, 4, 5), expected, (2, 3, 4, 5))
    rlnas = get_space("darts", variant="rlnas")  # `none` is never chosen, even when strongest
    with_none = np.concatenate([np.full((14, 1), 0.99), probs], axis=1)
    assert derive_genotype(rlnas, {"normal": with_none, "reduce": with_none}) == arch


def test_edge_normalisation_weights_sum_to_one_per_node() -> None:
    arch = ArchParameters(get_space("darts", variant="rlnas"), "softmax", edge_normalization=True)
    edges = arch.edge_weights()["normal"]
    assert edges.shape == (14,)
    assert [round(float(edges[a:b].sum().detach()), 6) for a, b in ((0, 2), (2, 5), (5, 9), (9, 14))] == [1.0] * 4


# --- second order -------------------------------------------------------------------------------------------


class _TinyMixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.w1 = nn.Parameter(torch.randn(3, 4, generator=generator, dtype=torch.float64) * 0.5)
        self.w2 = nn.Parameter(torch.randn(4, 3, generator=generator, dtype=torch.float64) * 0.5)

    def forward(self, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        a = torch.softmax(alpha, dim=0)
        h = x @ self.w1
        return (a[0] * torch.tanh(h) + a[1] * torch.sin(h) + a[2] * h) @ self.w2


@pytest.mark.parametrize("with_momentum", [False, True])
def test_second_order_step_matches_finite_differences_of_the_unrolled_loss(with_momentum: bool) -> None:
    generator = torch.Generator().manual_seed(1)
    x_train, x_valid = (torch.randn(8, 3, generator=generator, dtype=torch.float64) for _ in range(2))
    y_train, y_valid = (torch.randint(0, 3, (8,), generator=generator) for _ in range(2))
    model = _TinyMixed()
    alpha = torch.tensor([0.2, -0.1, 0.4], dtype=torch.float64, requires_grad=True)
    eta, momentum, decay = 0.1, 0.9, 3e-4
    optimizer = torch.optim.SGD(model.parameters(), lr=eta, momentum=momentum, weight_decay=decay)
    if with_momentum:  # one real step, so that momentum buffers exist
        F.cross_entropy(model(x_train, alpha.detach()), y_train).backward()
        optimizer.step()
        optimizer.zero_grad()
    weights = list(model.parameters())
    before = [w.detach().clone() for w in weights]
    ours = unrolled_arch_gradients(weights, [alpha], lambda: F.cross_entropy(model(x_train, alpha), y_train),
                                   lambda: F.cross_entropy(model(x_valid, alpha), y_valid), eta, optimizer)[0]
    assert all(torch.equal(w, b) for w, b in zip(weights, before, strict=True))  # weights restored

    def unrolled_valid_loss(a: torch.Tensor) -> float:
        w = [p.detach().clone().requires_grad_() for p in weights]
        loss = F.cross_entropy(torch.func.functional_call(model, {"w1": w[0], "w2": w[1]}, (x_train, a)), y_train)
        grads = torch.autograd.grad(loss, w)
        stepped = {}
        for name, p, g in zip(("w1", "w2"), w, grads, strict=True):
            step = g + decay * p
            buffer = optimizer.state.get(getattr(model, name), {}).get("momentum_buffer")
            if buffer is not None:
                step = step + momentum * buffer
            stepped[name] = (p - eta * step).detach()
        return float(F.cross_entropy(torch.func.functional_call(model, stepped, (x_valid, a)), y_valid))

    eps = 1e-6
    truth = torch.zeros(3, dtype=torch.float64)
    for i in range(3):
        shift = torch.zeros(3, dtype=torch.float64)
        shift[i] = eps
        base = alpha.detach()
        truth[i] = (unrolled_valid_loss(base + shift) - unrolled_valid_loss(base - shift)) / (2 * eps)
    first_order = torch.autograd.grad(F.cross_entropy(model(x_valid, alpha), y_valid), alpha)[0]
    assert torch.allclose(ours, truth, rtol=1e-4, atol=1e-8)
    assert not torch.allclose(first_order, truth, rtol=1e-3)  # the second-order term matters here


# --- progressive learning --------------------------------------------------------------------------------------


def test_stage_plan_checks_and_locates_epochs() -> None:
    plan = StagePlan([StageConfig(2, 4), StageConfig(3, 2, 3)], num_ops=5)
    assert plan.total_epochs == 5
    assert [plan.at(e).index for e in range(5)] == [0, 0, 1, 1, 1]
    assert plan.next_after(1).partial_channels == 2 and plan.next_after(0) is None and plan.next_after(4) is None
    for stages in ([StageConfig(2, 2), StageConfig(2, 4)], [StageConfig(2, 4, 3)],
                   [StageConfig(2, 4), StageConfig(2, 2, 6)], []):
        with pytest.raises(NasInputError):
            StagePlan(stages, num_ops=5)
    with pytest.raises(NasInputError, match="epochs must be at least 1"):  # refused when the recipe is read
        StageConfig(0)


def test_widening_keeps_shapes_and_carries_the_momentum() -> None:
    torch.manual_seed(0)
    space = get_space("darts", variant="drnas")
    net = space.supernet(NetworkConfig(num_classes=4, channels=8, layers=3,
                                       options={"partial_channels": 4, "affine": False}))
    cfg = OptimConfig(lr=0.1, momentum=0.9, nesterov=False, weight_decay=3e-4)
    optimizer = build_optimizer(net, cfg)
    weights = {kind: torch.softmax(torch.randn(14, 7), dim=-1) for kind in ("normal", "reduce")}
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 4, (4,))
    F.cross_entropy(net(x, weights), y).backward()
    optimizer.step()
    conv = net.cells[0].edges[3]["sep_conv_3x3"].op[2]  # a pointwise conv, 2 → 2 channels
    old_buffer = optimizer.state[conv.weight]["momentum_buffer"].clone()
    untouched = net.cells[0].preprocess1[1].weight
    untouched_buffer = optimizer.state[untouched]["momentum_buffer"].clone()
    optimizer = widen_supernet(net, optimizer, cfg, 2, torch.Generator().manual_seed(0))
    conv = net.cells[0].edges[3]["sep_conv_3x3"].op[2]
    assert conv.weight.shape == (4, 4, 1, 1)
    assert {id(p) for g in optimizer.param_groups for p in g["params"]} == {id(p) for p in net.parameters()}
    for param in net.parameters():
        state = optimizer.state.get(param)
        if state:
            assert state["momentum_buffer"].shape == param.shape
    new_buffer = optimizer.state[conv.weight]["momentum_buffer"]
    assert torch.equal(new_buffer[:2, :2], old_buffer)
    assert torch.equal(optimizer.state[untouched]["momentum_buffer"], untouched_buffer)
    optimizer.zero_grad()
    F.cross_entropy(net(x, weights), y).backward()
    optimizer.step()


def test_cycling_batches_continue_from_a_saved_position() -> None:
    class Loader:
        def iterate(self, epoch: int, start_step: int = 0):  # noqa: ANN202
            for step in range(start_step, 3):
                yield torch.tensor([epoch]), torch.tensor([step]), None

    batches = CyclingBatches(Loader())
    seen = [tuple(int(t) for t in batches.next()) for _ in range(4)]
    assert seen == [(0, 0), (0, 1), (0, 2), (1, 0)]
    resumed = CyclingBatches(Loader())
    resumed.load_state_dict(batches.state_dict())
    assert [tuple(int(t) for t in resumed.next()) for _ in range(3)] == [(1, 1), (1, 2), (2, 0)]


# --- end to end ---------------------------------------------------------------------------------------------


def tiny_search(strategy: str = "drnas", space: str = "nb201", **differentiable: object) -> SearchConfig:
    """A 2 + 2-epoch progressive search on 64 synthetic images (C=8, one cell per stage)."""
    settings = {
        "data": {"dataset": "synthetic", "synthetic_train": 64, "batch_size": 16, "eval_batch_size": 32},
        "model": {"channels": 8, "layers": 1 if space == "nb201" else 3},
        "stages": [{"epochs": 2, "partial_channels": 4}, {"epochs": 2, "partial_channels": 2, "ops_kept": 3}],
        "freeze_epochs": 1,
        "trajectory_samples": 20,
        **differentiable,
    }
    data = {"space": space, "strategy": strategy, "seed": 2, "differentiable": settings,
            "runtime": {"device": "cpu", "quiet": True, "channels_last": False}}
    if space == "darts":
        data["space_options"] = {"variant": "drnas" if strategy == "drnas" else "rlnas"}
    return build_config(SearchConfig, data)


def test_tiny_search_resumes_identically_across_a_stage_boundary(tmp_path: Path) -> None:
    full = run_search(tiny_search(), tmp_path / "full")
    stopped = run_search(tiny_search(optim={"stop_after_epochs": 2}), tmp_path / "resumed")
    assert stopped.evaluated == 2 and not (tmp_path / "resumed" / "genotype.json").exists()
    resumed = run_search(tiny_search(), tmp_path / "resumed", resume=True)
    assert torch.equal(full.arch_parameters["cell"], resumed.arch_parameters["cell"])
    assert full.best == resumed.best
    history = [json.loads(line) for line in (tmp_path / "full" / "history.jsonl").read_text().splitlines()]
    again = [json.loads(line) for line in (tmp_path / "resumed" / "history.jsonl").read_text().splitlines()]
    assert [r["theta"] for r in history] == [r["theta"] for r in again]
    assert [r["loss"] for r in history] == [r["loss"] for r in again]
    assert [(r["stage"], r["partial_channels"], r["ops_kept"]) for r in history] == [
        (0, 4, 5), (0, 4, 5), (1, 2, 3), (1, 2, 3)]
    assert [r["arch_frozen"] for r in history] == [True, False, True, False]
    assert history[0]["theta"] == history[0]["theta"] and history[2]["masks"]["cell"][0].count(True) == 3
    genotype = json.loads((tmp_path / "full" / "genotype.json").read_text())
    assert genotype["text"] == history[-1]["genotype"] and genotype["index"] == history[-1]["genotype_index"]
    for record in history:
        assert record["sampled_min"] <= record["sampled_mean"] <= record["sampled_max"]
        assert record["mean_genotype_acc"] == record["bench"]["cifar10"]


def test_darts_search_on_the_darts_space_runs_second_order(tmp_path: Path) -> None:
    cfg = tiny_search("darts", "darts", order="second", edge_normalization=True, model={"channels": 4, "layers": 3},
                      stages=[{"epochs": 1, "partial_channels": 2}], freeze_epochs=0, valid_batches=1)
    result = run_search(cfg, tmp_path / "darts")
    assert isinstance(result.best, DartsGenotype)
    manifest = json.loads((tmp_path / "darts" / "manifest.json").read_text())
    assert manifest["status"] == "done" and manifest["strategy"] == "darts"
    assert result.records[0]["arch_steps"] == 2


def test_bad_settings_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(NasInputError, match="kl"):
        run_search(tiny_search("darts", regularizer="kl"), tmp_path / "a")
    with pytest.raises(NasInputError, match="edge normalisation"):
        run_search(tiny_search(edge_normalization=True), tmp_path / "b")
    with pytest.raises(NasInputError, match="first stage"):
        run_search(tiny_search(stages=[{"epochs": 1, "ops_kept": 2}]), tmp_path / "c")
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun is not installed beside the interpreter")
def test_two_process_torchrun_keeps_ranks_in_agreement(tmp_path: Path) -> None:
    torchrun = Path(sys.executable).parent / "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [str(torchrun), "--standalone", "--nproc_per_node", "2",
               str(REPO / "tests" / "strategies" / "ddp_drnas_worker.py"), str(tmp_path / "run"), str(tmp_path)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in (0, 1)]
    assert len(ranks[0]["steps"]) == len(ranks[1]["steps"]) > 0
    for theta_0, theta_1 in zip(ranks[0]["steps"], ranks[1]["steps"], strict=True):
        assert torch.equal(theta_0, theta_1)
    assert ranks[0]["genotype"] == ranks[1]["genotype"]
    assert ranks[0]["world_size"] == 2
    genotype = json.loads((tmp_path / "run" / "genotype.json").read_text())
    assert genotype["text"] == ranks[0]["genotype"]


def test_search_on_real_cifar10_images_uses_the_reference_halves(tmp_path: Path) -> None:
    from tests.conftest import require_shared

    root = require_shared("cifar10-subset")
    cfg = tiny_search(
        data={"dataset": "cifar10", "root": str(root), "batch_size": 256, "eval_batch_size": 256},
        model={"channels": 4, "layers": 1}, stages=[{"epochs": 1, "partial_channels": 2}], freeze_epochs=0,
        valid_batches=1,
    )
    result = run_search(cfg, tmp_path / "real")
    manifest = json.loads((tmp_path / "real" / "manifest.json").read_text())
    assert manifest["halves"] == [2500, 2500]  # first and second 50% of the 5,000 training images
    assert result.records[0]["arch_steps"] == 2500 // 256
    assert 0.0 <= result.records[0]["val_accuracy"] <= 100.0


def test_search_forward_knows_the_active_ops_from_the_masks_without_reading_weights(monkeypatch) -> None:
    """The mixed forward skips pruned ops from host-side masks (no device sync per step); same output."""
    space = get_space("nb201")
    torch.manual_seed(0)
    model = space.supernet(NetworkConfig(num_classes=10, channels=4, layers=1, options={"partial_channels": 2}))
    arch = ArchParameters(space, "dirichlet")
    arch.prune(3)
    weights = arch.mixing_weights(detach=True)
    assert arch.active_ops() == {kind: (w != 0).tolist() for kind, w in weights.items()}
    x = torch.randn(2, 3, 16, 16)
    model.eval()
    expected = model(x, weights)
    import nascli.spaces.nb201 as nb201

    def no_host_read(_weights):  # type: ignore[no-untyped-def]
        raise AssertionError("the forward read the weights on the host")

    monkeypatch.setattr(nb201, "active_ops", no_host_read)
    torch.testing.assert_close(model(x, weights, active=arch.active_ops()), expected, rtol=0, atol=0)
