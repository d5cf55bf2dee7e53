"""Loading a `train-supernet` run folder for scoring: manifest checks, init and trained weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from nascli.artifacts import check_manifest, load_checkpoint, read_manifest
from nascli.errors import NasInputError
from nascli.spaces.base import NetworkConfig, SearchSpace


@dataclass
class SupernetPair:
    """The supernet at initialisation and after training, as built modules."""

    manifest: dict[str, Any]
    network: NetworkConfig
    initial: nn.Module
    trained: nn.Module


def network_config_from(manifest: dict[str, Any]) -> NetworkConfig:
    """The `NetworkConfig` a supernet run recorded."""
    net = manifest.get("network") or {}
    return NetworkConfig(**{k: v for k, v in net.items() if k in NetworkConfig.__dataclass_fields__})


def load_supernet_pair(folder: str | Path, space: SearchSpace, *, need_initial: bool = True) -> SupernetPair:
    """Build the run's supernet twice and load `init.pt` and `last.pt` into them (refusing foreign folders)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    check_manifest(manifest, folder, kind="supernet", space=space.name)
    init_path, last_path = folder / "init.pt", folder / "last.pt"
    if need_initial and not init_path.is_file():
        raise NasInputError(f"supernet folder {folder} has no init.pt: the angle needs the weights at "
                            "initialisation; rerun nas train-supernet (it writes init.pt before the first step)")
    if not last_path.is_file():
        raise NasInputError(f"supernet folder {folder} has no last.pt: train it first (nas train-supernet)")
    network = network_config_from(manifest)
    trained = space.supernet(network)
    _load(trained, load_checkpoint(last_path, "trained supernet"), last_path)
    initial = space.supernet(network)
    if need_initial:
        _load(initial, load_checkpoint(init_path, "initial supernet"), init_path)
    for model in (initial, trained):
        model.eval()
    return SupernetPair(manifest=manifest, network=network, initial=initial, trained=trained)


def _load(model: nn.Module, state: dict[str, Any], path: Path) -> None:
    if "model" not in state:
        raise NasInputError(f"{path} holds no model weights: it is not a nascli supernet checkpoint")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise NasInputError(f"{path} does not fit the recorded network ({str(exc).splitlines()[0][:100]}): "
                            "the run folder is inconsistent; retrain it") from None
