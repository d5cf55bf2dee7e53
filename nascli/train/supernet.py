"""`train-supernet` as a library call: single-path supernet training with true or random labels."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from nascli.artifacts import RunFolder, atomic_torch_save, load_checkpoint
from nascli.config import TrainSupernetConfig, to_dict
from nascli.data.pipeline import train_loader, training_set
from nascli.errors import NasInputError
from nascli.spaces.base import NetworkConfig, PathSampler, SearchSpace, get_space
from nascli.spaces.sampling import UniformArchSampler
from nascli.train.devices import resolve_precision
from nascli.train.distributed import broadcast_parameters, init_device_and_ranks
from nascli.train.engine import Trainer, TrainHook, TrainResult

INIT_FORMAT = "nascli-supernet-init"


@dataclass
class SupernetRun:
    """What a finished `train_supernet` call produced."""

    out: Path
    init_path: Path
    last_path: Path
    log_path: Path
    result: TrainResult
    labels_sha256: str
    model: torch.nn.Module


def network_config(space: SearchSpace, dataset: str, model: Any, num_classes: int) -> NetworkConfig:
    """The space's paper size for `dataset`, with the recipe's channels/layers/options on top."""
    base = space.default_config(dataset)
    return dataclasses.replace(
        base,
        num_classes=num_classes,
        channels=model.channels if model.channels is not None else base.channels,
        layers=model.layers if model.layers is not None else base.layers,
        options={**base.options, **model.options},
    )


def build_sampler(space: SearchSpace, kind: str, seed: int, net_cfg: NetworkConfig) -> PathSampler:
    """The space's reference training sampler (`default`) or one shared uniform path per step (`uniform`)."""
    if kind == "default":
        return space.path_sampler(seed, net_cfg)
    return UniformArchSampler(space, seed)


class SampledPathGrads(TrainHook):
    """`path_grads: sampled`: every weight of the sampled path gets a gradient, zero where its output never reaches
    the loss (RLNAS computes `none` as x·0, so a conv feeding only `none` edges is still in the graph)."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def on_after_backward(self, trainer: Trainer, path: Any) -> None:
        """Give the path's parameters that got no gradient a zero one."""
        if path is None:
            return
        for param in self.space.path_parameters(trainer.model, path):
            if param.grad is None and param.requires_grad:
                param.grad = torch.zeros_like(param)


def train_supernet(cfg: TrainSupernetConfig, out: str | Path, *, resume: bool = False,
                   overwrite: bool = False, meta: dict[str, Any] | None = None) -> SupernetRun:
    """Train the supernet of `cfg.space`, writing init.pt, last.pt, log.jsonl and manifest.json into `out`."""
    device, dist = init_device_and_ranks(cfg.runtime.device)
    precision = resolve_precision(cfg.runtime.amp, device)  # an impossible --amp fails before anything is written
    space = get_space(cfg.space, **cfg.space_options)
    run = RunFolder(out, writer=dist.is_main)
    resumed = run.prepare(kind="supernet", space=space.name, resume=resume, overwrite=overwrite,
                          guard_files=("last.pt", "init.pt"), config={**to_dict(cfg), "meta": meta or {}})
    data = training_set(cfg.data, cfg.seed)
    net_cfg = network_config(space, cfg.data.dataset, cfg.model, data.images.num_classes)

    torch.manual_seed(cfg.seed)
    model = space.supernet(net_cfg)
    init_path = run.file("init.pt")
    if resumed:
        previous = run.manifest.get("labels_sha256")
        if previous and previous != data.labels_sha256:
            raise NasInputError(
                f"{run.path} was trained on other labels (sha256 {previous[:12]}…, now {data.labels_sha256[:12]}…): "
                "resume with the same dataset, split and label seed"
            )
        init_state = load_checkpoint(init_path, "initial supernet weights")
        try:
            model.load_state_dict(init_state["model"])
        except (KeyError, RuntimeError):
            raise NasInputError(f"{init_path} does not fit this supernet: resume with the same recipe") from None
    broadcast_parameters(model, dist)
    if not resumed or not init_path.exists():
        if dist.is_main:
            atomic_torch_save({"format": INIT_FORMAT, "space": space.name, "model": model.state_dict(),
                               "network": dataclasses.asdict(net_cfg)}, init_path)

    loader = train_loader(data.images, cfg.data, cfg.seed, device, dist)
    trainer = Trainer(
        model, cfg.optim, loader, run.path, device=device,
        precision=precision, channels_last=cfg.runtime.channels_last,
        path_sampler=build_sampler(space, cfg.sampler, cfg.seed, net_cfg), dist_info=dist, quiet=cfg.runtime.quiet,
        description=f"supernet {space.name}", hooks=[SampledPathGrads(space)] if cfg.path_grads == "sampled" else [],
    )
    if resumed:
        trainer.restore()  # a corrupt or foreign checkpoint fails here, before anything is written
    run.start(kind="supernet", space=space.name, dataset=cfg.data.dataset,
              config={**to_dict(cfg), "meta": meta or {}}, seed=cfg.seed,
              extra={"labels": cfg.data.labels, "labels_sha256": data.labels_sha256,
                     "network": dataclasses.asdict(net_cfg), "world_size": dist.world_size,
                     "train_images": len(data.images)})
    with run.running():
        result = trainer.fit(resume=resumed)
    run.finish("done", epochs_done=result.epochs_done)
    return SupernetRun(out=run.path, init_path=init_path, last_path=trainer.checkpoint_path,
                       log_path=trainer.log_path, result=result, labels_sha256=data.labels_sha256,
                       model=trainer.model)
