"""The official NB201 index splits and selection by official index."""

from __future__ import annotations

import dataclasses
import hashlib
from importlib import resources

import numpy as np
import pytest
import torch

from nascli.data import list_image_folder, load_dataset, load_split, make_synthetic, select
from nascli.errors import NasInputError
from tests.conftest import require_shared

# sha256 of the four split files, as printed in shared/data/README.md.
OFFICIAL_SHA256 = {
    "cifar10_search_split": "d46be5356551bc94cc8259c50233d31432607d0abc9b8336f66783e182b1cd00",
    "cifar100_test_split": "fda7d0c4605c63037c7e38ae8036eedc275f9b508b03f8f0ecc29740c2e3b650",
    "imagenet16_test_split": "118b595fd52d630138b339f76d4d543035fb9858bb84d995fda232a9812fafc8",
    "imagenet16_search_split": "cd200c678db196284194b9412a8655d5d117233545ca2342289404d422058680",
}
SIZES = {
    "cifar10_search_split": ("train", "valid", 50_000),
    "cifar100_test_split": ("xvalid", "xtest", 10_000),
    "imagenet16_test_split": ("xvalid", "xtest", 6_000),
    "imagenet16_search_split": ("train", "valid", 151_700),
}


@pytest.mark.parametrize("name", list(SIZES))
def test_split_files_are_the_official_ones(name: str) -> None:
    data = (resources.files("nascli") / "resources" / "nb201" / "splits" / f"{name}.json.gz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == OFFICIAL_SHA256[name]


@pytest.mark.parametrize("name", list(SIZES))
def test_parts_have_equal_halves_are_disjoint_and_cover_the_set(name: str) -> None:
    first, second, total = SIZES[name]
    parts = load_split(name)
    assert sorted(parts) == sorted([first, second])
    assert len(parts[first]) == len(parts[second]) == total // 2
    assert np.intersect1d(parts[first], parts[second]).size == 0
    assert np.array_equal(np.union1d(parts[first], parts[second]), np.arange(total))
    assert np.all(np.diff(parts[first]) > 0)
    assert load_split(f"{name}.json.gz").keys() == parts.keys()


def test_select_keeps_the_images_present_in_set_order() -> None:
    subset = require_shared("cifar10-subset")
    images = load_dataset("cifar10", subset, train=True)
    train_part = load_split("cifar10_search_split")["train"]
    chosen = select(images, "cifar10_search_split", "train")
    expected = train_part[train_part < 5000]
    assert chosen.indices.tolist() == expected.tolist()
    assert torch.equal(chosen.images, images.images[torch.from_numpy(expected)])
    assert torch.equal(chosen.labels, images.labels[torch.from_numpy(expected)])


def test_select_on_a_folder_listing_with_official_stems() -> None:
    listing = list_image_folder(require_shared("cifar10-search-train"))
    assert len(select(listing, "cifar10_search_split", "train")) == 25_000
    with pytest.raises(NasInputError, match="none of the 25000 images"):
        select(listing, "cifar10_search_split", "valid")


def test_unknown_or_mismatched_splits_are_input_errors() -> None:
    data = make_synthetic(20, seed=0)
    with pytest.raises(NasInputError, match="unknown split file 'cifar10_split'.*cifar10_search_split"):
        load_split("cifar10_split")
    with pytest.raises(NasInputError, match="no part 'test': choose one of train, valid"):
        select(data, "cifar10_search_split", "test")
    cifar_like = dataclasses.replace(data, name="cifar100", official_total=50_000)
    with pytest.raises(NasInputError, match="indexes cifar10 images, not cifar100"):
        select(cifar_like, "cifar10_search_split", "train")
    with pytest.raises(NasInputError, match="covers a set of 10000 images, but this cifar100 set has 50000"):
        select(cifar_like, "cifar100_test_split", "xvalid")


def test_select_on_a_partial_set_says_how_many_images_it_kept(capsys: pytest.CaptureFixture[str]) -> None:
    images = make_synthetic(200, seed=0)
    kept = select(images, "cifar10_search_split", "train")
    expected = int(np.isin(np.arange(200), load_split("cifar10_search_split")["train"]).sum())
    assert len(kept) == expected
    message = capsys.readouterr().err
    assert message.count("\n") == 1
    assert f"holds {expected} of them" in message and "lists 25,000 images" in message
