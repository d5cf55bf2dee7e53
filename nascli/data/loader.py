"""Deterministic, resumable batch loaders: in-memory tensors (augmented on the device) or streamed folders.

Both loaders yield `(images, labels, official_indices)` on the training device and share one contract:

* Epoch order: a permutation drawn from a torch generator seeded by sha256(seed, epoch) — the same on
  every rank. Rank r takes positions r, r + W, r + 2W, … of it (W = world size). With `drop_last`
  (the training default) the permutation is first truncated to a multiple of W; without it, it is
  padded by repeating its first entries, as torch's DistributedSampler does, so all ranks get equal
  shards (evaluation under DDP may then see a few images twice: deduplicate by the yielded indices).
* Augmentation (training only) is drawn from a generator seeded by sha256(seed, epoch, step, rank)
  (in-memory loader) or sha256(seed, epoch, official index) (streaming loader), so a run resumed at
  `iterate(epoch, start_step)` reproduces the remaining batches bit for bit.
* The random draws are made on the CPU, so the same batches come out on CPU and CUDA.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from nascli.data.datasets import (
    DATASET_DEFAULTS,
    ImageSet,
    canonical_dataset_name,
    imageset_from_listing,
    load_dataset,
)
from nascli.data.folders import FolderListing, list_image_folder
from nascli.data.labels import apply_random_labels
from nascli.data.splits import select
from nascli.data.transforms import (
    CROP_STYLES,
    CropStyle,
    apply_lighting,
    lighting_offsets,
    megvii_eval_resize,
    megvii_random_crop,
    random_resized_crop_box,
)
from nascli.errors import NasInputError

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
STREAM_THRESHOLD_BYTES = 2 * 1024**3
"""Image folders whose decoded uint8 pixels would exceed this stream from disk instead."""


@dataclass
class AugmentConfig:
    """Batch-side augmentation. Training loaders apply crop, flip and cutout; every loader resizes/normalises.

    crop_pad: zero padding of the random crop (None = the dataset's default, 0 = no crop); flip:
    horizontal flip with p = 0.5; cutout: side of the DARTS cutout square (0 = off); normalize:
    subtract mean and divide by std (False = [0, 1] input, as the RLNAS ImageNet runs); resize:
    antialiased bilinear resize (as PIL) after crop/flip, evaluation images too (BPE's 16-px proxy);
    mean/std: override the dataset's constants;
    crop_style: the random-resized crop and evaluation resize of streamed folders (`nascli.data.transforms`);
    lighting: std of the AlexNet PCA colour noise (0 = off; the RLNAS ImageNet scripts use 0.1); rotation: largest
    angle in degrees of a random rotation after crop and flip (0 = off; the RMI-NAS CIFAR-100 loader uses 15).
    """

    crop_pad: int | None = None
    flip: bool = True
    cutout: int = 0
    normalize: bool = True
    resize: int | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    crop_style: CropStyle = "torchvision"
    lighting: float = 0.0
    rotation: float = 0.0

    def __post_init__(self) -> None:
        if self.crop_style not in CROP_STYLES:
            raise NasInputError(f"unknown crop style {self.crop_style!r}: choose one of {', '.join(CROP_STYLES)}")
        if self.lighting < 0:
            raise NasInputError(f"lighting is a standard deviation, got {self.lighting}: use 0 (off) or more")
        if self.rotation < 0:
            raise NasInputError(f"rotation is a largest angle in degrees, got {self.rotation}: use 0 (off) or more")


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from sha256 of the parts' text: stable across processes, Python versions and ranks."""
    digest = hashlib.sha256(repr(tuple(parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def shard_order(
    count: int, *, shuffle: bool, seed: int, epoch: int, rank: int, world_size: int, drop_last: bool,
    pad: bool = True,
) -> torch.Tensor:
    """The positions (int64, CPU) this rank visits in `epoch` (see the module docstring for the rule).

    `pad=False` (evaluation) gives exact shards of unequal length instead of repeating the start of the order,
    so no image is counted twice when the per-rank sums are added up.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside world size {world_size}")
    if shuffle:
        generator = torch.Generator().manual_seed(derive_seed("order", seed, epoch))
        order = torch.randperm(count, generator=generator)
    else:
        order = torch.arange(count)
    if world_size > 1:
        if drop_last:
            order = order[: (count // world_size) * world_size]
        elif not pad:
            pass
        else:
            padded = math.ceil(count / world_size) * world_size
            if padded > count and count > 0:
                order = torch.cat([order, order.repeat(math.ceil(padded / count))[: padded - count]])
        order = order[rank::world_size]
    return order


def shard_size(count: int, world_size: int, drop_last: bool) -> int:
    """Number of positions each rank gets from a set of `count` (see `shard_order`)."""
    return count // world_size if drop_last else math.ceil(count / world_size)


def _batch_count(samples: int, batch_size: int, drop_last: bool) -> int:
    return samples // batch_size if drop_last else math.ceil(samples / batch_size)


def crop_flip(images: torch.Tensor, pad: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Per-image random crop (zero padding `pad`, same size out) and horizontal flip (p = ½), one gather.

    Offsets and flips are drawn on the CPU from `generator` in the order: row offsets, column offsets,
    flips (each one value per image).
    """
    if pad == 0 and not flip:
        return images
    count, channels, height, width = images.shape
    device = images.device
    if pad > 0:
        row_offsets = torch.randint(0, 2 * pad + 1, (count,), generator=generator)
        col_offsets = torch.randint(0, 2 * pad + 1, (count,), generator=generator)
        images = F.pad(images, (pad, pad, pad, pad))
    else:
        row_offsets = torch.zeros(count, dtype=torch.int64)
        col_offsets = torch.zeros(count, dtype=torch.int64)
    rows = row_offsets[:, None] + torch.arange(height)
    cols = torch.arange(width).expand(count, width)
    if flip:
        flipped = torch.rand(count, generator=generator) < 0.5
        cols = torch.where(flipped[:, None], width - 1 - cols, cols)
    cols = col_offsets[:, None] + cols
    batch_index = torch.arange(count, device=device).view(count, 1, 1, 1)
    channel_index = torch.arange(channels, device=device).view(1, channels, 1, 1)
    rows = rows.to(device).view(count, 1, height, 1)
    cols = cols.to(device).view(count, 1, 1, width)
    return images[batch_index, channel_index, rows, cols]


def rotate(images: torch.Tensor, max_degrees: float, generator: torch.Generator) -> torch.Tensor:
    """Rotate each image about its centre by an angle drawn uniformly from [−max_degrees, max_degrees] (one draw per
    image from `generator`, on the CPU), nearest neighbour, zero outside: torchvision's RandomRotation on uint8."""
    if max_degrees <= 0:
        return images
    count = images.shape[0]
    angles = (torch.rand(count, generator=generator, dtype=torch.float64) * 2 - 1) * max_degrees
    radians = torch.deg2rad(angles)
    cos, sin = torch.cos(radians), torch.sin(radians)
    # output → input sampling coordinates: rotating the image by +θ (counter-clockwise on screen) samples R(−θ)
    theta = torch.zeros(count, 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin, cos
    theta = theta.to(device=images.device, dtype=torch.float32)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    rotated = F.grid_sample(images.float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return rotated.round().to(images.dtype)


def cutout(images: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """DARTS cutout: one `length`² square per image zeroed, centre uniform over the image, clipped to it.

    Centre rows then centre columns are drawn on the CPU from `generator`.
    """
    count, _, height, width = images.shape
    centre_y = torch.randint(0, height, (count,), generator=generator)
    centre_x = torch.randint(0, width, (count,), generator=generator)
    half = length // 2
    y_low, y_high = (centre_y - half).clamp(0, height), (centre_y + half).clamp(0, height)
    x_low, x_high = (centre_x - half).clamp(0, width), (centre_x + half).clamp(0, width)
    rows = torch.arange(height).view(1, height, 1)
    cols = torch.arange(width).view(1, 1, width)
    hole = (
        (rows >= y_low.view(-1, 1, 1))
        & (rows < y_high.view(-1, 1, 1))
        & (cols >= x_low.view(-1, 1, 1))
        & (cols < x_high.view(-1, 1, 1))
    )
    return images * (~hole).to(device=images.device, dtype=images.dtype).unsqueeze(1)


def resize_like_pil(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [N, 3, H, W] images resized to size² as PIL's bilinear `Image.resize` does (antialiased, rounded to
    uint8; torchvision's `Resize` on PIL images, the BPE reference's): bit-identical on the CPU, within one level
    on other devices (no uint8 kernel there: float, then rounded)."""
    if tuple(images.shape[-2:]) == (size, size):
        return images
    if images.device.type == "cpu":
        return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    resized = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return resized.round_().clamp_(0, 255).to(torch.uint8)


class _BatchFinisher:
    """uint8 batch → float on the device: lighting (train), resize (after the crop and flip), normalise, cutout
    (train), channels_last."""

    def __init__(
        self,
        augment: AugmentConfig,
        mean: Sequence[float],
        std: Sequence[float],
        device: torch.device,
        train: bool,
        channels_last: bool,
    ) -> None:
        self.augment = augment
        self.train = train
        self.channels_last = channels_last
        mean = augment.mean if augment.mean is not None else mean
        std = augment.std if augment.std is not None else std
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.train and self.augment.lighting > 0 and generator is not None:
            images = apply_lighting(images, lighting_offsets(images.shape[0], self.augment.lighting, generator))
        if self.augment.resize is not None:
            images = resize_like_pil(images, self.augment.resize)
        batch = images.float().div_(255.0)
        if self.augment.normalize:
            batch = (batch - self.mean) / self.std
        if self.train and self.augment.cutout > 0 and generator is not None:
            batch = cutout(batch, self.augment.cutout, generator)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch


class _ShardedEpochs(ABC):
    """Epoch order and rank sharding shared by both loaders: the order depends only on (seed, epoch), every rank
    takes an equal strided shard, and `iterate(epoch, start_step)` resumes inside an epoch."""

    seed: int
    train: bool
    rank: int
    world_size: int
    drop_last: bool
    batch_size: int
    epoch: int

    def _setup(self, batch_size: int, train: bool, seed: int, augment: AugmentConfig | None,
               device: torch.device | str, drop_last: bool | None, rank: int, world_size: int,
               exact_shards: bool = False) -> None:
        self.exact_shards = exact_shards
        if batch_size < 1:
            raise NasInputError(f"batch size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.train = train
        self.seed = int(seed)
        self.augment = augment or AugmentConfig()
        self.device = torch.device(device)
        self.drop_last = train if drop_last is None else drop_last
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    @abstractmethod
    def _sample_count(self) -> int:
        """Number of images the loader draws from."""

    def _require_batches(self, what: str) -> None:
        if len(self) == 0:
            raise NasInputError(
                f"{self._sample_count()} {what} give no batch of {self.batch_size} on {self.world_size} rank(s); "
                "lower the batch size or use more data"
            )

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch that `iter(loader)` runs."""
        self.epoch = int(epoch)

    @property
    def _exact_shards(self) -> bool:
        # opt-in for evaluation that runs no per-batch collective and draws no random numbers: ranks then need
        # no equal batch counts, and an exact split counts no image twice (padding repeats the order's start)
        return self.exact_shards and not self.train and not self.drop_last

    def _order(self, epoch: int) -> torch.Tensor:
        return shard_order(
            self._sample_count(),
            shuffle=self.train,
            seed=self.seed,
            epoch=epoch,
            rank=self.rank,
            world_size=self.world_size,
            drop_last=self.drop_last,
            pad=not self._exact_shards,
        )

    def __len__(self) -> int:
        if self._exact_shards:
            samples = len(range(self.rank, self._sample_count(), self.world_size))
        else:
            samples = shard_size(self._sample_count(), self.world_size, self.drop_last)
        return _batch_count(samples, self.batch_size, self.drop_last)

    def __iter__(self) -> Iterator[Batch]:
        return self.iterate(self.epoch)

    @abstractmethod
    def iterate(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        """The batches of `epoch` from `start_step` on."""


class BatchLoader(_ShardedEpochs):
    """Deterministic epoch iterator over an in-memory ImageSet, augmenting whole batches on the device."""

    def __init__(
        self,
        imageset: ImageSet,
        batch_size: int,
        *,
        train: bool,
        seed: int,
        augment: AugmentConfig | None = None,
        device: torch.device | str = "cpu",
        drop_last: bool | None = None,
        rank: int = 0,
        world_size: int = 1,
        channels_last: bool = False,
        exact_shards: bool = False,
    ) -> None:
        self._setup(batch_size, train, seed, augment, device, drop_last, rank, world_size, exact_shards)
        if self.augment.crop_style != "torchvision":
            raise NasInputError(
                f"crop style {self.augment.crop_style!r} is a random-resized crop of image files, but {imageset.name} "
                "is held in memory: set data.stream true (image folders) or data.crop_style torchvision"
            )
        self.imageset = imageset
        self.pad = imageset.pad if self.augment.crop_pad is None else self.augment.crop_pad
        self._images = imageset.images.to(self.device)
        self._labels = imageset.labels.to(self.device)
        self._indices = imageset.indices.to(self.device)
        self._finish = _BatchFinisher(self.augment, imageset.mean, imageset.std, self.device, train, channels_last)
        self._require_batches("images")

    @property
    def num_classes(self) -> int:
        """Number of classes of the underlying set."""
        return self.imageset.num_classes

    def _sample_count(self) -> int:
        return len(self.imageset)

    def iterate(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        """The batches of `epoch` from `start_step` on; earlier batches are skipped without computing them."""
        order = self._order(epoch).to(self.device)
        for step in range(start_step, _batch_count(len(order), self.batch_size, self.drop_last)):
            positions = order[step * self.batch_size : (step + 1) * self.batch_size]
            images = self._images[positions]
            generator = None
            if self.train:
                generator = torch.Generator().manual_seed(derive_seed("augment", self.seed, epoch, step, self.rank))
                images = crop_flip(images, self.pad, self.augment.flip, generator)
                images = rotate(images, self.augment.rotation, generator)
            yield self._finish(images, generator), self._labels[positions], self._indices[positions]


# --- streamed image folders -------------------------------------------------------------------------------
class _FolderFiles(Dataset):
    """Files of a listing, decoded and cropped per sample; keys are (position, epoch)."""

    def __init__(self, listing: FolderListing, train: bool, seed: int, image_size: int, augment: AugmentConfig) -> None:
        self.paths = [str(path) for path in listing.paths]
        self.labels = torch.as_tensor(listing.labels, dtype=torch.int64)
        self.indices = torch.as_tensor(listing.indices, dtype=torch.int64)
        self.train = train
        self.seed = seed
        self.image_size = image_size
        self.augment = augment

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        position, epoch = key
        index = int(self.indices[position])
        try:
            with Image.open(self.paths[position]) as opened:
                image = opened.convert("RGB")
        except OSError as error:
            raise NasInputError(f"imagefolder: cannot decode {self.paths[position]} ({error}); replace it") from None
        size = self.image_size
        augment = self.augment
        if not self.train:
            if augment.crop_style == "megvii":
                pixels = megvii_eval_resize(TF.pil_to_tensor(image), round(size * 256 / 224))
            else:
                pixels = TF.pil_to_tensor(
                    TF.resize(image, round(size * 256 / 224), InterpolationMode.BILINEAR, antialias=True))
            return TF.center_crop(pixels, [size, size]).contiguous(), self.labels[position], self.indices[position]
        # per-image draws in the reference's order: crop, lighting, flip
        generator = torch.Generator().manual_seed(derive_seed("stream", self.seed, epoch, index))
        if augment.crop_style == "megvii":
            pixels = megvii_random_crop(TF.pil_to_tensor(image), size, generator)
        else:
            top, left, crop_h, crop_w = random_resized_crop_box(image.height, image.width, generator)
            pixels = TF.pil_to_tensor(TF.resized_crop(
                image, top, left, crop_h, crop_w, [size, size], InterpolationMode.BILINEAR, antialias=True))
        if augment.lighting > 0:
            pixels = apply_lighting(pixels[None], lighting_offsets(1, augment.lighting, generator))[0]
        if augment.flip and torch.rand(1, generator=generator).item() < 0.5:
            pixels = pixels.flip(-1)
        return pixels.contiguous(), self.labels[position], self.indices[position]


class FolderStreamLoader(_ShardedEpochs):
    """Same interface as BatchLoader for folders too large for memory: a DataLoader over the files.

    Training: a random-resized crop to image_size (scale 0.08–1; torchvision's rule or the megvii square crop,
    `AugmentConfig.crop_style`), PCA lighting and flip, drawn per image from sha256(seed, epoch, official index)
    in the workers, so the worker count does not matter; then normalisation and cutout on the device.
    Evaluation: resize the shorter side to image_size·256/224, centre crop.
    """

    def __init__(
        self,
        listing: FolderListing,
        batch_size: int,
        *,
        train: bool,
        seed: int,
        augment: AugmentConfig | None = None,
        device: torch.device | str = "cpu",
        drop_last: bool | None = None,
        rank: int = 0,
        world_size: int = 1,
        channels_last: bool = False,
        image_size: int = 224,
        workers: int = 4,
        exact_shards: bool = False,
    ) -> None:
        self._setup(batch_size, train, seed, augment, device, drop_last, rank, world_size, exact_shards)
        if self.augment.rotation > 0:
            raise NasInputError("data.rotation applies to images held in memory, but this image folder streams from "
                                "disk: set data.stream false or data.rotation 0")
        self.listing = listing
        self.workers = workers
        self.image_size = image_size
        self._files = _FolderFiles(listing, train, self.seed, image_size, self.augment)
        defaults = DATASET_DEFAULTS["imagefolder"]
        # lighting is drawn per image in the workers, as the references do, not again on the batch
        batch_augment = replace(self.augment, lighting=0.0)
        self._finish = _BatchFinisher(batch_augment, defaults.mean, defaults.std, self.device, train, channels_last)
        self._require_batches("images")

    @property
    def num_classes(self) -> int:
        """Number of class folders."""
        return self.listing.num_classes

    def _sample_count(self) -> int:
        return len(self.listing)

    def iterate(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        """The batches of `epoch` from `start_step` on; skipped batches are never read from disk."""
        order = self._order(epoch)
        steps = _batch_count(len(order), self.batch_size, self.drop_last)
        keys = [(int(position), epoch) for position in order[start_step * self.batch_size :]]
        loader = DataLoader(
            self._files,
            batch_size=self.batch_size,
            sampler=keys,
            num_workers=self.workers,
            drop_last=self.drop_last,
            pin_memory=self.device.type == "cuda",
        )
        for step, (images, labels, indices) in enumerate(loader, start=start_step):
            if step >= steps:
                break
            generator = None
            if self.train:
                generator = torch.Generator().manual_seed(derive_seed("augment", self.seed, epoch, step, self.rank))
            images = images.to(self.device, non_blocking=True)
            yield (
                self._finish(images, generator),
                labels.to(self.device, non_blocking=True),
                indices.to(self.device, non_blocking=True),
            )


# --- choosing a loader ------------------------------------------------------------------------------------
def decoded_bytes(listing: FolderListing, image_size: int | None) -> int:
    """Bytes of the listing's pixels decoded as uint8 (N·3·H·W; H, W of the first file when no size is given)."""
    if image_size is not None:
        height = width = image_size
    else:
        with Image.open(listing.paths[0]) as first:
            width, height = first.size
    return len(listing) * 3 * height * width


ImageSource = ImageSet | FolderListing
"""Images in memory, or the files of an image folder that a loader streams from disk."""


def open_images(
    name: str,
    root: str | Path | None,
    train: bool,
    *,
    image_size: int | None = None,
    synthetic_size: int | None = None,
    data_seed: int = 0,
) -> ImageSource:
    """An image folder's listing (nothing decoded yet); every other dataset loaded into memory."""
    key = canonical_dataset_name(name)
    if key == "imagefolder":
        return list_image_folder(root, train)  # type: ignore[arg-type]  (None is refused inside)
    return load_dataset(key, root, train, image_size=image_size, seed=data_seed, synthetic_size=synthetic_size)


def hold_or_stream(
    source: ImageSource,
    image_size: int | None,
    stream: bool | None = None,
    stream_threshold_bytes: int = STREAM_THRESHOLD_BYTES,
) -> ImageSource:
    """Decide where the images live: a listing is decoded into memory unless it streams.

    It streams when `stream` is True, or when `stream` is None and its decoded pixels (N·3·H·W bytes)
    exceed `stream_threshold_bytes`. Only image folders can stream.
    """
    if isinstance(source, ImageSet):
        if stream:
            raise NasInputError(f"only image folders stream from disk; {source.name} is held in memory: "
                                "set data.stream false (or leave it unset)")
        return source
    if len(source) == 0:
        raise NasInputError(f"the image folder {source.root} holds no image in this split: check --data-root")
    if stream or (stream is None and decoded_bytes(source, image_size) > stream_threshold_bytes):
        return source
    return imageset_from_listing(source, image_size)


def loader_for(
    source: ImageSource,
    batch_size: int,
    *,
    train: bool,
    seed: int,
    augment: AugmentConfig | None = None,
    device: torch.device | str = "cpu",
    drop_last: bool | None = None,
    rank: int = 0,
    world_size: int = 1,
    channels_last: bool = False,
    exact_shards: bool = False,
    image_size: int | None = None,
    workers: int = 4,
) -> BatchLoader | FolderStreamLoader:
    """The loader of `source`: in-memory batches for an ImageSet, streamed files (default 224 px) for a listing."""
    common: dict[str, Any] = {"train": train, "seed": seed, "augment": augment, "device": device,
                              "drop_last": drop_last, "rank": rank, "world_size": world_size,
                              "channels_last": channels_last, "exact_shards": exact_shards}
    if isinstance(source, FolderListing):
        return FolderStreamLoader(source, batch_size, image_size=image_size or 224, workers=workers, **common)
    return BatchLoader(source, batch_size, **common)


def prepare_images(
    name: str,
    root: str | Path | None,
    train: bool,
    *,
    image_size: int | None = None,
    synthetic_size: int | None = None,
    data_seed: int = 0,
    split: tuple[str, str] | None = None,
    label_seed: int | None = None,
    label_total: int | None = None,
    stream: bool | None = None,
    stream_threshold_bytes: int = STREAM_THRESHOLD_BYTES,
) -> ImageSource:
    """Open a dataset, keep one part (file, part) of an official split, draw RLNAS random labels when
    `label_seed` is given, then hold the images in memory or stream them (`hold_or_stream`).

    `data_seed` is the seed of the synthetic dataset (its test part uses data_seed + 1,000,003).
    """
    source = open_images(name, root, train, image_size=image_size, synthetic_size=synthetic_size,
                         data_seed=data_seed)
    if split is not None:
        source = select(source, *split)
    if label_seed is not None:
        source = apply_random_labels(source, label_seed, label_total)
    return hold_or_stream(source, image_size, stream, stream_threshold_bytes)


def make_loader(
    name: str,
    root: str | Path | None,
    *,
    train: bool,
    batch_size: int,
    seed: int,
    augment: AugmentConfig | None = None,
    device: torch.device | str = "cpu",
    image_size: int | None = None,
    synthetic_size: int | None = None,
    data_seed: int = 0,
    split: tuple[str, str] | None = None,
    label_seed: int | None = None,
    label_total: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    drop_last: bool | None = None,
    channels_last: bool = False,
    exact_shards: bool = False,
    stream: bool | None = None,
    stream_threshold_bytes: int = STREAM_THRESHOLD_BYTES,
    workers: int = 4,
) -> BatchLoader | FolderStreamLoader:
    """One call from a dataset name to its loader, for library use: `prepare_images`, then `loader_for`."""
    source = prepare_images(name, root, train, image_size=image_size, synthetic_size=synthetic_size,
                            data_seed=data_seed, split=split, label_seed=label_seed, label_total=label_total,
                            stream=stream, stream_threshold_bytes=stream_threshold_bytes)
    return loader_for(source, batch_size, train=train, seed=seed, augment=augment, device=device,
                      drop_last=drop_last, rank=rank, world_size=world_size, channels_last=channels_last,
                      exact_shards=exact_shards, image_size=image_size, workers=workers)
