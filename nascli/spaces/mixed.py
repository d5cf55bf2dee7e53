"""Mixed edges for differentiable search: weighted sums of ops, partial channels, channel shuffle, widening.

A `MixedEdge` is the `ModuleDict` of one supernet edge (op name → op), so the single-path forward of the
supernets (`edges[e][op]`) is unchanged; `MixedEdge.mixed(x, weights, active)` returns Σ_k w_k · op_k(x)
over the ops whose weight is not exactly 0 (pruned ops are never run). With partial channels K > 1
(PC-DARTS) only the first C/K channels go through the ops (built for C/K channels), the others bypass them
(through a 2×2 max-pool on stride-2 edges), the two parts are concatenated and channel-shuffled with K
groups (methods/drnas.md §1.1; DrNAS `MixedOp`, `NAS201SearchCell_PartialChannel`).

`widen_edges` grows the ops from C/K_old to C/K_new channels by copying randomly chosen existing channels
(Net2Wider-style, not function-preserving; methods/drnas.md §2.1) and reports, for every replaced
parameter, how to extend its optimizer state the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.ops import FactorizedReduce, Zero


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave `groups` channel groups: channel g·(C/groups) + i moves to i·groups + g (ShuffleNet)."""
    batch, channels, height, width = x.shape
    x = x.reshape(batch, groups, channels // groups, height, width).transpose(1, 2)
    return x.reshape(batch, channels, height, width)


def check_partial_channels(channels: int, partial_channels: int, where: str) -> None:
    """Refuse a partial-channel ratio K that does not split `channels` into K equal groups of at least 2."""
    if partial_channels < 1:
        raise NasInputError(f"partial_channels must be at least 1, got {partial_channels}")
    if partial_channels > 1 and (channels % partial_channels or channels // partial_channels < 2):
        raise NasInputError(
            f"partial channels K={partial_channels} do not divide the {channels} channels of {where} into groups of "
            f"at least 2: choose a K that divides {channels} (or change the channel count)"
        )


class MixedEdge(nn.ModuleDict):
    """One supernet edge: every op of the space keyed by name, run alone (`edge[op]`) or mixed (`mixed`)."""

    def __init__(self, ops: Mapping[str, nn.Module], channels: int, stride: int = 1, partial_channels: int = 1) -> None:
        super().__init__(ops)
        self.channels = int(channels)
        self.stride = int(stride)
        self.partial_channels = int(partial_channels)

    @property
    def op_channels(self) -> int:
        """Channels the ops see: C/K."""
        return self.channels // self.partial_channels

    def mixed(self, x: torch.Tensor, weights: torch.Tensor, active: Sequence[bool]) -> torch.Tensor:
        """Σ_k w_k · op_k(x) over the ops marked active, with the partial-channel bypass and shuffle when K > 1.

        `weights` holds one weight per op in key order; `active[k]` is False where the weight is exactly 0.
        `none` contributes zeros whatever its weight, so it is never run.
        """
        k = self.partial_channels
        part = x if k == 1 else x[:, : self.op_channels]
        total: torch.Tensor | None = None
        for (name, op), weight, on in zip(self.items(), weights.unbind(), active, strict=True):
            if not on or name == "none":
                continue
            out = weight * op(part)
            total = out if total is None else total + out
        if total is None:
            total = part[:, :, :: self.stride, :: self.stride].mul(0.0)
        if k == 1:
            return total
        rest = x[:, self.op_channels :]
        if self.stride > 1:
            # ceil mode: the same as the reference's MaxPool2d(2, 2) on even sizes, and matches strided ops on odd
            rest = F.max_pool2d(rest, 2, 2, ceil_mode=True)
        return channel_shuffle(torch.cat([total, rest], dim=1), k)


def active_ops(weights: torch.Tensor) -> list[list[bool]]:
    """Per edge and op, whether its weight is non-zero (one device sync for the whole matrix)."""
    return (weights != 0).tolist()


# --------------------------------------------------------------------------------------------------
# Widening (progressive learning)
# --------------------------------------------------------------------------------------------------


@dataclass
class WidenedParameter:
    """A parameter replaced by a wider one; `expand` grows a tensor shaped like `old` (e.g. momentum) the same way."""

    old: nn.Parameter
    new: nn.Parameter
    expand: Callable[[torch.Tensor], torch.Tensor]


def _random_index(old: int, new: int, generator: torch.Generator) -> torch.Tensor:
    """`new − old` channel indices drawn uniformly with replacement from 0..old−1 (on the CPU)."""
    return torch.randint(0, old, (new - old,), generator=generator)


def _grow(tensor: torch.Tensor, dim: int, index: torch.Tensor) -> torch.Tensor:
    return torch.cat([tensor, tensor.index_select(dim, index.to(tensor.device))], dim=dim)


def _replace_parameter(module: nn.Module, name: str, expand: Callable[[torch.Tensor], torch.Tensor],
                       out: list[WidenedParameter]) -> None:
    old = getattr(module, name)
    new = nn.Parameter(expand(old.detach()), requires_grad=old.requires_grad)
    setattr(module, name, new)
    out.append(WidenedParameter(old, new, expand))


def _widen_conv(conv: nn.Conv2d, in_index: torch.Tensor | None, out_index: torch.Tensor,
                out: list[WidenedParameter]) -> None:
    def expand(tensor: torch.Tensor) -> torch.Tensor:
        if in_index is not None:
            tensor = _grow(tensor, 1, in_index)
        return _grow(tensor, 0, out_index)

    if conv.bias is not None:
        _replace_parameter(conv, "bias", lambda tensor: _grow(tensor, 0, out_index), out)
    _replace_parameter(conv, "weight", expand, out)
    conv.out_channels += len(out_index)
    if in_index is not None:
        conv.in_channels += len(in_index)


def _widen_depthwise(conv: nn.Conv2d, out_index: torch.Tensor, out: list[WidenedParameter]) -> None:
    _widen_conv(conv, None, out_index, out)
    conv.in_channels = conv.groups = conv.out_channels


def _widen_bn(bn: nn.BatchNorm2d, index: torch.Tensor, out: list[WidenedParameter]) -> None:
    if bn.running_mean is not None:
        bn.running_mean = _grow(bn.running_mean, 0, index)
        bn.running_var = _grow(bn.running_var, 0, index)
    if bn.affine:
        _replace_parameter(bn, "weight", lambda tensor: _grow(tensor, 0, index), out)
        _replace_parameter(bn, "bias", lambda tensor: _grow(tensor, 0, index), out)
    bn.num_features += len(index)


def _widen_factorized_reduce(op: FactorizedReduce, old: int, new: int, generator: torch.Generator,
                             out: list[WidenedParameter]) -> None:
    """Both halves grow like `ReLUConvBN`; the BN statistics follow the channels they normalise.

    The reference appends BN copies indexed by `cat(index1, index2)` after all old channels, which pairs
    statistics with other channels than the convs copied (a quirk not kept: the widening is random anyway).
    """
    half_old, half_new = old // 2, new // 2
    indices = []
    for conv in (op.conv_1, op.conv_2):
        in_index = _random_index(old, new, generator)  # in-channels drawn first, as `FactorizedReduce.wider`
        out_index = _random_index(half_old, half_new, generator)
        _widen_conv(conv, in_index, out_index, out)
        indices.append(out_index)
    # output channel order after widening: [conv_1 old, conv_1 copies, conv_2 old, conv_2 copies]
    order = torch.cat([
        torch.arange(half_old), indices[0], torch.arange(half_old, old), indices[1] + half_old,
    ])

    def reorder(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.index_select(0, order.to(tensor.device))

    bn = op.bn
    if bn.running_mean is not None:
        bn.running_mean = reorder(bn.running_mean)
        bn.running_var = reorder(bn.running_var)
    if bn.affine:
        _replace_parameter(bn, "weight", reorder, out)
        _replace_parameter(bn, "bias", reorder, out)
    bn.num_features = new


def widen_op(op: nn.Module, old: int, new: int, generator: torch.Generator) -> list[WidenedParameter]:
    """Grow an op built for `old` channels to `new` by copying random channels (DrNAS `wider` methods).

    Convs and BNs are visited in forward order: a depthwise conv copies random output channels (its groups
    follow); a dense conv copies random input channels — those of the preceding depthwise conv when it
    follows one — and random output channels; a BN copies the channels of the conv before it (a pool's BN
    draws its own). Running statistics are copied with the channels; no rescaling.
    """
    out: list[WidenedParameter] = []
    if new == old:
        return out
    if new < old:
        raise ValueError(f"widening cannot shrink an op from {old} to {new} channels")
    previous: tuple[str, torch.Tensor] | None = None
    skip: set[int] = set()
    for module in op.modules():
        if id(module) in skip:
            continue
        if isinstance(module, FactorizedReduce):
            _widen_factorized_reduce(module, old, new, generator, out)
            skip.update(id(child) for child in module.modules())
            previous = None
        elif isinstance(module, Zero):
            module.c_in = module.c_out = new
        elif isinstance(module, nn.Conv2d):
            if module.groups > 1 and module.groups == module.in_channels == module.out_channels:
                index = _random_index(old, new, generator)
                _widen_depthwise(module, index, out)
                previous = ("depthwise", index)
            else:
                follows_depthwise = previous is not None and previous[0] == "depthwise"
                in_index = previous[1] if follows_depthwise else _random_index(old, new, generator)
                index = _random_index(old, new, generator)
                _widen_conv(module, in_index, index, out)
                previous = ("conv", index)
        elif isinstance(module, nn.BatchNorm2d):
            follows_conv = previous is not None and previous[0] == "conv"
            index = previous[1] if follows_conv else _random_index(old, new, generator)
            _widen_bn(module, index, out)
            previous = ("bn", index)
    return out


def mixed_edges(model: nn.Module) -> Iterable[MixedEdge]:
    """Every mixed edge of a supernet, in module order."""
    return (module for module in model.modules() if isinstance(module, MixedEdge))


def widen_edges(model: nn.Module, partial_channels: int, generator: torch.Generator) -> list[WidenedParameter]:
    """Set every mixed edge of `model` to K = `partial_channels` (≤ the current K), widening all its ops.

    Pruned ops are widened too (as the reference), so a supernet built directly at the new K has the
    same shapes — which is how a run resumed after a stage boundary rebuilds it.
    """
    widened: list[WidenedParameter] = []
    for edge in mixed_edges(model):
        if partial_channels > edge.partial_channels:
            raise ValueError(f"partial channels can only shrink (K {edge.partial_channels} → {partial_channels})")
        check_partial_channels(edge.channels, partial_channels, "a mixed edge")
        old, new = edge.op_channels, edge.channels // partial_channels
        for op in edge.values():
            widened.extend(widen_op(op, old, new, generator))
        edge.partial_channels = partial_channels
    if hasattr(model, "partial_channels"):
        model.partial_channels = partial_channels
    return widened
