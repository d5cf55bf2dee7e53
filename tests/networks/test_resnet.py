"""The teacher networks: sizes, parameter names and feature taps of the reference's teacher architectures."""

from __future__ import annotations

import pytest
import torch

from nascli.errors import NasInputError
from nascli.networks import build_network


def test_resnet20_is_the_option_a_cifar_network_of_the_reference_weights() -> None:
    model = build_network("resnet20", 10, seed=0)
    # Idelbayev's table (teacher_model/resnet20_cifar10/resnet.py docstring): ResNet20 has 0.27M parameters; option
    # A shortcuts hold none, so the count is exactly that of the 19 convs, 19 BNs and the 64→10 linear layer
    convs = 3 * 9 * 16 + 2 * 3 * (9 * 16 * 16) + (9 * 16 * 32 + 9 * 32 * 32) + 2 * 2 * 9 * 32 * 32 \
        + (9 * 32 * 64 + 9 * 64 * 64) + 2 * 2 * 9 * 64 * 64
    bns = 2 * (16 + 6 * 16 + 6 * 32 + 6 * 64)
    assert sum(p.numel() for p in model.parameters()) == convs + bns + 64 * 10 + 10 == 269_722
    names = set(model.state_dict())
    # the parameter names of the reference's ResNet (conv1, bn1, layerK.i.convJ/bnJ, linear); no shortcut weights
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer3.2.bn2.num_batches_tracked",
            "linear.weight", "linear.bias"} <= names
    assert not any("shortcut" in name for name in names)
    taps, logits = model.taps_and_logits(torch.randn(2, 3, 32, 32))
    assert [tuple(t.shape[1:]) for t in taps] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert logits.shape == (2, 10)
    model.eval()
    x = torch.randn(3, 3, 32, 32)
    assert torch.allclose(model(x), model.linear(model.stage_outputs(x)[-1].mean(dim=(2, 3))))


@pytest.mark.slow
def test_resnet101_cifar_has_the_reference_layout_and_taps() -> None:
    model = build_network("resnet101-cifar", 100, seed=0)
    # weiaicunzai/pytorch-cifar100 (the reference's resnet101.pth architecture): 42.7M parameters
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == 42.7
    names = set(model.state_dict())
    assert {"conv1.0.weight", "conv2_x.0.residual_function.0.weight", "conv2_x.0.shortcut.0.weight",
            "conv4_x.22.residual_function.7.running_var", "fc.weight"} <= names
    assert "conv4_x.23.residual_function.0.weight" not in names  # 23 blocks in conv4_x
    model.eval()
    with torch.no_grad():
        taps, logits = model.taps_and_logits(torch.randn(2, 3, 32, 32))
    assert [tuple(t.shape[1:]) for t in taps] == [(256, 32, 32), (1024, 8, 8), (2048, 4, 4)]
    assert logits.shape == (2, 100)


def test_unknown_network_is_refused_with_the_choices() -> None:
    with pytest.raises(NasInputError, match="resnet20"):
        build_network("resnet18", 10)
