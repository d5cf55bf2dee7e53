"""The official NAS-Bench-201 index splits shipped as package data, and selection by official index."""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources
from typing import TypeVar

import numpy as np
import torch

from nascli.data.datasets import ImageSet
from nascli.data.folders import FolderListing
from nascli.errors import NasInputError

SPLIT_FILES = {
    "cifar10_search_split": "cifar10",  # the 50,000 CIFAR-10 training images: train / valid
    "cifar100_test_split": "cifar100",  # the 10,000 CIFAR-100 test images: xvalid / xtest
    "imagenet16_test_split": "imagenet16-120",  # the 6,000 ImageNet16-120 validation images: xvalid / xtest
    "imagenet16_search_split": "imagenet16-120",  # the 151,700 ImageNet16-120 training images: train / valid
}
"""Split file → the dataset whose official indices it lists (NB201 `configs/nas-benchmark/*.txt`)."""

OFFICIAL_SEARCH_SPLITS = {
    "cifar10": (("cifar10_search_split", "train"), ("cifar10_search_split", "valid")),
    "imagenet16-120": (("imagenet16_search_split", "train"), ("imagenet16_search_split", "valid")),
}
"""Dataset → (train part, valid part) of its NB201 training set (CIFAR-100's valid part is the test set's xvalid)."""

SelectableSet = TypeVar("SelectableSet", ImageSet, FolderListing)


def _normalise_name(name: str) -> str:
    key = name.strip()
    for suffix in (".json.gz", ".json"):
        key = key.removesuffix(suffix)
    if key not in SPLIT_FILES:
        raise NasInputError(f"unknown split file {name!r}: choose one of {', '.join(SPLIT_FILES)}")
    return key


@cache
def _read_split(key: str) -> dict[str, np.ndarray]:
    resource = resources.files("nascli") / "resources" / "nb201" / "splits" / f"{key}.json.gz"
    with resource.open("rb") as raw, gzip.open(raw, "rt") as handle:
        content = json.load(handle)
    parts = {}
    for part, values in content.items():
        array = np.asarray(values, dtype=np.int64)
        array.setflags(write=False)
        parts[part] = array
    return parts


def load_split(name: str) -> dict[str, np.ndarray]:
    """The parts of an official split file (e.g. `cifar10_search_split` → train, valid), sorted indices."""
    return dict(_read_split(_normalise_name(name)))


def select(imageset: SelectableSet, split_file: str, part: str) -> SelectableSet:
    """The images of `imageset` whose official index is in `part` of `split_file`, in the set's order.

    A partial set (e.g. a 5,000-image subset) keeps the images it has, saying so in one line; a set that has none of the
    part's indices, or belongs to another dataset than the split, is refused.
    """
    key = _normalise_name(split_file)
    parts = _read_split(key)
    if part not in parts:
        raise NasInputError(f"split {key} has no part {part!r}: choose one of {', '.join(parts)}")
    split_dataset = SPLIT_FILES[key]
    if imageset.name in ("cifar10", "cifar100", "imagenet16-120") and imageset.name != split_dataset:
        raise NasInputError(
            f"split {key} indexes {split_dataset} images, not {imageset.name}; pick a {imageset.name} split"
        )
    covered = sum(len(values) for values in parts.values())
    if imageset.official_total is not None and imageset.official_total != covered:
        raise NasInputError(
            f"split {key} covers a set of {covered} images, but this {imageset.name} set has "
            f"{imageset.official_total}; pick the split of this part (train or test) of the dataset"
        )
    indices = np.asarray(torch.as_tensor(imageset.indices).cpu(), dtype=np.int64)
    positions = np.flatnonzero(np.isin(indices, parts[part]))
    if positions.size == 0:
        raise NasInputError(
            f"none of the {len(indices)} images has an official index in {key}/{part}; "
            "check that the data folder holds that dataset with its official file names"
        )
    wanted = len(parts[part])
    if positions.size < wanted:
        from nascli.train.progress import notice

        notice(f"split {key}/{part} lists {wanted:,} images, and this {imageset.name} set of {len(indices):,} "
               f"holds {positions.size:,} of them: only those {positions.size:,} are used (the others are not in "
               "the data folder)")
    return imageset.subset(positions)
