"""The MobileNet search space object: parsing, random operators, networks and costs behind `SearchSpace`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.base import SPACES, NetworkConfig, PathSampler, SearchSpace
from nascli.spaces.mobilenet.arch import (
    ALLOWED,
    NUM_BLOCKS,
    OPS,
    MobileNetArch,
    arch_from_json,
    arch_to_json,
    format_arch,
    looks_like_arch_text,
    make_arch,
    op_choice,
    parse_arch,
)
from nascli.spaces.mobilenet.network import (
    DROPOUT,
    MobileNetNetwork,
    MobileNetSupernet,
    supernet_path_parameters,
)

_CIFAR_LIKE = {"cifar10": 10, "cifar100": 100, "synthetic": 10}
_IMAGENET_LIKE = {"imagenet": 1000, "imagefolder": 1000}
_NETWORK_OPTIONS = ("dropout",)


@SPACES.register("mobilenet")
class MobileNetSpace(SearchSpace):
    """RLNAS's ProxylessNAS-like space: 21 blocks, each one of six MBConv blocks or identity where allowed."""

    name = "mobilenet"
    ops = OPS
    flops_convention = "rlnas-thop"
    """How this space's paper counted FLOPs (RLNAS's thop); `cost` and `nas retrain` report in it by default."""

    def __init__(self) -> None:
        self._cost_cache: dict[tuple[Any, ...], float] = {}

    # --- text and JSON forms -------------------------------------------------------------------
    def parse(self, text: str) -> MobileNetArch:
        """Parse 21 ints (`2 0 -1 …`, commas and brackets allowed)."""
        return parse_arch(text)

    def format(self, arch: Any) -> str:
        """The reference's `--model_id` text: 21 ints separated by spaces."""
        return format_arch(self.coerce(arch))

    def to_json(self, arch: Any) -> dict[str, Any]:
        """`{"choices": [...], "blocks": [op names]}`."""
        return arch_to_json(self.coerce(arch))

    def from_json(self, obj: Any) -> MobileNetArch:
        """Inverse of `to_json` (a bare list of 21 ints too)."""
        return arch_from_json(obj)

    def coerce(self, value: Any) -> MobileNetArch:
        """An architecture, its text or JSON form, 21 ints, or a registered name (RLNAS_mobilenet, …)."""
        if isinstance(value, MobileNetArch):
            return value
        inner = getattr(value, "arch", None)
        if isinstance(inner, MobileNetArch):
            return inner
        if isinstance(value, str):
            text = value.strip()
            if looks_like_arch_text(text) or text.startswith(("[", "{")):
                return parse_arch(text) if not text.startswith("{") else arch_from_json(_json(text))
            from nascli.spaces.mobilenet.genotypes import get_mobilenet_arch

            return get_mobilenet_arch(text)
        if isinstance(value, list | tuple | dict):
            return arch_from_json(value)
        raise NasInputError(f"cannot read {value!r} as a MobileNet architecture: give 21 ints or a registered name")

    # --- random operators ----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> MobileNetArch:
        """Each block drawn uniformly from its allowed choices (6, or 7 with identity), as the reference."""
        return MobileNetArch(tuple(int(choices[int(rng.integers(len(choices)))]) for choices in ALLOWED))

    def _choices(self, ops: Sequence[str] | None) -> list[tuple[int, ...]]:
        if ops is None:
            return list(ALLOWED)
        wanted = {op_choice(name) for name in ops}
        per_block = [tuple(c for c in allowed if c in wanted) for allowed in ALLOWED]
        if any(not choices for choices in per_block):
            raise NasInputError("the mutation ops leave some block without a choice: include at least one MBConv "
                                "block (identity alone is not allowed at blocks 0, 4, 8, 12, 16, 20)")
        return per_block

    def mutate(self, arch: Any, rng: np.random.Generator, prob: float, ops: Sequence[str] | None = None
               ) -> MobileNetArch:
        """Each block redrawn with probability `prob` uniformly from its allowed choices (restricted to `ops`)."""
        choices = list(self.coerce(arch).choices)
        per_block = self._choices(ops)
        for block in range(NUM_BLOCKS):
            if rng.random() < prob:
                options = per_block[block]
                choices[block] = int(options[int(rng.integers(len(options)))])
        return MobileNetArch(tuple(choices))

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> MobileNetArch:
        """Each block's choice from `a` or `b` with probability ½ (both are legal there, so the child is)."""
        first, second = self.coerce(a).choices, self.coerce(b).choices
        return MobileNetArch(tuple(x if rng.random() < 0.5 else y for x, y in zip(first, second, strict=True)))

    def size(self) -> int:
        """6⁶ · 7¹⁵ architectures (the space is not enumerated)."""
        total = 1
        for choices in ALLOWED:
            total *= len(choices)
        return total

    # --- networks ------------------------------------------------------------------------------
    def _check_options(self, cfg: NetworkConfig) -> None:
        unknown = sorted(set(cfg.options) - set(_NETWORK_OPTIONS))
        if unknown:
            raise NasInputError(f"unknown MobileNet network option {unknown[0]!r}: choose from "
                                f"{', '.join(_NETWORK_OPTIONS)}")
        if cfg.layers not in (None, NUM_BLOCKS):
            raise NasInputError(f"the MobileNet space has {NUM_BLOCKS} blocks: drop the layers setting "
                                f"({cfg.layers})")
        if cfg.channels is not None and cfg.channels < 1:
            raise NasInputError(f"channels (the stem width, 40 at the paper's size) must be ≥ 1, got {cfg.channels}")

    def supernet(self, cfg: NetworkConfig) -> MobileNetSupernet:
        """The RLNAS supernet (stem width 40 unless `cfg.channels` scales every width)."""
        self._check_options(cfg)
        return MobileNetSupernet(num_classes=cfg.num_classes, channels=cfg.channels or 40)

    def network(self, arch: Any, cfg: NetworkConfig) -> MobileNetNetwork:
        """The stand-alone network with Dropout (option `dropout`, default 0.2) before the classifier."""
        self._check_options(cfg)
        dropout = float(cfg.options.get("dropout", DROPOUT))
        if not 0.0 <= dropout < 1.0:
            raise NasInputError(f"network option dropout must lie in [0, 1), got {dropout}")
        return MobileNetNetwork(self.coerce(arch), num_classes=cfg.num_classes, channels=cfg.channels or 40,
                                dropout=dropout)

    def path_parameters(self, supernet: nn.Module, arch: Any) -> list[nn.Parameter]:
        """Parameters of `arch`'s path in `supernet`, each once, in forward order."""
        if not isinstance(supernet, MobileNetSupernet):
            raise NasInputError(f"expected a MobileNet supernet, got {type(supernet).__name__}")
        return supernet_path_parameters(supernet, self.coerce(arch))

    def path_sampler(self, seed: int, cfg: NetworkConfig | None = None) -> PathSampler:
        """RLNAS's rule: per step, each block uniform over its allowed choices, from one seeded generator (the
        same sequence on every torchrun rank, as the reference's shared numpy seed)."""
        from nascli.spaces.sampling import UniformArchSampler

        return UniformArchSampler(self, seed)

    def default_config(self, dataset: str) -> NetworkConfig:
        """ImageNet / image folders: 1000 classes at 224 px; CIFAR and synthetic: 32 px (a reduced input)."""
        key = dataset.lower().replace("_", "").replace("-", "")
        if key in _IMAGENET_LIKE:
            return NetworkConfig(num_classes=_IMAGENET_LIKE[key], input_size=224)
        if key in _CIFAR_LIKE:
            return NetworkConfig(num_classes=_CIFAR_LIKE[key], input_size=32)
        known = ", ".join([*_IMAGENET_LIKE, *_CIFAR_LIKE])
        raise NasInputError(f"the MobileNet space has no default network for dataset {dataset!r}: choose one of "
                            f"{known}")

    # --- costs ---------------------------------------------------------------------------------
    def cost(self, arch: Any, what: str, dataset: str | None = None, convention: str | None = None) -> float:
        """FLOPs or params (millions) of the paper-size network for `dataset` (default ImageNet, 224 px), summed
        from the per-block lookup; FLOPs in `convention` (default the reference's thop, which its 475M cap and
        printed 473M use)."""
        from nascli.spaces.mobilenet.lookup import cost_from_mobilenet_lookup, shared_mobilenet_lookup

        if what not in ("flops", "params"):
            raise NasInputError(f"unknown cost {what!r}: choose flops or params")
        value = self.coerce(arch)
        convention = convention or self.flops_convention
        key = (value, what, dataset or "imagenet", convention)
        if key not in self._cost_cache:
            cfg = self.default_config(dataset or "imagenet")
            lookup = shared_mobilenet_lookup(cfg, convention)
            self._cost_cache[key] = cost_from_mobilenet_lookup(lookup, value, what) / 1e6
        return self._cost_cache[key]

    def network_size(self, dataset: str = "imagenet", channels: int | None = None,
                     input_size: int | None = None) -> NetworkConfig:
        """The paper-size network config for `dataset`, with optional overrides."""
        base = self.default_config(dataset)
        return dataclasses.replace(base, channels=channels, input_size=input_size or base.input_size)


def _json(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise NasInputError(f"cannot read {text[:60]!r} as JSON: give 21 ints or {{\"choices\": [...]}}") from None


__all__ = ["MobileNetSpace", "make_arch"]
