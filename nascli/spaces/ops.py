"""Primitive operations shared by the cell spaces (NB201, DARTS); every conv is bias-free."""

from __future__ import annotations

import torch
from torch import nn


def batch_norm(channels: int, affine: bool, track_running_stats: bool = True) -> nn.BatchNorm2d:
    """BatchNorm2d with the two switches the reference supernets set."""
    return nn.BatchNorm2d(channels, affine=affine, track_running_stats=track_running_stats)


class ReLUConvBN(nn.Sequential):
    """ReLU → Conv(k×k, bias-free) → BN, the NB201 `nor_conv_kxk` and the DARTS preprocess."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
        dilation: int = 1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        padding = kernel_size // 2 if padding is None else padding
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride, padding, dilation=dilation, bias=False),
            batch_norm(c_out, affine, track_running_stats),
        )

    @property
    def conv(self) -> nn.Conv2d:
        """The convolution (the block the angle score takes)."""
        return self[1]

    @property
    def bn(self) -> nn.BatchNorm2d:
        """The batch norm."""
        return self[2]


class Zero(nn.Module):
    """The `none` op: zeros of the (strided) output shape."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Zeros shaped like the op's output."""
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.c_in == self.c_out:
            return x.mul(0.0)
        shape = list(x.shape)
        shape[1] = self.c_out
        return x.new_zeros(shape)


class Identity(nn.Module):
    """The `skip_connect` op at stride 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the input."""
        return x


class FactorizedReduce(nn.Module):
    """Stride-2 skip: ReLU, two 1×1 stride-2 convs on x and x shifted by one pixel, concat, BN."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = batch_norm(c_out, affine, track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Halve the resolution without losing the odd pixels."""
        x = self.relu(x)
        shifted = x[:, :, 1:, 1:]
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            # odd sizes: pad so both branches give ceil(H/2); even sizes need nothing (as the reference)
            shifted = nn.functional.pad(shifted, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class Pool(nn.Module):
    """3×3 avg or max pool (avg without padded zeros), optionally followed by BN (DARTS, RLNAS supernet)."""

    def __init__(
        self,
        kind: str,
        channels: int,
        stride: int = 1,
        bn_after: bool = False,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        if kind == "avg":
            self.pool: nn.Module = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        elif kind == "max":
            self.pool = nn.MaxPool2d(3, stride=stride, padding=1)
        else:
            raise ValueError(f"unknown pool kind {kind!r}")
        self.bn = batch_norm(channels, affine, track_running_stats) if bn_after else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool, then BN if configured."""
        x = self.pool(x)
        return self.bn(x) if self.bn is not None else x


class SepConv(nn.Module):
    """DARTS separable conv: two [ReLU, depthwise k×k, pointwise 1×1, BN] stacks, the first strided."""

    def __init__(
        self, c_in: int, c_out: int, kernel_size: int, stride: int, affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel_size, stride, pad, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_in, 1, bias=False),
            batch_norm(c_in, affine, track_running_stats),
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel_size, 1, pad, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            batch_norm(c_out, affine, track_running_stats),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the two stacks."""
        return self.op(x)


class DilConv(nn.Module):
    """DARTS dilated conv: ReLU, depthwise k×k with dilation, pointwise 1×1, BN."""

    def __init__(
        self, c_in: int, c_out: int, kernel_size: int, stride: int, dilation: int = 2, affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        pad = dilation * (kernel_size // 2)
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel_size, stride, pad, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            batch_norm(c_out, affine, track_running_stats),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the op."""
        return self.op(x)


class ResNetBasicBlock(nn.Module):
    """NB201's fixed reduction block: ReLUConvBN 3×3 s2 → ReLUConvBN 3×3, plus AvgPool(2)+Conv1×1 shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1, affine=affine, track_running_stats=track_running_stats)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, affine=affine, track_running_stats=track_running_stats)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0, affine=affine,
                                         track_running_stats=track_running_stats)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual sum of the two convs and the shortcut."""
        residual = self.downsample(x) if self.downsample is not None else x
        return residual + self.conv_b(self.conv_a(x))
