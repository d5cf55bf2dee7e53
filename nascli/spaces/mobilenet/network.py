"""MobileNet-space modules: inverted-residual blocks, the stand-alone network and the single-path supernet.

Built as RLNAS builds them at 224 px (`train_supernet/{super_model.py,torch_blocks.py}`,
`retrain_architecture/model.py`): stem Conv3×3 s2 + BN + ReLU6 (40), an expansion-1 MBConv k3 (40 → 24),
the 21 choice blocks, Conv1×1 + BN + ReLU6 (→ 1728), global average pooling and the classifier (the
stand-alone network puts Dropout(0.2) before it, as the retrain model). A block with stride 1 and equal
widths adds its input (residual). Weights start as the reference initialises them: conv N(0, √(2/(k²·C_out))),
BN weight 1 and bias 0, Linear PyTorch's default.

`channels` (the stem width, 40 at the paper's size) scales every width by channels/40 for reduced test
networks; at 40 the widths are the reference's. The pooling adapts to the input size (7×7 at 224 px, the
reference's AvgPool2d(7)), so small images run too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.mobilenet.arch import (
    BLOCK_SHAPES,
    FIRST_BLOCK_CHANNELS,
    IDENTITY,
    LAST_CHANNELS,
    NUM_BLOCKS,
    STAGES,
    STEM_CHANNELS,
    MobileNetArch,
)

DROPOUT = 0.2


def scaled(width: int, channels: int) -> int:
    """`width` at stem width `channels` (the reference's widths at 40)."""
    if channels == STEM_CHANNELS:
        return width
    return max(1, int(round(width * channels / STEM_CHANNELS)))


def block_layout(channels: int = STEM_CHANNELS) -> list[tuple[int, int, int]]:
    """(in channels, out channels, stride) of each of the 21 choice blocks."""
    layout = []
    width = scaled(FIRST_BLOCK_CHANNELS, channels)
    for out, count, stride in STAGES:
        out = scaled(out, channels)
        for i in range(count):
            layout.append((width, out, stride if i == 0 else 1))
            width = out
    return layout


class InvertedResidual(nn.Module):
    """MBConv: [pw 1×1 + BN + ReLU6 when t > 1], dw k×k + BN + ReLU6, pw-linear 1×1 + BN; residual iff s=1, in=out."""

    def __init__(self, inp: int, oup: int, kernel: int, stride: int, expansion: int) -> None:
        super().__init__()
        self.inp, self.oup, self.kernel, self.stride, self.expansion = inp, oup, kernel, stride, expansion
        self.use_residual = stride == 1 and inp == oup
        hidden = inp * expansion
        pad = kernel // 2
        if expansion == 1:
            layers: list[nn.Module] = [
                nn.Conv2d(inp, inp, kernel, stride, pad, groups=inp, bias=False), nn.BatchNorm2d(inp),
                nn.ReLU6(inplace=True),
                nn.Conv2d(inp, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup),
            ]
        else:
            layers = [
                nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, hidden, kernel, stride, pad, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup),
            ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output (plus its input when residual)."""
        return x + self.conv(x) if self.use_residual else self.conv(x)


def choice_block(choice: int, inp: int, oup: int, stride: int) -> InvertedResidual:
    """The MBConv block of choice 0..5 (BLOCK_KEYS order) for these widths and stride."""
    kernel, expansion = BLOCK_SHAPES[choice]
    return InvertedResidual(inp, oup, kernel, stride, expansion)


def conv_bn_relu6(inp: int, oup: int, kernel: int, stride: int) -> nn.Sequential:
    """Conv k×k (no bias) + BN + ReLU6: the stem (k=3, s=2) and the final 1×1 conv."""
    return nn.Sequential(nn.Conv2d(inp, oup, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(oup),
                         nn.ReLU6(inplace=True))


def init_weights(model: nn.Module) -> None:
    """The reference's initialisation: conv N(0, √(2/(k_h k_w C_out))), BN weight 1 and bias 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.BatchNorm2d) and module.weight.device.type == "meta":
            continue  # shapes only (FLOPs counting): nothing to initialise
        if isinstance(module, nn.Conv2d):
            fan = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
            module.weight.data.normal_(0, math.sqrt(2.0 / fan))
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.data.fill_(1)
            module.bias.data.zero_()


class _Backbone(nn.Module):
    """Stem, first block, head and classifier shared by the stand-alone network and the supernet."""

    def _build_fixed(self, num_classes: int, channels: int, dropout: float | None) -> None:
        self.channels = channels
        stem = scaled(STEM_CHANNELS, channels)
        first = scaled(FIRST_BLOCK_CHANNELS, channels)
        self.last_channels = scaled(LAST_CHANNELS, channels)
        self.layout = block_layout(channels)
        self.stem = conv_bn_relu6(3, stem, 3, 2)
        self.first = InvertedResidual(stem, first, 3, 1, 1)
        self.head = conv_bn_relu6(self.layout[-1][1], self.last_channels, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        linear = nn.Linear(self.last_channels, num_classes)
        self.classifier = nn.Sequential(linear) if dropout is None else nn.Sequential(nn.Dropout(dropout), linear)

    def _tail(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.head(x))
        return self.classifier(x.flatten(1))


class MobileNetNetwork(_Backbone):
    """The stand-alone network of one architecture (identity blocks are skipped), Dropout(0.2) before the Linear."""

    def __init__(self, arch: MobileNetArch, num_classes: int = 1000, channels: int = STEM_CHANNELS,
                 dropout: float = DROPOUT) -> None:
        super().__init__()
        self._build_fixed(num_classes, channels, dropout)
        self.arch = arch
        blocks: list[nn.Module] = []
        for choice, (inp, oup, stride) in zip(arch.choices, self.layout, strict=True):
            if choice == IDENTITY:
                if inp != oup or stride != 1:
                    raise NasInputError("identity is only allowed where the block keeps the width and stride")
                blocks.append(nn.Identity())
            else:
                blocks.append(choice_block(choice, inp, oup, stride))
        self.blocks = nn.ModuleList(blocks)
        init_weights(self)

    def forward(self, x: torch.Tensor, path: object = None) -> torch.Tensor:
        """Logits of a batch (`path` is ignored: the architecture is fixed)."""
        x = self.first(self.stem(x))
        for block in self.blocks:
            x = block(x)
        return self._tail(x)


class ChoiceBlock(nn.Module):
    """All six MBConv blocks of one position; `forward(x, c)` runs block c, or returns x for identity (−1)."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        self.inp, self.oup, self.stride = inp, oup, stride
        self.ops = nn.ModuleList(choice_block(c, inp, oup, stride) for c in range(len(BLOCK_SHAPES)))

    def forward(self, x: torch.Tensor, choice: int) -> torch.Tensor:
        """The chosen block's output."""
        return x if choice == IDENTITY else self.ops[choice](x)


class MobileNetSupernet(_Backbone):
    """The RLNAS single-path supernet: every block holds its six choices; `forward(x, path)` runs one per block."""

    def __init__(self, num_classes: int = 1000, channels: int = STEM_CHANNELS) -> None:
        super().__init__()
        self._build_fixed(num_classes, channels, dropout=None)
        self.blocks = nn.ModuleList(ChoiceBlock(inp, oup, stride) for inp, oup, stride in self.layout)
        init_weights(self)

    def forward(self, x: torch.Tensor, path: Sequence[int] | MobileNetArch) -> torch.Tensor:
        """Logits of a batch through `path` (21 choices)."""
        choices = tuple(path)
        if len(choices) != NUM_BLOCKS:
            raise NasInputError(f"a MobileNet path has {NUM_BLOCKS} choices, got {len(choices)}")
        x = self.first(self.stem(x))
        for block, choice in zip(self.blocks, choices, strict=True):
            x = block(x, int(choice))
        return self._tail(x)

    def fixed_modules(self) -> Iterator[nn.Module]:
        """Stem, first block, head and classifier: the modules every path runs."""
        yield from (self.stem, self.first, self.head, self.classifier)


def supernet_path_parameters(supernet: MobileNetSupernet, arch: MobileNetArch) -> list[nn.Parameter]:
    """Parameters `arch` uses, in forward order: stem, first block, the chosen blocks, head, classifier."""
    params = list(supernet.stem.parameters()) + list(supernet.first.parameters())
    for block, choice in zip(supernet.blocks, arch.choices, strict=True):
        if choice != IDENTITY:
            params += list(block.ops[choice].parameters())
    return params + list(supernet.head.parameters()) + list(supernet.classifier.parameters())


def network_state_from_supernet(supernet: MobileNetSupernet, arch: MobileNetArch) -> dict[str, torch.Tensor]:
    """A state dict for `MobileNetNetwork(arch)` holding the supernet's weights of `arch`'s path."""
    state = {}
    for key, value in supernet.state_dict().items():
        if key.startswith("blocks."):
            _, index, _, choice, rest = key.split(".", 4)
            if arch.choices[int(index)] == int(choice):
                state[f"blocks.{index}.{rest}"] = value
        elif key.startswith("classifier.0."):
            state["classifier.1." + key[len("classifier.0."):]] = value
        else:
            state[key] = value
    return state


_REFERENCE_PREFIXES = (("stem.", "conv_bn."), ("first.", "MBConv_ratio_1."), ("head.", "conv_1x1_bn."))


def reference_key(key: str) -> str:
    """The RLNAS `SuperNetwork` state-dict key of a `MobileNetSupernet` key (blocks.i.ops.c → features.i._ops.c)."""
    for ours, theirs in _REFERENCE_PREFIXES:
        if key.startswith(ours):
            return theirs + key[len(ours):]
    if key.startswith("blocks."):
        _, index, _, rest = key.split(".", 3)
        return f"features.{index}._ops.{rest}"
    return key
