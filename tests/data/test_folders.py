"""Image folders: class order, official indices from file stems, train/val selection, decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nascli.data import list_image_folder, load_dataset
from nascli.data.folders import decode_image
from nascli.errors import NasInputError


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _pixels(seed: int, height: int = 8, width: int = 8) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (height, width, 3)).astype(np.uint8)


def test_integer_stems_become_official_indices_sorted(tmp_path: Path) -> None:
    for stem, class_name in [("00042", "b"), ("00007", "a"), ("00013", "b"), ("00100", "a")]:
        _save(tmp_path / class_name / f"{stem}.png", _pixels(int(stem)))
    listing = list_image_folder(tmp_path)
    assert listing.class_names == ["a", "b"]
    assert listing.indices.tolist() == [7, 13, 42, 100]
    assert listing.labels.tolist() == [0, 1, 1, 0]
    images = load_dataset("imagefolder", tmp_path, train=True)
    assert images.indices.tolist() == [7, 13, 42, 100]
    assert torch.equal(images.images[2], torch.from_numpy(_pixels(42)).permute(2, 0, 1))


def test_other_names_get_sorted_class_then_file_positions(tmp_path: Path) -> None:
    # Repeated integer stems across classes (as cifar10-subset/imagefolder) are not indices.
    for class_name, stem in [("dog", "0001"), ("cat", "0001"), ("cat", "0000"), ("dog", "x")]:
        _save(tmp_path / class_name / f"{stem}.png", _pixels(len(stem)))
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "cat" / ".hidden.png").write_bytes(b"")
    listing = list_image_folder(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in listing.paths] == [
        "cat/0000.png",
        "cat/0001.png",
        "dog/0001.png",
        "dog/x.png",
    ]
    assert listing.indices.tolist() == [0, 1, 2, 3]
    assert listing.labels.tolist() == [0, 0, 1, 1]


def test_train_and_val_subfolders_are_picked_by_train(tmp_path: Path) -> None:
    _save(tmp_path / "train" / "a" / "1.png", _pixels(1))
    _save(tmp_path / "train" / "b" / "2.png", _pixels(2))
    _save(tmp_path / "val" / "a" / "3.png", _pixels(3))
    _save(tmp_path / "val" / "b" / "4.png", _pixels(4))
    assert list_image_folder(tmp_path, train=True).indices.tolist() == [1, 2]
    assert list_image_folder(tmp_path, train=False).indices.tolist() == [3, 4]
    (tmp_path / "val").rename(tmp_path / "test")
    assert list_image_folder(tmp_path, train=False).indices.tolist() == [3, 4]
    (tmp_path / "test").rename(tmp_path / "other")
    with pytest.raises(NasInputError, match="no val/ or test/"):
        list_image_folder(tmp_path, train=False)


def test_evaluation_classes_are_matched_to_training_classes_by_name(tmp_path: Path) -> None:
    for stem, class_name in [("1", "cat"), ("2", "dog"), ("3", "frog")]:
        _save(tmp_path / "train" / class_name / f"{stem}.png", _pixels(int(stem)))
    # the evaluation folder lacks 'dog': 'frog' keeps the training label 2 instead of shifting to 1
    _save(tmp_path / "val" / "cat" / "4.png", _pixels(4))
    _save(tmp_path / "val" / "frog" / "5.png", _pixels(5))
    listing = list_image_folder(tmp_path, train=False)
    assert listing.class_names == ["cat", "dog", "frog"]
    assert listing.labels.tolist() == [0, 2]
    (tmp_path / "val" / "frog").rename(tmp_path / "val" / "frogs")  # a renamed class is refused
    with pytest.raises(NasInputError, match="frogs has no folder of that name"):
        list_image_folder(tmp_path, train=False)


def test_decode_resizes_and_centre_crops_non_square_images(tmp_path: Path) -> None:
    array = np.zeros((20, 40, 3), np.uint8)
    array[:, 6:34] = 200  # a bright centre band, dark at both ends
    _save(tmp_path / "wide.png", array)
    decoded = decode_image(tmp_path / "wide.png", image_size=10)
    assert decoded.shape == (10, 10, 3)
    # Shorter side 20 → 10, width 40 → 20, centre 10 columns kept: all inside the bright band.
    assert decoded.min() == 200
    assert decode_image(tmp_path / "wide.png").shape == (20, 40, 3)


def test_folder_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(NasInputError, match="not a folder"):
        list_image_folder(tmp_path / "absent")
    with pytest.raises(NasInputError, match="no images"):
        list_image_folder(tmp_path)
    _save(tmp_path / "a" / "1.png", _pixels(1, 8, 8))
    _save(tmp_path / "a" / "2.png", _pixels(2, 9, 9))
    with pytest.raises(NasInputError, match="differ in size"):
        load_dataset("imagefolder", tmp_path, train=True)
    assert load_dataset("imagefolder", tmp_path, train=True, image_size=8).images.shape == (2, 3, 8, 8)
    (tmp_path / "a" / "3.png").write_bytes(b"broken")
    with pytest.raises(NasInputError, match="cannot decode image .*3.png"):
        load_dataset("imagefolder", tmp_path, train=True, image_size=8)
