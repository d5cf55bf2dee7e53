"""Teacher loading: run folders and published checkpoint layouts load; a mismatched teacher is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nascli.artifacts import RunFolder, atomic_torch_save
from nascli.errors import NasInputError
from nascli.networks import build_network
from nascli.networks.teacher import load_teacher


def _same_outputs(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return torch.equal(a.eval()(x), b.eval()(x))


def test_the_published_dataparallel_layout_loads(tmp_path: Path) -> None:
    model = build_network("resnet20", 10, seed=3)
    # Idelbayev's resnet20.th: {'best_prec1': …, 'state_dict': {'module.conv1.weight': …}}
    path = tmp_path / "resnet20.th"
    torch.save({"best_prec1": 91.7, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    teacher = load_teacher(path, "cifar10", 10)
    assert teacher.network == "resnet20" and _same_outputs(teacher.model, model)
    plain = tmp_path / "plain.pth"  # a bare state dict (weiaicunzai's resnet101.pth layout)
    torch.save(model.state_dict(), plain)
    assert _same_outputs(load_teacher(plain, "cifar10", 10).model, model)


def test_mismatched_teachers_are_refused_with_one_line(tmp_path: Path) -> None:
    model = build_network("resnet20", 10, seed=3)
    path = tmp_path / "resnet20.th"
    torch.save(model.state_dict(), path)
    with pytest.raises(NasInputError, match="100") as wrong_classes:
        load_teacher(path, "cifar100", 100)
    with pytest.raises(NasInputError, match="resnet101-cifar weights") as wrong_network:
        load_teacher(path, "cifar10", 10, network="resnet101-cifar")
    truncated = tmp_path / "truncated.th"
    torch.save({k: v for k, v in model.state_dict().items() if not k.startswith("layer3")}, truncated)
    with pytest.raises(NasInputError, match="Missing key") as missing:
        load_teacher(truncated, "cifar10", 10)
    pickled = tmp_path / "pickled.th"
    torch.save({"state_dict": model.state_dict(), "optimizer": object()}, pickled)
    with pytest.raises(NasInputError, match="corrupt") as unsafe:  # weights_only=True refuses arbitrary objects
        load_teacher(pickled, "cifar10", 10)
    for error in (wrong_classes, wrong_network, missing, unsafe):
        assert "\n" not in str(error.value)


def _teacher_folder(folder: Path, dataset: str, classes: int, model: torch.nn.Module) -> Path:
    run = RunFolder(folder)
    run.prepare(kind="retrain", space="network", resume=False)
    run.start(kind="retrain", space="network", dataset=dataset, config={}, seed=0, parents=[],
              extra={"arch": "resnet20", "network_name": "resnet20", "num_classes": classes})
    atomic_torch_save({"format": "nascli-train", "model": model.state_dict(), "epoch": 1}, folder / "last.pt")
    run.finish("done")
    return folder


def test_a_retrain_run_folder_is_a_teacher_of_its_own_dataset_only(tmp_path: Path) -> None:
    model = build_network("resnet20", 10, seed=5)
    folder = _teacher_folder(tmp_path / "teacher", "cifar10", 10, model)
    teacher = load_teacher(folder, "cifar10", 10)
    assert teacher.weights_path == folder / "last.pt" and _same_outputs(teacher.model, model)
    with pytest.raises(NasInputError, match="trained on cifar10, not cifar100"):
        load_teacher(folder, "cifar100", 100)
    with pytest.raises(NasInputError, match="does not exist"):
        load_teacher(tmp_path / "nowhere", "cifar10", 10)
