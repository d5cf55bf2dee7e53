"""Per-image ImageNet-style crops and colour noise: torchvision's rules and the RLNAS/SPOS (megvii) OpenCV ones.

Two crop styles exist because the references differ:

* ``torchvision``: RandomResizedCrop (scale 0.08–1, aspect 3/4–4/3) with antialiased bilinear resizing;
  evaluation resizes the shorter side to size·256/224 and centre-crops.
* ``megvii``: the pipeline of the RLNAS ImageNet scripts (megvii-model/RLNAS
  ``darts_search_space/imagenet/rlnas/{train_supernet,retrain_architecture}/utils.py``): a *square* crop of side
  round(√(U(0.08, 1)·H·W)), placed uniformly and zero-padded when it exceeds the image (after ten tries),
  resized with cv2's INTER_LINEAR, i.e. bilinear without antialiasing; evaluation resizes the shorter side to
  size·256/224 rounding the other side half up (``OpencvResize``) and centre-crops.

`pca_lighting` is the reference's ``LighteningJitter`` (AlexNet PCA noise, eigen-values/vectors of ImageNet).
All random draws come from an explicit `torch.Generator`.
"""

from __future__ import annotations

import math
import typing

import torch
import torch.nn.functional as F

CropStyle = typing.Literal["torchvision", "megvii"]
CROP_STYLES: tuple[str, ...] = typing.get_args(CropStyle)

# float32 values widened to float64, as the reference stores them (np.float32) before its float64 product
IMAGENET_EIGENVALUES = torch.tensor([0.2175, 0.0188, 0.0045], dtype=torch.float32).double()
"""Eigen-values of ImageNet's RGB pixel covariance ([0, 1] scale), largest first."""
IMAGENET_EIGENVECTORS = torch.tensor(
    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]], dtype=torch.float32
).double()
"""Eigen-vectors as columns, rows in R, G, B order (the reference lists them in B, G, R order and flips the rows)."""


def random_resized_crop_box(
    height: int,
    width: int,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int]:
    """(top, left, h, w) as torchvision's RandomResizedCrop chooses it, drawn from `generator`."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * (scale[0] + (scale[1] - scale[0]) * torch.rand(1, generator=generator).item())
        aspect = math.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * torch.rand(1, generator=generator).item())
        crop_w = round(math.sqrt(target_area * aspect))
        crop_h = round(math.sqrt(target_area / aspect))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            top = int(torch.randint(0, height - crop_h + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - crop_w + 1, (1,), generator=generator))
            return top, left, crop_h, crop_w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        crop_w, crop_h = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        crop_h, crop_w = height, round(height * ratio[1])
    else:
        crop_w, crop_h = width, height
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def _uniform_int(low: int, high: int, generator: torch.Generator) -> int:
    """An integer uniform on [low, high], both ends included (Python's random.randint)."""
    return low + int(torch.randint(0, high - low + 1, (1,), generator=generator))


def square_crop_box(
    height: int, width: int, generator: torch.Generator, scale: tuple[float, float] = (0.08, 1.0), attempts: int = 10
) -> tuple[int, int, int]:
    """(top, left, side) of the megvii square crop; top/left may be negative and the square may pass the edges.

    Each try draws an area fraction in `scale`, side = round(√(fraction·H·W)), then top in [min(H−side, 0),
    max(H−side, 0)] and left likewise; the first try that fits inside is taken, else the last one (padded).
    """
    for _ in range(attempts):
        fraction = scale[0] + (scale[1] - scale[0]) * torch.rand(1, generator=generator).item()
        side = round(math.sqrt(height * width * fraction))
        spare_h, spare_w = height - side, width - side
        left = _uniform_int(min(spare_w, 0), max(spare_w, 0), generator)
        top = _uniform_int(min(spare_h, 0), max(spare_h, 0), generator)
        if spare_h >= 0 and spare_w >= 0:
            break
    return top, left, side


def crop_with_zero_padding(image: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """The [C, height, width] window of `image` at (top, left); the parts outside the image are zeros."""
    channels, image_h, image_w = image.shape
    window = image.new_zeros((channels, height, width))
    row_low, row_high = max(top, 0), min(top + height, image_h)
    col_low, col_high = max(left, 0), min(left + width, image_w)
    if row_low < row_high and col_low < col_high:
        window[:, row_low - top : row_high - top, col_low - left : col_high - left] = image[
            :, row_low:row_high, col_low:col_high
        ]
    return window


def resize_bilinear_uint8(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize a uint8 [C, H, W] image as cv2.INTER_LINEAR does: half-pixel centres, no antialiasing, rounded."""
    if tuple(image.shape[-2:]) == (height, width):
        return image
    resized = F.interpolate(image[None].float(), size=(height, width), mode="bilinear", align_corners=False,
                            antialias=False)[0]
    return resized.round_().clamp_(0, 255).to(torch.uint8)


def megvii_random_crop(image: torch.Tensor, size: int, generator: torch.Generator,
                       scale: tuple[float, float] = (0.08, 1.0)) -> torch.Tensor:
    """The megvii RandomResizedCrop of a uint8 [3, H, W] image: a square crop (zero-padded), resized to size²."""
    top, left, side = square_crop_box(image.shape[-2], image.shape[-1], generator, scale)
    return resize_bilinear_uint8(crop_with_zero_padding(image, top, left, side, side), size, size)


def megvii_eval_resize(image: torch.Tensor, shorter: int) -> torch.Tensor:
    """``OpencvResize``: the shorter side to `shorter`, the other to int(shorter·long/short + 0.5), INTER_LINEAR."""
    height, width = image.shape[-2:]
    if height < width:
        new_h, new_w = shorter, int(shorter / height * width + 0.5)
    else:
        new_h, new_w = int(shorter / width * height + 0.5), shorter
    return resize_bilinear_uint8(image, new_h, new_w)


def lighting_offsets(count: int, std: float, generator: torch.Generator) -> torch.Tensor:
    """Per-image RGB offsets ([count, 3], float64, [0, 1] scale): eigvec · (eigval ⊙ α), α ~ N(0, std²) per image."""
    alpha = torch.randn((count, 3), generator=generator, dtype=torch.float64) * std
    return (alpha * IMAGENET_EIGENVALUES) @ IMAGENET_EIGENVECTORS.T


def lighting_table(offsets: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 3, 256]: each input level 0–255 of each image and channel after the reference's lighting step.

    The reference adds the float64 offset to the float32 level/255, rounds to float32, multiplies by 255, clips
    to [0, 255] and truncates to uint8; a table of those results for all 256 levels applies it exactly.
    """
    levels = torch.arange(256, dtype=torch.float32, device=offsets.device) / 255
    shifted = (levels.double()[None, None, :] + offsets.double()[:, :, None]).float()
    return shifted.mul_(255.0).clamp_(0.0, 255.0).floor_().to(torch.uint8)


def apply_lighting(images: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 3, H, W] images with per-image RGB `offsets` ([N, 3], see `lighting_offsets`) added as the
    reference adds them (`lighting_table`)."""
    table = lighting_table(offsets.to(images.device))
    count, channels = images.shape[:2]
    return torch.gather(table, 2, images.reshape(count, channels, -1).long()).view_as(images)
