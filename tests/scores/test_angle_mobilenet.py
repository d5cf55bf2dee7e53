"""The MobileNet angle: the reference's vector (pinned from the RLNAS code), and the batched form = the literal one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nascli.scores.angle_mobilenet import MobileNetAngleTables, mobilenet_angle_literal, mobilenet_arch_vector
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from tests.spaces.mobilenet_reference import reference_numbers, set_formula_weights


@pytest.fixture(scope="module")
def space():
    return get_space("mobilenet")


def test_angles_equal_the_reference_vector(space) -> None:
    ref = reference_numbers()
    cfg = NetworkConfig(num_classes=1000, input_size=224)
    initial, trained = space.supernet(cfg), space.supernet(cfg)
    set_formula_weights(initial, 0.0)
    set_formula_weights(trained, 1.0)
    tables = MobileNetAngleTables.build(initial, trained)
    for name, row in ref["angle"].items():
        arch = space.coerce(ref["networks"][name]["arch"])
        v0, vt = mobilenet_arch_vector(initial, arch), mobilenet_arch_vector(trained, arch)
        assert v0.numel() == row["length"], name
        assert float(v0 @ vt) == pytest.approx(row["dot"], rel=1e-9), name
        assert float(v0 @ v0) == pytest.approx(row["norm0_sq"], rel=1e-9), name
        literal = mobilenet_angle_literal(arch, initial, trained)
        assert literal == pytest.approx(row["float64"], abs=1e-9), name
        assert tables.angles(np.array([arch.choices]))[0] == pytest.approx(literal, abs=1e-9), name


def test_batched_form_equals_the_literal_vector(space) -> None:
    cfg = NetworkConfig(num_classes=10, channels=8, input_size=32)
    torch.manual_seed(0)
    initial, trained = space.supernet(cfg), space.supernet(cfg)
    with torch.no_grad():
        for p0, pt in zip(initial.parameters(), trained.parameters(), strict=True):
            pt.copy_(p0 + 0.3 * torch.randn_like(p0))
    tables = MobileNetAngleTables.build(initial, trained)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(30)]
    archs.append(space.coerce(reference_numbers()["networks"]["smallest"]["arch"]))
    batched = tables.angles(np.array([a.choices for a in archs]))
    literal = np.array([mobilenet_angle_literal(a, initial, trained) for a in archs])
    np.testing.assert_allclose(batched, literal, rtol=0, atol=1e-9)
    assert len(set(np.round(batched, 6))) > 20  # the architectures really score differently
