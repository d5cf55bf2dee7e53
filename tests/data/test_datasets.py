"""Dataset readers against the real CIFAR-10 subset and fixtures written in the official schemas."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from nascli.data import DATASETS, load_dataset
from nascli.data.datasets import DATASET_DEFAULTS, read_pickle
from nascli.errors import NasInputError
from tests.conftest import require_shared

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _folder_position(filename: str, per_class: int) -> int:
    """Position of `<part>/<class>/<NNNN>.jpg` in the sorted (class, file name) order of an image folder."""
    _, class_name, file = filename.split("/")
    return CIFAR10_NAMES.index(class_name) * per_class + int(Path(file).stem)


@pytest.mark.parametrize(("train", "part", "per_class", "batches"), [(True, "train", 500, 5), (False, "test", 100, 1)])
def test_cifar10_subset_python_layout_equals_its_image_folder(
    train: bool, part: str, per_class: int, batches: int
) -> None:
    subset = require_shared("cifar10-subset")
    python_layout = load_dataset("cifar10", subset, train)
    folder = load_dataset("imagefolder", subset / "imagefolder", train)
    count = 10 * per_class
    assert len(python_layout) == len(folder) == count
    assert python_layout.class_names == folder.class_names == CIFAR10_NAMES
    # Official indices of the python layout are positions in the concatenated batches.
    assert python_layout.indices.tolist() == list(range(count))
    # README: batches are class-interleaved, labels 0..9 repeated.
    assert python_layout.labels.tolist() == list(range(10)) * per_class
    # Each batch names the JPEG of each row in `filenames`: match rows to folder positions through it.
    names = [f"data_batch_{b}" for b in range(1, 6)] if train else ["test_batch"]
    filenames = []
    for name in names[:batches]:
        filenames += read_pickle(subset / "cifar-10-batches-py" / name, "cifar10")["filenames"]
    assert all(name.startswith(f"{part}/") for name in filenames)
    positions = torch.tensor([_folder_position(name, per_class) for name in filenames])
    assert torch.equal(folder.images[positions], python_layout.images)
    assert torch.equal(folder.labels[positions], python_layout.labels)


def test_cifar10_root_may_be_the_batches_folder_itself() -> None:
    batches = require_shared("cifar10-subset/cifar-10-batches-py")
    direct = load_dataset("cifar10", batches, train=False)
    assert len(direct) == 1000 and direct.official_total == 10_000
    # Row 0 of test_batch is airplane/0000: red plane, first pixel row is the first 32 bytes of `data`.
    raw = read_pickle(batches / "test_batch", "cifar10")["data"]
    assert direct.images[0, 0, 0].tolist() == raw[0, :32].tolist()
    assert direct.images[0, 2, 31].tolist() == raw[0, 3072 - 32 :].tolist()


def test_search_train_folder_indices_are_the_file_stems() -> None:
    root = require_shared("cifar10-search-train")
    from nascli.data import list_image_folder, load_split

    listing = list_image_folder(root)
    assert listing.indices.tolist() == load_split("cifar10_search_split")["train"].tolist()
    counts = dict(zip(listing.class_names, np.bincount(listing.labels).tolist(), strict=True))
    # The per-class counts printed in the folder's README.
    assert counts == {
        "airplane": 2478,
        "automobile": 2512,
        "bird": 2533,
        "cat": 2508,
        "deer": 2491,
        "dog": 2460,
        "frog": 2572,
        "horse": 2511,
        "ship": 2516,
        "truck": 2419,
    }
    # The official first labels of data_batch_1 (frog, truck, truck, deer, automobile, automobile, bird,
    # horse, ship, cat); indices 0, 5 and 7 are in the train half.
    first = {int(i): int(label) for i, label in zip(listing.indices[:3], listing.labels[:3], strict=True)}
    assert first == {0: 6, 5: 1, 7: 7}


def test_search_train_images_are_the_subset_images_with_official_names() -> None:
    root = require_shared("cifar10-search-train")
    subset = require_shared("cifar10-subset/imagefolder")
    from nascli.data import list_image_folder
    from nascli.data.folders import decode_images

    listing = list_image_folder(root)
    # README: index 0 is train/frog/0000.jpg and index 5 (the second automobile) is train/automobile/0001.jpg.
    picked = listing.subset([0, 1])
    assert picked.indices.tolist() == [0, 5]
    ours = decode_images(picked.paths)
    reference = decode_images([subset / "train/frog/0000.jpg", subset / "train/automobile/0001.jpg"])
    assert torch.equal(ours, reference)


def _write_pickle(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(content, handle, protocol=2)


def _imagenet16_fixture(root: Path, per_file: int = 6) -> tuple[list[np.ndarray], list[list[int]]]:
    """NB201's ImageNet16 schema: dicts with uint8 'data' N×768 (channel planes) and 'labels' 1..1000."""
    rng = np.random.RandomState(0)
    datas, labels = [], []
    for name in [f"train_data_batch_{b}" for b in range(1, 11)] + ["val_data"]:
        data = rng.randint(0, 256, (per_file, 768)).astype(np.uint8)
        batch_labels = [int(v) for v in rng.choice([1, 2, 119, 120, 121, 500, 1000], per_file)]
        _write_pickle(root / "ImageNet16" / name, {"data": data, "labels": batch_labels, "mean": np.zeros(768)})
        datas.append(data)
        labels.append(batch_labels)
    return datas, labels


@pytest.mark.parametrize("subfolder", [True, False])
def test_imagenet16_reader_keeps_classes_1_to_120_and_subtracts_one(tmp_path: Path, subfolder: bool) -> None:
    datas, labels = _imagenet16_fixture(tmp_path)
    root = tmp_path if subfolder else tmp_path / "ImageNet16"
    train = load_dataset("imagenet16-120", root, train=True)
    keep = [
        (d[i], label)
        for d, ls in zip(datas[:10], labels[:10], strict=True)
        for i, label in enumerate(ls)
        if label <= 120
    ]
    assert len(train) == len(keep)
    assert train.labels.tolist() == [label - 1 for _, label in keep]
    assert train.indices.tolist() == list(range(len(keep)))
    for position, (row, _) in enumerate(keep):
        for channel in range(3):
            for y in (0, 7, 15):
                for x in (0, 9, 15):
                    assert train.images[position, channel, y, x] == row[channel * 256 + y * 16 + x]
    assert train.num_classes == 120 and train.pad == 2 and train.official_total == 151_700
    val = load_dataset("imagenet16-120", root, train=False)
    assert val.labels.tolist() == [label - 1 for label in labels[10] if label <= 120]
    assert val.official_total == 6_000


def test_cifar100_reader_uses_fine_labels(tmp_path: Path) -> None:
    rng = np.random.RandomState(1)
    folder = tmp_path / "cifar-100-python"
    data = rng.randint(0, 256, (7, 3072)).astype(np.uint8)
    fine = [0, 99, 5, 42, 42, 1, 7]
    _write_pickle(
        folder / "train", {"filenames": ["x"] * 7, "fine_labels": fine, "coarse_labels": [0] * 7, "data": data}
    )
    _write_pickle(folder / "test", {"fine_labels": fine[:2], "coarse_labels": [0, 0], "data": data[:2]})
    names = [f"name{k}" for k in range(100)]
    _write_pickle(folder / "meta", {"fine_label_names": names, "coarse_label_names": ["c"] * 20})
    train = load_dataset("cifar100", tmp_path, train=True)
    assert train.labels.tolist() == fine and train.class_names == names and train.num_classes == 100
    assert torch.equal(train.images, torch.from_numpy(data.reshape(7, 3, 32, 32)))
    assert len(load_dataset("cifar100", folder, train=False)) == 2


def test_normalisation_constants_are_the_nb201_ones() -> None:
    assert DATASETS == ("cifar10", "cifar100", "imagenet16-120", "imagefolder", "synthetic")
    cifar10 = DATASET_DEFAULTS["cifar10"]
    assert cifar10.mean == pytest.approx([125.3 / 255, 123.0 / 255, 113.9 / 255])
    assert cifar10.std == pytest.approx([63.0 / 255, 62.1 / 255, 66.7 / 255])
    assert DATASET_DEFAULTS["cifar100"].mean == pytest.approx([129.3 / 255, 124.1 / 255, 112.4 / 255])
    assert DATASET_DEFAULTS["cifar100"].std == pytest.approx([68.2 / 255, 65.4 / 255, 70.4 / 255])
    assert DATASET_DEFAULTS["imagenet16-120"].mean == pytest.approx([122.68 / 255, 116.66 / 255, 104.01 / 255])
    assert DATASET_DEFAULTS["imagenet16-120"].std == pytest.approx([63.22 / 255, 61.26 / 255, 65.09 / 255])
    assert DATASET_DEFAULTS["imagefolder"].mean == (0.485, 0.456, 0.406)
    assert DATASET_DEFAULTS["imagefolder"].std == (0.229, 0.224, 0.225)
    assert (cifar10.pad, DATASET_DEFAULTS["imagenet16-120"].pad) == (4, 2)


def test_missing_cifar_files_name_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(NasInputError, match=r"cifar10: no data_batch_1 … data_batch_5 under .*cifar-10-batches-py/"):
        load_dataset("cifar10", tmp_path, train=True)
    with pytest.raises(NasInputError, match="test_batch"):
        load_dataset("cifar10", tmp_path, train=False)
    with pytest.raises(NasInputError, match="cifar-100-python"):
        load_dataset("cifar100", tmp_path, train=True)
    with pytest.raises(NasInputError, match="train_data_batch_1 … train_data_batch_10"):
        load_dataset("imagenet16-120", tmp_path, train=True)
    with pytest.raises(NasInputError, match="val_data"):
        load_dataset("imagenet16-120", tmp_path, train=False)
    with pytest.raises(NasInputError, match="not a folder"):
        load_dataset("cifar10", tmp_path / "absent", train=True)
    with pytest.raises(NasInputError, match="--data-root"):
        load_dataset("cifar10", None, train=True)
    with pytest.raises(NasInputError, match="unknown dataset 'mnist'"):
        load_dataset("mnist", tmp_path, train=True)


def test_corrupt_or_unsafe_pickles_are_input_errors(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(b"\x80\x02not a pickle at all")
    with pytest.raises(NasInputError, match="test_batch is not a readable batch pickle"):
        load_dataset("cifar10", tmp_path, train=False)

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pickle ran code",))

    _write_pickle(folder / "test_batch", {"data": Exploit(), "labels": [0]})
    with pytest.raises(NasInputError, match=r"refusing global (__builtin__|builtins)\.print"):
        load_dataset("cifar10", tmp_path, train=False)
    _write_pickle(folder / "test_batch", {"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]})
    with pytest.raises(NasInputError, match="not uint8 N×3072"):
        load_dataset("cifar10", tmp_path, train=False)
    _write_pickle(folder / "test_batch", {"labels": [0, 1]})
    with pytest.raises(NasInputError, match="lacks the key 'data'"):
        load_dataset("cifar10", tmp_path, train=False)


def test_image_size_resizes_tensor_datasets(tmp_path: Path) -> None:
    _imagenet16_fixture(tmp_path, per_file=2)
    resized = load_dataset("imagenet16-120", tmp_path, train=False, image_size=8)
    assert resized.images.shape[1:] == (3, 8, 8) and resized.images.dtype == torch.uint8
