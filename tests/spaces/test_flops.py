"""FLOPs/params counters: hand-computed small models and the published DARTS ImageNet figures."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.darts import DartsSupernet, NetworkImageNet, to_rlnas_codes
from nascli.spaces.flops import count_flops, count_params
from nascli.spaces.genotypes import get_genotype


class Tiny(nn.Module):
    """Conv with bias, depthwise conv, BN, pool, Linear and an auxiliary conv: counts known by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.depthwise = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)
        self.auxiliary_head = nn.Conv2d(8, 100, 1)
        self.drop_path_prob = 0.3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        self.auxiliary_head(x)
        x = self.bn(self.depthwise(torch.relu(x)))
        return self.fc(self.pool(x).flatten(1))


def test_counts_conv_and_linear_multiply_adds_only() -> None:
    model = Tiny()
    expected = 8 * 8 * 8 * (3 * 9 + 1) + 8 * 4 * 4 * (1 * 9) + 5 * (8 + 1)
    assert count_flops(model, (3, 8, 8)) == expected
    assert count_flops(model, (1, 3, 8, 8)) == expected
    assert count_flops(model, (3, 8, 8), exclude=()) == expected + 100 * 8 * 8 * (8 + 1)


def test_meta_device_count_equals_the_real_run() -> None:
    model = Tiny()
    assert count_flops(model, (3, 8, 8), meta=True) == count_flops(model, (3, 8, 8), meta=False)
    net = NetworkImageNet(get_genotype("PDARTS"), channels=4, num_classes=10, layers=3, input_size=64)
    assert count_flops(net, (3, 64, 64), meta=True) == count_flops(net, (3, 64, 64), meta=False)
    assert next(net.parameters()).device.type == "cpu"


def test_count_params_excludes_the_auxiliary_head() -> None:
    model = Tiny()
    expected = (3 * 8 * 9 + 8) + 8 * 9 + 2 * 8 + (8 * 5 + 5)
    assert count_params(model) == expected
    assert count_params(model, exclude=()) == expected + 8 * 100 + 100


def test_count_flops_restores_mode_and_drop_path() -> None:
    for meta in (True, False):
        model = Tiny().train()
        count_flops(model, (3, 8, 8), meta=meta)
        assert model.training and model.drop_path_prob == 0.3


def test_bad_input_size_is_rejected() -> None:
    with pytest.raises(NasInputError, match="input_size"):
        count_flops(Tiny(), (2, 3, 8, 8))


def test_supernet_path_flops_equal_the_standalone_network() -> None:
    genotype = get_genotype("RLDARTS")
    supernet = DartsSupernet(channels=4, num_classes=10, layers=3, imagenet=True, pool_bn=False)
    network = NetworkImageNet(genotype, channels=4, num_classes=10, layers=3, input_size=64)
    codes = to_rlnas_codes(genotype)
    assert count_flops(supernet, (3, 64, 64), (codes[:14], codes[14:])) == count_flops(network, (3, 64, 64))


def _imagenet_mflops(name: str, channels: int = 48) -> float:
    net = NetworkImageNet(get_genotype(name), channels=channels, num_classes=1000, layers=14, auxiliary=True)
    return count_flops(net, (3, 224, 224)) / 1e6


# published ImageNet FLOPs (C=48 unless noted, L=14, 224 px), in millions
PUBLISHED_MFLOPS = [
    ("RLDARTS", 48, 629),  # RLNAS Table 3
    ("RLDARTS", 46, 581),  # RLNAS▼: the same cell at C=46
    ("RLDARTS_imagenet_600M", 48, 597),
    ("PC_DARTS_cifar", 48, 586),  # PC-DARTS Table 3, CIFAR-10 cell transferred
    ("PC_DARTS_image", 48, 597),
    ("PDARTS", 48, 557),
]


@pytest.mark.parametrize(("name", "channels", "published"), PUBLISHED_MFLOPS)
def test_imagenet_flops_within_5_percent_of_the_papers(name: str, channels: int, published: float) -> None:
    assert _imagenet_mflops(name, channels) == pytest.approx(published, rel=0.05)


def test_darts_v2_printed_574m_is_not_reproducible() -> None:
    # DARTS prints 574M; conv+linear multiply-adds of that cell give 520-550M under any counter
    assert 520 <= _imagenet_mflops("DARTS_V2") <= 550
