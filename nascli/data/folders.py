"""Image folders (one sub-folder per class): listing, official indices and in-memory decoding."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from nascli.errors import NasInputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
EVAL_FOLDER_NAMES = ("val", "test")


@dataclass
class FolderListing:
    """The files of an image folder with their labels and official indices, sorted by index."""

    paths: list[Path]
    labels: np.ndarray
    indices: np.ndarray
    class_names: list[str]
    root: Path
    name: str = "imagefolder"
    official_total: int | None = None

    @property
    def num_classes(self) -> int:
        """Number of class folders."""
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, positions: Sequence[int] | np.ndarray | torch.Tensor) -> FolderListing:
        """The listing restricted to `positions` (in that order)."""
        positions = np.asarray(torch.as_tensor(positions).cpu(), dtype=np.int64)
        return replace(
            self,
            paths=[self.paths[p] for p in positions],
            labels=self.labels[positions],
            indices=self.indices[positions],
        )

    def with_labels(self, labels: np.ndarray | torch.Tensor) -> FolderListing:
        """The same files with `labels` (one per file, in listing order)."""
        labels = np.asarray(torch.as_tensor(labels).cpu(), dtype=np.int64)
        if labels.shape != (len(self.paths),):
            raise ValueError(f"expected {len(self.paths)} labels, got shape {labels.shape}")
        return replace(self, labels=labels)


def resolve_split_folder(root: Path, train: bool) -> Path:
    """`root/train` or `root/val`|`root/test` when present, else `root` itself (a folder of classes)."""
    if (root / "train").is_dir():
        if train:
            return root / "train"
        for name in EVAL_FOLDER_NAMES:
            if (root / name).is_dir():
                return root / name
        raise NasInputError(
            f"imagefolder: {root} has train/ but no val/ or test/ folder for evaluation; "
            "add one, or point --data-root at a folder of class folders"
        )
    return root


def _class_folders(folder: Path) -> list[str]:
    """Sorted names of the visible sub-folders (one per class)."""
    return sorted(entry.name for entry in os.scandir(folder) if entry.is_dir() and not entry.name.startswith("."))


def list_image_folder(root: str | Path, train: bool = True) -> FolderListing:
    """List `root` (class folders, or `train/` and `val/`/`test/` of class folders) without decoding.

    Class index = sorted folder-name order. Official index = the file stem when every stem is a
    distinct integer (as in cifar10-search-train, whose stems are CIFAR-10 training-set indices),
    otherwise the position in sorted (class, file name) order. The listing is sorted by index.
    """
    if root is None:
        raise NasInputError("imagefolder needs a data root: pass --data-root with a folder of class folders")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise NasInputError(
            f"imagefolder: {root} is not a folder; point --data-root at a folder of class folders "
            "(or one with train/ and val/ sub-folders of class folders)"
        )
    folder = resolve_split_folder(root, train)
    own_classes = _class_folders(folder)
    class_names = own_classes
    train_folder = resolve_split_folder(root, True)
    if folder != train_folder:
        # labels are indices into the training folder's classes, matched by name: a class missing from the
        # evaluation folder must not shift the labels of the classes after it
        class_names = _class_folders(train_folder)
        unknown = [name for name in own_classes if name not in class_names]
        if unknown:
            raise NasInputError(
                f"imagefolder: class folder {folder / unknown[0]} has no folder of that name in {train_folder}: "
                "evaluation classes are matched to training classes by name; rename or remove it"
            )
    label_of = {name: label for label, name in enumerate(class_names)}
    paths: list[Path] = []
    labels: list[int] = []
    stems: list[str] = []
    for class_name in own_classes:
        label = label_of[class_name]
        files = sorted(
            entry.name
            for entry in os.scandir(folder / class_name)
            if entry.is_file() and not entry.name.startswith(".") and entry.name.lower().endswith(IMAGE_EXTENSIONS)
        )
        paths.extend(folder / class_name / file for file in files)
        labels.extend([label] * len(files))
        stems.extend(Path(file).stem for file in files)
    if not paths:
        raise NasInputError(
            f"imagefolder: no images ({', '.join(IMAGE_EXTENSIONS)}) in class folders under {folder}; "
            "point --data-root at a folder holding one sub-folder per class"
        )
    if all(stem.isdigit() for stem in stems) and len(set(stems)) == len(stems):
        indices = np.array([int(stem) for stem in stems], dtype=np.int64)
    else:
        indices = np.arange(len(paths), dtype=np.int64)
    order = np.argsort(indices, kind="stable")
    return FolderListing(
        paths=[paths[i] for i in order],
        labels=np.asarray(labels, dtype=np.int64)[order],
        indices=indices[order],
        class_names=class_names,
        root=folder,
    )


def decode_image(path: Path, image_size: int | None = None) -> np.ndarray:
    """One image as uint8 H×W×3 RGB; resized (bilinear) to `image_size`² when given and different.

    A non-square image is resized on its shorter side to `image_size` and centre-cropped.
    """
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if image_size is not None and image.size != (image_size, image_size):
                width, height = image.size
                scale = image_size / min(width, height)
                new_size = (max(image_size, round(width * scale)), max(image_size, round(height * scale)))
                image = image.resize(new_size, Image.BILINEAR)
                left = (new_size[0] - image_size) // 2
                top = (new_size[1] - image_size) // 2
                image = image.crop((left, top, left + image_size, top + image_size))
            return np.asarray(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise NasInputError(f"imagefolder: cannot decode image {path} ({error}); remove or replace the file") from None


def decode_images(paths: Sequence[Path], image_size: int | None = None, threads: int | None = None) -> torch.Tensor:
    """Decode `paths` into one uint8 tensor [N, 3, H, W]; all images must share a size unless resized."""
    threads = threads or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        arrays = list(pool.map(lambda path: decode_image(path, image_size), paths))
    shapes = {array.shape for array in arrays}
    if len(shapes) > 1:
        sizes = sorted(f"{shape[1]}x{shape[0]}" for shape in shapes)[:4]
        raise NasInputError(
            f"imagefolder: images differ in size ({', '.join(sizes)} …); pass an image size to resize them"
        )
    stacked = np.stack(arrays) if arrays else np.zeros((0, 1, 1, 3), dtype=np.uint8)
    return torch.from_numpy(stacked).permute(0, 3, 1, 2).contiguous()
