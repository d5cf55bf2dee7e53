"""`search --strategy darts|drnas` as a library call: a mixed supernet trained bi-level with the `Trainer`.

Writes the artifacts every search writes — `genotype.json`, `history.jsonl` (one record per epoch: losses,
accuracies, θ, the derived genotype and, on NB201, its benchmark accuracies and the accuracy range of
architectures drawn from the current Dirichlet), `manifest.json` — plus `last.pt`, the per-epoch
checkpoint (weights, SGD and Adam states, θ, masks, K, stage, loader positions, RNG) that `--resume`
continues from exactly, across stage boundaries too. Under torchrun every rank draws the same mixing
weights (same seed) and applies the same, all-reduced architecture update.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nascli.artifacts import RunFolder, atomic_write_json, load_checkpoint
from nascli.config import DataConfig, DifferentiableConfig, SearchConfig, to_dict
from nascli.data.folders import list_image_folder
from nascli.data.loader import STREAM_THRESHOLD_BYTES, ImageSource, decoded_bytes, derive_seed, hold_or_stream
from nascli.data.pipeline import eval_loader, evaluation_set, train_loader, training_set
from nascli.data.splits import OFFICIAL_SEARCH_SPLITS, select
from nascli.errors import NasInputError
from nascli.spaces.base import SearchSpace, get_space
from nascli.strategies.differentiable import (
    DIFFERENTIABLE,
    METHODS,
    ArchitectureHook,
    ArchParameters,
    CyclingBatches,
    derive_genotype,
)
from nascli.strategies.progressive import StagePlan
from nascli.strategies.runner import BENCH_DATASETS, SearchRun
from nascli.train.devices import autocast, resolve_precision
from nascli.train.distributed import DistInfo, all_reduce_sum, broadcast_parameters, init_device_and_ranks
from nascli.train.engine import Trainer
from nascli.train.supernet import network_config

CHECKPOINT = "last.pt"
HISTORY = "history.jsonl"
OFFICIAL_SPLITS = OFFICIAL_SEARCH_SPLITS


@dataclass
class DifferentiableSearchRun(SearchRun):
    """A finished differentiable search: the `SearchRun` fields, the final θ and the epoch records."""

    arch_parameters: dict[str, torch.Tensor] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    genotype: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Loaders:
    weights: Any
    arch: Any
    evaluation: Any
    num_classes: int
    sizes: tuple[int, int]


def _check_settings(cfg: SearchConfig, space: SearchSpace) -> StagePlan:
    settings = cfg.differentiable
    if cfg.strategy not in DIFFERENTIABLE:
        raise NasInputError(f"strategy {cfg.strategy!r} is not differentiable: use one of {', '.join(DIFFERENTIABLE)}")
    if settings.regularizer == "kl" and cfg.strategy != "drnas":
        raise NasInputError("the kl regulariser is the Dirichlet's (drnas): use regularizer l2 with darts")
    if settings.edge_normalization and cfg.strategy != "darts":
        raise NasInputError("edge normalisation is PC-DARTS's; DrNAS has none: set edge_normalization false")
    if settings.freeze_epochs < 0 or settings.trajectory_samples < 0:
        raise NasInputError("freeze_epochs and trajectory_samples must be ≥ 0")
    if settings.valid_batches is not None and settings.valid_batches < 1:
        raise NasInputError("valid_batches must be ≥ 1, or null for the whole architecture half")
    if settings.data.train_split or settings.data.eval_split:
        raise NasInputError("differentiable.data.train_split/eval_split are not read here: choose the weight and "
                            "architecture halves with differentiable.split")
    if space.name not in ("nb201", "darts"):
        raise NasInputError(f"differentiable search supports the nb201 and darts spaces, not {space.name!r}")
    return StagePlan(settings.stages, len(space.ops))


def _halves(settings: DifferentiableConfig, seed: int) -> tuple[ImageSource, ImageSource]:
    """(weights half, architecture half), as `settings.split` says (image folders may stream)."""
    data = settings.data
    images = training_set(data, seed).images
    if settings.split == "first-half":
        if not 0.0 < settings.train_portion < 1.0:
            raise NasInputError(f"train_portion {settings.train_portion} must lie strictly between 0 and 1")
        cut = int(math.floor(settings.train_portion * len(images)))
        if cut == 0 or cut == len(images):
            raise NasInputError(f"{len(images)} training images cannot be split at {settings.train_portion}: "
                                "use more images")
        return images.subset(np.arange(cut)), images.subset(np.arange(cut, len(images)))
    if settings.split == "official":
        if images.name in OFFICIAL_SPLITS:
            (file_w, part_w), (file_a, part_a) = OFFICIAL_SPLITS[images.name]
            return select(images, file_w, part_w), select(images, file_a, part_a)
        if images.name == "cifar100":
            return images, select(evaluation_set(data, seed), "cifar100_test_split", "xvalid")
        raise NasInputError(f"NB201 has no official search split for {images.name}: use split first-half")
    return images, evaluation_set(data, seed)


def _loaders(settings: DifferentiableConfig, seed: int, device: torch.device, dist: DistInfo) -> _Loaders:
    data = settings.data
    arch_seed = derive_seed("architecture-half", seed)
    if settings.split == "train-val" and data.dataset.lower() in ("imagefolder", "imagenet"):
        return _folder_loaders(settings, seed, arch_seed, device, dist)
    weights_set, arch_set = _halves(settings, seed)
    return _Loaders(
        weights=train_loader(weights_set, data, seed, device, dist),
        arch=train_loader(arch_set, _full_batches(data), arch_seed, device, dist),
        evaluation=eval_loader(arch_set, data, device, dist),
        num_classes=weights_set.num_classes,
        sizes=(len(weights_set), len(arch_set)),
    )


def _full_batches(data: DataConfig) -> DataConfig:
    """The architecture half always gets full batches: the references draw each one as the first batch of a fresh
    shuffle (`next(iter(valid_queue))`), whatever data.drop_last says of the weights half."""
    return dataclasses.replace(data, drop_last=True)


def _folder_loaders(settings: DifferentiableConfig, seed: int, arch_seed: int, device: torch.device,
                    dist: DistInfo) -> _Loaders:
    """An image folder's train/ (weights) and val/ (architecture) parts, streamed from disk when large."""
    data = settings.data
    if data.root is None:
        raise NasInputError("an image-folder search needs --data-root with train/ and val/ folders")
    listings = (list_image_folder(data.root, True), list_image_folder(data.root, False))
    stream = data.stream
    if stream is None:  # one decision for both parts, by their joint decoded size
        size = data.image_size or 224
        stream = sum(decoded_bytes(listing, size) for listing in listings) > STREAM_THRESHOLD_BYTES
    weights_set, arch_set = (hold_or_stream(listing, data.image_size, stream) for listing in listings)
    return _Loaders(
        weights=train_loader(weights_set, data, seed, device, dist),
        arch=train_loader(arch_set, _full_batches(data), arch_seed, device, dist),
        evaluation=eval_loader(arch_set, data, device, dist),
        num_classes=listings[0].num_classes,
        sizes=(len(listings[0]), len(listings[1])),
    )


def _saved_partial_channels(run: RunFolder, resumed: bool, default: int) -> int:
    """K of the checkpoint a resumed run continues (the supernet is rebuilt at that width)."""
    path = run.file(CHECKPOINT)
    if not resumed or not path.exists():
        return default
    state = load_checkpoint(path, "search checkpoint")
    try:
        return int(state["hooks"][0]["partial_channels"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise NasInputError(f"{path} is not a differentiable-search checkpoint: use a new --out folder") from None


def _bench_dataset(cfg: SearchConfig) -> str:
    dataset = (cfg.dataset or cfg.differentiable.data.dataset).lower()
    return dataset if dataset in BENCH_DATASETS else "cifar10"


class _NB201Report:
    """Per epoch on NB201: the genotype's benchmark accuracies, and the range over architectures drawn from Dir(β)."""

    def __init__(self, space: SearchSpace, table: Any, dataset: str, samples: int, seed: int) -> None:
        self.space = space
        self.dataset = dataset
        self.samples = samples
        self.seed = seed
        self.test = {name: table.metric(name, "test") for name in BENCH_DATASETS}

    def __call__(self, arch: ArchParameters, epoch: int) -> dict[str, Any]:
        genotype = derive_genotype(self.space, arch.probabilities())
        index = int(self.space.index(genotype))
        bench = {name: float(values[index]) for name, values in self.test.items()}
        record: dict[str, Any] = {"genotype_index": index, "bench": bench, "mean_genotype_acc": bench[self.dataset]}
        if arch.method == "dirichlet" and self.samples > 0:
            # one Dirichlet draw per edge (as gammas: the argmax of a normalised draw is the gammas' argmax)
            rng = np.random.default_rng(derive_seed("trajectory", self.seed, epoch))
            concentration = arch.concentration("cell").detach().cpu().double().numpy()
            draws = rng.gamma(concentration, size=(self.samples, *concentration.shape))
            mask = arch.masks["cell"]
            if mask is not None:
                draws = np.where(mask.cpu().numpy(), draws, -1.0)
            accuracy = self.test[self.dataset][self.space.indices_of(draws.argmax(axis=2))]
            record.update(sampled_min=float(accuracy.min()), sampled_max=float(accuracy.max()),
                          sampled_mean=float(accuracy.mean()))
        return record


def _evaluator(arch: ArchParameters, loader: Any, device: torch.device, precision: Any, limit: int | None,
               dist: DistInfo) -> Any:
    """Loss and accuracy on the architecture half in eval mode, a fresh draw of mixing weights per batch."""

    @torch.no_grad()
    def evaluate(model: torch.nn.Module, epoch: int) -> dict[str, float]:
        model.eval()
        stats = torch.zeros(3, dtype=torch.float64, device=device)
        for step, (images, labels, _) in enumerate(loader.iterate(0)):
            if limit is not None and step >= limit:
                break
            images, labels = images.to(device), labels.to(device)
            with autocast(precision, device):
                logits = model(images, arch.mixing_weights(detach=True), arch.edge_weights(detach=True),
                               active=arch.active_ops())
            stats[0] += torch.nn.functional.cross_entropy(logits.float(), labels, reduction="sum").double()
            stats[1] += (logits.argmax(1) == labels).sum()
            stats[2] += labels.shape[0]
        all_reduce_sum(stats, dist)
        total = max(float(stats[2]), 1.0)
        return {"val_loss": float(stats[0]) / total, "val_accuracy": 100.0 * float(stats[1]) / total}

    return evaluate


def best_validation_record(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The first epoch record with the highest architecture-half accuracy (pt.darts: `if best_top1 < top1`)."""
    best = records[0]
    for record in records[1:]:
        if record.get("val_accuracy", -math.inf) > best.get("val_accuracy", -math.inf):
            best = record
    return best


def run_differentiable_search(cfg: SearchConfig, out: str | Path, *, resume: bool = False, overwrite: bool = False,
                              meta: dict[str, Any] | None = None) -> DifferentiableSearchRun:
    """Search `cfg.space` with DARTS or DrNAS and write genotype.json, history.jsonl, manifest.json, last.pt."""
    settings = cfg.differentiable
    space = get_space(cfg.space, **cfg.space_options)
    plan = _check_settings(cfg, space)
    device, dist = init_device_and_ranks(cfg.runtime.device)
    run = RunFolder(out, writer=dist.is_main)
    resumed = run.prepare(kind="search", space=space.name, resume=resume, overwrite=overwrite,
                          guard_files=(CHECKPOINT, HISTORY), config={**to_dict(cfg), "meta": meta or {}})
    loaders = _loaders(settings, cfg.seed, device, dist)
    bench_dataset = _bench_dataset(cfg)
    report = None
    if space.name == "nb201":
        from nascli.bench.table import BenchTable

        table = BenchTable.load(cfg.bench, expected_sha256=cfg.bench_sha256)
        report = _NB201Report(space, table, bench_dataset, settings.trajectory_samples, cfg.seed)
    partial = _saved_partial_channels(run, resumed, plan.stages[0].partial_channels)
    net_cfg = network_config(space, settings.data.dataset, settings.model, loaders.num_classes)
    options = dict(net_cfg.options)
    options["partial_channels"] = partial
    if space.name == "darts":
        options.setdefault("affine", False)
    net_cfg = dataclasses.replace(net_cfg, options=options)

    torch.manual_seed(cfg.seed)
    model = space.supernet(net_cfg)
    method = METHODS[cfg.strategy]
    arch = ArchParameters(space, method, edge_normalization=settings.edge_normalization, device=device)
    model.to(device)
    broadcast_parameters(model, dist)
    if dist.enabled:
        for tensor in arch.parameters():
            torch.distributed.broadcast(tensor.data, src=0)
    decay = settings.arch.weight_decay if settings.regularizer == "l2" else 0.0
    arch_optimizer = torch.optim.Adam(arch.parameters(), lr=settings.arch.lr, betas=tuple(settings.arch.betas),
                                      weight_decay=decay)
    hook = ArchitectureHook(
        space=space, arch=arch, optimizer=arch_optimizer, valid=CyclingBatches(loaders.arch), plan=plan,
        order=settings.order, kl_weight=settings.kl_weight if settings.regularizer == "kl" else 0.0,
        grad_clip=settings.arch.grad_clip, freeze_epochs=settings.freeze_epochs, seed=cfg.seed, report=report,
        dist=dist, stage_lr=settings.stage_lr, weight_clip_with_arch=settings.weight_clip_with_arch,
        hessian_divisor_bug=settings.hessian_divisor_bug,
    )
    detach = not settings.weight_clip_with_arch  # θ's training-loss gradient is only wanted for the clip norm
    precision = resolve_precision(cfg.runtime.amp, device)
    trainer = Trainer(
        model, dataclasses.replace(settings.optim, epochs=plan.total_epochs), loaders.weights, run.path,
        device=device, precision=precision, channels_last=cfg.runtime.channels_last,
        forward=lambda net, images, _path: net(images, arch.mixing_weights(detach=detach),
                                               arch.edge_weights(detach=detach), active=arch.active_ops()),
        evaluate=_evaluator(arch, loaders.evaluation, device, precision, settings.valid_batches, dist),
        hooks=[hook], dist_info=dist, quiet=cfg.runtime.quiet, log_name=HISTORY, checkpoint_name=CHECKPOINT,
        description=f"{cfg.strategy} {space.name}", clip_extra=arch.parameters() if not detach else (),
    )
    if resumed:
        trainer.restore()  # a corrupt or foreign checkpoint fails here, before anything is written
    run.start(kind="search", space=space.name, dataset=settings.data.dataset,
              config={**to_dict(cfg), "meta": meta or {}}, seed=cfg.seed,
              extra={"strategy": cfg.strategy, "score": None, "network": dataclasses.asdict(net_cfg),
                     "world_size": dist.world_size, "halves": list(loaders.sizes), "bench_dataset": bench_dataset})
    with run.running():
        result = trainer.fit(resume=resumed)
    best = derive_genotype(space, arch.probabilities())
    last = result.records[-1] if result.records else {}
    if settings.genotype_from == "best-val-epoch" and result.records:
        last = best_validation_record(result.records)
        best = space.parse(last["genotype"])
    genotype: dict[str, Any] = {
        "space": space.name,
        "arch": space.to_json(best),
        "text": space.format(best),
        "scores": {"val_accuracy": last.get("val_accuracy", math.nan)},
        "source": {"strategy": cfg.strategy, "search": str(run.path.absolute()), "epochs": result.epochs_done,
                   "order": settings.order, "supernet": None, "genotype_from": settings.genotype_from,
                   "epoch": last.get("epoch")},
    }
    top: list[dict[str, Any]] = [{"arch": genotype["text"], "val_accuracy": genotype["scores"]["val_accuracy"]}]
    if space.name == "nb201":
        genotype["index"] = space.index(best)
        genotype["bench"] = last.get("bench") or report(arch, result.epochs_done)["bench"]  # type: ignore[misc]
        top[0].update(index=genotype["index"], bench=genotype["bench"])
    complete = result.epochs_done >= plan.total_epochs
    if complete:
        if dist.is_main:
            atomic_write_json(run.file("genotype.json"), genotype)
        run.finish("done", epochs_done=result.epochs_done, best=genotype["text"])
    else:  # stop_after_epochs: the genotype is only final after the last stage
        run.update(status="stopped", epochs_done=result.epochs_done)
    return DifferentiableSearchRun(
        out=run.path, best=best, best_score=float(genotype["scores"]["val_accuracy"]), top=top,
        evaluated=result.epochs_done, space=space, is_main=dist.is_main,
        arch_parameters={kind: theta.detach().cpu().clone() for kind, theta in arch.theta.items()},
        records=result.records, genotype=genotype if complete else {},
    )

