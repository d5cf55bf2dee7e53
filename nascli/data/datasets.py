"""Datasets held in memory as uint8 tensors: CIFAR-10/100, ImageNet16-120, image folders, synthetic.

Readers take the official on-disk formats directly (no download, no checksum of full-size files, so
partial copies such as shared/data/cifar10-subset load too). Every image carries its official index:
its position in the official file order (CIFAR: data_batch_1..5 concatenated, or test_batch;
ImageNet16-120: the batches concatenated after keeping labels 1..120), or for image folders the file
stem when all stems are distinct integers (see `folders.list_image_folder`).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nascli.data.folders import FolderListing, decode_images, list_image_folder
from nascli.errors import NasInputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _scaled(values: tuple[float, float, float]) -> tuple[float, float, float]:
    return tuple(v / 255.0 for v in values)  # type: ignore[return-value]


@dataclass(frozen=True)
class DatasetDefaults:
    """What a dataset name implies: classes, image size, normalisation, crop padding, official sizes."""

    name: str
    num_classes: int | None
    image_size: int | None
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    pad: int | None
    train_total: int | None
    test_total: int | None
    needs_root: bool = True


# Normalisation constants as xautodl / NB201 (methods/spaces.md §1.6); ImageNet ones for folders.
DATASET_DEFAULTS: dict[str, DatasetDefaults] = {
    "cifar10": DatasetDefaults(
        "cifar10", 10, 32, _scaled((125.3, 123.0, 113.9)), _scaled((63.0, 62.1, 66.7)), 4, 50_000, 10_000
    ),
    "cifar100": DatasetDefaults(
        "cifar100", 100, 32, _scaled((129.3, 124.1, 112.4)), _scaled((68.2, 65.4, 70.4)), 4, 50_000, 10_000
    ),
    "imagenet16-120": DatasetDefaults(
        "imagenet16-120",
        120,
        16,
        _scaled((122.68, 116.66, 104.01)),
        _scaled((63.22, 61.26, 65.09)),
        2,
        151_700,
        6_000,
    ),
    # pad None = image_size // 8 (4 at 32 px, 2 at 16 px, as CIFAR and ImageNet16).
    "imagefolder": DatasetDefaults("imagefolder", None, None, IMAGENET_MEAN, IMAGENET_STD, None, None, None),
    "synthetic": DatasetDefaults(
        "synthetic", 10, 32, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), None, None, None, needs_root=False
    ),
}
DATASETS: tuple[str, ...] = tuple(DATASET_DEFAULTS)
ALIASES = {
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
    "imagenet16": "imagenet16-120",
    "imagenet16_120": "imagenet16-120",
    "imagenet16-120": "imagenet16-120",
    "imagenet": "imagefolder",
    "folder": "imagefolder",
}
SYNTHETIC_TRAIN_SIZE = 10_000
SYNTHETIC_TEST_SIZE = 2_000
SYNTHETIC_TEST_SEED_OFFSET = 1_000_003
"""The synthetic test set is drawn with `seed + SYNTHETIC_TEST_SEED_OFFSET`, so it never repeats a train image."""


@dataclass
class ImageSet:
    """Images in memory: uint8 [N,3,H,W], int64 labels and official indices, and normalisation constants."""

    images: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    num_classes: int
    class_names: list[str]
    name: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    pad: int
    official_total: int | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4 or self.images.shape[1] != 3:
            raise ValueError(f"images must be uint8 [N,3,H,W], got {self.images.dtype} {tuple(self.images.shape)}")
        count = self.images.shape[0]
        if self.labels.shape != (count,) or self.indices.shape != (count,):
            raise ValueError("labels and indices must have one entry per image")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_size(self) -> int:
        """Height (= width) of the images."""
        return int(self.images.shape[2])

    def subset(self, positions: Sequence[int] | np.ndarray | torch.Tensor) -> ImageSet:
        """The images at `positions` (in that order)."""
        positions = torch.as_tensor(
            np.asarray(positions, dtype=np.int64) if not torch.is_tensor(positions) else positions
        )
        positions = positions.to(device=self.images.device, dtype=torch.int64)
        return replace(
            self,
            images=self.images[positions],
            labels=self.labels[positions.to(self.labels.device)],
            indices=self.indices[positions.to(self.indices.device)],
        )

    def with_labels(self, labels: np.ndarray | torch.Tensor) -> ImageSet:
        """The same images with `labels` (one per image, in this set's order)."""
        labels = torch.as_tensor(labels, dtype=torch.int64).to(self.labels.device)
        if labels.shape != (len(self),):
            raise ValueError(f"expected {len(self)} labels, got shape {tuple(labels.shape)}")
        if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}")
        return replace(self, labels=labels)


def canonical_dataset_name(name: str) -> str:
    """The canonical dataset name for `name` (case-insensitive, common aliases accepted)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in DATASET_DEFAULTS:
        raise NasInputError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    return key


def load_dataset(
    name: str,
    root: str | Path | None,
    train: bool,
    *,
    image_size: int | None = None,
    seed: int = 0,
    synthetic_size: int | None = None,
) -> ImageSet:
    """Load the train or test part of a dataset into memory (see the module docstring for the formats)."""
    key = canonical_dataset_name(name)
    defaults = DATASET_DEFAULTS[key]
    if key == "synthetic":
        from nascli.data.synthetic import make_synthetic

        size = synthetic_size or (SYNTHETIC_TRAIN_SIZE if train else SYNTHETIC_TEST_SIZE)
        return make_synthetic(size, seed if train else seed + SYNTHETIC_TEST_SEED_OFFSET, image_size=image_size or 32)
    if root is None:
        raise NasInputError(f"{key} needs a data folder: pass --data-root (data never downloads implicitly)")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise NasInputError(f"{key}: data root {root} is not a folder; pass --data-root with an existing folder")
    if key == "imagefolder":
        return _load_imagefolder(root, train, image_size)
    if key in ("cifar10", "cifar100"):
        images, labels, class_names = _read_cifar(key, root, train)
    else:
        images, labels, class_names = _read_imagenet16(root, train)
    total = defaults.train_total if train else defaults.test_total
    if image_size is not None and image_size != images.shape[-1]:
        images = resize_images(images, image_size)
    return ImageSet(
        images=images,
        labels=labels,
        indices=torch.arange(len(labels), dtype=torch.int64),
        num_classes=int(defaults.num_classes or 0),
        class_names=class_names,
        name=key,
        mean=defaults.mean,
        std=defaults.std,
        pad=int(defaults.pad or 0),
        official_total=total if total is not None and len(labels) <= total else None,
    )


def resize_images(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """Resize uint8 [N,3,H,W] images to `image_size`² (bilinear, antialiased), in chunks to bound memory."""
    chunks = []
    for start in range(0, images.shape[0], 4096):
        batch = images[start : start + 4096].float()
        resized = F.interpolate(
            batch, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
        )
        chunks.append(resized.round_().clamp_(0, 255).to(torch.uint8))
    if not chunks:
        return images.new_zeros((0, 3, image_size, image_size))
    return torch.cat(chunks)


# --- image folders ---------------------------------------------------------------------------------------
def _load_imagefolder(root: Path, train: bool, image_size: int | None) -> ImageSet:
    return imageset_from_listing(list_image_folder(root, train), image_size)


def imageset_from_listing(listing: FolderListing, image_size: int | None = None) -> ImageSet:
    """Decode the files of `listing` into an in-memory ImageSet (ImageNet normalisation, pad = size // 8)."""
    images = decode_images(listing.paths, image_size)
    defaults = DATASET_DEFAULTS["imagefolder"]
    return ImageSet(
        images=images,
        labels=torch.from_numpy(np.array(listing.labels, dtype=np.int64)),
        indices=torch.from_numpy(np.array(listing.indices, dtype=np.int64)),
        num_classes=listing.num_classes,
        class_names=list(listing.class_names),
        name=listing.name,
        mean=defaults.mean,
        std=defaults.std,
        pad=images.shape[-1] // 8,
        official_total=listing.official_total,
    )


# --- official pickles -------------------------------------------------------------------------------------
class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only builds numpy arrays and plain containers (no arbitrary code from data files)."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("collections", "OrderedDict"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}")
        return super().find_class(module, name)


def read_pickle(path: Path, dataset: str) -> dict[str, Any]:
    """Read one official batch pickle (latin1 strings) as a dict; corrupt files raise NasInputError."""
    try:
        with open(path, "rb") as handle:
            content = _ArrayUnpickler(handle, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, OSError) as error:
        raise NasInputError(
            f"{dataset}: {path} is not a readable batch pickle ({type(error).__name__}: {error}); "
            "replace it with the file from the official archive"
        ) from None
    if not isinstance(content, dict):
        raise NasInputError(f"{dataset}: {path} does not hold a dict of 'data' and labels; replace it")
    return content


def _find_files(root: Path, subfolder: str, names: Sequence[str], dataset: str, hint: str) -> Path:
    for folder in (root / subfolder, root):
        if all((folder / name).is_file() for name in names):
            return folder
    listed = names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"
    raise NasInputError(f"{dataset}: no {listed} under {root} or {root / subfolder}; {hint}")


def _batch_arrays(
    content: dict[str, Any], path: Path, dataset: str, label_key: str, side: int
) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.asarray(content["data"])
        labels = np.asarray(content[label_key], dtype=np.int64)
    except KeyError as error:
        raise NasInputError(f"{dataset}: {path} lacks the key {error}; replace it with the official file") from None
    row = 3 * side * side
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != row or labels.shape != (data.shape[0],):
        raise NasInputError(
            f"{dataset}: {path} holds data {data.dtype} {data.shape} and {labels.shape[0]} labels, "
            f"not uint8 N×{row} with N labels; replace it with the official file"
        )
    return data.reshape(-1, 3, side, side), labels


def _read_cifar(key: str, root: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    if key == "cifar10":
        subfolder, label_key, meta_name, names_key = "cifar-10-batches-py", "labels", "batches.meta", "label_names"
        names = [f"data_batch_{b}" for b in range(1, 6)] if train else ["test_batch"]
        expected = "data_batch_1 … data_batch_5" if train else "test_batch"
    else:
        subfolder, label_key, meta_name, names_key = "cifar-100-python", "fine_labels", "meta", "fine_label_names"
        names = ["train"] if train else ["test"]
        expected = names[0]
    hint = f"point --data-root at the folder that holds {subfolder}/ (the official python version, with {expected})"
    folder = _find_files(root, subfolder, names, key, hint)
    images, labels = [], []
    for name in names:
        data, batch_labels = _batch_arrays(read_pickle(folder / name, key), folder / name, key, label_key, 32)
        images.append(data)
        labels.append(batch_labels)
    num_classes = DATASET_DEFAULTS[key].num_classes or 0
    label_array = np.concatenate(labels)
    if label_array.size and (label_array.min() < 0 or label_array.max() >= num_classes):
        raise NasInputError(f"{key}: labels outside 0..{num_classes - 1} in {folder}; these are not {key} files")
    class_names = _class_names(folder / meta_name, key, names_key, num_classes)
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(label_array), class_names


def _class_names(meta_path: Path, key: str, names_key: str, num_classes: int) -> list[str]:
    if meta_path.is_file():
        names = read_pickle(meta_path, key).get(names_key)
        if isinstance(names, list) and len(names) == num_classes:
            return [str(name) for name in names]
    if key == "cifar10":
        return list(CIFAR10_CLASSES)
    return [f"class_{k}" for k in range(num_classes)]


IMAGENET16_TRAIN_FILES = tuple(f"train_data_batch_{b}" for b in range(1, 11))
IMAGENET16_VAL_FILES = ("val_data",)
IMAGENET16_CLASSES = 120


def _read_imagenet16(root: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """NB201's ImageNet16-120: keep labels 1..120 and subtract 1 (xautodl DownsampledImageNet, 120 classes)."""
    names = IMAGENET16_TRAIN_FILES if train else IMAGENET16_VAL_FILES
    expected = "train_data_batch_1 … train_data_batch_10" if train else "val_data"
    hint = f"point --data-root at the folder that holds ImageNet16/ (NB201's 16×16 pickles: {expected})"
    folder = _find_files(root, "ImageNet16", names, "imagenet16-120", hint)
    images, labels = [], []
    for name in names:
        path = folder / name
        data, batch_labels = _batch_arrays(read_pickle(path, "imagenet16-120"), path, "imagenet16-120", "labels", 16)
        keep = (batch_labels >= 1) & (batch_labels <= IMAGENET16_CLASSES)
        images.append(data[keep])
        labels.append(batch_labels[keep] - 1)
    class_names = [f"class_{k + 1:03d}" for k in range(IMAGENET16_CLASSES)]
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels)), class_names


REFERENCE_NORMALIZATIONS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    # DARTS utils.py _data_transforms_cifar10 (also DrNAS, PC-DARTS, P-DARTS and the RLNAS copies)
    "darts-cifar10": ((0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768)),
    # DrNAS utils.py _data_transforms_cifar100
    "darts-cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    # RMI-NAS utils/loader.py cifar100_data (weiaicunzai pytorch-cifar100 CIFAR100_TRAIN_MEAN/STD)
    "rminas-cifar100": ((0.5070751592371323, 0.48654887331495095, 0.4409178433670343),
                        (0.2673342858792401, 0.2564384629170883, 0.27615047132568404)),
    # torchvision's ImageNet constants (the RMI-NAS CIFAR-10 loader and its ResNet-20 teacher normalise with them)
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
"""Mean/std constants of the DARTS code family, which differ from NAS-Bench-201's (the dataset defaults) by < 2e-4."""


def normalization(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) on the 0..1 scale that `name` normalises with: a dataset's constants or a reference's."""
    key = name.strip().lower()
    if key in REFERENCE_NORMALIZATIONS:
        return REFERENCE_NORMALIZATIONS[key]
    try:
        defaults = DATASET_DEFAULTS[canonical_dataset_name(name)]
    except NasInputError:
        choices = ", ".join([*DATASETS, *REFERENCE_NORMALIZATIONS])
        raise NasInputError(f"unknown normalization {name!r}: choose one of {choices}") from None
    return defaults.mean, defaults.std
