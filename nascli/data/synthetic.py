"""A built-in, learnable image dataset whose class is a spatial pattern, not a colour.

Each image shows one of ten patterns (disc, ring, square, cross, horizontal / vertical / diagonal
stripes, checkerboard, triangle, dots) at a random position and scale, in a random foreground colour
on a random background colour, with pixel noise. Colours are drawn independently of the class, so
per-image colour statistics carry almost no class information while a small conv net learns the
patterns quickly. Everything is drawn from one torch generator seeded with `seed`.
"""

from __future__ import annotations

import math

import torch

from nascli.data.datasets import DATASET_DEFAULTS, ImageSet
from nascli.errors import NasInputError

SYNTHETIC_CLASSES = (
    "disc",
    "ring",
    "square",
    "cross",
    "horizontal_stripes",
    "vertical_stripes",
    "diagonal_stripes",
    "checkerboard",
    "triangle",
    "dots",
)
_CHUNK = 2048


def make_synthetic(num_images: int, seed: int, image_size: int = 32, num_classes: int = 10) -> ImageSet:
    """`num_images` synthetic RGB images (uint8), classes balanced in random order, deterministic from `seed`."""
    if not 1 <= num_classes <= len(SYNTHETIC_CLASSES):
        raise NasInputError(f"synthetic data has 1..{len(SYNTHETIC_CLASSES)} classes, not {num_classes}")
    if num_images < 1 or image_size < 8:
        raise NasInputError("synthetic data needs at least 1 image of at least 8×8 pixels")
    generator = torch.Generator().manual_seed(int(seed))
    labels = torch.arange(num_images, dtype=torch.int64) % num_classes
    labels = labels[torch.randperm(num_images, generator=generator)]
    chunks = [_render(labels[start : start + _CHUNK], image_size, generator) for start in range(0, num_images, _CHUNK)]
    defaults = DATASET_DEFAULTS["synthetic"]
    return ImageSet(
        images=torch.cat(chunks),
        labels=labels,
        indices=torch.arange(num_images, dtype=torch.int64),
        num_classes=num_classes,
        class_names=list(SYNTHETIC_CLASSES[:num_classes]),
        name="synthetic",
        mean=defaults.mean,
        std=defaults.std,
        pad=max(1, image_size // 8),
    )


def _uniform(shape: tuple[int, ...], low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator)


def _render(labels: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Images for `labels` as uint8 [B,3,size,size]."""
    count = labels.shape[0]
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size  # pixel centres in 0..1
    ys = coords.view(1, size, 1)
    xs = coords.view(1, 1, size)
    radius = _uniform((count, 1, 1), 0.22, 0.38, generator)
    centre_y = _uniform((count, 1, 1), 0.0, 1.0, generator) * (1 - 2 * radius) + radius
    centre_x = _uniform((count, 1, 1), 0.0, 1.0, generator) * (1 - 2 * radius) + radius
    period = _uniform((count, 1, 1), 0.16, 0.26, generator)
    phase = _uniform((count, 1, 1), 0.0, 1.0, generator)
    dy = ys - centre_y
    dx = xs - centre_x
    dist = torch.sqrt(dx * dx + dy * dy)

    def wave(t: torch.Tensor) -> torch.Tensor:
        return torch.sin(2 * math.pi * (t / period + phase)) > 0

    inside = torch.maximum(dx.abs(), dy.abs()) < radius
    masks = torch.stack(
        [
            dist < radius,
            (dist < radius) & (dist > 0.55 * radius),
            torch.maximum(dx.abs(), dy.abs()) < 0.8 * radius,
            ((dx.abs() < 0.28 * radius) & (dy.abs() < radius)) | ((dy.abs() < 0.28 * radius) & (dx.abs() < radius)),
            wave(ys.expand_as(dist)) & inside,
            wave(xs.expand_as(dist)) & inside,
            wave((xs + ys).expand_as(dist) / math.sqrt(2)) & inside,
            (wave(xs.expand_as(dist)) ^ wave(ys.expand_as(dist))) & inside,
            (dy < radius) & (dy > -radius) & (dx.abs() < (dy + radius) / 2),
            (torch.remainder(dx / period + 0.5, 1.0) - 0.5) ** 2 + (torch.remainder(dy / period + 0.5, 1.0) - 0.5) ** 2
            < 0.07,
        ]
    )
    mask = masks[labels, torch.arange(count)].unsqueeze(1).float()  # [B,1,H,W]
    foreground = _uniform((count, 3, 1, 1), 0.0, 1.0, generator)
    background = _uniform((count, 3, 1, 1), 0.0, 1.0, generator)
    # Keep foreground and background apart (at least 0.35 in the most different channel) by pushing the
    # foreground away from the background where they are too close.
    gap = (foreground - background).abs().amax(dim=1, keepdim=True)
    push = torch.where(background > 0.5, -0.45, 0.45)
    foreground = torch.where(gap < 0.35, (background + push).clamp(0, 1), foreground)
    image = mask * foreground + (1 - mask) * background
    image = image + 0.06 * torch.randn(image.shape, generator=generator)
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)
