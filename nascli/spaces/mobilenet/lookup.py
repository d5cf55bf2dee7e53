"""The per-block FLOPs/params lookup of the MobileNet stand-alone network (RLNAS `op_flops_dict`, rlnas.md §4.3).

RLNAS never builds a candidate to check its 475M cap: `generate_flops_lookup_table.py` profiles the
"PreProcessing" part (stem + first block), every MBConv choice of each of the 21 block positions alone on
its input size, and the "PostProcessing" part (1×1 conv, pooling, classifier), and `search.py:
get_arch_flops` sums

    total = pre + post + Σ_{blocks with choice ≥ 0} entries[choice][block]       (identity: 0)

Every entry here is counted by `nascli.spaces.flops` on the very modules `MobileNetNetwork` builds, in the
convention the lookup records (`flops_convention`: `rlnas-thop` as the reference, or `macs`), so a lookup
total equals `count_flops` of the built network exactly; params are all parameters (BN included, as
the reference's `count_parameters_in_MB`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.base import NetworkConfig
from nascli.spaces.flops import check_convention, count_flops, count_params
from nascli.spaces.mobilenet.arch import BLOCK_KEYS, IDENTITY, NUM_BLOCKS, MobileNetArch
from nascli.spaces.mobilenet.network import MobileNetNetwork, choice_block

LOOKUP_KIND = "flops-table"
LOOKUP_FORMAT = 1
FORMULA = "total = pre.total + post.total + sum over blocks with choice >= 0 of entries[choice][block] (identity 0)"
_ALL_MBCONV = MobileNetArch((0,) * NUM_BLOCKS)


def _shapes_only(module: nn.Module) -> nn.Module:
    """`module` with uninitialised CPU storage: counting needs shapes only, and a CPU forward of one MobileNet is
    much faster than the meta device's decompositions."""
    return module.to_empty(device="cpu")


def _capture_shapes(net: MobileNetNetwork, input_size: int) -> dict[str, tuple[int, ...]]:
    """Input shapes of every block and of the head, from one forward pass."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []

    def recorder(name: str) -> Any:
        def hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
            shapes[name] = tuple(int(s) for s in args[0].shape)
        return hook

    watched = [(f"blocks.{i}", block) for i, block in enumerate(net.blocks)] + [("head", net.head)]
    for name, module in watched:
        handles.append(module.register_forward_pre_hook(recorder(name)))
    try:
        net.eval()
        with torch.no_grad():
            net(torch.zeros((1, 3, input_size, input_size)))
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def build_mobilenet_lookup(cfg: NetworkConfig, convention: str = "rlnas-thop", dataset: str = "imagenet"
                           ) -> dict[str, Any]:
    """The JSON-serialisable lookup of the stand-alone network of size `cfg`, counted in `convention`."""
    check_convention(convention)
    channels = cfg.channels or 40
    with torch.device("meta"):
        net = MobileNetNetwork(_ALL_MBCONV, num_classes=cfg.num_classes, channels=channels)
    net = _shapes_only(net)
    shapes = _capture_shapes(net, cfg.input_size)
    image = (1, 3, cfg.input_size, cfg.input_size)
    pre = nn.Sequential(net.stem, net.first)
    post = nn.Sequential(net.head, net.pool, nn.Flatten(1), net.classifier)
    parts = {
        "pre": {"flops": int(count_flops(pre, image, convention=convention, meta=False)),
                "params": int(count_params(pre))},
        "post": {"flops": int(count_flops(post, shapes["head"], convention=convention, meta=False)),
                 "params": int(count_params(post))},
    }
    blocks = []
    counted: dict[tuple[Any, ...], dict[str, int]] = {}  # blocks of a stage after its first repeat one shape
    for index, (inp, oup, stride) in enumerate(net.layout):
        shape = shapes[f"blocks.{index}"]
        entries: dict[str, dict[str, int]] = {}
        for choice, key in enumerate(BLOCK_KEYS):
            signature = (choice, inp, oup, stride, shape)
            if signature not in counted:
                with torch.device("meta"):
                    module = _shapes_only(choice_block(choice, inp, oup, stride))
                counted[signature] = {"flops": int(count_flops(module, shape, convention=convention, meta=False)),
                                      "params": int(count_params(module))}
            entries[key] = dict(counted[signature])
        blocks.append({"block": index, "inp": inp, "oup": oup, "size": list(shape[2:]), "stride": stride,
                       "entries": entries})
    return {
        "kind": LOOKUP_KIND,
        "format_version": LOOKUP_FORMAT,
        "space": "mobilenet",
        "dataset": dataset,
        "num_classes": cfg.num_classes,
        "input_size": cfg.input_size,
        "channels": channels,
        "layers": NUM_BLOCKS,
        "options": {},
        "flops_convention": convention,
        "units": {"flops": f"multiply-adds of conv and linear layers, {convention} convention (nascli.spaces.flops)",
                  "params": "parameters (BN included)"},
        "formula": FORMULA,
        "ops": list(BLOCK_KEYS),
        "pre": parts["pre"],
        "post": parts["post"],
        "blocks": blocks,
    }


def check_mobilenet_lookup(lookup: Mapping[str, Any], source: str = "lookup") -> dict[str, Any]:
    """Refuse a MobileNet lookup that lacks the parts the sum needs, with one clear line."""
    for key in ("pre", "post", "blocks"):
        if key not in lookup:
            raise NasInputError(f"{source} has no {key!r}: it is damaged; write it again with "
                                "nas flops-table --space mobilenet --lookup")
    if len(lookup["blocks"]) != NUM_BLOCKS:
        raise NasInputError(f"{source} lists {len(lookup['blocks'])} blocks, not {NUM_BLOCKS}: write it again with "
                            "nas flops-table --space mobilenet --lookup")
    return dict(lookup)


def cost_from_mobilenet_lookup(lookup: Mapping[str, Any], arch: MobileNetArch, what: str = "flops") -> float:
    """FLOPs or params of `arch`'s network: pre + post + the chosen blocks' entries (identity 0)."""
    if what not in ("flops", "params"):
        raise NasInputError(f"unknown cost {what!r}: choose flops or params")
    try:
        total = float(lookup["pre"][what]) + float(lookup["post"][what])
        for block, choice in zip(lookup["blocks"], arch.choices, strict=True):
            if choice != IDENTITY:
                total += block["entries"][BLOCK_KEYS[choice]][what]
    except (KeyError, IndexError, TypeError, ValueError):
        raise NasInputError("the lookup lacks an entry this architecture needs: it is damaged or of another "
                            "format; write it again with nas flops-table --space mobilenet --lookup") from None
    return total


_CACHE: dict[tuple[Any, ...], dict[str, Any]] = {}


def cached_mobilenet_lookup(cfg: NetworkConfig, convention: str = "rlnas-thop", dataset: str = "imagenet"
                            ) -> dict[str, Any]:
    """`build_mobilenet_lookup`, memoised per network size, convention and dataset name (a copy is returned)."""
    return copy.deepcopy(shared_mobilenet_lookup(cfg, convention, dataset))


def shared_mobilenet_lookup(cfg: NetworkConfig, convention: str = "rlnas-thop", dataset: str = "imagenet"
                            ) -> dict[str, Any]:
    """The memoised lookup itself, for read-only use (cost sums)."""
    key = (cfg.num_classes, cfg.channels or 40, cfg.input_size, convention, dataset)
    if key not in _CACHE:
        _CACHE[key] = build_mobilenet_lookup(cfg, convention, dataset)
    return _CACHE[key]


def mobilenet_size(space: Any, arch: MobileNetArch, dataset: str = "imagenet", channels: int | None = None,
                   input_size: int | None = None, convention: str = "rlnas-thop") -> dict[str, Any]:
    """FLOPs (M, in `convention`) and params (M) of `arch`'s stand-alone network, from the (cached) lookup."""
    cfg = space.network_size(dataset, channels, input_size)
    lookup = shared_mobilenet_lookup(cfg, convention)
    return {"flops": cost_from_mobilenet_lookup(lookup, arch, "flops") / 1e6,
            "params": cost_from_mobilenet_lookup(lookup, arch, "params") / 1e6,
            "channels": lookup["channels"], "layers": NUM_BLOCKS, "input_size": lookup["input_size"],
            "flops_convention": convention}
