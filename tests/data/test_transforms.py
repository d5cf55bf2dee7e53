"""ImageNet-style crops and PCA lighting, pinned against the RLNAS reference's literal construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nascli.data.transforms import (
    IMAGENET_EIGENVALUES,
    IMAGENET_EIGENVECTORS,
    apply_lighting,
    crop_with_zero_padding,
    lighting_offsets,
    megvii_eval_resize,
    megvii_random_crop,
    resize_bilinear_uint8,
    square_crop_box,
)

# darts_search_space/imagenet/rlnas/retrain_architecture/utils.py, get_train_transform: the vectors in B, G, R
# row order, flipped with eigvec[::-1, :] before use; both arrays stored as float32
REFERENCE_EIGVEC_BGR = np.array([[-0.5836, -0.6948, 0.4203], [-0.5808, -0.0045, -0.8140], [-0.5675, 0.7192, 0.4009]])
REFERENCE_EIGVAL = np.array([0.2175, 0.0188, 0.0045])


def _reference_lightening_jitter(image_hwc: np.ndarray, jitter: np.ndarray) -> np.ndarray:
    """LighteningJitter.__call__ written out literally, with the normal draw `jitter` given."""
    eigen_vecs = np.array(REFERENCE_EIGVEC_BGR[::-1, :], dtype=np.float32)
    eigen_values = np.array(REFERENCE_EIGVAL, dtype=np.float32)
    img = np.asarray(image_hwc, dtype=np.float32)
    img = np.ascontiguousarray(img / 255)
    color_purb = (eigen_vecs @ (eigen_values * jitter)).reshape([1, 1, -1])
    img += color_purb
    img = np.ascontiguousarray(img * 255)
    img.clip(0, 255, out=img)
    return np.uint8(img)


def test_constants_are_the_references_after_its_row_flip() -> None:
    assert torch.equal(IMAGENET_EIGENVECTORS.float(), torch.tensor(REFERENCE_EIGVEC_BGR[::-1].copy()).float())
    assert torch.equal(IMAGENET_EIGENVALUES.float(), torch.tensor(REFERENCE_EIGVAL).float())


def test_lighting_equals_the_reference_jitter_bit_for_bit() -> None:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 9, 7), generator=generator, dtype=torch.uint8)
    images[0] = 255  # saturated and black images exercise the clip
    images[1] = 0
    std = 0.1
    draw = torch.Generator().manual_seed(5)
    offsets = lighting_offsets(6, std, draw)
    jitters = torch.randn((6, 3), generator=torch.Generator().manual_seed(5), dtype=torch.float64) * std
    ours = apply_lighting(images, offsets)
    assert ours.dtype == torch.uint8 and ours.shape == images.shape
    for index in range(6):
        expected = _reference_lightening_jitter(images[index].permute(1, 2, 0).numpy(), jitters[index].numpy())
        assert np.array_equal(ours[index].permute(1, 2, 0).numpy(), expected), index


def test_lighting_offsets_have_the_pca_covariance() -> None:
    """Offsets V·(λ ⊙ α), α ~ N(0, σ²): covariance V diag(σ²λ²) Vᵀ, dominated by the first eigenvector."""
    offsets = lighting_offsets(50_000, 0.1, torch.Generator().manual_seed(0))
    vectors, values = IMAGENET_EIGENVECTORS.numpy(), IMAGENET_EIGENVALUES.numpy()
    expected = vectors @ np.diag((0.1 * values) ** 2) @ vectors.T
    assert offsets.shape == (50_000, 3)
    assert np.allclose(np.cov(offsets.numpy().T), expected, atol=2e-5)


def test_square_crop_area_fraction_is_uniform_and_retried_until_it_fits() -> None:
    generator = torch.Generator().manual_seed(1)
    square = [square_crop_box(300, 300, generator)[2] ** 2 / 300**2 for _ in range(1000)]
    assert min(square) > 0.079 and max(square) <= 1.0
    assert abs(float(np.mean(square)) - 0.54) < 0.03  # U(0.08, 1): every square fits a square image
    for _ in range(300):  # a 400×300 image: squares above 300 px are redrawn, never cut
        top, left, side = square_crop_box(400, 300, generator)
        assert 0 <= top <= 400 - side and 0 <= left <= 300 - side


def test_square_crop_of_a_thin_image_is_padded_past_its_edges() -> None:
    """A 10×1000 image has no square of ≥ 8% of its area inside: after ten tries the last one is padded."""
    generator = torch.Generator().manual_seed(2)
    for _ in range(50):
        top, left, side = square_crop_box(10, 1000, generator)
        assert side >= round(math.sqrt(0.08 * 10_000)) and 10 - side <= top <= 0 and 0 <= left <= 1000 - side


def test_crop_with_zero_padding_places_the_image_and_zeros() -> None:
    image = torch.arange(1, 13, dtype=torch.uint8).view(1, 3, 4)
    window = crop_with_zero_padding(image, -1, 2, 3, 3)
    assert window.tolist() == [[[0, 0, 0], [3, 4, 0], [7, 8, 0]]]
    assert torch.equal(crop_with_zero_padding(image, 0, 0, 3, 4), image)


def _half_pixel_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """cv2.INTER_LINEAR's rule: source = (destination + ½)·scale − ½, clamped to the edges, no antialiasing."""
    source_h, source_w = image.shape[-2:]

    def taps(size: int, source: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        position = np.clip((np.arange(size) + 0.5) * source / size - 0.5, 0, source - 1)
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, source - 1)
        return low, high, position - low

    r0, r1, fr = taps(height, source_h)
    c0, c1, fc = taps(width, source_w)
    img = image.astype(np.float64)
    rows = img[:, r0, :] * (1 - fr)[None, :, None] + img[:, r1, :] * fr[None, :, None]
    return rows[:, :, c0] * (1 - fc)[None, None, :] + rows[:, :, c1] * fc[None, None, :]


@pytest.mark.parametrize("size", [(17, 23), (64, 40), (5, 5)])
def test_resize_is_bilinear_with_half_pixel_centres_and_no_antialiasing(size: tuple[int, int]) -> None:
    image = torch.randint(0, 256, (3, 31, 29), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    ours = resize_bilinear_uint8(image, *size).numpy().astype(np.float64)
    expected = _half_pixel_bilinear(image.numpy(), *size)
    assert np.abs(ours - expected).max() <= 0.5 + 1e-3


def test_eval_resize_rounds_the_long_side_half_up_as_opencv_resize() -> None:
    """OpencvResize(256): int(256 / H · W + 0.5); torchvision would truncate 426.67 to 426."""
    assert tuple(megvii_eval_resize(torch.zeros(3, 300, 500, dtype=torch.uint8), 256).shape) == (3, 256, 427)
    assert tuple(megvii_eval_resize(torch.zeros(3, 500, 300, dtype=torch.uint8), 256).shape) == (3, 427, 256)
    assert tuple(megvii_eval_resize(torch.zeros(3, 300, 300, dtype=torch.uint8), 256).shape) == (3, 256, 256)


def test_megvii_random_crop_is_deterministic_per_generator() -> None:
    image = torch.randint(0, 256, (3, 50, 70), generator=torch.Generator().manual_seed(4), dtype=torch.uint8)
    first = megvii_random_crop(image, 24, torch.Generator().manual_seed(9))
    assert first.shape == (3, 24, 24) and first.dtype == torch.uint8
    assert torch.equal(first, megvii_random_crop(image, 24, torch.Generator().manual_seed(9)))
