"""`trained-acc`: a hand-rolled BPE loop gives the same score, candidates resume after a crash, seeds ignore order."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nascli.artifacts import load_checkpoint, read_jsonl
from nascli.config import SearchConfig, build_config
from nascli.data.loader import BatchLoader
from nascli.data.pipeline import eval_loader, evaluation_set, train_loader, training_set
from nascli.errors import NasInputError
from nascli.scores.base import ScoreContext, make_score
from nascli.scores.candidates import candidate_dir, candidate_seed
from nascli.scores.trained_acc import canonical_text, split_for_selection
from nascli.spaces import NetworkConfig, get_space
from nascli.spaces.darts import format_nested
from nascli.strategies.runner import run_search
from nascli.train.distributed import DistInfo

CPU = torch.device("cpu")
SEED = 7
# two DARTS cells; the second written in the pt.darts nested form with one node's edges swapped
DARTS_V2 = "DARTS_V2"
OTHER = ("Genotype(normal=[[('sep_conv_3x3', 1), ('skip_connect', 0)], [('max_pool_3x3', 0), ('dil_conv_3x3', 2)], "
         "[('sep_conv_5x5', 2), ('avg_pool_3x3', 1)], [('skip_connect', 3), ('sep_conv_3x3', 0)]], "
         "normal_concat=range(2, 6), reduce=[[('max_pool_3x3', 0), ('max_pool_3x3', 1)], [('skip_connect', 2), "
         "('dil_conv_5x5', 1)], [('avg_pool_3x3', 0), ('sep_conv_3x3', 3)], [('skip_connect', 2), "
         "('max_pool_3x3', 1)]], reduce_concat=range(2, 6))")


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Networks this small train faster on one intra-op thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(selection: str = "test-max", epochs: int = 2, **changes: Any) -> SearchConfig:
    """BPE1's protocol (16 px after the crop, aux 0.4 adaptive, drop-path, no Nesterov, clip 5) at toy size."""
    settings: dict[str, Any] = {
        "space": "darts", "strategy": "list", "score": "trained-acc", "batch": 1, "seed": SEED,
        "trained_acc": {
            "data": {"dataset": "synthetic", "synthetic_train": 48, "synthetic_test": 24, "batch_size": 16,
                     "eval_batch_size": 24, "crop_pad": 4},
            "model": {"channels": 4, "layers": 3, "options": {"aux_pool": "adaptive"}},
            "optim": {"epochs": epochs}, "selection": selection},
        "runtime": {"device": "cpu", "quiet": True, "channels_last": False},
    }
    settings.update(changes)
    return build_config(SearchConfig, settings)


def scorer(cfg: SearchConfig, run_dir: Path) -> Any:
    space = get_space(cfg.space)
    return space, make_score("trained-acc", ScoreContext(space=space, run_dir=run_dir, config=cfg, seed=cfg.seed))


def test_trained_acc_equals_a_hand_rolled_bpe_loop_with_the_same_seed(tmp_path: Path) -> None:
    cfg = tiny()
    space, score = scorer(cfg, tmp_path)
    arch = space.coerce(DARTS_V2)
    value = float(score.score([arch])[0])

    text = canonical_text(space, arch)
    seed = candidate_seed(SEED, text)
    data = cfg.trained_acc.data
    assert data.resize_after_augment == 16 and data.batch_size == 16
    batches = train_loader(training_set(data, SEED).images, data, seed, CPU, DistInfo())
    test = eval_loader(evaluation_set(data, SEED), data, CPU, DistInfo())
    torch.manual_seed(seed)
    net = space.network(space.canonical(arch), NetworkConfig(
        num_classes=10, channels=4, layers=3, input_size=16, options={"auxiliary": True, "aux_pool": "adaptive"}))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.03, momentum=0.9, weight_decay=3e-4)  # no Nesterov
    accuracies = []
    for epoch in range(2):
        for group in optimizer.param_groups:  # CosineAnnealingLR(T_max=2) stepped at the epoch start, eta_min 0
            group["lr"] = 0.03 * (1 + math.cos(math.pi * epoch / 2)) / 2
        net.drop_path_prob = 0.2 * epoch / 2
        net.train()
        for images, labels, _ in batches.iterate(epoch):
            optimizer.zero_grad()
            logits, aux = net.forward_with_aux(images)
            loss = F.cross_entropy(logits, labels) + 0.4 * F.cross_entropy(aux, labels)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            optimizer.step()
        net.eval()
        with torch.no_grad():
            correct = sum(int((net(x).argmax(1) == y).sum()) for x, y, _ in test.iterate(0))
        accuracies.append(correct / 24)
    assert value == pytest.approx(max(accuracies), abs=1e-12)  # test-max: the best epoch's test accuracy
    folder = candidate_dir(tmp_path, text)
    trained = load_checkpoint(folder / "last.pt")["model"]
    for name, tensor in net.state_dict().items():
        assert torch.equal(trained[name], tensor), name
    assert [r["lr"] for r in read_jsonl(folder / "metrics.jsonl")] == [0.03, pytest.approx(0.015)]


def test_a_search_killed_mid_candidate_resumes_to_the_uninterrupted_result(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    archs = tmp_path / "cells.txt"
    archs.write_text(f"{DARTS_V2}\n{OTHER}\n", encoding="utf-8")
    cfg = tiny(archs=str(archs))
    run_search(cfg, tmp_path / "ref")

    original = BatchLoader.iterate
    reached = {"count": 0}

    def crashing(self: BatchLoader, epoch: int, start_step: int = 0) -> Iterator[Any]:
        for step, batch in enumerate(original(self, epoch, start_step), start_step):
            if self.train and (epoch, step) == (1, 1):
                reached["count"] += 1
                if reached["count"] == 2:  # the second candidate, in its second epoch
                    raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(BatchLoader, "iterate", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, tmp_path / "run")
    monkeypatch.undo()
    space = get_space("darts")
    first, second = (candidate_dir(tmp_path / "run", canonical_text(space, space.coerce(a))) for a in (DARTS_V2, OTHER))
    assert len(read_jsonl(second / "metrics.jsonl")) == 1  # the epoch it was in is lost, not more
    first_result = (first / "result.json").read_bytes()

    run_search(cfg, tmp_path / "run", resume=True)
    assert (first / "result.json").read_bytes() == first_result  # scored before the crash: not trained again
    assert (tmp_path / "run" / "scores.csv").read_text() == (tmp_path / "ref" / "scores.csv").read_text()
    for folder in (first, second):
        reference = tmp_path / "ref" / folder.relative_to(tmp_path / "run")
        resumed, uninterrupted = load_checkpoint(folder / "last.pt"), load_checkpoint(reference / "last.pt")
        for name, tensor in uninterrupted["model"].items():
            assert torch.equal(resumed["model"][name], tensor), name


def test_candidate_seed_and_score_ignore_order_and_text_form(tmp_path: Path) -> None:
    cfg = tiny(epochs=1)
    space, forward = scorer(cfg, tmp_path / "a")
    _, backward = scorer(cfg, tmp_path / "b")
    darts_v2, other = space.coerce(DARTS_V2), space.coerce(OTHER)
    swapped = space.parse(format_nested(darts_v2).replace("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)]",
                                                          "[('sep_conv_3x3', 1), ('sep_conv_3x3', 0)]", 1))
    assert swapped != darts_v2 and canonical_text(space, swapped) == canonical_text(space, darts_v2)
    a = forward.score([darts_v2, other])
    b = backward.score([other, swapped])
    assert a[0] == b[1] and a[1] == b[0]
    for arch in (darts_v2, other):
        text = canonical_text(space, arch)
        one = load_checkpoint(candidate_dir(tmp_path / "a", text) / "last.pt")["model"]
        two = load_checkpoint(candidate_dir(tmp_path / "b", text) / "last.pt")["model"]
        assert all(torch.equal(one[name], two[name]) for name in one)
    assert candidate_seed(SEED, canonical_text(space, darts_v2)) != candidate_seed(SEED + 1,
                                                                                    canonical_text(space, darts_v2))


def test_nb201_holdout_last_trains_on_90_percent_and_scores_the_recorded_10(tmp_path: Path) -> None:
    cfg = tiny(selection="holdout-last", epochs=1, space="nb201", trained_acc={
        "data": {"dataset": "synthetic", "synthetic_train": 60, "batch_size": 18, "eval_batch_size": 32},
        "model": {"channels": 4, "layers": 1}, "optim": {"epochs": 1}, "aux_weight": 0.0, "drop_path_prob": 0.0,
        "selection": "holdout-last"})
    split = split_for_selection(cfg.trained_acc, SEED)
    assert (len(split.train), len(split.evaluation)) == (54, 6)
    assert not set(split.train.indices.tolist()) & set(split.evaluation.indices.tolist())
    assert split_for_selection(cfg.trained_acc, SEED + 1).description["holdout_seed"] != split.description[
        "holdout_seed"]
    space, score = scorer(cfg, tmp_path)
    value = float(score.score([space.coerce("9930")])[0])
    assert value * 6 == pytest.approx(round(value * 6))  # a fraction of the 6 held-out images
    recorded = (tmp_path / "candidates" / "holdout.json").read_text()
    assert str(split.description["holdout_seed"]) in recorded and '"evaluation": 6' in recorded
    log = read_jsonl(candidate_dir(tmp_path, canonical_text(space, space.coerce("9930"))) / "metrics.jsonl")
    assert len(log) == 1 and log[0]["val_accuracy"] == pytest.approx(100 * value)
    with pytest.raises(NasInputError, match="aux_weight 0"):
        scorer(tiny(space="nb201"), tmp_path / "aux")
