"""DataConfig → image sets and loaders: what each process takes under torchrun, streaming decisions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from nascli.config import DataConfig
from nascli.data.datasets import ImageSet, normalization
from nascli.data.folders import FolderListing
from nascli.data.loader import BatchLoader, FolderStreamLoader
from nascli.data.pipeline import eval_loader, evaluation_set, per_process, train_loader, training_set
from nascli.errors import NasInputError
from nascli.train.distributed import DistInfo
from tests.conftest import require_shared

CPU = torch.device("cpu")


def test_process_scope_keeps_the_numbers_and_global_scope_divides_them() -> None:
    per_rank, total = DataConfig(), DataConfig(batch_scope="global")
    assert per_process(per_rank, 1024, 8) == 1024
    assert per_process(total, 1024, 8) == 128 and per_process(total, 1024, 1) == 1024
    assert per_process(total, 1000, 3) == 333  # ⌊1000 / 3⌋, as args.batch_size // world_size
    assert per_process(total, 4, 8, "workers") == 0  # workers may drop to 0: loading in the main process
    with pytest.raises(NasInputError, match="batch_scope process"):
        per_process(total, 4, 8)


def test_loaders_take_their_share_of_a_global_batch() -> None:
    cfg = DataConfig(dataset="synthetic", synthetic_train=256, synthetic_test=64, batch_size=64, eval_batch_size=32,
                     batch_scope="global")
    images = training_set(cfg, seed=0).images
    rank = DistInfo(rank=1, world_size=4)
    train = train_loader(images, cfg, 0, CPU, rank)
    assert isinstance(train, BatchLoader) and train.batch_size == 16 and len(train) == 4  # 256 / 4 ranks / 16
    test = eval_loader(evaluation_set(cfg, seed=0), cfg, CPU, rank)
    assert test.batch_size == 8
    assert train_loader(images, DataConfig(dataset="synthetic", batch_size=64), 0, CPU, rank).batch_size == 64


def test_image_folders_stream_when_asked_or_too_large_and_other_sets_never() -> None:
    folder = require_shared("cifar10-subset/imagefolder")
    streamed = DataConfig(dataset="imagefolder", root=str(folder), stream=True, image_size=16, workers=0)
    listing = training_set(streamed, seed=0).images
    assert isinstance(listing, FolderListing) and len(listing) == 5000
    assert isinstance(train_loader(listing, streamed, 0, CPU, DistInfo()), FolderStreamLoader)
    held = DataConfig(dataset="imagefolder", root=str(folder), stream=False, image_size=16)
    assert isinstance(evaluation_set(held, seed=0), ImageSet)
    with pytest.raises(NasInputError, match="only image folders stream"):
        training_set(DataConfig(dataset="synthetic", synthetic_train=64, stream=True), seed=0)


def test_drop_last_false_keeps_the_partial_batch_as_a_plain_dataloader() -> None:
    cfg = DataConfig(dataset="synthetic", synthetic_train=100, batch_size=32, drop_last=False)
    loader = train_loader(training_set(cfg, seed=0).images, cfg, 0, CPU, DistInfo())
    sizes = [labels.shape[0] for _, labels, _ in loader.iterate(0)]
    assert sizes == [32, 32, 32, 4] and len(loader) == 4
    dropped = dataclasses.replace(cfg, drop_last=True)
    assert len(train_loader(training_set(dropped, seed=0).images, dropped, 0, CPU, DistInfo())) == 3


def test_reference_normalizations_are_the_darts_constants() -> None:
    assert normalization("darts-cifar10") == ((0.49139968, 0.48215827, 0.44653124),
                                              (0.24703233, 0.24348505, 0.26158768))
    assert normalization("DARTS-CIFAR100") == ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))
    mean, std = normalization("cifar10")  # NAS-Bench-201's constants: within 2e-4 of DARTS's
    assert max(abs(a - b) for a, b in zip(mean + std, normalization("darts-cifar10")[0] +
                                          normalization("darts-cifar10")[1], strict=True)) < 2e-4
    with pytest.raises(NasInputError, match="unknown normalization 'darts-cifar'.*darts-cifar10"):
        DataConfig(normalization="darts-cifar")


def test_resize_after_augment_crops_and_flips_at_32_px_then_resizes_as_pil_on_real_images() -> None:
    # the BPE reference (preproc.py: data_transforms): RandomCrop(32, padding=4), RandomHorizontalFlip, then
    # Resize((16, 16)) on the PIL image; the evaluation images are resized the same way
    from PIL import Image, ImageOps

    from nascli.data.loader import derive_seed

    folder = require_shared("cifar10-subset/imagefolder")
    cfg = DataConfig(dataset="imagefolder", root=str(folder), stream=False, crop_pad=4, resize_after_augment=16,
                     normalize=False, batch_size=32, eval_batch_size=32)
    held = training_set(cfg, seed=0).images
    assert isinstance(held, ImageSet) and held.image_size == 32
    images, _, indices = next(iter(train_loader(held, cfg, 5, CPU, DistInfo()).iterate(0)))
    assert images.shape == (32, 3, 16, 16)

    generator = torch.Generator().manual_seed(derive_seed("augment", 5, 0, 0, 0))
    rows = torch.randint(0, 9, (32,), generator=generator)
    cols = torch.randint(0, 9, (32,), generator=generator)
    flips = torch.rand(32, generator=generator) < 0.5
    position = {int(index): i for i, index in enumerate(held.indices)}
    resized_first = 0
    for k in range(32):
        original = Image.fromarray(held.images[position[int(indices[k])]].permute(1, 2, 0).numpy())
        cropped = ImageOps.expand(original, 4, fill=0).crop((int(cols[k]), int(rows[k]), int(cols[k]) + 32,
                                                              int(rows[k]) + 32))
        if flips[k]:
            cropped = cropped.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        expected = torch.from_numpy(np.asarray(cropped.resize((16, 16), Image.BILINEAR)).copy()).permute(2, 0, 1)
        assert torch.equal((images[k] * 255).round().to(torch.uint8), expected), k
        # resizing first and cropping after (what data.image_size does) gives other pixels
        small = ImageOps.expand(original.resize((16, 16), Image.BILINEAR), 2, fill=0)
        other = small.crop((int(cols[k]) // 2, int(rows[k]) // 2, int(cols[k]) // 2 + 16, int(rows[k]) // 2 + 16))
        resized_first += int(not torch.equal(torch.from_numpy(np.asarray(other).copy()).permute(2, 0, 1), expected))
    assert resized_first > 16

    test = evaluation_set(cfg, seed=0)
    test_images, _, test_indices = next(iter(eval_loader(test, cfg, CPU, DistInfo()).iterate(0)))
    assert test_images.shape == (32, 3, 16, 16)
    first = Image.fromarray(test.images[0].permute(1, 2, 0).numpy()).resize((16, 16), Image.BILINEAR)
    assert int(test_indices[0]) == int(test.indices[0])
    assert torch.equal((test_images[0] * 255).round().to(torch.uint8),
                       torch.from_numpy(np.asarray(first).copy()).permute(2, 0, 1))


def test_resize_after_augment_must_be_positive() -> None:
    with pytest.raises(NasInputError, match="resize_after_augment"):
        DataConfig(resize_after_augment=0)
