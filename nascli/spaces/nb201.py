"""The NAS-Bench-201 cell space: architectures, the official index, networks, supernet and path samplers.

Reference: methods/spaces.md §1 (cell, ops, skeleton, string form) and methods/rlnas.md §2.3
(per-cell uniform path sampling of the RLNAS supernet).
"""

from __future__ import annotations

import copy
import gzip
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import torch
from torch import nn

from nascli.errors import NasInputError, NasRuntimeError
from nascli.spaces.base import SPACES, NetworkConfig, PathSampler, SearchSpace
from nascli.spaces.mixed import MixedEdge, active_ops, check_partial_channels
from nascli.spaces.ops import Identity, Pool, ReLUConvBN, ResNetBasicBlock, Zero

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""The five operations in the official `OPS_CODING` order (index = position)."""

EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
"""The six cell edges as (to, from), in canonical order (sorted `"i<-j"` keys = arch-string token order)."""

NUM_EDGES = len(EDGES)
NUM_NODES = 4
SPACE_SIZE = len(NB201_OPS) ** NUM_EDGES
DEFAULT_CHANNELS = 16
DEFAULT_LAYERS = 5

_OP_INDEX = {op: index for index, op in enumerate(NB201_OPS)}
_EDGE_INDEX = {edge: index for index, edge in enumerate(EDGES)}
# node -> ((edge index, source node), ...) for its incoming edges, sources ascending
_NODE_INPUTS = {
    node: tuple((_EDGE_INDEX[(node, source)], source) for source in range(node)) for node in range(1, NUM_NODES)
}
# base-5 place values of the edges: code = Σ op_index[e] · 5^(5-e)
_CODE_WEIGHTS = np.array([len(NB201_OPS) ** (NUM_EDGES - 1 - e) for e in range(NUM_EDGES)], dtype=np.int64)

# dataset -> (number of classes, input size); the official NB201 settings plus the built-in synthetic set
_DATASETS = {
    "cifar10": (10, 32),
    "cifar100": (100, 32),
    "imagenet16-120": (120, 16),
    "synthetic": (10, 32),
}
_DATASET_ALIASES = {"imagenet16": "imagenet16-120"}


def _allowed_ops() -> str:
    return ", ".join(NB201_OPS)


@dataclass(frozen=True)
class NB201Arch:
    """One NB201 cell: the op of each of the 6 edges in canonical edge order (see `EDGES`)."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.ops, str) or not isinstance(self.ops, Iterable):
            raise NasInputError(
                f"an NB201 architecture needs a sequence of {NUM_EDGES} op names, got {self.ops!r}"
            )
        ops = tuple(self.ops)
        if len(ops) != NUM_EDGES:
            raise NasInputError(
                f"an NB201 architecture has {NUM_EDGES} edges but {len(ops)} ops were given: "
                f"give one op per edge in the order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2"
            )
        for op in ops:
            if not isinstance(op, str) or op not in _OP_INDEX:
                raise NasInputError(f"unknown NB201 op {op!r}: use one of {_allowed_ops()}")
        object.__setattr__(self, "ops", ops)

    @classmethod
    def from_indices(cls, indices: Sequence[int] | np.ndarray) -> NB201Arch:
        """The architecture whose edge ops have these indices in `NB201_OPS`."""
        values = [int(i) for i in indices]
        if any(not 0 <= i < len(NB201_OPS) for i in values):
            raise NasInputError(f"NB201 op indices must lie in 0..{len(NB201_OPS) - 1}, got {values}")
        return cls(tuple(NB201_OPS[i] for i in values))

    def op_indices(self) -> tuple[int, ...]:
        """The index of each edge's op in `NB201_OPS`."""
        return tuple(_OP_INDEX[op] for op in self.ops)

    def __str__(self) -> str:
        return format_arch(self)


def parse_arch(text: str) -> NB201Arch:
    """Parse the official string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`; `NasInputError` naming any fault."""
    if not isinstance(text, str):
        raise NasInputError(f"an NB201 architecture string is expected, got {type(text).__name__}")
    example = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
    groups = text.strip().split("+")
    if len(groups) != NUM_NODES - 1:
        raise NasInputError(
            f"NB201 architecture {text!r} has {len(groups)} '+'-separated node groups, expected "
            f"{NUM_NODES - 1}: write it as {example}"
        )
    ops: list[str | None] = [None] * NUM_EDGES
    for node, group in enumerate(groups, start=1):
        tokens = [token.strip() for token in group.split("|") if token.strip()]
        if len(tokens) != node:
            raise NasInputError(
                f"node {node} of NB201 architecture {text!r} has {len(tokens)} edges ({group!r}), expected "
                f"{node} (one op~source for each source 0..{node - 1}): write it as {example}"
            )
        for token in tokens:
            op, separator, source_text = token.partition("~")
            op, source_text = op.strip(), source_text.strip()
            if not separator or not source_text.isdigit():
                raise NasInputError(
                    f"edge {token!r} of NB201 architecture {text!r} is not of the form op~source "
                    f"(e.g. nor_conv_3x3~0)"
                )
            source = int(source_text)
            if source >= node:
                raise NasInputError(
                    f"edge {token!r} of node {node} in NB201 architecture {text!r} has source {source}, but "
                    f"node {node} takes inputs only from nodes 0..{node - 1}"
                )
            edge = _EDGE_INDEX[(node, source)]
            if ops[edge] is not None:
                raise NasInputError(
                    f"node {node} of NB201 architecture {text!r} has two edges from node {source}: "
                    f"give each source once"
                )
            if op not in _OP_INDEX:
                raise NasInputError(
                    f"unknown NB201 op {op!r} in architecture {text!r}: use one of {_allowed_ops()}"
                )
            ops[edge] = op
    return NB201Arch(tuple(op for op in ops if op is not None))


_ARCH_TEMPLATE = "+".join("|" + "|".join(f"{{}}~{source}" for _, source in _NODE_INPUTS[node]) + "|"
                           for node in range(1, NUM_NODES))
"""`|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|`: the official string with the six ops in edge order left to fill."""


def format_arch(arch: NB201Arch) -> str:
    """The official string of `arch` (round-trips with `parse_arch`)."""
    return _ARCH_TEMPLATE.format(*arch.ops)


_LOW_HALF = np.uint64(0xFFFFFFFF)
_HALF_BITS = np.uint64(32)


def _lemire_draws_raw(rng: np.random.Generator, count: int) -> np.ndarray | None:
    """`count` × 6 op indices as `count` calls of `rng.integers(0, 5, size=6)` would draw them, in one pass.

    numpy draws each bounded integer by Lemire's method on the bit generator's 32-bit halves (low half of a
    64-bit output first): value = (u32 · 5) >> 32, redrawn only when u32 == 0. On a PCG64 with no half-word
    pending, `count` calls therefore consume exactly 3·count outputs (unless one of them holds a zero half,
    where None is returned with `rng` untouched) and leave the last output's high half as its spare word.
    """
    bits = rng.bit_generator
    if count < 1 or not isinstance(bits, np.random.PCG64):
        return None
    state = bits.state
    if state["has_uint32"]:
        return None
    raw = bits.random_raw(3 * count)
    halves = np.empty(6 * count, dtype=np.uint64)
    halves[0::2] = raw & _LOW_HALF
    halves[1::2] = raw >> _HALF_BITS
    if not halves.all():
        bits.state = state
        return None
    after = bits.state
    after["uinteger"] = int(raw[-1] >> _HALF_BITS)
    bits.state = after
    return ((halves * np.uint64(len(NB201_OPS))) >> _HALF_BITS).astype(np.int64).reshape(count, NUM_EDGES)


@lru_cache(maxsize=1)
def _lemire_draws_match_numpy() -> bool:
    """Whether this numpy's `Generator.integers` draws as `_lemire_draws_raw` assumes (checked once)."""
    reference, fast = (np.random.Generator(np.random.PCG64(20260101)) for _ in range(2))
    expected = np.array([reference.integers(0, len(NB201_OPS), size=NUM_EDGES) for _ in range(256)])
    drawn = _lemire_draws_raw(fast, 256)
    return drawn is not None and np.array_equal(drawn, expected) and (
        reference.bit_generator.state == fast.bit_generator.state)


def _lemire_draws(rng: np.random.Generator, count: int) -> np.ndarray | None:
    """`_lemire_draws_raw` where this numpy is known to draw that way; None where `sample` must be called."""
    return _lemire_draws_raw(rng, count) if _lemire_draws_match_numpy() else None


def _trusted_arch(ops: tuple[str, ...]) -> NB201Arch:
    """An `NB201Arch` of ops known to be valid (drawn from `NB201_OPS`), built without re-checking them."""
    arch = object.__new__(NB201Arch)
    object.__setattr__(arch, "ops", ops)
    return arch


def conv_counts(arch: NB201Arch) -> tuple[int, int]:
    """(n1, n3): the number of `nor_conv_1x1` and `nor_conv_3x3` edges."""
    return arch.ops.count("nor_conv_1x1"), arch.ops.count("nor_conv_3x3")


# --- closed-form size and cost ----------------------------------------------------------------------


def _dataset_sizes(dataset: str) -> tuple[int, int]:
    """(number of classes, input size) of a known dataset name."""
    key = dataset.strip().lower().replace("_", "-")
    key = _DATASET_ALIASES.get(key, key)
    if key not in _DATASETS:
        raise NasInputError(
            f"unknown NB201 dataset {dataset!r}: use one of {', '.join(_DATASETS)}"
        )
    return _DATASETS[key]


def _check_counts(n1: int, n3: int) -> None:
    if n1 < 0 or n3 < 0 or n1 + n3 > NUM_EDGES:
        raise NasInputError(
            f"an NB201 cell has {NUM_EDGES} edges, so n1={n1} and n3={n3} must be ≥ 0 with n1 + n3 ≤ {NUM_EDGES}"
        )


def _resnet_block_params(c_in: int, c_out: int) -> int:
    # conv_a 3×3 + BN, conv_b 3×3 + BN, shortcut 1×1 conv (no BN)
    return 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out + c_in * c_out


def nb201_param_count(n1: int, n3: int, num_classes: int, channels: int = DEFAULT_CHANNELS,
                      layers: int = DEFAULT_LAYERS, cell_affine: bool = True) -> int:
    """Exact parameter count of the stand-alone NB201 network (every edge holds its op, reachable or not)."""
    _check_counts(n1, n3)
    c = channels
    bn = 2 if cell_affine else 0
    widths = (c, 2 * c, 4 * c)
    base = (27 * c + 2 * c) + _resnet_block_params(c, 2 * c) + _resnet_block_params(2 * c, 4 * c)
    base += 2 * 4 * c + 4 * c * num_classes + num_classes
    per_conv3 = layers * sum(9 * w * w + bn * w for w in widths)
    per_conv1 = layers * sum(w * w + bn * w for w in widths)
    return base + n3 * per_conv3 + n1 * per_conv1


def nb201_params(n1: int, n3: int, dataset: str = "cifar10", *, channels: int = DEFAULT_CHANNELS,
                 layers: int = DEFAULT_LAYERS) -> float:
    """Parameters in millions as NB201 reports them (cifar10: 0.073306 + 0.24304·n3 + 0.028·n1)."""
    num_classes, _ = _dataset_sizes(dataset)
    return nb201_param_count(n1, n3, num_classes, channels, layers) / 1e6


def nb201_flops(n1: int, n3: int, dataset: str = "cifar10", *, channels: int = DEFAULT_CHANNELS,
                layers: int = DEFAULT_LAYERS) -> float:
    """MFLOPs in the NB201 API's counting: conv multiply-adds plus the classifier (weights and bias).

    cifar10: 7.78305 + 35.38944·n3 + 3.93216·n1; pooling, skip, zero, BN and ReLU count nothing.
    """
    _check_counts(n1, n3)
    num_classes, size = _dataset_sizes(dataset)
    c = channels
    stage_pixels = (size * size, (size // 2) ** 2, (size // 4) ** 2)
    widths = (c, 2 * c, 4 * c)
    flops = 27 * c * stage_pixels[0]
    for (c_in, c_out), pixels in zip(((c, 2 * c), (2 * c, 4 * c)), stage_pixels[1:], strict=True):
        flops += (9 * c_in * c_out + 9 * c_out * c_out + c_in * c_out) * pixels
    flops += 4 * c * num_classes + num_classes
    per_conv1 = layers * sum(w * w * p for w, p in zip(widths, stage_pixels, strict=True))
    flops += n3 * 9 * per_conv1 + n1 * per_conv1
    return flops / 1e6


# --- the official index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _OfficialIndex:
    op_matrix: np.ndarray  # int8 [15625, 6]
    code_to_index: np.ndarray  # int64 [15625]: base-5 code -> official index


# "op~source" → op index · 8 + source, to read the packaged list without a per-line parser
_EDGE_TOKENS = {f"{op}~{source}": index * 8 + source for index, op in enumerate(NB201_OPS) for source in range(3)}
_EDGE_SOURCES = np.array([source for node in range(1, NUM_NODES) for _, source in _NODE_INPUTS[node]])


@lru_cache(maxsize=1)
def _official_index() -> _OfficialIndex:
    """The official index → op-index matrix shipped as package data, parsed once in one vectorised pass
    (building the 15,625 `NB201Arch` objects is left to `_official_archs`, for the callers that need them)."""
    data = resources.files("nascli").joinpath("resources/nb201/arch_strs.txt.gz").read_bytes()
    lines = gzip.decompress(data).decode("utf-8").split()
    tokens = [token for token in "".join(lines).replace("+", "").split("|") if token]
    if len(lines) != SPACE_SIZE or len(tokens) != SPACE_SIZE * NUM_EDGES:
        raise NasRuntimeError("the packaged NB201 arch list is corrupt: reinstall nascli")
    coded = np.array([_EDGE_TOKENS.get(token, -1) for token in tokens], dtype=np.int64).reshape(-1, NUM_EDGES)
    ops = (coded // 8).astype(np.int8)
    sources = coded % 8
    codes = ops.astype(np.int64) @ _CODE_WEIGHTS
    if ops.min() < 0 or (sources != _EDGE_SOURCES).any() or len(np.unique(codes)) != SPACE_SIZE:
        raise NasRuntimeError("the packaged NB201 arch list is corrupt: reinstall nascli")
    code_to_index = np.empty(SPACE_SIZE, dtype=np.int64)
    code_to_index[codes] = np.arange(SPACE_SIZE)
    ops.setflags(write=False)
    code_to_index.setflags(write=False)
    return _OfficialIndex(ops, code_to_index)


@lru_cache(maxsize=1)
def _official_archs() -> tuple[NB201Arch, ...]:
    """Every architecture in official index order (built from the checked op matrix without re-validating)."""
    return tuple(_trusted_arch(tuple(NB201_OPS[i] for i in row)) for row in _official_index().op_matrix.tolist())


@lru_cache(maxsize=1)
def _archs_by_code() -> list[NB201Arch]:
    """Every architecture by its base-5 code (the shared, immutable objects of `_official_archs`)."""
    archs = _official_archs()
    return [archs[index] for index in _official_index().code_to_index.tolist()]


# --- networks ---------------------------------------------------------------------------------------


def _make_op(op: str, channels: int, affine: bool, track_running_stats: bool) -> nn.Module:
    """One NB201 edge op at stride 1 with C → C channels (methods/spaces.md §1.2)."""
    if op == "none":
        return Zero(channels, channels, 1)
    if op == "skip_connect":
        return Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0, affine=affine, track_running_stats=track_running_stats)
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1, affine=affine, track_running_stats=track_running_stats)
    if op == "avg_pool_3x3":
        return Pool("avg", channels)
    raise NasInputError(f"unknown NB201 op {op!r}: use one of {_allowed_ops()}")


def _cell_forward(x: torch.Tensor, ops: Sequence[str], edge_module: Callable[[int], nn.Module]) -> torch.Tensor:
    """Node j = Σ_{i<j} edge(i→j)(node i); `none` edges are skipped, an all-`none` node is zeros."""
    nodes = [x]
    for node in range(1, NUM_NODES):
        total: torch.Tensor | None = None
        for edge, source in _NODE_INPUTS[node]:
            if ops[edge] == "none":
                continue
            out = edge_module(edge)(nodes[source])
            total = out if total is None else total + out
        nodes.append(torch.zeros_like(x) if total is None else total)
    return nodes[-1]


class NB201InferCell(nn.Module):
    """A searched cell of the stand-alone network: `edges[e]` holds the op of edge e."""

    def __init__(self, arch: NB201Arch, channels: int, affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        self.arch = arch
        self.edges = nn.ModuleList(_make_op(op, channels, affine, track_running_stats) for op in arch.ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The cell output (node 3)."""
        return _cell_forward(x, self.arch.ops, self.edges.__getitem__)


class NB201SearchCell(nn.Module):
    """A supernet cell: `edges[e]` is a ModuleDict (a `MixedEdge`) holding all 5 ops keyed by name.

    With `partial_channels` K > 1 the ops are built for C/K channels and only the mixed forward applies.
    """

    def __init__(self, channels: int, affine: bool = False, track_running_stats: bool = True,
                 partial_channels: int = 1):
        super().__init__()
        check_partial_channels(channels, partial_channels, f"an NB201 cell of width {channels}")
        op_channels = channels // partial_channels
        self.edges = nn.ModuleList(
            MixedEdge({op: _make_op(op, op_channels, affine, track_running_stats) for op in NB201_OPS}, channels, 1,
                      partial_channels)
            for _ in EDGES
        )

    def forward(self, x: torch.Tensor, arch: NB201Arch) -> torch.Tensor:
        """Run the single path `arch` through the cell."""
        return _cell_forward(x, arch.ops, lambda edge: self.edges[edge][arch.ops[edge]])

    def forward_mixed(self, x: torch.Tensor, weights: torch.Tensor, active: Sequence[Sequence[bool]],
                      edge_weights: torch.Tensor | None = None) -> torch.Tensor:
        """Node j = Σ_{i<j} [β_e ·] Σ_op w_{e,op} · op(node i), with weights [6, 5] in `NB201_OPS` order."""
        nodes = [x]
        for node in range(1, NUM_NODES):
            total: torch.Tensor | None = None
            for edge, source in _NODE_INPUTS[node]:
                out = self.edges[edge].mixed(nodes[source], weights[edge], active[edge])
                if edge_weights is not None:
                    out = edge_weights[edge] * out
                total = out if total is None else total + out
            nodes.append(total)
        return nodes[-1]


def _config_sizes(cfg: NetworkConfig) -> tuple[int, int, int]:
    """(channels, cells per stage, classes) with NB201 defaults for unset values."""
    channels = DEFAULT_CHANNELS if cfg.channels is None else int(cfg.channels)
    layers = DEFAULT_LAYERS if cfg.layers is None else int(cfg.layers)
    if channels < 1 or layers < 1 or cfg.num_classes < 1:
        raise NasInputError(
            f"NB201 networks need channels, layers and num_classes ≥ 1, got channels={channels}, "
            f"layers={layers}, num_classes={cfg.num_classes}"
        )
    return channels, layers, int(cfg.num_classes)


def _option_flag(cfg: NetworkConfig, name: str, default: bool) -> bool:
    value = cfg.options.get(name, default)
    if not isinstance(value, bool):
        raise NasInputError(f"network option {name!r} must be true or false, got {value!r}")
    return value


class _NB201Skeleton(nn.Module):
    """The tiny-network skeleton: stem, 3 stages of N cells split by 2 ResNet blocks, BN-ReLU, GAP, Linear."""

    def __init__(self, cfg: NetworkConfig, make_cell: Callable[[int], nn.Module]) -> None:
        super().__init__()
        channels, layers, num_classes = _config_sizes(cfg)
        self.channels, self.layers, self.num_classes = channels, layers, num_classes
        self.reduction_indices = (layers, 2 * layers + 1)
        self.stage_end_indices = (layers - 1, 2 * layers)
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
        widths = [channels] * layers + [2 * channels] * (layers + 1) + [4 * channels] * (layers + 1)
        cells: list[nn.Module] = []
        c_prev = channels
        for index, width in enumerate(widths):
            cells.append(ResNetBasicBlock(c_prev, width, 2) if index in self.reduction_indices else make_cell(width))
            c_prev = width
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    @property
    def num_searched_cells(self) -> int:
        """Number of searched cells (3N)."""
        return 3 * self.layers

    def _stage_outputs(
        self, x: torch.Tensor, run_cell: Callable[[int, nn.Module, torch.Tensor], torch.Tensor]
    ) -> list[torch.Tensor]:
        """[end of stage 1, end of stage 2, after the final BN-ReLU]; `run_cell(k, cell, x)` runs searched cell k."""
        out = self.stem(x)
        taps = []
        searched = 0
        for index, cell in enumerate(self.cells):
            if index in self.reduction_indices:
                out = cell(out)
            else:
                out = run_cell(searched, cell, out)
                searched += 1
            if index in self.stage_end_indices:
                taps.append(out)
        taps.append(self.lastact(out))
        return taps

    def _head(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(features).flatten(1))


class NB201Network(_NB201Skeleton):
    """Stand-alone NB201 network of one architecture shared by all 3N cells (the benchmark's TinyNetwork).

    Options (cfg.options): `cell_affine` (default True) and `track_running_stats` (default True) set the
    cell BNs; `cell_affine=False` mirrors the supernet's cells, for inheriting a path's weights.
    """

    def __init__(self, arch: NB201Arch, cfg: NetworkConfig) -> None:
        affine = _option_flag(cfg, "cell_affine", True)
        track = _option_flag(cfg, "track_running_stats", True)
        super().__init__(cfg, lambda width: NB201InferCell(arch, width, affine, track))
        self.arch = arch

    def stage_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at the end of stage 1, end of stage 2 and after the final BN-ReLU."""
        return self._stage_outputs(x, lambda _k, cell, out: cell(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self._head(self.stage_outputs(x)[-1])


class NB201Supernet(_NB201Skeleton):
    """Weight-sharing NB201 supernet: every edge holds all 5 ops; `forward(x, path)` runs one path.

    Cell BNs are `affine=False, track_running_stats=True` as in the reference supernets (overridable with
    cfg.options `cell_affine` / `track_running_stats`); stem, ResNet blocks and lastact are affine.
    """

    def __init__(self, cfg: NetworkConfig) -> None:
        affine = _option_flag(cfg, "cell_affine", False)
        track = _option_flag(cfg, "track_running_stats", True)
        partial = cfg.options.get("partial_channels", 1)
        if isinstance(partial, bool) or not isinstance(partial, int):
            raise NasInputError(f"network option 'partial_channels' must be an integer K ≥ 1, got {partial!r}")
        self.partial_channels = partial
        super().__init__(cfg, lambda width: NB201SearchCell(width, affine, track, partial))

    def expand_path(self, path: NB201Arch | str | Sequence[NB201Arch]) -> list[NB201Arch]:
        """One architecture per searched cell: a single arch is shared by all 3N cells."""
        if isinstance(path, str):
            path = parse_arch(path)
        if isinstance(path, NB201Arch):
            return [path] * self.num_searched_cells
        if isinstance(path, Sequence) and all(isinstance(arch, NB201Arch) for arch in path):
            if len(path) == self.num_searched_cells:
                return list(path)
            raise NasInputError(
                f"a per-cell NB201 path needs {self.num_searched_cells} architectures (3 × {self.layers} cells), "
                f"got {len(path)}: build the sampler with num_cells={self.num_searched_cells}"
            )
        raise NasInputError(
            f"an NB201 supernet path is one NB201Arch or a sequence of {self.num_searched_cells}, got {path!r}"
        )

    def stage_outputs(self, x: torch.Tensor, path: NB201Arch | Sequence[NB201Arch] | MixedWeights,
                      edge_weights: MixedWeights | None = None, active: ActiveOps | None = None) -> list[torch.Tensor]:
        """Stage-end feature maps of `path` or of op weights (see `NB201Network.stage_outputs` and `forward`)."""
        if isinstance(path, torch.Tensor | Mapping):
            weights = _cell_weights(path, "op weights")
            if weights.shape != (NUM_EDGES, len(NB201_OPS)):
                raise NasInputError(f"NB201 op weights must have shape [6, 5], got {list(weights.shape)}")
            if active is None:
                active = active_ops(weights)  # one device sync; search loops pass the pruning masks instead
            elif isinstance(active, Mapping):
                active = next(iter(active.values()))
            betas = None if edge_weights is None else _cell_weights(edge_weights, "edge weights")
            return self._stage_outputs(x, lambda _k, cell, out: cell.forward_mixed(out, weights, active, betas))
        if self.partial_channels != 1:
            raise NasInputError("a supernet with partial channels runs only mixed (op weights), not single paths")
        archs = self.expand_path(path)
        return self._stage_outputs(x, lambda k, cell, out: cell(out, archs[k]))

    def forward(self, x: torch.Tensor, path: NB201Arch | Sequence[NB201Arch] | MixedWeights,
                edge_weights: MixedWeights | None = None, active: ActiveOps | None = None) -> torch.Tensor:
        """Class logits of a single path (shared arch or one per searched cell) or of the mixed supernet.

        Mixed form: `path` is a [6, 5] tensor of op weights (or `{"cell": tensor}`) shared by all cells, ops in
        `NB201_OPS` order; ops whose weight is exactly 0 are skipped; `edge_weights` ([6]) scales each edge;
        `active` ([6][5] bools, or `{"cell": …}`) names the ops to run without reading the weights on the host.
        """
        return self._head(self.stage_outputs(x, path, edge_weights, active)[-1])


MixedWeights = torch.Tensor | Mapping[str, torch.Tensor]
ActiveOps = Sequence[Sequence[bool]] | Mapping[str, Sequence[Sequence[bool]]]


def _cell_weights(value: MixedWeights, what: str) -> torch.Tensor:
    if isinstance(value, Mapping):
        if set(value) != {"cell"}:
            raise NasInputError(f"NB201 {what} are one tensor or {{'cell': tensor}}, got keys {sorted(value)}")
        value = value["cell"]
    return value


# --- path samplers ----------------------------------------------------------------------------------


class _SeededSampler(PathSampler):
    """A path sampler driven by its own PCG64 generator; the state is the generator's state."""

    kind = ""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.rng = np.random.Generator(np.random.PCG64(self.seed))

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Sampler kind, seed and the generator state (restores the exact sequence)."""
        return {
            "kind": self.kind,
            "seed": self.seed,
            **self._extra_state(),
            "bit_generator": copy.deepcopy(self.rng.bit_generator.state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the sequence saved by `state_dict`."""
        if state.get("kind") != self.kind:
            raise NasInputError(
                f"this checkpoint holds a {state.get('kind')!r} path sampler state, not {self.kind!r}: "
                f"resume with the sampler the run was started with"
            )
        for key, value in self._extra_state().items():
            if state.get(key) != value:
                raise NasInputError(
                    f"the saved {self.kind} sampler has {key}={state.get(key)!r} but this one has {value!r}: "
                    f"resume with the same network size"
                )
        self.rng.bit_generator.state = copy.deepcopy(state["bit_generator"])
        self.seed = int(state.get("seed", self.seed))


class NB201CellwiseSampler(_SeededSampler):
    """RLNAS training rule: every searched cell draws its own path, no node left with only `none` inputs.

    Per cell and per node 1..3, one op per incoming edge is drawn uniformly from the 5 ops; if all of them
    are `none` the node's draw is repeated (methods/rlnas.md §2.3, `forward_urs`).
    """

    kind = "nb201-cellwise"

    def __init__(self, seed: int, num_cells: int = 3 * DEFAULT_LAYERS) -> None:
        super().__init__(seed)
        if num_cells < 1:
            raise NasInputError(f"num_cells must be ≥ 1, got {num_cells}")
        self.num_cells = int(num_cells)

    def _extra_state(self) -> dict[str, Any]:
        return {"num_cells": self.num_cells}

    def _sample_cell(self) -> NB201Arch:
        indices = [0] * NUM_EDGES
        for node in range(1, NUM_NODES):
            edges = [edge for edge, _ in _NODE_INPUTS[node]]
            while True:
                draw = self.rng.integers(0, len(NB201_OPS), size=len(edges))
                if draw.any():  # index 0 is `none`
                    break
            for edge, op_index in zip(edges, draw, strict=True):
                indices[edge] = int(op_index)
        return NB201Arch.from_indices(indices)

    def sample(self) -> tuple[NB201Arch, ...]:
        """One architecture per searched cell."""
        return tuple(self._sample_cell() for _ in range(self.num_cells))


class NB201UniformSampler(_SeededSampler):
    """One architecture shared by all cells, uniform over the 5^6 cells (SPOS-style shared path)."""

    kind = "nb201-uniform"

    def sample(self) -> NB201Arch:
        """One uniformly drawn architecture."""
        return NB201Arch.from_indices(self.rng.integers(0, len(NB201_OPS), size=NUM_EDGES))


# --- the space --------------------------------------------------------------------------------------


@SPACES.register("nb201")
class NB201Space(SearchSpace):
    """NAS-Bench-201: 6 edges × 5 ops = 15,625 cells, indexed as the official benchmark."""

    name = "nb201"
    ops = NB201_OPS

    def __init__(self, **options: Any) -> None:
        if options:
            raise NasInputError(f"the nb201 space takes no options, got {', '.join(sorted(options))}")

    def _arch(self, value: Any) -> NB201Arch:
        arch = self.coerce(value)
        if not isinstance(arch, NB201Arch):
            raise NasInputError(f"expected an NB201 architecture, got {value!r}")
        return arch

    # text and JSON forms
    def parse(self, text: str) -> NB201Arch:
        """Parse the official arch string (surrounding whitespace allowed)."""
        return parse_arch(text)

    def format(self, arch: NB201Arch) -> str:
        """The official arch string."""
        return format_arch(arch if type(arch) is NB201Arch else self._arch(arch))

    def to_json(self, arch: NB201Arch) -> dict[str, list[str]]:
        """`{"ops": [6 op names in edge order]}`."""
        return {"ops": list(self._arch(arch).ops)}

    def from_json(self, obj: Any) -> NB201Arch:
        """Inverse of `to_json`; a bare list of 6 op names is accepted too."""
        if isinstance(obj, dict):
            if set(obj) != {"ops"}:
                raise NasInputError(
                    f"an NB201 architecture in JSON is {{\"ops\": [6 op names]}}, got keys {sorted(obj)}"
                )
            obj = obj["ops"]
        if not isinstance(obj, list | tuple) or not all(isinstance(op, str) for op in obj):
            raise NasInputError(f"an NB201 architecture in JSON is a list of {NUM_EDGES} op names, got {obj!r}")
        return NB201Arch(tuple(obj))

    # random operators
    def sample(self, rng: np.random.Generator) -> NB201Arch:
        """Uniform over the 5^6 cells."""
        return _trusted_arch(tuple(NB201_OPS[i] for i in rng.integers(0, len(NB201_OPS), size=NUM_EDGES).tolist()))

    def sample_many(self, rng: np.random.Generator, count: int) -> list[NB201Arch]:
        """`count` calls of `sample` at once: the same architectures, `rng` left in the same state."""
        ops = _lemire_draws(rng, count)
        if ops is None:
            return super().sample_many(rng, count)
        by_code = _archs_by_code()
        return [by_code[code] for code in (ops @ _CODE_WEIGHTS).tolist()]

    def mutate(
        self, arch: NB201Arch, rng: np.random.Generator, prob: float, ops: Sequence[str] | None = None
    ) -> NB201Arch:
        """Each edge, with probability `prob`, gets a uniform draw from `ops` (may equal the old op)."""
        arch = self._arch(arch)
        if not 0.0 <= prob <= 1.0:
            raise NasInputError(f"mutation probability must lie in [0, 1], got {prob}")
        choices = tuple(NB201_OPS if ops is None else ops)
        if not choices:
            raise NasInputError("mutation needs at least one op to draw from")
        for op in choices:
            if op not in _OP_INDEX:
                raise NasInputError(f"unknown NB201 op {op!r} in mutation ops: use one of {_allowed_ops()}")
        new_ops = list(arch.ops)
        for edge in range(NUM_EDGES):
            if rng.random() < prob:
                new_ops[edge] = choices[int(rng.integers(len(choices)))]
        return NB201Arch(tuple(new_ops))

    def crossover(self, a: NB201Arch, b: NB201Arch, rng: np.random.Generator) -> NB201Arch:
        """Each edge's op from `a` or `b` with probability ½."""
        a, b = self._arch(a), self._arch(b)
        take_a = rng.random(NUM_EDGES) < 0.5
        return NB201Arch(tuple(x if keep else y for x, y, keep in zip(a.ops, b.ops, take_a, strict=True)))

    # categorical variables
    def categorical_sizes(self) -> tuple[int, ...]:
        """Six edges, five ops each."""
        return (len(NB201_OPS),) * NUM_EDGES

    def to_categorical(self, arch: NB201Arch) -> tuple[int, ...]:
        """The op index of each edge (`NB201_OPS` order)."""
        return self._arch(arch).op_indices()

    def from_categorical(self, values: Sequence[int]) -> NB201Arch:
        """The architecture with these edge op indices."""
        if len(values) != NUM_EDGES:
            raise NasInputError(f"an NB201 architecture has {NUM_EDGES} edges, got {len(values)} values")
        return NB201Arch.from_indices(values)

    # enumeration
    def is_finite(self) -> bool:
        """NB201 is finite."""
        return True

    def size(self) -> int:
        """15,625."""
        return SPACE_SIZE

    def enumerate(self) -> Iterator[NB201Arch]:
        """All architectures in official index order."""
        return iter(_official_archs())

    def index(self, arch: NB201Arch) -> int:
        """The official benchmark index."""
        code = int(np.dot(self._arch(arch).op_indices(), _CODE_WEIGHTS))
        return int(_official_index().code_to_index[code])

    def arch_at(self, index: int) -> NB201Arch:
        """The architecture with official index `index`."""
        if isinstance(index, bool) or not isinstance(index, int | np.integer) or not 0 <= index < SPACE_SIZE:
            raise NasInputError(f"NB201 index {index!r} is out of range: use an integer in 0..{SPACE_SIZE - 1}")
        return _official_archs()[int(index)]

    def op_index_matrix(self) -> np.ndarray:
        """Read-only int8 [15625, 6]: op indices (NB201_OPS order) of every arch, in official index order."""
        return _official_index().op_matrix

    def indices_of(self, archs: Iterable[NB201Arch | str] | np.ndarray) -> np.ndarray:
        """Official indices of many archs at once: archs, arch strings, or an int array [n, 6] of op indices."""
        if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
            matrix = archs.astype(np.int64, copy=False)
            if matrix.ndim != 2 or matrix.shape[1] != NUM_EDGES:
                raise NasInputError(f"an op-index matrix must have shape [n, {NUM_EDGES}], got {archs.shape}")
            if matrix.size and (matrix.min() < 0 or matrix.max() >= len(NB201_OPS)):
                raise NasInputError(f"NB201 op indices must lie in 0..{len(NB201_OPS) - 1}")
        else:
            rows = [self._arch(arch).op_indices() for arch in archs]
            matrix = np.array(rows, dtype=np.int64).reshape(-1, NUM_EDGES)
        return _official_index().code_to_index[matrix @ _CODE_WEIGHTS]

    # networks
    def default_config(self, dataset: str) -> NetworkConfig:
        """The benchmark's network for `dataset` (C=16, N=5); unknown datasets give `NetworkConfig()`."""
        try:
            num_classes, size = _dataset_sizes(dataset)
        except NasInputError:
            return NetworkConfig()
        return NetworkConfig(
            num_classes=num_classes, channels=DEFAULT_CHANNELS, layers=DEFAULT_LAYERS, input_size=size
        )

    def network(self, arch: NB201Arch, cfg: NetworkConfig) -> NB201Network:
        """The stand-alone network of `arch` (all 3N cells share it)."""
        return NB201Network(self._arch(arch), cfg)

    def supernet(self, cfg: NetworkConfig) -> NB201Supernet:
        """The weight-sharing supernet: single path, or mixed op weights (cfg.options `partial_channels` K)."""
        return NB201Supernet(cfg)

    def path_parameters(self, supernet: nn.Module, arch: NB201Arch | Sequence[NB201Arch]) -> list[nn.Parameter]:
        """The supernet parameters a path uses, each once, in the stand-alone network's parameter order.

        Order: stem; then each cell in turn — a searched cell gives the params of the op chosen on each
        edge in edge order (convs only; `none`, skip and pool have none; an edge is included whether or
        not it is reachable), a ResNet block all its params; then lastact and classifier.
        """
        if not isinstance(supernet, NB201Supernet):
            raise NasInputError(f"path_parameters needs an NB201 supernet, got {type(supernet).__name__}")
        archs = supernet.expand_path(arch)
        params: list[nn.Parameter] = list(supernet.stem.parameters())
        searched = 0
        for cell in supernet.cells:
            if isinstance(cell, NB201SearchCell):
                for edge, op in enumerate(archs[searched].ops):
                    params.extend(cell.edges[edge][op].parameters())
                searched += 1
            else:
                params.extend(cell.parameters())
        params.extend(supernet.lastact.parameters())
        params.extend(supernet.classifier.parameters())
        return params

    def path_sampler(self, seed: int, cfg: NetworkConfig | None = None, num_cells: int | None = None
                     ) -> NB201CellwiseSampler:
        """The RLNAS per-cell sampler (one arch per searched cell, no all-`none` node) for 3 × cfg.layers cells."""
        if num_cells is None:
            layers = cfg.layers if cfg is not None and cfg.layers is not None else DEFAULT_LAYERS
            num_cells = 3 * int(layers)
        return NB201CellwiseSampler(seed, num_cells)

    def conv_counts(self, arch: NB201Arch) -> tuple[int, int]:
        """(n1, n3): the number of 1×1 and 3×3 conv edges."""
        return conv_counts(self._arch(arch))
