"""Random labels drawn as RLNAS draws them, keyed by official index."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import chisquare

from nascli.data import (
    apply_random_labels,
    labels_hash,
    list_image_folder,
    load_dataset,
    make_synthetic,
    random_labels,
    select,
)
from nascli.errors import NasInputError
from tests.conftest import require_shared


def test_vector_is_the_reference_draw() -> None:
    # RLNAS: np.random.seed(seed); np.random.randint(0, K, N) over the full official training set.
    np.random.seed(0)
    reference = np.random.randint(0, 10, 50_000)
    labels = random_labels(0, 10, 50_000)
    assert labels.dtype == np.int64 and np.array_equal(labels, reference)
    assert labels[:12].tolist() == [5, 0, 3, 3, 7, 9, 3, 5, 2, 4, 7, 6]
    assert np.array_equal(random_labels(0, 10, 50_000), labels)
    assert not np.array_equal(random_labels(1, 10, 50_000), labels)


def test_imagenet16_draw_of_1_to_120_minus_one_is_the_same_stream() -> None:
    # The ImageNet16-120 reference draws labels 1..120 because its dataset subtracts 1 when reading.
    np.random.seed(3)
    reference = np.random.randint(1, 121, 151_700) - 1
    assert np.array_equal(random_labels(3, 120, 151_700), reference)


def test_labels_are_uniform() -> None:
    counts = np.bincount(random_labels(0, 10, 50_000), minlength=10)
    assert chisquare(counts).pvalue > 0.001
    counts = np.bincount(random_labels(5, 120, 151_700), minlength=120)
    assert chisquare(counts).pvalue > 0.001


def test_apply_uses_the_vector_at_each_official_index() -> None:
    subset = require_shared("cifar10-subset")
    images = load_dataset("cifar10", subset, train=True)
    relabelled = apply_random_labels(images, seed=0)
    vector = np.random.RandomState(0).randint(0, 10, 50_000)
    assert relabelled.labels.tolist() == vector[:5000].tolist()
    assert torch.equal(relabelled.images, images.images)
    # A split keeps every image's label: relabel then select == select then relabel.
    a = select(relabelled, "cifar10_search_split", "train")
    b = apply_random_labels(select(images, "cifar10_search_split", "train"), seed=0)
    assert torch.equal(a.labels, b.labels) and torch.equal(a.indices, b.indices)


def test_search_train_folder_gets_the_labels_of_its_official_indices() -> None:
    listing = list_image_folder(require_shared("cifar10-search-train"))
    relabelled = apply_random_labels(listing, seed=0, total=50_000)
    vector = np.random.RandomState(0).randint(0, 10, 50_000)
    assert np.array_equal(relabelled.labels, vector[listing.indices])
    # Without a total the vector is max index + 1 long; the legacy generator draws label after label,
    # so the labels are the same.
    assert np.array_equal(apply_random_labels(listing, seed=0).labels, relabelled.labels)


def test_python_layout_and_folder_layout_agree_for_the_same_images(tmp_path: Path) -> None:
    subset = require_shared("cifar10-subset")
    python_layout = load_dataset("cifar10", subset, train=False)
    # The same images as a folder whose file names are their official indices (lossless PNG).
    for position in range(0, 1000, 7):
        image = python_layout.images[position].permute(1, 2, 0).numpy()
        class_name = python_layout.class_names[int(python_layout.labels[position])]
        (tmp_path / class_name).mkdir(exist_ok=True)
        Image.fromarray(image).save(tmp_path / class_name / f"{position:05d}.png")
    folder = apply_random_labels(load_dataset("imagefolder", tmp_path, train=True), seed=4, total=10_000)
    reference = apply_random_labels(python_layout, seed=4)
    positions = folder.indices
    assert torch.equal(folder.images, reference.images[positions])
    assert torch.equal(folder.labels, reference.labels[positions])


def test_total_smaller_than_the_indices_is_refused() -> None:
    data = make_synthetic(30, seed=0)
    with pytest.raises(NasInputError, match="official index 29"):
        apply_random_labels(data, seed=0, total=10)


def test_labels_hash_is_sha256_of_int64_bytes() -> None:
    labels = np.array([3, 1, 4, 1, 5], dtype=np.int32)
    expected = hashlib.sha256(np.array([3, 1, 4, 1, 5], dtype="<i8").tobytes()).hexdigest()
    assert labels_hash(labels) == expected
    assert labels_hash(torch.tensor([3, 1, 4, 1, 5])) == expected
    assert labels_hash(np.array([3, 1, 4, 1, 6])) != expected
