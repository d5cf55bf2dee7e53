"""Loading an RMI-NAS teacher: a `nas retrain` run folder, or a checkpoint file in the common published layouts.

A run folder names its network, dataset and class count in its manifest; its `last.pt` holds the weights
(`best.pt` is chosen on the test set and is not used). A checkpoint file is a state dict, or a dict holding one
under `state_dict` (Idelbayev's `resnet20.th`), `model` or `net`; parameter names may carry the `module.` prefix
of `nn.DataParallel`. Everything is loaded with `weights_only=True`. A teacher made for another dataset, class
count or network is refused with one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nascli.artifacts import file_sha256, load_checkpoint, read_manifest
from nascli.errors import NasInputError
from nascli.networks.resnet import build_network, network_spec

DEFAULT_TEACHERS = {"cifar10": "resnet20", "cifar100": "resnet101-cifar"}
"""The reference's teacher network per dataset (ImageNet16-120: NB201 #9930, given as a retrain run folder)."""

STATE_KEYS = ("state_dict", "model", "net")


@dataclass
class Teacher:
    """A loaded teacher in eval mode, with what it was checked against."""

    model: nn.Module
    network: str
    """Registered network name, or the space architecture text of a search-space teacher."""
    num_classes: int
    weights_path: Path
    weights_sha256: str


def _state_dict_of(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    """The state dict inside a loaded checkpoint, `module.` prefixes removed."""
    if isinstance(obj, Mapping):
        for key in STATE_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise NasInputError(f"{path} holds no state dict (a dict of tensors, or one under "
                            f"{', '.join(STATE_KEYS)}): pass a teacher checkpoint or a `nas retrain` run folder")
    return {(key[len("module."):] if key.startswith("module.") else key): value for key, value in obj.items()}


def _load_weights(model: nn.Module, state: dict[str, torch.Tensor], path: Path, network: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise NasInputError(f"{path} does not hold {network} weights ({detail[:110]}): pass a teacher of that "
                            "network, or set rmi.teacher_network") from None


def _classes_of(state: Mapping[str, torch.Tensor]) -> int | None:
    """Class count read off the last 2-D weight (the classifier)."""
    matrices = [value for key, value in state.items() if key.endswith("weight") and value.dim() == 2]
    return int(matrices[-1].shape[0]) if matrices else None


def load_teacher(path: str | Path, dataset: str, num_classes: int, network: str | None = None) -> Teacher:
    """The teacher at `path` for `dataset` with `num_classes` classes; `network` names a checkpoint file's network."""
    path = Path(path)
    if not path.exists():
        raise NasInputError(f"teacher {path} does not exist: pass a `nas retrain --network …` run folder or a "
                            "checkpoint file")
    if path.is_dir():
        return _load_run_folder(path, dataset, num_classes)
    name = network or DEFAULT_TEACHERS.get(dataset)
    if name is None:
        raise NasInputError(f"no default teacher network for {dataset}: set rmi.teacher_network (resnet20, "
                            "resnet101-cifar) or pass a `nas retrain` run folder")
    network_spec(name)
    state = _state_dict_of(load_checkpoint(path, "teacher checkpoint"), path)
    classes = _classes_of(state)
    if classes is not None and classes != num_classes:
        raise NasInputError(f"teacher {path} has {classes} classes but {dataset} has {num_classes}: pass a teacher "
                            "trained on this dataset")
    model = build_network(name, num_classes)
    _load_weights(model, state, path, name)
    return Teacher(model.eval(), name, num_classes, path, file_sha256(path))


def _load_run_folder(folder: Path, dataset: str, num_classes: int) -> Teacher:
    manifest = read_manifest(folder)
    if manifest.get("kind") != "retrain":
        raise NasInputError(f"{folder} is a {manifest.get('kind')} run, not a teacher: pass a `nas retrain` run "
                            "folder or a checkpoint file")
    if manifest.get("dataset") != dataset:
        raise NasInputError(f"teacher {folder} was trained on {manifest.get('dataset')}, not {dataset}: pass a "
                            "teacher of this dataset (or set rmi.data.dataset)")
    classes = manifest.get("num_classes", manifest.get("network", {}).get("num_classes"))
    if classes is not None and int(classes) != num_classes:
        raise NasInputError(f"teacher {folder} has {classes} classes but the data have {num_classes}: pass a "
                            "teacher trained on this dataset")
    weights = folder / "last.pt"
    checkpoint = load_checkpoint(weights, "teacher checkpoint")
    state = _state_dict_of(checkpoint, weights)
    name = manifest.get("network_name")
    if name:
        model = build_network(str(name), num_classes)
        label = str(name)
    else:  # a search-space architecture retrained by `nas retrain --genotype` (NB201 #9930 for ImageNet16-120)
        from nascli.spaces.base import NetworkConfig, get_space

        space = get_space(str(manifest.get("space")))
        arch = space.parse(str(manifest.get("arch")))
        model = space.network(arch, NetworkConfig(**manifest["network"]))
        label = space.format(arch)
    _load_weights(model, state, weights, label)
    return Teacher(model.eval(), label, num_classes, weights, file_sha256(weights))
