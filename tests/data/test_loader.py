"""Deterministic batch loaders: order, sharding, resume, and augmentation against literal constructions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nascli.data import AugmentConfig, BatchLoader, FolderStreamLoader, ImageSet, list_image_folder, make_loader
from nascli.data.datasets import DATASET_DEFAULTS
from nascli.data.loader import crop_flip, cutout
from nascli.errors import NasInputError
from tests.conftest import require_shared


def _random_set(count: int = 96, size: int = 32, seed: int = 0) -> ImageSet:
    generator = torch.Generator().manual_seed(seed)
    defaults = DATASET_DEFAULTS["cifar10"]
    return ImageSet(
        images=torch.randint(0, 256, (count, 3, size, size), generator=generator, dtype=torch.uint8),
        labels=torch.arange(count) % 10,
        indices=torch.arange(count) * 3 + 1,  # official indices differ from positions
        num_classes=10,
        class_names=[str(k) for k in range(10)],
        name="cifar10",
        mean=defaults.mean,
        std=defaults.std,
        pad=4,
    )


def _batches(
    loader: BatchLoader | FolderStreamLoader, epoch: int, start_step: int = 0
) -> list[tuple[torch.Tensor, ...]]:
    return [tuple(t.cpu() for t in batch) for batch in loader.iterate(epoch, start_step)]


def _same(a: list[tuple[torch.Tensor, ...]], b: list[tuple[torch.Tensor, ...]]) -> bool:
    return len(a) == len(b) and all(
        torch.equal(x, y) for ba, bb in zip(a, b, strict=True) for x, y in zip(ba, bb, strict=True)
    )


def test_same_seed_and_epoch_give_identical_batches_other_epochs_differ() -> None:
    data = _random_set()
    augment = AugmentConfig(cutout=8)
    loader = BatchLoader(data, 16, train=True, seed=5, augment=augment)
    again = BatchLoader(data, 16, train=True, seed=5, augment=augment)
    first = _batches(loader, 0)
    assert _same(first, _batches(again, 0))
    assert _same(first, _batches(loader, 0))
    assert not torch.equal(first[0][2], _batches(loader, 1)[0][2])
    assert not torch.equal(first[0][2], _batches(BatchLoader(data, 16, train=True, seed=6, augment=augment), 0)[0][2])
    loader.set_epoch(1)
    assert _same(_batches(loader, 1), [tuple(t for t in batch) for batch in loader])


def test_an_epoch_visits_every_image_once_with_its_label() -> None:
    data = _random_set(100)
    loader = BatchLoader(data, 16, train=True, seed=0)
    batches = _batches(loader, 3)
    assert len(loader) == len(batches) == 6  # 100 // 16, last partial batch dropped
    seen = torch.cat([indices for _, _, indices in batches])
    assert len(set(seen.tolist())) == 96 and set(seen.tolist()) <= set(data.indices.tolist())
    for _, labels, indices in batches:
        assert torch.equal(labels, data.labels[(indices - 1) // 3])
    images, _, _ = batches[0]
    assert images.dtype == torch.float32 and images.shape == (16, 3, 32, 32)


def test_resume_at_a_step_gives_the_remaining_batches() -> None:
    loader = BatchLoader(_random_set(), 8, train=True, seed=1, augment=AugmentConfig(cutout=6))
    full = _batches(loader, 2)
    assert _same(_batches(loader, 2, start_step=5), full[5:])


def test_rank_shards_are_disjoint_equal_and_together_cover_the_epoch() -> None:
    data = _random_set(100)
    shards = [
        torch.cat([i for _, _, i in _batches(BatchLoader(data, 4, train=True, seed=2, rank=r, world_size=3), 0)])
        for r in range(3)
    ]
    assert [len(s) for s in shards] == [32, 32, 32]  # 100 // 3 = 33 each, 8 full batches of 4
    assert len(set(torch.cat(shards).tolist())) == 96
    eval_shards = [
        torch.cat([i for _, _, i in _batches(BatchLoader(data, 10, train=False, seed=0, rank=r, world_size=3), 0)])
        for r in range(3)
    ]
    # Without drop_last the order is padded to 102 by repeating its start: equal shards that cover all 100.
    assert [len(s) for s in eval_shards] == [34, 34, 34]
    assert set(torch.cat(eval_shards).tolist()) == set(data.indices.tolist())
    assert eval_shards[0][:3].tolist() == data.indices[[0, 3, 6]].tolist()
    assert len(BatchLoader(data, 10, train=False, seed=0, rank=1, world_size=3)) == 4


def test_eval_loader_has_fixed_order_and_exact_normalisation() -> None:
    data = _random_set(50)
    loader = BatchLoader(data, 16, train=False, seed=9)
    batches = _batches(loader, 0)
    assert len(loader) == len(batches) == 4 and len(batches[-1][0]) == 2
    assert _same(batches, _batches(BatchLoader(data, 16, train=False, seed=1), 7))
    images = torch.cat([b[0] for b in batches])
    mean = torch.tensor(data.mean).view(1, 3, 1, 1)
    std = torch.tensor(data.std).view(1, 3, 1, 1)
    assert torch.allclose(images, (data.images.float() / 255 - mean) / std, atol=1e-6)
    raw = BatchLoader(data, 50, train=False, seed=0, augment=AugmentConfig(normalize=False))
    assert torch.equal(next(iter(raw))[0], data.images.float() / 255)


def test_crop_and_flip_match_the_literal_construction() -> None:
    images = _random_set(24).images
    generator = torch.Generator().manual_seed(11)
    replay = torch.Generator().manual_seed(11)
    out = crop_flip(images, pad=4, flip=True, generator=generator)
    assert out.shape == images.shape and out.dtype == torch.uint8
    rows = torch.randint(0, 9, (24,), generator=replay).tolist()
    cols = torch.randint(0, 9, (24,), generator=replay).tolist()
    flips = (torch.rand(24, generator=replay) < 0.5).tolist()
    for k in range(24):
        padded = np.pad(images[k].numpy(), ((0, 0), (4, 4), (4, 4)))  # zero padding, as RandomCrop(32, padding=4)
        expected = padded[:, rows[k] : rows[k] + 32, cols[k] : cols[k] + 32]
        if flips[k]:
            expected = expected[:, :, ::-1]
        assert np.array_equal(out[k].numpy(), expected)
    assert len(set(rows)) > 3 and any(flips) and not all(flips)


def test_loader_batches_are_shifted_or_flipped_windows_of_their_images() -> None:
    data = _random_set(32)
    images, _, indices = next(iter(BatchLoader(data, 32, train=True, seed=3, augment=AugmentConfig(normalize=False))))
    for image, index in zip(images, indices, strict=True):
        source = np.pad(data.images[(int(index) - 1) // 3].numpy(), ((0, 0), (4, 4), (4, 4)))
        target = (image * 255).round().to(torch.uint8).numpy()
        windows = [
            window
            for r in range(9)
            for c in range(9)
            for window in (source[:, r : r + 32, c : c + 32], source[:, r : r + 32, c : c + 32][:, :, ::-1])
        ]
        assert any(np.array_equal(target, window) for window in windows)


def test_cutout_matches_darts() -> None:
    images = torch.ones(40, 3, 16, 16)
    generator = torch.Generator().manual_seed(4)
    replay = torch.Generator().manual_seed(4)
    out = cutout(images, 6, generator)
    centre_y = torch.randint(0, 16, (40,), generator=replay).tolist()
    centre_x = torch.randint(0, 16, (40,), generator=replay).tolist()
    for k in range(40):
        # DARTS utils.Cutout: mask of ones, square [y-L/2, y+L/2) × [x-L/2, x+L/2) clipped to the image set to 0.
        mask = np.ones((16, 16), np.float32)
        y1, y2 = np.clip(centre_y[k] - 3, 0, 16), np.clip(centre_y[k] + 3, 0, 16)
        x1, x2 = np.clip(centre_x[k] - 3, 0, 16), np.clip(centre_x[k] + 3, 0, 16)
        mask[y1:y2, x1:x2] = 0.0
        assert np.array_equal(out[k].numpy(), np.broadcast_to(mask, (3, 16, 16)))


def test_loader_cutout_zeroes_one_square_per_image() -> None:
    data = _random_set(64, size=16)
    data.images.fill_(255)
    loader = BatchLoader(data, 64, train=True, seed=0, augment=AugmentConfig(crop_pad=0, cutout=4, normalize=False))
    images = next(iter(loader))[0]
    full_squares = 0
    for image in images:
        zero_rows, zero_cols = np.nonzero(image[0].numpy() == 0)
        assert zero_rows.size > 0 and (image == 0).all(0).sum() == zero_rows.size
        height = zero_rows.max() - zero_rows.min() + 1
        width = zero_cols.max() - zero_cols.min() + 1
        assert height <= 4 and width <= 4 and zero_rows.size == height * width  # a clipped square
        full_squares += zero_rows.size == 16
    assert full_squares > 32


def test_resize_channels_last_and_mean_override() -> None:
    data = _random_set(8)
    augment = AugmentConfig(resize=16, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    images = next(iter(BatchLoader(data, 8, train=False, seed=0, augment=augment, channels_last=True)))[0]
    assert images.shape == (8, 3, 16, 16) and images.is_contiguous(memory_format=torch.channels_last)
    assert images.min() >= -1 and images.max() <= 1


def test_too_few_images_for_a_batch_is_an_input_error() -> None:
    with pytest.raises(NasInputError, match="no batch of 64"):
        BatchLoader(_random_set(10), 64, train=True, seed=0)


def test_make_loader_builds_split_random_label_loaders() -> None:
    subset = require_shared("cifar10-subset")
    loader = make_loader(
        "cifar10",
        subset,
        train=True,
        batch_size=100,
        seed=0,
        split=("cifar10_search_split", "train"),
        label_seed=0,
    )
    assert isinstance(loader, BatchLoader)
    vector = np.random.RandomState(0).randint(0, 10, 50_000)
    for _, labels, indices in loader.iterate(0):
        assert labels.tolist() == vector[indices.numpy()].tolist()
    assert len(loader.imageset) == len(loader.imageset.indices) < 5000
    assert isinstance(
        make_loader("synthetic", None, train=False, batch_size=50, seed=0, synthetic_size=100), BatchLoader
    )
    with pytest.raises(NasInputError, match="only image folders stream"):
        make_loader("cifar10", subset, train=True, batch_size=10, seed=0, stream=True)


def test_streamed_folder_is_deterministic_and_resumable() -> None:
    folder = require_shared("cifar10-subset/imagefolder")
    loader = make_loader(
        "imagefolder", folder, train=False, batch_size=50, seed=0, stream_threshold_bytes=1, image_size=32, workers=0
    )
    assert isinstance(loader, FolderStreamLoader) and len(loader) == 20
    listing = list_image_folder(folder, train=False)
    train = FolderStreamLoader(listing.subset(range(0, 1000, 5)), 20, train=True, seed=3, image_size=24, workers=0)
    first = _batches(train, 1)
    assert len(first) == 10 and first[0][0].shape == (20, 3, 24, 24)
    assert _same(first, _batches(train, 1))
    assert _same(first[4:], _batches(train, 1, start_step=4))
    assert not torch.equal(first[0][2], _batches(train, 2)[0][2])
    parallel = FolderStreamLoader(listing.subset(range(0, 1000, 5)), 20, train=True, seed=3, image_size=24, workers=2)
    assert _same(first[:3], _batches(parallel, 1)[:3])


def test_streamed_eval_resizes_and_centre_crops(tmp_path: Path) -> None:
    folder = require_shared("cifar10-subset/imagefolder")
    listing = list_image_folder(folder, train=False).subset(range(8))
    images, labels, _ = next(iter(FolderStreamLoader(listing, 8, train=False, seed=0, image_size=28, workers=0)))
    assert images.shape == (8, 3, 28, 28) and labels.tolist() == listing.labels.tolist()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_equal_cpu_batches() -> None:
    data = _random_set(64)
    augment = AugmentConfig(cutout=8)
    cpu = _batches(BatchLoader(data, 16, train=True, seed=1, augment=augment), 0)
    gpu = _batches(BatchLoader(data, 16, train=True, seed=1, augment=augment, device="cuda"), 0)
    for (a, la, ia), (b, lb, ib) in zip(cpu, gpu, strict=True):
        assert torch.equal(la, lb) and torch.equal(ia, ib)
        assert torch.allclose(a, b, atol=1e-6)


def test_exact_evaluation_shards_cover_every_image_exactly_once() -> None:
    """Padded shards would count some test images twice when ranks add up their sums (retrain opts out)."""
    from nascli.data.synthetic import make_synthetic

    images = make_synthetic(103, seed=0)
    seen = []
    for rank in range(4):
        loader = BatchLoader(images, 10, train=False, seed=0, rank=rank, world_size=4, drop_last=False,
                             exact_shards=True)
        batches = list(loader.iterate(0))
        assert len(loader) == len(batches)
        seen += [int(i) for _, _, indices in batches for i in indices]
    assert sorted(seen) == sorted(int(i) for i in images.indices)


def test_lighting_shifts_training_batches_by_whole_pixel_levels_and_leaves_evaluation_alone() -> None:
    data = _random_set(32)
    plain = AugmentConfig(crop_pad=0, flip=False, normalize=False)
    lit = AugmentConfig(crop_pad=0, flip=False, normalize=False, lighting=0.1)
    before = _batches(BatchLoader(data, 16, train=True, seed=2, augment=plain), 0)
    after = _batches(BatchLoader(data, 16, train=True, seed=2, augment=lit), 0)
    assert _same(after, _batches(BatchLoader(data, 16, train=True, seed=2, augment=lit), 0))
    for (x, labels, _), (y, labels_lit, _) in zip(before, after, strict=True):
        assert torch.equal(labels, labels_lit) and not torch.equal(x, y)
        levels = y * 255
        assert torch.allclose(levels, levels.round(), atol=1e-4) and 0 <= float(y.min()) <= float(y.max()) <= 1
    evaluation = _batches(BatchLoader(data, 16, train=False, seed=2, augment=lit), 0)
    assert _same(evaluation, _batches(BatchLoader(data, 16, train=False, seed=2, augment=plain), 0))


def test_crop_style_is_checked_and_needs_streamed_files() -> None:
    with pytest.raises(NasInputError, match="unknown crop style"):
        AugmentConfig(crop_style="opencv")  # type: ignore[arg-type]
    with pytest.raises(NasInputError, match="lighting"):
        AugmentConfig(lighting=-0.1)
    with pytest.raises(NasInputError, match="data.stream true"):
        BatchLoader(_random_set(16), 8, train=True, seed=0, augment=AugmentConfig(crop_style="megvii"))


def test_megvii_streamed_folder_is_deterministic_resumable_and_worker_independent() -> None:
    folder = require_shared("cifar10-subset/imagefolder")
    listing = list_image_folder(folder, train=False).subset(range(0, 1000, 10))
    augment = AugmentConfig(crop_style="megvii", lighting=0.1, normalize=False)
    train = FolderStreamLoader(listing, 20, train=True, seed=3, image_size=24, workers=0, augment=augment)
    first = _batches(train, 1)
    assert len(first) == 5 and first[0][0].shape == (20, 3, 24, 24)
    assert _same(first, _batches(train, 1)) and _same(first[2:], _batches(train, 1, start_step=2))
    parallel = FolderStreamLoader(listing, 20, train=True, seed=3, image_size=24, workers=2, augment=augment)
    assert _same(first[:2], _batches(parallel, 1)[:2])
    torchvision_style = FolderStreamLoader(listing, 20, train=True, seed=3, image_size=24, workers=0,
                                           augment=AugmentConfig(normalize=False, lighting=0.1))
    assert not torch.equal(first[0][0], _batches(torchvision_style, 1)[0][0])
    evaluation = FolderStreamLoader(listing.subset(range(4)), 4, train=False, seed=0, image_size=28, workers=0,
                                    augment=augment)
    images, _, _ = next(iter(evaluation))
    assert images.shape == (4, 3, 28, 28)


def test_rotation_matches_torchvision_nearest_rotation_with_the_drawn_angles() -> None:
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    from nascli.data.loader import rotate

    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    rotated = rotate(images, 15.0, torch.Generator().manual_seed(4))
    angles = (torch.rand(6, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2 - 1) * 15.0
    assert angles.abs().max() <= 15 and (angles.abs() > 5).sum() >= 2
    for image, out, angle in zip(images, rotated, angles.tolist(), strict=True):
        expected = TF.rotate(image, angle, interpolation=InterpolationMode.NEAREST, fill=0)
        agree = (out == expected).float().mean().item()
        assert agree > 0.97, (angle, agree)  # nearest neighbour: only pixels on a rounding boundary may differ
        if abs(angle) > 5:
            assert (out == image).float().mean().item() < 0.5
    assert torch.equal(rotate(images, 0.0, torch.Generator()), images)
    with pytest.raises(NasInputError, match="rotation"):
        AugmentConfig(rotation=-1)
