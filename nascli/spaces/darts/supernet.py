"""The single-path DARTS supernet (RLNAS, methods/rlnas.md §2.2) and its path parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.darts.encodings import split_codes, to_rlnas_codes
from nascli.spaces.darts.genotype import (
    CELL_KINDS,
    DARTS_OPS_RLNAS,
    EDGES,
    NUM_EDGES,
    NUM_STATES,
    Code,
    DartsGenotype,
    edge_index,
)
from nascli.spaces.darts.network import build_op, check_sizes, imagenet_stems, preprocess, reduction_layers
from nascli.spaces.mixed import MixedEdge, active_ops, check_partial_channels


def path_codes(path: Any) -> tuple[Code, Code]:
    """(normal, reduce) RLNAS codes of a path given as a DartsGenotype, a (normal, reduce) pair or 28 ints."""
    if isinstance(path, DartsGenotype):
        codes = to_rlnas_codes(path)
        return codes[:NUM_EDGES], codes[NUM_EDGES:]
    return split_codes(path, "supernet path", 0, len(DARTS_OPS_RLNAS) - 1)


class SupernetCell(nn.Module):
    """A supernet cell: every one of the 14 edges holds every op of the space (a `MixedEdge` keyed by op name).

    With `partial_channels` K > 1 the ops are built for C/K channels and only the mixed forward applies.
    """

    def __init__(
        self, ops: Sequence[str], c_prev_prev: int, c_prev: int, channels: int, reduction: bool,
        reduction_prev: bool, affine: bool = True, pool_bn: bool = True, partial_channels: int = 1,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = preprocess(c_prev_prev, c_prev, channels, reduction_prev, affine)
        check_partial_channels(channels, partial_channels, f"a DARTS cell of width {channels}")
        op_channels = channels // partial_channels
        self.edges = nn.ModuleList(
            MixedEdge(
                {op: build_op(op, op_channels, 2 if reduction and k < 2 else 1, affine, pool_bn) for op in ops},
                channels, 2 if reduction and k < 2 else 1, partial_channels,
            )
            for k, _ in EDGES
        )

    def forward_mixed(
        self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor, active: Sequence[Sequence[bool]],
        edge_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Node s = Σ_{k<s} [β_e ·] Σ_op w_{e,op} · op(state k); weights [14, ops] in the supernet's op order."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for state in range(2, 6):
            total = None
            for k in range(state):
                e = edge_index(k, state)
                h = self.edges[e].mixed(states[k], weights[e], active[e])
                if edge_weights is not None:
                    h = edge_weights[e] * h
                total = h if total is None else total + h
            states.append(total)
        return torch.cat(states[2:], dim=1)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, code: Code) -> torch.Tensor:
        """Run the path `code` (14 RLNAS op indices); `none` edges are skipped."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for state in range(2, 6):
            total = None
            for k in range(state):
                e = edge_index(k, state)
                if code[e] == 0:
                    continue
                h = self.edges[e][DARTS_OPS_RLNAS[code[e]]](states[k])
                total = h if total is None else total + h
            if total is None:
                raise NasInputError(f"the supernet path leaves node {state} without inputs: repair the code first")
            states.append(total)
        return torch.cat(states[2:], dim=1)


class DartsSupernet(nn.Module):
    """RLNAS single-path DARTS supernet: `forward(x, path)` runs one normal code in all normal cells, one reduce.

    The CIFAR stem is 3C wide (all references); the ImageNet stems are `stem_multiplier`·C wide (1: RLNAS and
    DARTS's stand-alone network; 3: the DrNAS ImageNet search network).
    """

    def __init__(
        self,
        channels: int = 16,
        num_classes: int = 10,
        layers: int = 8,
        ops: Sequence[str] = DARTS_OPS_RLNAS,
        imagenet: bool = False,
        affine: bool = True,
        pool_bn: bool = True,
        partial_channels: int = 1,
        stem_multiplier: int = 1,
    ) -> None:
        check_sizes(channels, layers, num_classes)
        if isinstance(stem_multiplier, bool) or not isinstance(stem_multiplier, int) or stem_multiplier < 1:
            raise NasInputError(f"stem_multiplier must be an integer ≥ 1, got {stem_multiplier!r}")
        super().__init__()
        self.layers = layers
        self.ops = tuple(ops)
        self.imagenet = imagenet
        self.partial_channels = int(partial_channels)
        self.stem_multiplier = int(stem_multiplier)
        if imagenet:
            # DrNAS `model_search_imagenet.py`: stems of stem_multiplier·C (3 → 72 → 144 → 144 at C=48); RLNAS: C
            self.stem0, self.stem1 = imagenet_stems(self.stem_multiplier * channels)
            c_prev_prev = c_prev = self.stem_multiplier * channels
            reduction_prev = True
        else:
            c_prev_prev = c_prev = 3 * channels
            self.stem = nn.Sequential(nn.Conv2d(3, c_prev, 3, padding=1, bias=False), nn.BatchNorm2d(c_prev))
            reduction_prev = False
        c_curr = channels
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in reduction_layers(layers)
            if reduction:
                c_curr *= 2
            self.cells.append(
                SupernetCell(self.ops, c_prev_prev, c_prev, c_curr, reduction, reduction_prev, affine, pool_bn,
                             self.partial_channels)
            )
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, NUM_STATES * c_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def stem_modules(self) -> list[nn.Module]:
        """The stem(s), in forward order."""
        return [self.stem0, self.stem1] if self.imagenet else [self.stem]

    def _forward_mixed(self, x: torch.Tensor, weights: Mapping[str, torch.Tensor],
                       edge_weights: Mapping[str, torch.Tensor] | None,
                       active: Mapping[str, Sequence[Sequence[bool]]] | None = None) -> torch.Tensor:
        if set(weights) != set(CELL_KINDS):
            raise NasInputError(f"DARTS op weights are {{'normal': w, 'reduce': w}}, got keys {sorted(weights)}")
        for kind in CELL_KINDS:
            if tuple(weights[kind].shape) != (NUM_EDGES, len(self.ops)):
                raise NasInputError(
                    f"the {kind} op weights have shape {list(weights[kind].shape)}, expected [14, {len(self.ops)}]"
                )
        if active is None:  # one device sync; search loops pass the pruning masks instead
            active = {kind: active_ops(weights[kind]) for kind in CELL_KINDS}
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        for cell in self.cells:
            kind = "reduce" if cell.reduction else "normal"
            betas = None if edge_weights is None else edge_weights[kind]
            s0, s1 = s1, cell.forward_mixed(s0, s1, weights[kind], active[kind], betas)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def forward(self, x: torch.Tensor, path: Any, edge_weights: Mapping[str, torch.Tensor] | None = None,
                active: Mapping[str, Sequence[Sequence[bool]]] | None = None) -> torch.Tensor:
        """Logits of the sub-network `path` (DartsGenotype, (normal, reduce) codes, or 28 ints), or of the mixed
        supernet when `path` is `{"normal": w, "reduce": w}`: op weights [14, ops] in `self.ops` order, shared by
        all cells of a type; ops whose weight is exactly 0 are skipped; `edge_weights` ([14] per type) scale edges;
        `active` (per type, [14][ops] bools) names the ops to run without reading the weights on the host.
        """
        if isinstance(path, Mapping):
            return self._forward_mixed(x, path, edge_weights, active)
        if self.partial_channels != 1:
            raise NasInputError("a supernet with partial channels runs only mixed (op weights), not single paths")
        normal, reduce = path_codes(path)
        for code in (normal, reduce):
            missing = {DARTS_OPS_RLNAS[v] for v in code if v != 0} - set(self.ops)
            if missing:
                raise NasInputError(
                    f"the path uses {', '.join(sorted(missing))}, which this supernet does not hold "
                    f"(ops: {', '.join(self.ops)})"
                )
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(self.global_pooling(s1).flatten(1))


def _stem_names(supernet: DartsSupernet) -> tuple[str, ...]:
    return ("stem0", "stem1") if supernet.imagenet else ("stem",)


def _path_modules(supernet: DartsSupernet, arch: Any) -> Iterator[tuple[str, nn.Module]]:
    normal, reduce = path_codes(arch)
    yield from zip(_stem_names(supernet), supernet.stem_modules(), strict=True)
    for c, cell in enumerate(supernet.cells):
        yield f"cells.{c}.preprocess0", cell.preprocess0
        yield f"cells.{c}.preprocess1", cell.preprocess1
        code = reduce if cell.reduction else normal
        for e in range(NUM_EDGES):
            if code[e] != 0:
                op = DARTS_OPS_RLNAS[code[e]]
                yield f"cells.{c}.edges.{e}.{op}", cell.edges[e][op]
    yield "classifier", supernet.classifier


def supernet_path_parameters(supernet: DartsSupernet, arch: Any) -> list[nn.Parameter]:
    """Parameters the path uses, each once: stem, per cell preprocess0/1 and chosen ops by edge, classifier."""
    params: list[nn.Parameter] = []
    seen: set[int] = set()
    for _, module in _path_modules(supernet, arch):
        for parameter in module.parameters():
            if id(parameter) not in seen:
                seen.add(id(parameter))
                params.append(parameter)
    return params


def network_state_from_supernet(supernet: DartsSupernet, genotype: DartsGenotype) -> dict[str, torch.Tensor]:
    """State dict (parameters and BN buffers) of the stand-alone network of `genotype` inherited from `supernet`.

    Load it into `NetworkCIFAR`/`NetworkImageNet` built with the supernet's channels, layers and
    `pool_bn=True` (the supernet's pools carry a BN).
    """
    state: dict[str, torch.Tensor] = {}

    def copy(prefix: str, module: nn.Module) -> None:
        for key, value in module.state_dict().items():
            state[f"{prefix}.{key}"] = value.detach().clone()

    for name, stem in zip(_stem_names(supernet), supernet.stem_modules(), strict=True):
        copy(name, stem)
    for c, cell in enumerate(supernet.cells):
        copy(f"cells.{c}.preprocess0", cell.preprocess0)
        copy(f"cells.{c}.preprocess1", cell.preprocess1)
        pairs = genotype.cell("reduce" if cell.reduction else "normal")
        for position, (op, index) in enumerate(pairs):
            copy(f"cells.{c}.ops.{position}", cell.edges[edge_index(index, 2 + position // 2)][op])
    copy("classifier", supernet.classifier)
    return state


