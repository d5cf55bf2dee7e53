"""Per-op, per-cell-position FLOPs and params lookup of the DARTS stand-alone network, for constrained search.

The RLNAS constrained searches never build a candidate: MobileNet sums a per-block table
(methods/rlnas.md §4.3), and DARTS-space FLOPs decompose the same way. In a DARTS network every
cell concatenates states 2..5, so each cell's input widths and sizes, and hence the stems, the
preprocess0/preprocess1 of every cell and the classifier, do not depend on the genotype: they form
the fixed part. What varies is the 8 ops per cell; an op's cost depends only on the op, the layer
(channels C and map size there) and whether it is strided (reduce cell, input state 0 or 1). So

    total(genotype) = fixed.total + Σ_layers Σ_{(op, input) ∈ genotype's cell of that layer} entries[op][input]

with `entries[op][input]` for input states 0..4 listed per layer (`positions[ℓ]`). Every number is
counted by `nascli.spaces.flops` on the very modules `network()` builds (FLOPs: conv and linear
multiply-adds in the convention the lookup records, `flops_convention`; params: all parameters), so a
lookup total equals `count_flops` / `count_params` of the built network exactly. The auxiliary head is
excluded, as there. A lookup without `flops_convention` was written before conventions existed: `macs`.
The MobileNet space's per-block lookup (`nascli.spaces.mobilenet.lookup`) shares the file format's header,
`check_lookup`, `write_lookup` and `read_lookup`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.base import NetworkConfig, SearchSpace
from nascli.spaces.darts import CONCAT, FINAL_OPS, DartsGenotype, build_op
from nascli.spaces.flops import check_convention, count_flops, count_params

LOOKUP_KIND = "flops-table"
LOOKUP_FORMAT = 1
LOOKUP_SPACES = ("darts", "mobilenet")
DEFAULT_CONVENTION = "macs"
"""The convention of a lookup that records none (written before conventions existed)."""
INPUT_STATES = 5
"""Input states an op can read: 0, 1 (the cell inputs) and 2..4 (node 5 reads states 0..4)."""

FORMULA = "total = fixed.total + sum over positions of sum over the cell's (op, input) pairs of entries[op][input]"

# node s reads state 0 and state s-1: every input state 0..4 feeds one op, so one forward pass sees them all
_SKELETON_PAIRS = (("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 0), ("skip_connect", 2),
                   ("skip_connect", 0), ("skip_connect", 3), ("skip_connect", 0), ("skip_connect", 4))
_SKELETON = DartsGenotype(_SKELETON_PAIRS, CONCAT, _SKELETON_PAIRS, CONCAT)
_NOT_FIXED = ("cells", "auxiliary_head")


def lookup_network_config(space: SearchSpace, dataset: str = "cifar10", channels: int | None = None,
                          layers: int | None = None, input_size: int | None = None,
                          options: Mapping[str, Any] | None = None) -> NetworkConfig:
    """The stand-alone network size a lookup describes: the space's paper size for `dataset`, with overrides."""
    _check_space(space)
    base = space.default_config(dataset)
    extra = {k: v for k, v in dict(options or {}).items() if k not in ("auxiliary", "drop_path_prob")}
    return dataclasses.replace(
        base,
        channels=base.channels if channels is None else int(channels),
        layers=base.layers if layers is None else int(layers),
        input_size=base.input_size if input_size is None else int(input_size),
        options={**base.options, **extra, "auxiliary": False},
    )


def _check_space(space: SearchSpace) -> None:
    if getattr(space, "name", None) != "darts":
        name = getattr(space, "name", space)
        raise NasInputError(f"the per-op FLOPs lookup exists for the darts space, not {name!r}: use --space darts")


def _capture_shapes(net: nn.Module, input_size: int) -> dict[str, tuple[int, ...]]:
    """Input shapes of the fixed modules and of every op, from one forward pass on the meta device."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    watched = [(name, module) for name, module in net.named_children() if name not in _NOT_FIXED]
    for c, cell in enumerate(net.cells):
        watched += [(f"cells.{c}.preprocess0", cell.preprocess0), (f"cells.{c}.preprocess1", cell.preprocess1)]
        watched += [(f"cells.{c}.ops.{k}", op) for k, op in enumerate(cell.ops)]

    def recorder(name: str) -> Any:
        def hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
            shapes[name] = tuple(int(s) for s in args[0].shape)
        return hook

    for name, module in watched:
        handles.append(module.register_forward_pre_hook(recorder(name)))
    try:
        net.eval()
        with torch.no_grad():
            net(torch.zeros((1, 3, input_size, input_size), device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def _as_image_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A captured input shape in the (1, C, H, W) form `count_flops` takes (a Linear input (1, F) → (1, 1, 1, F))."""
    return shape if len(shape) == 4 else (1,) * (4 - len(shape) + 1) + shape[1:]


def build_lookup(space: SearchSpace, dataset: str = "cifar10", channels: int | None = None, layers: int | None = None,
                 *, input_size: int | None = None, options: Mapping[str, Any] | None = None,
                 convention: str = DEFAULT_CONVENTION) -> dict[str, Any]:
    """The JSON-serialisable lookup of the stand-alone network for `dataset` (paper size unless overridden), its
    FLOPs counted in `convention` (`nascli.spaces.flops.FLOPS_CONVENTIONS`)."""
    check_convention(convention)
    cfg = lookup_network_config(space, dataset, channels, layers, input_size, options)
    with torch.device("meta"):
        net = space.network(_SKELETON, cfg)
    shapes = _capture_shapes(net, cfg.input_size)
    affine = bool(cfg.options.get("affine", True))
    pool_bn = bool(cfg.options.get("pool_bn", False))
    pool_bn_affine = cfg.options.get("pool_bn_affine")

    parts = []
    fixed_modules = [(name, module) for name, module in net.named_children() if name not in _NOT_FIXED]
    for c, cell in enumerate(net.cells):
        fixed_modules += [(f"cells.{c}.preprocess0", cell.preprocess0), (f"cells.{c}.preprocess1", cell.preprocess1)]
    for name, module in fixed_modules:
        flops = count_flops(module, _as_image_shape(shapes[name]), convention=convention) if name in shapes else 0
        parts.append({"name": name, "flops": int(flops), "params": int(count_params(module))})

    cache: dict[tuple[Any, ...], tuple[int, int]] = {}

    def op_cost(op: str, shape: tuple[int, ...], stride: int) -> tuple[int, int]:
        key = (op, shape, stride)
        if key not in cache:
            with torch.device("meta"):
                module = build_op(op, shape[1], stride, affine, pool_bn, pool_bn_affine)
            cache[key] = (int(count_flops(module, shape, convention=convention)), int(count_params(module)))
        return cache[key]

    positions = []
    for c, cell in enumerate(net.cells):
        state_shapes = {}
        for k, (_, state) in enumerate(_SKELETON_PAIRS):
            state_shapes[state] = shapes[f"cells.{c}.ops.{k}"]
        entries: dict[str, dict[str, list[int]]] = {}
        for op in FINAL_OPS:
            costs = [op_cost(op, state_shapes[s], 2 if cell.reduction and s < 2 else 1) for s in range(INPUT_STATES)]
            entries[op] = {"flops": [f for f, _ in costs], "params": [p for _, p in costs]}
        positions.append({
            "layer": c,
            "cell": "reduce" if cell.reduction else "normal",
            "channels": state_shapes[0][1],
            "size": list(state_shapes[0][2:]),
            "entries": entries,
        })
    return {
        "kind": LOOKUP_KIND,
        "format_version": LOOKUP_FORMAT,
        "space": "darts",
        "dataset": dataset,
        "num_classes": cfg.num_classes,
        "input_size": cfg.input_size,
        "channels": positions[0]["channels"],
        "layers": len(positions),
        "options": {"affine": affine, "pool_bn": pool_bn, "imagenet": bool(getattr(net, "stem0", None) is not None)},
        "flops_convention": convention,
        "units": {"flops": f"multiply-adds of conv and linear layers, {convention} convention (nascli.spaces.flops)",
                  "params": "parameters"},
        "formula": FORMULA,
        "ops": list(FINAL_OPS),
        "fixed": {"flops": sum(p["flops"] for p in parts), "params": sum(p["params"] for p in parts), "parts": parts},
        "positions": positions,
    }


def check_lookup(lookup: Any, source: str = "lookup", space: str | None = None) -> dict[str, Any]:
    """Refuse anything but a DARTS or MobileNet lookup (of `space` when given) of a known format version."""
    if not isinstance(lookup, Mapping) or lookup.get("kind") != LOOKUP_KIND:
        raise NasInputError(f"{source} is not a FLOPs lookup (kind {LOOKUP_KIND!r}): write one with "
                            "nas flops-table --space darts --lookup --out FILE")
    if lookup.get("space") not in LOOKUP_SPACES or (space is not None and lookup.get("space") != space):
        wanted = space or " or ".join(LOOKUP_SPACES)
        raise NasInputError(f"{source} is a lookup for the {lookup.get('space')!r} space, not {wanted}: write one "
                            f"with nas flops-table --space {space or 'darts'} --lookup --out FILE")
    if lookup.get("flops_convention", DEFAULT_CONVENTION) not in ("macs", "rlnas-thop"):
        raise NasInputError(f"{source} records an unknown FLOPs convention {lookup.get('flops_convention')!r}: "
                            "write it again with nas flops-table --lookup")
    version = lookup.get("format_version", 0)
    if not isinstance(version, int) or version > LOOKUP_FORMAT:
        raise NasInputError(f"{source} has format {version!r}, which this nascli cannot read: upgrade nascli or "
                            "write the lookup again with nas flops-table")
    if lookup.get("space") == "mobilenet":
        from nascli.spaces.mobilenet.lookup import check_mobilenet_lookup

        return check_mobilenet_lookup(lookup, source)
    for key in ("fixed", "positions"):
        if key not in lookup:
            raise NasInputError(f"{source} has no {key!r}: it is damaged; write it again with nas flops-table")
    return dict(lookup)


def lookup_convention(lookup: Mapping[str, Any]) -> str:
    """The FLOPs convention a lookup was counted in (`macs` for lookups written before conventions existed)."""
    return str(lookup.get("flops_convention", DEFAULT_CONVENTION))


def space_cost_from_lookup(lookup: Mapping[str, Any], space: SearchSpace, arch: Any, what: str = "flops") -> float:
    """FLOPs or params of `arch` from a DARTS or MobileNet lookup (the sum the lookup's space defines)."""
    if lookup.get("space") == "mobilenet":
        from nascli.spaces.mobilenet.lookup import cost_from_mobilenet_lookup

        return cost_from_mobilenet_lookup(lookup, space.coerce(arch), what)
    return cost_from_lookup(lookup, space.coerce(arch), what)


def cost_from_lookup(lookup: Mapping[str, Any], genotype: DartsGenotype, what: str = "flops") -> float:
    """FLOPs (multiply-adds) or params of `genotype`'s network: fixed part + the chosen ops' entries."""
    if what not in ("flops", "params"):
        raise NasInputError(f"unknown cost {what!r}: choose flops or params")
    try:
        total = float(lookup["fixed"][what])
        for position in lookup["positions"]:
            entries = position["entries"]
            for op, index in genotype.cell(position["cell"]):
                if op != "none":  # a pruned slot (Zero op): no multiply-adds, no parameters
                    total += entries[op][what][index]
    except (KeyError, IndexError, TypeError):
        raise NasInputError("the lookup lacks an entry this genotype needs: it is damaged or of another "
                            "format; write it again with nas flops-table --lookup") from None
    return total


def flops_from_lookup(lookup: Mapping[str, Any], genotype: DartsGenotype) -> float:
    """Multiply-adds of `genotype`'s stand-alone network, from the lookup (equals `count_flops` on the network)."""
    return cost_from_lookup(lookup, genotype, "flops")


def params_from_lookup(lookup: Mapping[str, Any], genotype: DartsGenotype) -> float:
    """Parameters of `genotype`'s stand-alone network, from the lookup (equals `count_params`)."""
    return cost_from_lookup(lookup, genotype, "params")


_CACHE: dict[tuple[Any, ...], dict[str, Any]] = {}


def cached_lookup(space: SearchSpace, dataset: str = "cifar10", channels: int | None = None,
                  layers: int | None = None, *, input_size: int | None = None,
                  options: Mapping[str, Any] | None = None, convention: str = DEFAULT_CONVENTION) -> dict[str, Any]:
    """`build_lookup`, memoised per network size and convention (the constraint path builds each table once)."""
    cfg = lookup_network_config(space, dataset, channels, layers, input_size, options)
    key = (cfg.num_classes, cfg.channels, cfg.layers, cfg.input_size, tuple(sorted(cfg.options.items())), convention)
    if key not in _CACHE:
        _CACHE[key] = build_lookup(space, dataset, channels, layers, input_size=input_size, options=options,
                                   convention=convention)
    return _CACHE[key]


def lookup_cost(space: SearchSpace, arch: Any, what: str, dataset: str | None = None,
                convention: str = DEFAULT_CONVENTION) -> float:
    """FLOPs or params in millions of `arch`'s paper-size network for `dataset` (the `DartsSpace.cost` path)."""
    if what not in ("flops", "params"):
        raise NasInputError(f"unknown cost {what!r}: choose flops or params")
    genotype = space.coerce(arch)
    return cost_from_lookup(cached_lookup(space, dataset or "cifar10", convention=convention), genotype, what) / 1e6


def write_lookup(lookup: Mapping[str, Any], path: str | Path, extra: Mapping[str, Any] | None = None) -> Path:
    """Write the lookup as JSON atomically, with the manifest-like header (versions, creation time) on top."""
    from nascli.artifacts import atomic_write_json, now, package_versions

    check_lookup(lookup)
    header = {key: lookup[key] for key in ("kind", "format_version", "space", "dataset", "num_classes",
                                           "input_size", "channels", "layers", "options", "flops_convention")
              if key in lookup}
    body = {key: value for key, value in lookup.items() if key not in header}
    document = {**header, "created": now(), "versions": package_versions(), **dict(extra or {}), **body}
    path = Path(path)
    atomic_write_json(path, document)
    return path


def read_lookup(path: str | Path) -> dict[str, Any]:
    """A lookup written by `write_lookup` (or `nas flops-table --lookup`)."""
    import json

    path = Path(path)
    if not path.is_file():
        raise NasInputError(f"lookup file {path} does not exist: write one with nas flops-table --lookup --out FILE")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise NasInputError(f"{path} is not valid JSON: write the lookup again with nas flops-table") from None
    return check_lookup(data, str(path))


def architecture_size(space: SearchSpace, arch: Any, dataset: str = "cifar10", channels: int | None = None,
                      layers: int | None = None, input_size: int | None = None) -> dict[str, Any]:
    """FLOPs (M) and params (M) of `arch`'s stand-alone network: DARTS from the lookup, NB201 by its closed forms."""
    if getattr(space, "name", None) == "nb201":
        from nascli.spaces.nb201 import DEFAULT_CHANNELS, DEFAULT_LAYERS, nb201_flops, nb201_params

        if input_size is not None:
            raise NasInputError("NB201 sizes are the benchmark's closed forms at the dataset's own image size: "
                                "drop --input-size")
        n1, n3 = space.conv_counts(space.coerce(arch))  # type: ignore[attr-defined]
        sizes = {"channels": DEFAULT_CHANNELS if channels is None else int(channels),
                 "layers": DEFAULT_LAYERS if layers is None else int(layers)}
        return {"flops": nb201_flops(n1, n3, dataset, **sizes), "params": nb201_params(n1, n3, dataset, **sizes),
                "input_size": None, **sizes}
    return size_from_lookup(cached_lookup(space, dataset, channels, layers, input_size=input_size), space.coerce(arch))


def size_from_lookup(lookup: Mapping[str, Any], genotype: DartsGenotype) -> dict[str, Any]:
    """FLOPs (M), params (M) and the network size of `genotype` according to `lookup`."""
    return {"flops": flops_from_lookup(lookup, genotype) / 1e6, "params": params_from_lookup(lookup, genotype) / 1e6,
            "channels": lookup["channels"], "layers": lookup["layers"], "input_size": lookup["input_size"]}
