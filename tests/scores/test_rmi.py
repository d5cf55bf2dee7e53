"""The `rmi` score: linear CKA, the lowest-loss batch, the one-batch training, order independence and resume."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nascli.config import RmiConfig, SearchConfig, build_config
from nascli.errors import NasInputError
from nascli.networks import build_network
from nascli.scores.base import ScoreContext, make_score
from nascli.scores.candidates import candidate_seed
from nascli.scores.rmi import BATCH_FILE, RmiBatch, candidate_loss, linear_cka, select_batch, taps_and_logits
from nascli.spaces.base import NetworkConfig, get_space


def hsic_cka(x: np.ndarray, y: np.ndarray) -> float:
    """CKA in the HSIC form with an explicit centring matrix H (methods/rminas.md §2.3), in float64."""
    x, y = x.reshape(len(x), -1).astype(np.float64), y.reshape(len(y), -1).astype(np.float64)
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, lm = x @ x.T, y @ y.T

    def hsic(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.trace(a @ h @ b @ h))

    return hsic(k, lm) / math.sqrt(hsic(k, k) * hsic(lm, lm))


def test_linear_cka_matches_the_hsic_form_and_its_invariances() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3, 4, 4))
    y = x.reshape(12, -1)[:, :20] @ rng.normal(size=(20, 7)) + 0.5 * rng.normal(size=(12, 7))
    tx, ty = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    value = float(linear_cka(tx, ty))
    assert value == pytest.approx(hsic_cka(x, y), rel=1e-10)
    assert 0.05 < value < 0.99
    flat = tx.reshape(12, -1)
    q, _ = torch.linalg.qr(torch.tensor(rng.normal(size=(48, 48))))
    assert float(linear_cka(flat @ q, ty)) == pytest.approx(value, rel=1e-10)  # orthogonal transform
    assert float(linear_cka(3.7 * tx, 0.2 * ty)) == pytest.approx(value, rel=1e-10)  # isotropic scale
    assert float(linear_cka(tx, tx)) == pytest.approx(1.0, rel=1e-12)
    assert float(linear_cka(tx.float(), ty.float())) == pytest.approx(value, rel=1e-4)  # float32 as trained


class _FixedLogits(nn.Module):
    """A 'teacher' whose logits are given per image (images carry their row number in pixel 0)."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def stage_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x, 2 * x, x.flip(1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits[x[:, 0, 0, 0].long()]


def test_the_batch_keeps_exactly_the_lowest_teacher_loss_images() -> None:
    generator = torch.Generator().manual_seed(1)
    count, keep = 40, 9
    logits = torch.randn(count, 5, generator=generator) * 3
    labels = torch.randint(0, 5, (count,), generator=generator)
    images = torch.randn(count, 3, 4, 4, generator=generator)
    images[:, 0, 0, 0] = torch.arange(count).float()
    losses = F.cross_entropy(logits, labels, reduction="none").numpy()
    batch = select_batch(_FixedLogits(logits), images, labels, torch.arange(100, 100 + count), keep, {})
    expected = np.argsort(losses)[:keep]
    assert sorted(batch.indices.tolist()) == sorted((100 + expected).tolist())
    assert torch.equal(batch.labels, labels[batch.indices - 100])
    assert np.allclose(np.sort(batch.teacher_losses.numpy()), np.sort(losses)[:keep])
    assert torch.equal(batch.teacher_features[1], 2 * images[batch.indices - 100])


def _hand_rolled_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, teacher: list[torch.Tensor],
                      cfg: RmiConfig) -> float:
    """The reference's loop written out: SGD, one step per 'epoch', the loss of the forward at OBSERVE_EPO, with
    CKA in the explicit-H form."""
    optimizer = torch.optim.SGD(model.parameters(), cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    n = images.shape[0]
    h = torch.eye(n) - torch.ones(n, n) / n
    model.train()
    for epoch in range(cfg.steps):
        optimizer.zero_grad()
        taps = model.stage_outputs(images)
        logits = model.classifier(model.global_pooling(taps[-1]).flatten(1))
        ckas = []
        for s, t in zip(taps, teacher, strict=True):
            k, lm = s.reshape(n, -1) @ s.reshape(n, -1).T, t.reshape(n, -1) @ t.reshape(n, -1).T
            norm = torch.sqrt(torch.trace(k @ h @ k @ h) * torch.trace(lm @ h @ lm @ h))
            ckas.append(torch.trace(k @ h @ lm @ h) / norm)
        loss = cfg.beta * (3 - sum(ckas)) + (1 - cfg.beta) * F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        if epoch == cfg.observe_step:
            return float(loss.detach())
    raise AssertionError


def test_the_candidate_loss_equals_a_hand_rolled_loop_over_the_same_steps() -> None:
    space = get_space("nb201")
    arch = space.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")
    generator = torch.Generator().manual_seed(2)
    images = torch.randn(6, 3, 8, 8, generator=generator)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    teacher = [torch.randn(6, 4, 8, 8, generator=generator), torch.randn(6, 5, 4, 4, generator=generator),
               torch.randn(6, 7, 2, 2, generator=generator)]
    cfg = RmiConfig(steps=5, observe_step=3, lr=0.05)
    net = NetworkConfig(num_classes=3, channels=4, layers=1, input_size=8)

    def fresh() -> nn.Module:
        torch.manual_seed(candidate_seed(7, space.format(arch)))
        return space.network(arch, net)

    batch = RmiBatch(images, labels, torch.arange(6), teacher, torch.zeros(6), {})
    ours = candidate_loss(fresh(), batch, cfg)
    assert ours == pytest.approx(_hand_rolled_loss(fresh(), images, labels, teacher, cfg), rel=1e-4)
    assert ours != pytest.approx(candidate_loss(fresh(), batch, RmiConfig(steps=5, observe_step=2, lr=0.05)))


class _NanNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))

    def taps_and_logits(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        bad = x * self.weight * math.nan
        return [bad, bad, bad], bad.flatten(1)[:, :3]


def test_a_nan_loss_counts_as_infinitely_bad() -> None:
    batch = RmiBatch(torch.randn(4, 3, 2, 2), torch.tensor([0, 1, 2, 0]), torch.arange(4), [torch.randn(4, 2)] * 3,
                     torch.zeros(4), {})
    assert candidate_loss(_NanNet(), batch, RmiConfig(steps=3, observe_step=1)) == math.inf


def _search_config(tmp_path: Path, teacher: Path, **rmi: object) -> SearchConfig:
    return build_config(SearchConfig, {"seed": 7, "rmi": {
        "teacher": str(teacher), "teacher_network": "resnet20", "batch": 8, "pool_factor": 4, "steps": 5,
        "observe_step": 2,
        "model": {"channels": 4, "layers": 1},
        "data": {"dataset": "synthetic", "synthetic_train": 64, "normalization": None}, **rmi}})


def test_the_score_is_the_negated_loss_independent_of_order_and_the_batch_is_kept(tmp_path: Path) -> None:
    teacher = tmp_path / "resnet20.th"
    torch.save({"state_dict": build_network("resnet20", 10, seed=0).state_dict()}, teacher)
    space = get_space("nb201")
    archs = [space.arch_at(i) for i in (5, 777, 12000)]
    run = tmp_path / "search"
    run.mkdir()
    cfg = _search_config(tmp_path, teacher)
    score = make_score("rmi", ScoreContext(space=space, seed=7, run_dir=run, config=cfg))
    forward = score.score(archs)
    assert np.all(forward < 0) and np.array_equal(forward, -score.losses(archs))
    saved = torch.load(run / BATCH_FILE, weights_only=True)
    assert saved["images"].shape == (8, 3, 32, 32) and len(saved["teacher_features"]) == 3
    # a new process (a resumed search) reads the saved batch and gets the same scores in any order
    again = make_score("rmi", ScoreContext(space=space, seed=7, run_dir=run, config=cfg))
    assert np.array_equal(again.score(archs[::-1]), forward[::-1])
    assert torch.equal(again.batch.images, saved["images"])
    other_seed = make_score("rmi", ScoreContext(space=space, seed=8, run_dir=tmp_path, config=cfg))
    assert not np.array_equal(other_seed.score(archs[:1]), forward[:1])


def test_the_score_needs_a_teacher() -> None:
    with pytest.raises(NasInputError, match="--teacher"):
        make_score("rmi", ScoreContext(space=get_space("nb201"), config=SearchConfig()))
    with pytest.raises(NasInputError, match="observe_step"):
        RmiConfig(steps=10, observe_step=10)


def test_the_students_taps_are_the_reference_cells() -> None:
    """NB201 C=16 N=5: cell 4, cell 10, lastact; DARTS C=16 L=8: cells 1, 4, 7 (methods/rminas.md §2.2)."""
    x = torch.randn(2, 3, 32, 32)
    nb201 = get_space("nb201")
    model = nb201.network(nb201.arch_at(100), NetworkConfig(num_classes=10, channels=16, layers=5))
    darts = get_space("darts")
    cells = darts.network(darts.sample(np.random.default_rng(0)), NetworkConfig(num_classes=10, channels=16, layers=8))
    with torch.no_grad():
        assert [tuple(t.shape[1:]) for t in model.stage_outputs(x)] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
        taps, logits = taps_and_logits(cells.eval(), x)
        outputs, s0, s1 = [], *cells._stem(x)
        for cell in cells.cells:
            s0, s1 = s1, cell(s0, s1, 0.0)
            outputs.append(s1)
        assert all(torch.equal(t, outputs[i]) for t, i in zip(taps, (1, 4, 7), strict=True))
        assert [tuple(t.shape[1:]) for t in taps] == [(64, 32, 32), (128, 16, 16), (256, 8, 8)]
        assert torch.equal(logits, cells(x))


def test_a_darts_candidate_is_seeded_by_its_canonical_form(tmp_path: Path) -> None:
    """The same DARTS cell written with a node's two edges swapped is one candidate: same seed, same weights, also
    when the first candidate is the one whose network settings build the fixed batch."""
    teacher = tmp_path / "resnet20.th"
    torch.save({"state_dict": build_network("resnet20", 10, seed=0).state_dict()}, teacher)
    space = get_space("darts")
    cfg = _search_config(tmp_path, teacher, model={"channels": 4, "layers": 3})
    score = make_score("rmi", ScoreContext(space=space, seed=7, run_dir=tmp_path, config=cfg))
    genotype = space.coerce("DARTS_V2")
    normal = list(genotype.normal)
    normal[0], normal[1] = normal[1], normal[0]
    swapped = dataclasses.replace(genotype, normal=tuple(normal))
    assert space.format(swapped) != space.format(genotype)
    a, b = score.candidate(genotype).state_dict(), score.candidate(swapped).state_dict()
    assert set(a) ^ set(b) == set(), sorted(set(a) ^ set(b))[:4]
    assert all(torch.equal(a[k], b[k]) for k in a)
