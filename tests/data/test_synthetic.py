"""The built-in synthetic dataset: deterministic, balanced, and learnable only from spatial structure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from nascli.data import load_dataset, make_synthetic
from nascli.data.datasets import SYNTHETIC_TEST_SEED_OFFSET
from nascli.data.synthetic import SYNTHETIC_CLASSES
from nascli.errors import NasInputError


def test_same_seed_gives_identical_tensors_and_different_seed_differs() -> None:
    first = make_synthetic(300, seed=7)
    again = make_synthetic(300, seed=7)
    other = make_synthetic(300, seed=8)
    assert torch.equal(first.images, again.images)
    assert torch.equal(first.labels, again.labels)
    assert not torch.equal(first.images, other.images)
    assert (first.images != other.images).float().mean() > 0.5


def test_layout_dtypes_and_balanced_classes() -> None:
    data = make_synthetic(1000, seed=0, image_size=24, num_classes=10)
    assert data.images.dtype == torch.uint8 and data.images.shape == (1000, 3, 24, 24)
    assert data.labels.dtype == torch.int64 and data.indices.tolist() == list(range(1000))
    assert torch.bincount(data.labels, minlength=10).tolist() == [100] * 10
    assert data.class_names == list(SYNTHETIC_CLASSES) and data.num_classes == 10
    assert len(make_synthetic(50, seed=0, num_classes=4).labels.unique()) == 4


def test_test_set_uses_an_offset_seed() -> None:
    test = load_dataset("synthetic", None, train=False, seed=3, synthetic_size=64)
    train = load_dataset("synthetic", None, train=True, seed=3, synthetic_size=64)
    assert torch.equal(test.images, make_synthetic(64, 3 + SYNTHETIC_TEST_SEED_OFFSET).images)
    assert torch.equal(train.images, make_synthetic(64, 3).images)


def test_bad_class_count_is_an_input_error() -> None:
    with pytest.raises(NasInputError, match="classes"):
        make_synthetic(10, seed=0, num_classes=11)


def _train(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, steps: int = 200) -> nn.Module:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=steps)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = torch.randint(0, len(labels), (64,), generator=generator)
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(images).argmax(1) == labels).float().mean().item()


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine this is several times faster than two."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_a_small_conv_net_learns_it_and_colour_statistics_do_not(one_thread: None) -> None:
    torch.manual_seed(0)
    train = make_synthetic(3000, seed=0)
    test = load_dataset("synthetic", None, train=False, seed=0, synthetic_size=1000)

    def prepare(images: torch.Tensor) -> torch.Tensor:
        return (images.float() / 255 - 0.5) / 0.25

    x_train, x_test = prepare(train.images), prepare(test.images)
    conv = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )
    colour_only = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, 10))
    conv_accuracy = _accuracy(_train(conv, x_train, train.labels), x_test, test.labels)
    colour_accuracy = _accuracy(_train(colour_only, x_train, train.labels), x_test, test.labels)
    assert conv_accuracy >= 0.8, conv_accuracy
    assert conv_accuracy - colour_accuracy >= 0.3, (conv_accuracy, colour_accuracy)
