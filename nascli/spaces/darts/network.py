"""Stand-alone DARTS networks (CIFAR and ImageNet) with their cells and auxiliary heads."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.darts.genotype import DARTS_OPS_RLNAS, DartsGenotype, Pairs
from nascli.spaces.ops import DilConv, FactorizedReduce, Identity, Pool, ReLUConvBN, SepConv, Zero


def build_op(name: str, channels: int, stride: int, affine: bool = True, pool_bn: bool = False,
             pool_bn_affine: bool | None = None) -> nn.Module:
    """One DARTS op on `channels` channels; `pool_bn=True` puts a BN after each pool (RLNAS supernet, DARTS and DrNAS
    search, DrNAS retraining), affine as `pool_bn_affine` (default: as `affine`; DrNAS's `AvgPoolBN` never is)."""
    if name == "none":
        return Zero(channels, channels, stride)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        bn_affine = affine if pool_bn_affine is None else pool_bn_affine
        return Pool(name[:3], channels, stride, bn_after=pool_bn, affine=bn_affine)
    if name == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(channels, channels, affine=affine)
    if name in ("sep_conv_3x3", "sep_conv_5x5"):
        return SepConv(channels, channels, int(name[-1]), stride, affine=affine)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        return DilConv(channels, channels, int(name[-1]), stride, 2, affine=affine)
    raise NasInputError(f"unknown operation {name!r}: choose one of {', '.join(DARTS_OPS_RLNAS)}")


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples with probability `drop_prob` and rescale the rest (DARTS drop-path)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask.div_(keep)  # scale the [N,1,1,1] mask, not the activation: one full-size temporary


def preprocess(
    c_prev_prev: int, c_prev: int, c: int, reduction_prev: bool, affine: bool
) -> tuple[nn.Module, nn.Module]:
    pre0: nn.Module
    if reduction_prev:
        pre0 = FactorizedReduce(c_prev_prev, c, affine=affine)
    else:
        pre0 = ReLUConvBN(c_prev_prev, c, 1, 1, 0, affine=affine)
    return pre0, ReLUConvBN(c_prev, c, 1, 1, 0, affine=affine)


class DartsCell(nn.Module):
    """A stand-alone cell: two preprocessed inputs, 8 ops (pair order of the genotype), concat of states 2..5.

    `node_sizes` groups the pairs by node: two each for a genotype; (2, 3, 4, 5) for BPE's dense cell, whose
    every node sums all of its inputs.
    """

    def __init__(
        self,
        pairs: Pairs,
        concat: Sequence[int],
        c_prev_prev: int,
        c_prev: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
        affine: bool = True,
        pool_bn: bool = False,
        pool_bn_affine: bool | None = None,
        node_sizes: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.node_sizes = tuple(node_sizes) if node_sizes is not None else (2,) * (len(pairs) // 2)
        if sum(self.node_sizes) != len(pairs):
            raise ValueError(f"node sizes {self.node_sizes} do not account for the cell's {len(pairs)} pairs")
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = preprocess(c_prev_prev, c_prev, channels, reduction_prev, affine)
        self.indices = tuple(index for _, index in pairs)
        self.concat = tuple(concat)
        self.multiplier = len(self.concat)
        self.ops = nn.ModuleList(
            build_op(op, channels, 2 if reduction and index < 2 else 1, affine, pool_bn, pool_bn_affine)
            for op, index in pairs
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        """Cell output; drop-path on non-identity op outputs while training."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        start = 0
        for size in self.node_sizes:
            total = None
            for k in range(start, start + size):
                op = self.ops[k]
                h = op(states[self.indices[k]])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    h = drop_path(h, drop_prob)
                total = h if total is None else total + h
            states.append(total)
            start += size
        return torch.cat([states[i] for i in self.concat], dim=1)


AUX_POOLS = ("fixed", "adaptive")
"""How the CIFAR auxiliary head pools its map to 2×2: `fixed` (DARTS: AvgPool 5, stride 3, an 8×8 map only) or
`adaptive` (pt.darts as BPE ships it, `models/augment_cnn.py: AuxiliaryHead`: AvgPool 5 with stride input//4 − 5
when input//4 is 7 or 8, else AdaptiveAvgPool to 2×2, e.g. on the 4×4 map of 16-px images)."""


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS CIFAR auxiliary head on the map after cell 2L//3 (8×8 at 32 px); `pool` as in `AUX_POOLS`."""

    def __init__(self, channels: int, num_classes: int, pool: str = "fixed", input_size: int = 32) -> None:
        super().__init__()
        quarter = input_size // 4
        pooling: nn.Module
        if pool == "adaptive" and quarter not in (7, 8):
            pooling = nn.AdaptiveAvgPool2d((2, 2))
        else:
            stride = quarter - 5 if pool == "adaptive" else 3
            pooling = nn.AvgPool2d(5, stride=stride, padding=0, count_include_pad=False)
        self.features = nn.Sequential(
            # not in place (the reference is): the cell output it reads feeds the next cells too
            nn.ReLU(inplace=False),
            pooling,
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Auxiliary logits."""
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryHeadImageNet(nn.Module):
    """DARTS ImageNet auxiliary head; keeps the reference's missing BN after the 768-conv (paper parity)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Auxiliary logits."""
        return self.classifier(self.features(x).flatten(1))


def reduction_layers(layers: int) -> tuple[int, int]:
    return layers // 3, 2 * layers // 3


def check_sizes(channels: int, layers: int, num_classes: int) -> None:
    if channels < 2 or channels % 2:
        raise NasInputError(f"channels={channels}: DARTS networks need an even channel count ≥ 2 (FactorizedReduce)")
    if layers < 3:
        raise NasInputError(f"layers={layers}: a DARTS network needs at least 3 cells (two are reductions)")
    if num_classes < 1:
        raise NasInputError(f"num_classes={num_classes} must be positive")


class _DartsNetwork(nn.Module):
    """Shared cell stack, drop-path setting, auxiliary head and stage outputs of the two stand-alone networks."""

    auxiliary_head: nn.Module | None

    def __init__(self, layers: int, drop_path_prob: float) -> None:
        super().__init__()
        self.layers = layers
        self.drop_path_prob = float(drop_path_prob)
        self.cells = nn.ModuleList()

    def _build_cells(
        self, genotype: DartsGenotype, c_stem_prev_prev: int, c_stem_prev: int, channels: int,
        reduction_prev: bool, affine: bool, pool_bn: bool, pool_bn_affine: bool | None = None,
    ) -> tuple[int, int]:
        c_prev_prev, c_prev, c_curr = c_stem_prev_prev, c_stem_prev, channels
        c_aux = c_prev
        for i in range(self.layers):
            reduction = i in reduction_layers(self.layers)
            if reduction:
                c_curr *= 2
            kind = "reduce" if reduction else "normal"
            cell = DartsCell(
                genotype.cell(kind), getattr(genotype, f"{kind}_concat"), c_prev_prev, c_prev, c_curr,
                reduction, reduction_prev, affine, pool_bn, pool_bn_affine, getattr(genotype, "node_sizes", None),
            )
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == 2 * self.layers // 3:
                c_aux = c_prev
        return c_prev, c_aux

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s0, s1), the two inputs of the first cell; each network defines its own stem."""
        raise TypeError(f"{type(self).__name__} defines no stem: subclass NetworkCIFAR or NetworkImageNet")

    def _run(self, x: torch.Tensor, want_aux: bool, keep: frozenset[int] = frozenset()
             ) -> tuple[torch.Tensor, torch.Tensor | None, dict[int, torch.Tensor]]:
        s0, s1 = self._stem(x)
        aux_logits = None
        outputs = {}  # only the cells asked for: keeping every cell output would raise the peak memory
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i in keep:
                outputs[i] = s1
            if want_aux and i == 2 * self.layers // 3 and self.auxiliary_head is not None and self.training:
                aux_logits = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits, aux_logits, outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self._run(x, want_aux=False)[0]

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits, auxiliary logits); the auxiliary logits exist only in training mode with the head built."""
        logits, aux_logits, _ = self._run(x, want_aux=True)
        return logits, aux_logits

    def stage_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of cells L//3−1, 2L//3−1 and L−1 (the three feature maps RMI-NAS compares)."""
        wanted = (self.layers // 3 - 1, 2 * self.layers // 3 - 1, self.layers - 1)
        outputs = self._run(x, want_aux=False, keep=frozenset(wanted))[2]
        return [outputs[i] for i in wanted]


class NetworkCIFAR(_DartsNetwork):
    """DARTS stand-alone CIFAR network: Conv3×3(3→3C)+BN stem, L cells (reductions at L//3, 2L//3), GAP, Linear."""

    def __init__(
        self,
        genotype: DartsGenotype,
        channels: int = 36,
        num_classes: int = 10,
        layers: int = 20,
        auxiliary: bool = False,
        drop_path_prob: float = 0.0,
        input_size: int = 32,
        affine: bool = True,
        pool_bn: bool = False,
        pool_bn_affine: bool | None = None,
        aux_pool: str = "fixed",
    ) -> None:
        check_sizes(channels, layers, num_classes)
        if aux_pool not in AUX_POOLS:
            raise NasInputError(f"unknown auxiliary pooling {aux_pool!r}: choose one of {', '.join(AUX_POOLS)}")
        super().__init__(layers, drop_path_prob)
        c_stem = 3 * channels
        self.stem = nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        c_prev, c_aux = self._build_cells(genotype, c_stem, c_stem, channels, False, affine, pool_bn, pool_bn_affine)
        self.auxiliary_head = None
        if auxiliary:
            if aux_pool == "fixed":
                _check_auxiliary_fits(input_size, halvings=2, pool_stride=3, after_cell=2 * layers // 3)
            self.auxiliary_head = AuxiliaryHeadCIFAR(c_aux, num_classes, aux_pool, input_size)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.stem(x)
        return s, s


class NetworkImageNet(_DartsNetwork):
    """DARTS stand-alone ImageNet network: two strided stems (224 → 28), L cells, global pool, Linear."""

    def __init__(
        self,
        genotype: DartsGenotype,
        channels: int = 48,
        num_classes: int = 1000,
        layers: int = 14,
        auxiliary: bool = False,
        drop_path_prob: float = 0.0,
        input_size: int = 224,
        affine: bool = True,
        pool_bn: bool = False,
        pool_bn_affine: bool | None = None,
    ) -> None:
        check_sizes(channels, layers, num_classes)
        super().__init__(layers, drop_path_prob)
        self.stem0, self.stem1 = imagenet_stems(channels)
        c_prev, c_aux = self._build_cells(genotype, channels, channels, channels, True, affine, pool_bn,
                                          pool_bn_affine)
        self.auxiliary_head = None
        if auxiliary:
            _check_auxiliary_fits(input_size, halvings=5, pool_stride=2, after_cell=2 * layers // 3)
            self.auxiliary_head = AuxiliaryHeadImageNet(c_aux, num_classes)
        # the reference's AvgPool2d(7) on the final 7×7 map at 224 px; adaptive so reduced sizes also work
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def _stem(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return s0, self.stem1(s0)


def _check_auxiliary_fits(input_size: int, halvings: int, pool_stride: int, after_cell: int) -> None:
    """The auxiliary head pools 5×5 with `pool_stride`, then a 2×2 conv, then a Linear on 768 features: the
    pooled map must be exactly 2×2, which holds only for a narrow band of input sizes."""

    def fits(size: int) -> bool:
        side = _downsampled(size, halvings)
        return side >= 5 and (side - 5) // pool_stride + 1 == 2

    if not fits(input_size):
        working = [size for size in range(1, 1025) if fits(size)]
        raise NasInputError(
            f"the auxiliary head after cell {after_cell} does not fit input size {input_size} (its map is "
            f"{_downsampled(input_size, halvings)}×{_downsampled(input_size, halvings)}): disable the auxiliary head, "
            f"use an input size in {working[0]}..{working[-1]}"
            + (", or pool adaptively (model.options.aux_pool: adaptive)" if pool_stride == 3 else "")
        )


def _downsampled(size: int, halvings: int) -> int:
    for _ in range(halvings):
        size = (size + 1) // 2
    return size


def imagenet_stems(channels: int) -> tuple[nn.Sequential, nn.Sequential]:
    """The two strided ImageNet stems, 3 → C/2 → C and C → C (C: `stem_multiplier` × the cell width in DrNAS)."""
    stem0 = nn.Sequential(
        nn.Conv2d(3, channels // 2, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(channels // 2),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels // 2, channels, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(channels),
    )
    stem1 = nn.Sequential(
        nn.ReLU(inplace=False),  # stem0's output is also cell 0's first input
        nn.Conv2d(channels, channels, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(channels),
    )
    return stem0, stem1


