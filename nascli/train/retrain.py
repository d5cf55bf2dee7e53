"""`retrain` as a library call: one architecture trained from scratch with a paper's protocol, tested each epoch.

DARTS-space networks follow the DARTS `train.py` practice (methods/spaces.md §2.4): an auxiliary head whose
loss is weighted by `aux_weight`, and drop-path whose probability grows linearly, p·e/E in epoch e. NB201
networks have neither. The run folder holds `last.pt` (the trainer's checkpoint, for `--resume`), `best.pt`
(the weights of the epoch with the best test accuracy so far), `metrics.jsonl` and `manifest.json`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nascli.artifacts import RunFolder, atomic_torch_save
from nascli.config import RetrainConfig, to_dict
from nascli.data.loader import BatchLoader, FolderStreamLoader
from nascli.data.pipeline import eval_loader, evaluation_set, train_loader, training_set
from nascli.errors import NasInputError
from nascli.spaces.base import Architecture, NetworkConfig, SearchSpace
from nascli.spaces.flops import count_flops, count_params
from nascli.spaces.resolve import resolve_architecture
from nascli.train.devices import Precision, resolve_precision
from nascli.train.distributed import DistInfo, broadcast_parameters, init_device_and_ranks
from nascli.train.engine import Trainer, TrainHook, TrainResult, evaluate_accuracy
from nascli.train.supernet import network_config

BEST_FORMAT = "nascli-retrain-best"
BEST_FILE = "best.pt"
LAST_FILE = "last.pt"
LOG_FILE = "metrics.jsonl"
NETWORK_SPACE = "network"
"""The `space` a retrain manifest records for a `--network` run (a network that is not from a search space)."""


@dataclass
class RetrainRun:
    """What a finished `retrain` call produced."""

    out: Path
    best_path: Path
    last_path: Path
    log_path: Path
    result: TrainResult
    arch_text: str
    params_m: float
    flops_m: float
    best_accuracy: float | None
    best_epoch: int | None
    final_accuracy: float | None
    model: nn.Module


class DropPathSchedule(TrainHook):
    """Sets the network's drop-path probability to p·e/E for every step of epoch e (DARTS `train.py`)."""

    def __init__(self, model: nn.Module, final_prob: float, epochs: int) -> None:
        self.model = model
        self.final_prob = final_prob
        self.epochs = max(epochs, 1)

    def probability(self, epoch: int) -> float:
        """The drop-path probability of `epoch` (0-based: the first epoch trains without drop-path)."""
        return self.final_prob * epoch / self.epochs

    def on_step_start(self, trainer: Trainer, epoch: int, step: int) -> None:
        """Set the probability before each step, so a run resumed mid-epoch has it too."""
        self.model.drop_path_prob = self.probability(epoch)

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any]) -> None:
        """Log the probability the epoch trained with."""
        record["drop_path_prob"] = self.probability(epoch)


class BestCheckpoint(TrainHook):
    """Keeps `best.pt`: the weights of the epoch with the highest test accuracy so far (the first on ties)."""

    def __init__(self, path: Path, describe: Callable[[], dict[str, Any]], writer: bool = True) -> None:
        self.path = path
        self.describe = describe
        self.writer = writer
        self.best_accuracy: float | None = None
        self.best_epoch: int | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any]) -> None:
        """Write best.pt when this epoch's test accuracy beats every earlier one; log the best so far."""
        accuracy = record.get("val_accuracy")
        if accuracy is not None and (self.best_accuracy is None or accuracy > self.best_accuracy):
            self.best_accuracy, self.best_epoch = float(accuracy), epoch
            if self.writer:
                atomic_torch_save({**self.describe(), "format": BEST_FORMAT, "epoch": epoch,
                                   "val_accuracy": float(accuracy), "model": trainer.model.state_dict()}, self.path)
        if self.best_accuracy is not None:
            record["best_val_accuracy"] = self.best_accuracy
            record["best_epoch"] = self.best_epoch

    def state_dict(self) -> dict[str, Any]:
        """The best accuracy and epoch so far (checkpointed with the run)."""
        return {"best_accuracy": self.best_accuracy, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the best accuracy and epoch."""
        self.best_accuracy = state.get("best_accuracy")
        self.best_epoch = state.get("best_epoch")


@dataclass(frozen=True)
class GenotypeSizes:
    """A registered DARTS genotype with nascli's size counts and the figures its paper prints (millions)."""

    name: str
    source: str
    cifar_params: float
    imagenet_params: float
    imagenet_flops: float
    paper_cifar_params: float | None
    paper_imagenet_params: float | None
    paper_imagenet_flops: float | None


def registered_genotype_sizes() -> list[GenotypeSizes]:
    """Every registered genotype: CIFAR params at C=36 L=20, ImageNet params and FLOPs at C=48 L=14, 224 px."""
    from nascli.spaces.base import get_space
    from nascli.spaces.genotypes import GENOTYPES

    space = get_space("darts")
    rows = []
    for entry in GENOTYPES.values():
        rows.append(GenotypeSizes(
            name=entry.name, source=entry.source,
            cifar_params=space.cost(entry.genotype, "params", "cifar10"),
            imagenet_params=space.cost(entry.genotype, "params", "imagenet"),
            imagenet_flops=space.cost(entry.genotype, "flops", "imagenet"),
            paper_cifar_params=entry.paper_params.get("cifar10"),
            paper_imagenet_params=entry.paper_params.get("imagenet"),
            paper_imagenet_flops=entry.paper_flops.get("imagenet"),
        ))
    return rows


def check_settings(cfg: RetrainConfig) -> None:
    """Refuse retraining settings that cannot work, before anything is written."""
    if cfg.network and cfg.genotype:
        raise NasInputError(f"both --genotype and --network {cfg.network} are set: retrain one of them")
    if cfg.network and (cfg.aux_weight > 0 or cfg.drop_path_prob > 0):
        raise NasInputError(f"the {cfg.network} network has no auxiliary head or drop-path: set --auxiliary-weight 0 "
                            "and --drop-path 0")
    if not cfg.genotype and not cfg.network:
        raise NasInputError("no architecture to retrain: pass --genotype NAME|FILE|TEXT "
                            "(nas retrain --list-genotypes shows the registered names) or --network resnet20")
    if cfg.aux_weight < 0:
        raise NasInputError(f"aux_weight is {cfg.aux_weight}: the auxiliary loss weight must be ≥ 0 (DARTS: 0.4)")
    if not 0.0 <= cfg.drop_path_prob < 1.0:
        raise NasInputError(f"drop_path_prob is {cfg.drop_path_prob}: it must lie in [0, 1) (DARTS: 0.2)")
    if cfg.eval_every < 1:
        raise NasInputError(f"eval_every is {cfg.eval_every}: evaluate at least every 1 epoch")
    if cfg.optim.epochs < 1:
        raise NasInputError(f"optim.epochs is {cfg.optim.epochs}: train at least 1 epoch")
    if cfg.data.labels != "true":
        raise NasInputError("retraining measures test accuracy on true labels: set data.labels to true")
    auxiliary = cfg.model.options.get("auxiliary")
    if auxiliary is not None and bool(auxiliary) != (cfg.aux_weight > 0):
        raise NasInputError(
            f"model.options.auxiliary is {auxiliary} but aux_weight is {cfg.aux_weight}: the head is trained "
            "exactly when its weight is > 0, so set both (--auxiliary-weight sets both)"
        )


def build_loaders(cfg: RetrainConfig, device: torch.device, dist: DistInfo
                  ) -> tuple[BatchLoader | FolderStreamLoader, BatchLoader | FolderStreamLoader]:
    """Training and test loaders; image folders too large for memory stream from disk (random-resized crops)."""
    data = cfg.data
    train = train_loader(training_set(data, cfg.seed).images, data, cfg.seed, device, dist)
    test = eval_loader(evaluation_set(data, cfg.seed), data, device, dist, channels_last=cfg.runtime.channels_last,
                       exact_shards=True)
    if train.num_classes != test.num_classes:
        raise NasInputError(f"the training set has {train.num_classes} classes but the test set "
                            f"{test.num_classes}: point --data-root at one dataset")
    return train, test


def loader_image_size(loader: BatchLoader | FolderStreamLoader) -> int:
    """Side of the square images a loader yields (after `data.resize_after_augment`, when set)."""
    if loader.augment.resize is not None:
        return int(loader.augment.resize)
    if isinstance(loader, FolderStreamLoader):
        return loader.image_size
    return int(loader.imageset.images.shape[-1])


def build_network(space: SearchSpace, arch: Architecture, cfg: RetrainConfig, num_classes: int, input_size: int
                  ) -> tuple[nn.Module, NetworkConfig]:
    """The stand-alone network of `arch` at the recipe's size, with the auxiliary head when `aux_weight` > 0."""
    net_cfg = network_config(space, cfg.data.dataset, cfg.model, num_classes)
    options = dict(net_cfg.options)
    if cfg.aux_weight > 0:
        options["auxiliary"] = True
    net_cfg = dataclasses.replace(net_cfg, input_size=input_size, options=options)
    torch.manual_seed(cfg.seed)
    model = space.network(arch, net_cfg)
    if cfg.aux_weight > 0 and getattr(model, "auxiliary_head", None) is None:
        raise NasInputError(f"the {space.name} network has no auxiliary head: set --auxiliary-weight 0")
    if cfg.drop_path_prob > 0 and not hasattr(model, "drop_path_prob"):
        raise NasInputError(f"the {space.name} network has no drop-path: set --drop-path 0")
    return model, net_cfg


def _forward_with_aux(model: nn.Module, images: torch.Tensor, path: Any) -> Any:
    return model.forward_with_aux(images)


def network_trainer(cfg: RetrainConfig, model: nn.Module, train_batches: BatchLoader | FolderStreamLoader,
                    run_dir: str | Path, evaluate: Callable[[nn.Module, int], dict[str, float]] | None, *,
                    device: torch.device, dist: DistInfo = DistInfo(), hooks: Sequence[TrainHook] = (),
                    description: str = "retrain") -> Trainer:
    """The engine set up for a stand-alone network as `cfg` says: SGD, auxiliary loss, drop-path ramp, AMP, a
    checkpoint (`last.pt`) and a log (`metrics.jsonl`) in `run_dir` each epoch; `retrain` and the `trained-acc`
    score both train through it."""
    schedule: list[TrainHook] = []
    if hasattr(model, "drop_path_prob"):
        schedule.append(DropPathSchedule(model, cfg.drop_path_prob, cfg.optim.epochs))
    return Trainer(
        model, cfg.optim, train_batches, run_dir, device=device, precision=resolve_precision(cfg.runtime.amp, device),
        channels_last=cfg.runtime.channels_last, forward=_forward_with_aux if cfg.aux_weight > 0 else None,
        evaluate=evaluate, hooks=[*schedule, *hooks], dist_info=dist, quiet=cfg.runtime.quiet,
        aux_weight=cfg.aux_weight, log_name=LOG_FILE, checkpoint_name=LAST_FILE, description=description,
    )


def retrain(cfg: RetrainConfig, out: str | Path, *, resume: bool = False, overwrite: bool = False,
            meta: dict[str, Any] | None = None) -> RetrainRun:
    """Train `cfg.genotype` from scratch, testing each epoch; writes best.pt, last.pt, metrics.jsonl, manifest.json."""
    check_settings(cfg)
    space: SearchSpace | None = None
    if cfg.network:
        from nascli.networks import network_spec

        text, space_name = network_spec(cfg.network).name, NETWORK_SPACE
    else:
        space, arch = resolve_architecture(str(cfg.genotype), cfg.space, **cfg.space_options)
        text, space_name = space.format(arch), space.name
    device, dist = init_device_and_ranks(cfg.runtime.device)
    run = RunFolder(out, writer=dist.is_main)
    resumed = run.prepare(kind="retrain", space=space_name, resume=resume, overwrite=overwrite,
                          guard_files=(LAST_FILE, BEST_FILE), config={**to_dict(cfg), "meta": meta or {}})
    if resumed and run.manifest.get("arch") not in (None, text):
        raise NasInputError(f"{run.path} retrains another architecture ({str(run.manifest['arch'])[:60]}…): "
                            "resume with the same --genotype or --network, or choose a new --out folder")

    train_batches, test_batches = build_loaders(cfg, device, dist)
    input_size = loader_image_size(train_batches)
    if space is None:
        from nascli.networks import build_network as build_plain_network

        model = build_plain_network(str(cfg.network), train_batches.num_classes, seed=cfg.seed)
        net_cfg = NetworkConfig(num_classes=train_batches.num_classes, input_size=input_size,
                                options={"network": cfg.network})
    else:
        model, net_cfg = build_network(space, arch, cfg, train_batches.num_classes, input_size)
    params_m = count_params(model) / 1e6
    flops_convention = getattr(space, "flops_convention", "macs")  # the space's papers' count (MobileNet: thop)
    flops_m = count_flops(model, (3, input_size, input_size), convention=flops_convention) / 1e6
    broadcast_parameters(model, dist)

    precision: Precision = resolve_precision(cfg.runtime.amp, device)
    describe = {"space": space_name, "arch": text, "network": dataclasses.asdict(net_cfg)}
    best = BestCheckpoint(run.file(BEST_FILE), lambda: describe, writer=dist.is_main)

    def evaluate(network: nn.Module, epoch: int) -> dict[str, float]:
        if epoch + 1 < trainer.end_epoch and (epoch + 1) % cfg.eval_every:
            return {}
        return evaluate_accuracy(network, test_batches.iterate(0), device, precision=precision, dist_info=dist)

    trainer = network_trainer(cfg, model, train_batches, run.path, evaluate, device=device, dist=dist,
                              hooks=[best], description=f"retrain {space_name}")
    if resumed:
        trainer.restore()  # a corrupt or foreign checkpoint fails here, before anything is written
    genotype_path = Path(str(cfg.genotype))
    parents = [genotype_path] if genotype_path.suffix == ".json" else []  # resolved above, so it exists
    run.start(kind="retrain", space=space_name, dataset=cfg.data.dataset,
              config={**to_dict(cfg), "meta": meta or {}}, seed=cfg.seed, parents=parents,
              extra={"arch": text, "arch_json": space.to_json(arch) if space is not None else None,
                     "genotype": cfg.genotype, "network_name": cfg.network, "num_classes": train_batches.num_classes,
                     "params_m": params_m, "flops_m": flops_m, "flops_convention": flops_convention,
                     "network": dataclasses.asdict(net_cfg),
                     "world_size": dist.world_size, "train_batches_per_epoch": len(train_batches)})
    with run.running():
        result = trainer.fit(resume=resumed)
    tested = [record for record in result.records if "val_accuracy" in record]
    final_accuracy = float(tested[-1]["val_accuracy"]) if tested else None
    run.finish("done", epochs_done=result.epochs_done, best_val_accuracy=best.best_accuracy,
               best_epoch=best.best_epoch, final_val_accuracy=final_accuracy)
    return RetrainRun(out=run.path, best_path=best.path, last_path=trainer.checkpoint_path, log_path=trainer.log_path,
                      result=result, arch_text=text, params_m=params_m, flops_m=flops_m,
                      best_accuracy=best.best_accuracy, best_epoch=best.best_epoch, final_accuracy=final_accuracy,
                      model=trainer.model)
