"""Random labels as RLNAS draws them, looked up by official index so every layout agrees."""

from __future__ import annotations

import hashlib
from typing import TypeVar

import numpy as np
import torch

from nascli.data.datasets import ImageSet
from nascli.data.folders import FolderListing
from nascli.errors import NasInputError

LabelledSet = TypeVar("LabelledSet", ImageSet, FolderListing)


def random_labels(seed: int, num_classes: int, total: int) -> np.ndarray:
    """The RLNAS label vector: `np.random.RandomState(seed).randint(0, num_classes, total)` (int64).

    RLNAS seeds numpy's global generator and calls `randint(0, K, N)` over the whole official set
    (ImageNet16-120 draws 1..120 and subtracts 1, the same stream). The legacy generator draws one
    label after another, so the first n labels do not depend on `total` as long as it is at least n.
    """
    if num_classes < 1 or total < 0:
        raise NasInputError(
            f"random labels need at least one class and a non-negative size, got {num_classes} and {total}"
        )
    return np.random.RandomState(int(seed)).randint(0, num_classes, int(total)).astype(np.int64)


def apply_random_labels(imageset: LabelledSet, seed: int, total: int | None = None) -> LabelledSet:
    """`imageset` with label = random_labels(seed, K, total)[official index] for every image.

    `total` defaults to the set's official size (50,000 for CIFAR train, 151,700 for ImageNet16-120
    train), else max index + 1 (folders, synthetic). Because the vector is indexed by the official
    index, one image gets the same label in every layout and every split.
    """
    indices = np.asarray(torch.as_tensor(imageset.indices).cpu(), dtype=np.int64)
    needed = int(indices.max()) + 1 if indices.size else 0
    if total is None:
        total = imageset.official_total if imageset.official_total is not None else needed
    if total < needed:
        raise NasInputError(
            f"random labels: the set has official index {needed - 1}, beyond a label vector of {total}; "
            "raise the total to the size of the full official set"
        )
    vector = random_labels(seed, imageset.num_classes, total)
    return imageset.with_labels(vector[indices])


def labels_hash(labels: np.ndarray | torch.Tensor) -> str:
    """sha256 hex digest of the labels as little-endian int64 bytes (for the run manifest)."""
    array = np.asarray(torch.as_tensor(labels).cpu(), dtype="<i8")
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
