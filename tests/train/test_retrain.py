"""`retrain` as a library call: DARTS aux head and drop-path, exact resume, best.pt, NB201 at the benchmark's size."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from nascli.artifacts import load_checkpoint, read_jsonl, read_manifest
from nascli.config import DataConfig, ModelConfig, OptimConfig, RetrainConfig, RuntimeConfig
from nascli.data.loader import make_loader
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.genotypes import get_named_genotype
from nascli.train.engine import evaluate_accuracy
from nascli.train.retrain import BestCheckpoint, DropPathSchedule, retrain

TIMING_KEYS = ("seconds", "images_per_s")
NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Networks this small run faster on one intra-op thread, and do not stall when other jobs share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_darts(**changes: Any) -> RetrainConfig:
    """DARTS_V2 at C=8, L=5 on 16 synthetic 32-px images: auxiliary head 0.4 and drop-path 0.2 on."""
    cfg = RetrainConfig(
        space="darts", genotype="DARTS_V2", seed=3,
        data=DataConfig(dataset="synthetic", batch_size=8, eval_batch_size=16, synthetic_train=16,
                        synthetic_test=16, crop_pad=4, cutout=16),
        model=ModelConfig(channels=8, layers=5, options={"auxiliary": True}),
        optim=OptimConfig(epochs=2, lr=0.05, lr_min=0.0, nesterov=False, weight_decay=3e-4, grad_clip=5.0),
        aux_weight=0.4, drop_path_prob=0.2, runtime=RuntimeConfig(device="cpu", quiet=True),
    )
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


def untimed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in record.items() if k not in TIMING_KEYS} for record in records]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_drop_path_probability_ramps_linearly_as_darts() -> None:
    # DARTS train.py: model.drop_path_prob = args.drop_path_prob * epoch / args.epochs, epoch = 0 … E-1
    model = torch.nn.Module()
    schedule = DropPathSchedule(model, 0.2, 600)
    for epoch in (0, 1, 300, 599):
        schedule.on_step_start(None, epoch, 0)  # type: ignore[arg-type]
        assert model.drop_path_prob == pytest.approx(0.2 * epoch / 600)
    assert schedule.probability(0) == 0.0


def test_best_checkpoint_keeps_the_first_best_epoch(tmp_path: Path) -> None:
    class FakeTrainer:
        def __init__(self) -> None:
            self.model = torch.nn.Linear(2, 2)

    trainer = FakeTrainer()
    best = BestCheckpoint(tmp_path / "best.pt", lambda: {"arch": "x"})
    written = []
    for epoch, accuracy in enumerate((50.0, 70.0, 60.0, 70.0)):
        torch.nn.init.constant_(trainer.model.weight, float(epoch))
        record = {"val_accuracy": accuracy}
        best.on_epoch_end(trainer, epoch, record)  # type: ignore[arg-type]
        written.append(load_checkpoint(tmp_path / "best.pt")["epoch"])
        assert record["best_val_accuracy"] == max(50.0, 70.0 if epoch else 50.0)
    assert written == [0, 1, 1, 1]
    state = load_checkpoint(tmp_path / "best.pt")
    assert state["val_accuracy"] == 70.0 and state["arch"] == "x"
    assert torch.all(state["model"]["weight"] == 1.0)
    restored = BestCheckpoint(tmp_path / "other.pt", dict)
    restored.load_state_dict(best.state_dict())
    assert (restored.best_accuracy, restored.best_epoch) == (70.0, 1)


def test_darts_stop_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    reference = retrain(tiny_darts(), tmp_path / "ref")

    first = retrain(tiny_darts(optim=OptimConfig(**{**vars(tiny_darts().optim), "stop_after_epochs": 1})),
                    tmp_path / "run")
    assert first.result.epochs_done == 1
    assert read_manifest(tmp_path / "run")["epochs_done"] == 1
    epoch0 = load_checkpoint(tmp_path / "run" / "last.pt")["model"]
    assert_same_weights(load_checkpoint(tmp_path / "run" / "best.pt")["model"], epoch0)
    resumed = retrain(tiny_darts(), tmp_path / "run", resume=True)

    assert resumed.result.epochs_done == 2
    assert_same_weights(load_checkpoint(tmp_path / "run" / "last.pt")["model"],
                        load_checkpoint(tmp_path / "ref" / "last.pt")["model"])
    ref_log = untimed(read_jsonl(tmp_path / "ref" / "metrics.jsonl"))
    assert untimed(read_jsonl(tmp_path / "run" / "metrics.jsonl")) == ref_log
    assert [r["drop_path_prob"] for r in ref_log] == [0.0, pytest.approx(0.2 * 1 / 2)]
    assert all("val_accuracy" in r for r in ref_log)

    # best.pt: the weights of the first epoch with the highest test accuracy
    best_epoch = max(range(2), key=lambda e: (ref_log[e]["val_accuracy"], -e))
    best_state = load_checkpoint(tmp_path / "run" / "best.pt")
    assert best_state["epoch"] == best_epoch == reference.best_epoch
    assert best_state["val_accuracy"] == ref_log[best_epoch]["val_accuracy"]
    expected = epoch0 if best_epoch == 0 else load_checkpoint(tmp_path / "run" / "last.pt")["model"]
    assert_same_weights(best_state["model"], expected)

    # the auxiliary head was trained (its loss is the only source of its gradients)
    torch.manual_seed(3)
    cfg = NetworkConfig(num_classes=10, channels=8, layers=5, input_size=32, options={"auxiliary": True})
    initial = get_space("darts").network("DARTS_V2", cfg).state_dict()
    head = [name for name in initial if name.startswith("auxiliary_head") and name.endswith("weight")]
    assert head and all(not torch.equal(initial[n], reference.model.state_dict()[n]) for n in head)

    manifest = read_manifest(tmp_path / "run")
    assert manifest["kind"] == "retrain" and manifest["status"] == "done"
    assert manifest["arch"] == get_named_genotype("DARTS_V2").text
    assert manifest["best_val_accuracy"] == ref_log[best_epoch]["val_accuracy"]


def test_best_weights_reproduce_the_logged_test_accuracy(tmp_path: Path) -> None:
    run = retrain(tiny_darts(optim=OptimConfig(epochs=1, lr=0.05, lr_min=0.0)), tmp_path / "one")
    state = load_checkpoint(run.best_path)
    cfg = NetworkConfig(**{**state["network"]})
    model = get_space("darts").network(state["arch"], cfg)
    model.load_state_dict(state["model"])
    test = make_loader("synthetic", None, train=False, batch_size=16, seed=3, data_seed=3, synthetic_size=16)
    accuracy = evaluate_accuracy(model, test.iterate(0), torch.device("cpu"))["val_accuracy"]
    assert accuracy == pytest.approx(read_jsonl(run.log_path)[0]["val_accuracy"])


def test_nb201_retrain_at_benchmark_size_has_the_official_params_and_flops(tmp_path: Path) -> None:
    cfg = RetrainConfig(
        space="nb201", genotype=NB201_ARCH,
        data=DataConfig(dataset="synthetic", batch_size=16, eval_batch_size=16, synthetic_train=16, synthetic_test=16),
        model=ModelConfig(channels=16, layers=5), optim=OptimConfig(epochs=1, lr=0.1, lr_min=0.0),
        runtime=RuntimeConfig(device="cpu", quiet=True),
    )
    run = retrain(cfg, tmp_path / "nb201")
    n3, n1 = 2, 1
    # NAS-Bench-201's own figures for cifar10 (10 classes, 32 px): params = 0.073306 + 0.24304·n3 + 0.028·n1 M,
    # FLOPs = 7.78305 + 35.38944·n3 + 3.93216·n1 M
    assert math.isclose(run.params_m, 0.073306 + 0.24304 * n3 + 0.028 * n1, abs_tol=1e-6)
    assert math.isclose(run.flops_m, 7.78305 + 35.38944 * n3 + 3.93216 * n1, abs_tol=1e-5)
    records = read_jsonl(run.log_path)
    assert len(records) == 1 and "val_accuracy" in records[0] and "drop_path_prob" not in records[0]
    assert read_manifest(tmp_path / "nb201")["arch"] == NB201_ARCH
    assert load_checkpoint(run.best_path)["epoch"] == 0


@pytest.mark.parametrize(("changes", "fault"), [
    ({"space": "nb201", "genotype": NB201_ARCH, "aux_weight": 0.4, "model": ModelConfig(channels=4, layers=1)},
     "no auxiliary head"),
    ({"aux_weight": 0.0}, "auxiliary is True but aux_weight is 0.0"),
    ({"genotype": None}, "pass --genotype"),
    ({"drop_path_prob": 1.0}, "drop_path_prob"),
])
def test_bad_settings_are_refused_before_anything_is_written(tmp_path: Path, changes: dict[str, Any],
                                                              fault: str) -> None:
    with pytest.raises(NasInputError, match=fault):
        retrain(tiny_darts(**changes), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_retrain_at_16_px_after_the_crop_builds_the_network_for_16_px(tmp_path: Path) -> None:
    # BPE's proxy images: crop 32 pad 4 and flip, then resize to 16; the adaptive auxiliary head fits the 4×4 map
    data = DataConfig(dataset="synthetic", batch_size=8, eval_batch_size=16, synthetic_train=16, synthetic_test=16,
                      crop_pad=4, resize_after_augment=16)
    cfg = tiny_darts(data=data, model=ModelConfig(channels=4, layers=3, options={"auxiliary": True,
                                                                                  "aux_pool": "adaptive"}),
                     optim=OptimConfig(epochs=1, lr=0.05, lr_min=0.0))
    run = retrain(cfg, tmp_path / "run")
    assert read_manifest(tmp_path / "run")["network"]["input_size"] == 16
    assert isinstance(run.model.auxiliary_head.features[1], torch.nn.AdaptiveAvgPool2d)
    assert 0.0 <= run.final_accuracy <= 100.0


def test_retrain_network_trains_a_teacher_run_folder(tmp_path: Path) -> None:
    from nascli.networks.teacher import load_teacher

    cfg = RetrainConfig(network="resnet20", seed=1, data=DataConfig(dataset="synthetic", synthetic_train=64,
                                                                    synthetic_test=32, batch_size=32),
                        optim=OptimConfig(epochs=2, lr=0.1, nesterov=False, schedule="multistep", milestones=[1]),
                        runtime=RuntimeConfig(device="cpu", amp="off", quiet=True))
    run = retrain(cfg, tmp_path / "teacher")
    manifest = read_manifest(tmp_path / "teacher")
    assert manifest["space"] == "network" and manifest["network_name"] == "resnet20" and manifest["arch"] == "resnet20"
    assert [r["lr"] for r in read_jsonl(run.log_path)] == [0.1, pytest.approx(0.01)]
    teacher = load_teacher(tmp_path / "teacher", "synthetic", 10)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(teacher.model(x), run.model.eval()(x.contiguous(memory_format=torch.channels_last)),
                              atol=1e-5)
    with pytest.raises(NasInputError, match="both --genotype and --network"):
        retrain(RetrainConfig(network="resnet20", genotype="DARTS_V2"), tmp_path / "both")
