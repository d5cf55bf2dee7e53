"""CIFAR ResNets used as RMI-NAS teachers (methods/rminas.md §2.2), each naming its three feature taps.

`resnet20`: He et al.'s CIFAR ResNet-20 with option-A shortcuts (stride-2 subsampling and zero-padded
channels), the architecture of the Idelbayev `resnet20.th` weights the RMI-NAS reference loads; parameter
names match that checkpoint (`conv1`, `bn1`, `layer1..3`, `linear`). Taps: the outputs of layer1 (16×32×32),
layer2 (32×16×16) and layer3 (64×8×8).

`resnet101-cifar`: the CIFAR variant of ResNet-101 (3×3 stem with stride 1, no max-pool; bottleneck stages of
3, 4, 23, 3 blocks), the architecture of the reference's CIFAR-100 teacher `resnet101.pth`; parameter names
match it (`conv1.0`, `conv2_x` … `conv5_x`, `residual_function`, `shortcut`, `fc`). Taps: the outputs of
conv2_x (256×32×32), conv4_x (1024×8×8) and conv5_x (2048×4×4).

Every network here offers `stage_outputs(x)` (the three taps) and `taps_and_logits(x)` (taps and class logits in
one forward), the same interface as the search spaces' stand-alone networks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nascli.errors import NasInputError


class OptionAShortcut(nn.Module):
    """Option-A shortcut: take every second pixel, zero-pad the channels by `pad` on each side (no parameters)."""

    def __init__(self, pad: int) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Subsampled, channel-padded input."""
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlockA(nn.Module):
    """Two 3×3 conv-BN layers with an identity or option-A shortcut, ReLU after the sum."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = OptionAShortcut(planes // 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Block output."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNetA(nn.Module):
    """CIFAR ResNet-(6n+2) with option-A shortcuts: 16-32-64 channels, n basic blocks per stage."""

    def __init__(self, blocks_per_stage: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        stages = []
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            layer = []
            for index in range(blocks_per_stage):
                layer.append(BasicBlockA(in_planes, planes, stride if index == 0 else 1))
                in_planes = planes
            stages.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(64, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight)

    def stage_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of layer1, layer2 and layer3 (the reference's `feature_extractor`)."""
        out = F.relu(self.bn1(self.conv1(x)))
        first = self.layer1(out)
        second = self.layer2(first)
        return [first, second, self.layer3(second)]

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pooling of the last tap, then the linear classifier."""
        return self.linear(features.mean(dim=(2, 3)))

    def taps_and_logits(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The three taps and the class logits of one forward."""
        taps = self.stage_outputs(x)
        return taps, self.head(taps[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.taps_and_logits(x)[1]


class Bottleneck(nn.Module):
    """1×1 → 3×3 (stride) → 1×1 ×4 bottleneck with a projection shortcut where the shape changes."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        out_channels = channels * self.expansion
        self.residual_function = nn.Sequential(
            nn.Conv2d(in_channels, channels, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels),
        )
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Block output."""
        return F.relu(self.residual_function(x) + self.shortcut(x))


class CifarResNetBottleneck(nn.Module):
    """CIFAR variant of the bottleneck ResNets: 3×3 stride-1 stem (64 ch), stages of 64/128/256/512 ×4 channels."""

    def __init__(self, blocks: tuple[int, int, int, int] = (3, 4, 23, 3), num_classes: int = 100) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.conv1 = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64),
                                   nn.ReLU(inplace=True))
        in_channels = 64
        stages = []
        for channels, count, stride in zip((64, 128, 256, 512), blocks, (1, 2, 2, 2), strict=True):
            layer = []
            for index in range(count):
                layer.append(Bottleneck(in_channels, channels, stride if index == 0 else 1))
                in_channels = channels * Bottleneck.expansion
            stages.append(nn.Sequential(*layer))
        self.conv2_x, self.conv3_x, self.conv4_x, self.conv5_x = stages
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)

    def stage_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of conv2_x, conv4_x and conv5_x (the reference's `feature_extractor`)."""
        first = self.conv2_x(self.conv1(x))
        second = self.conv4_x(self.conv3_x(first))
        return [first, second, self.conv5_x(second)]

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pooling of the last tap, then the linear classifier."""
        return self.fc(self.avg_pool(features).flatten(1))

    def taps_and_logits(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The three taps and the class logits of one forward."""
        taps = self.stage_outputs(x)
        return taps, self.head(taps[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.taps_and_logits(x)[1]


@dataclass(frozen=True)
class NetworkSpec:
    """A registered network: how to build it, its default class count, and its three taps in words."""

    name: str
    build: Callable[[int], nn.Module]
    default_classes: int
    taps: tuple[str, str, str]
    description: str


NETWORKS: dict[str, NetworkSpec] = {
    "resnet20": NetworkSpec(
        "resnet20", lambda classes: CifarResNetA(3, classes), 10, ("layer1", "layer2", "layer3"),
        "CIFAR ResNet-20, option-A shortcuts (0.27 M params; the RMI-NAS CIFAR-10 teacher)"),
    "resnet101-cifar": NetworkSpec(
        "resnet101-cifar", lambda classes: CifarResNetBottleneck((3, 4, 23, 3), classes), 100,
        ("conv2_x", "conv4_x", "conv5_x"),
        "ResNet-101, CIFAR variant: 3×3 stride-1 stem (the RMI-NAS CIFAR-100 teacher)"),
}


def network_spec(name: str) -> NetworkSpec:
    """The registered network `name`; an unknown name is an input error listing the known ones."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise NasInputError(f"unknown network {name!r}: choose one of {', '.join(NETWORKS)}") from None


def build_network(name: str, num_classes: int, seed: int | None = None) -> nn.Module:
    """A freshly initialised network `name` with `num_classes` outputs (seeded when `seed` is given)."""
    spec = network_spec(name)
    if num_classes < 1:
        raise NasInputError(f"num_classes={num_classes} must be positive")
    if seed is not None:
        torch.manual_seed(seed)
    return spec.build(num_classes)
