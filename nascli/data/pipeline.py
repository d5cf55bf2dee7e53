"""From a `DataConfig` to the image sets and batch loaders a stage trains and evaluates on."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nascli.config import DataConfig
from nascli.data.datasets import normalization
from nascli.data.labels import labels_hash
from nascli.data.loader import AugmentConfig, BatchLoader, FolderStreamLoader, ImageSource, loader_for, prepare_images
from nascli.errors import NasInputError
from nascli.train.distributed import DistInfo

OFFICIAL_TRAIN_SIZES = {"cifar10": 50_000, "cifar100": 50_000, "imagenet16-120": 151_700}
"""Length of the random-label vector the references draw (one label per official training image)."""


@dataclass
class TrainingData:
    """The training set as trained on (in memory, or an image folder streamed from disk) and its labels' hash."""

    images: ImageSource
    labels_kind: str
    labels_sha256: str


def _split_spec(spec: str | None) -> tuple[str, str] | None:
    """`FILE:PART` as (file, part); None when no split is asked for."""
    if not spec:
        return None
    if ":" not in spec:
        raise NasInputError(f"split {spec!r} must be FILE:PART, e.g. cifar10_search_split:train")
    split_file, part = spec.split(":", 1)
    return split_file, part


def training_set(cfg: DataConfig, seed: int) -> TrainingData:
    """Load (or list, for a streamed folder) the training images, apply the index split, then random labels."""
    random_labels = cfg.labels == "random"
    images = prepare_images(cfg.dataset, cfg.root, True, image_size=cfg.image_size,
                            synthetic_size=cfg.synthetic_train, data_seed=seed, split=_split_spec(cfg.train_split),
                            label_seed=cfg.label_seed if random_labels else None,
                            label_total=cfg.label_total or OFFICIAL_TRAIN_SIZES.get(cfg.dataset), stream=cfg.stream)
    return TrainingData(images=images, labels_kind=cfg.labels, labels_sha256=labels_hash(images.labels))


def evaluation_set(cfg: DataConfig, seed: int) -> ImageSource:
    """The held-out images with their true labels (the test set, optionally split)."""
    return prepare_images(cfg.dataset, cfg.root, False, image_size=cfg.image_size, synthetic_size=cfg.synthetic_test,
                          data_seed=seed, split=_split_spec(cfg.eval_split), stream=cfg.stream)


def augment_config(cfg: DataConfig) -> AugmentConfig:
    """The augmentation settings of a `DataConfig`."""
    mean = std = None
    if cfg.normalization:
        mean, std = normalization(cfg.normalization)
    return AugmentConfig(crop_pad=cfg.crop_pad, flip=cfg.flip, cutout=cfg.cutout, normalize=cfg.normalize,
                         resize=cfg.resize_after_augment, mean=mean, std=std, crop_style=cfg.crop_style,
                         lighting=cfg.lighting, rotation=cfg.rotation)


def per_process(cfg: DataConfig, total: int, world_size: int, what: str = "batch_size") -> int:
    """`total` as one process's share: itself when batch_scope is process, else ⌊total / world size⌋."""
    if cfg.batch_scope == "process" or world_size == 1:
        return total
    share = total // world_size
    if share < 1 and what != "workers":
        raise NasInputError(f"data.{what} {total} over {world_size} processes leaves none per process: "
                            f"raise it to at least {world_size}, or set data.batch_scope process")
    return share


def train_loader(images: ImageSource, cfg: DataConfig, seed: int, device: torch.device, dist: DistInfo,
                 batch_size: int | None = None) -> BatchLoader | FolderStreamLoader:
    """Shuffled, augmented, sharded-by-rank batches; order and augmentation depend only on (seed, epoch, step)."""
    batch = per_process(cfg, batch_size or cfg.batch_size, dist.world_size)
    return loader_for(images, batch, train=True, seed=seed, augment=augment_config(cfg), device=device,
                      drop_last=cfg.drop_last, rank=dist.rank, world_size=dist.world_size, image_size=cfg.image_size,
                      workers=per_process(cfg, cfg.workers, dist.world_size, "workers"))


def eval_loader(images: ImageSource, cfg: DataConfig, device: torch.device, dist: DistInfo, *,
                channels_last: bool = False, exact_shards: bool = False) -> BatchLoader | FolderStreamLoader:
    """Fixed-order, un-augmented batches (`exact_shards`: no image twice across ranks, see `loader_for`)."""
    batch = per_process(cfg, cfg.eval_batch_size, dist.world_size, "eval_batch_size")
    return loader_for(images, batch, train=False, seed=0, augment=augment_config(cfg), device=device,
                      drop_last=False, rank=dist.rank, world_size=dist.world_size, channels_last=channels_last,
                      exact_shards=exact_shards, image_size=cfg.image_size,
                      workers=per_process(cfg, cfg.workers, dist.world_size, "workers"))
