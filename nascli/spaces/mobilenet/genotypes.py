"""Registry of published MobileNet-space architectures, with their sources and the figures their papers print.

`paper_params` is in millions of parameters, `paper_flops` in millions of FLOPs as the paper counted them
(RLNAS: its vendored thop, i.e. nascli's `rlnas-thop` convention), both for the ImageNet network at 224 px.
Only architectures whose encoding in this exact space (21 blocks, RLNAS choice numbering) is published are
listed: the ProxylessNAS-GPU network the space derives from is not stored as such an encoding in any source
at hand, so it is not registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nascli.errors import NasInputError
from nascli.spaces.mobilenet.arch import MobileNetArch, parse_arch


@dataclass(frozen=True)
class NamedMobileNetArch:
    """A published architecture: its name, value, source and paper figures."""

    name: str
    arch: MobileNetArch
    source: str
    paper_params: dict[str, float] = field(default_factory=dict)
    paper_flops: dict[str, float] = field(default_factory=dict)
    paper_top1: float | None = None
    note: str = ""

    @property
    def text(self) -> str:
        """The canonical text form (21 ints)."""
        return str(self.arch)


_ENTRIES = (
    NamedMobileNetArch(
        "RLNAS_mobilenet", parse_arch("2 0 -1 2 2 0 2 4 0 4 4 2 4 2 4 2 0 0 0 2 2"),
        "megvii-model/RLNAS mobilenet_search_space/rlnas/retrain_architecture/retrain.sh (--model_id)",
        paper_params={"imagenet": 5.3}, paper_flops={"imagenet": 473}, paper_top1=75.6,
        note="Searched with random labels under the 475M cap (RLNAS Table 5: 5.3M params, 473M FLOPs, top-1 75.6, "
             "top-5 92.6). The reference's lookup sums to 473,248,184 FLOPs; its parameter count (all parameters, "
             "count_parameters_in_MB) is 5,255,648.",
    ),
)

MOBILENET_ARCHS: dict[str, NamedMobileNetArch] = {entry.name: entry for entry in _ENTRIES}
_ALIASES = {"RLNAS": "RLNAS_MOBILENET", "RLNAS_MBV2": "RLNAS_MOBILENET"}


def is_mobilenet_name(name: str) -> bool:
    """Whether `name` is a registered MobileNet-space architecture (case-insensitive)."""
    key = name.strip().upper().replace("-", "_")
    return _ALIASES.get(key, key) in {k.upper() for k in MOBILENET_ARCHS}


def get_named_mobilenet_arch(name: str) -> NamedMobileNetArch:
    """The registry entry `name` (case-insensitive)."""
    by_key = {key.upper(): entry for key, entry in MOBILENET_ARCHS.items()}
    key = name.strip().upper().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in by_key:
        raise NasInputError(f"unknown MobileNet architecture {name!r}: choose one of {', '.join(MOBILENET_ARCHS)}, "
                            "or give 21 ints from -1..5")
    return by_key[key]


def get_mobilenet_arch(name: str) -> MobileNetArch:
    """The registered architecture `name`."""
    return get_named_mobilenet_arch(name).arch


def registered_mobilenet_sizes() -> list[dict[str, object]]:
    """Every registered architecture with nascli's ImageNet params and FLOPs (both conventions) beside the paper's."""
    from nascli.spaces.base import get_space

    space = get_space("mobilenet")
    rows = []
    for entry in MOBILENET_ARCHS.values():
        rows.append({
            "name": entry.name, "text": entry.text, "source": entry.source,
            "params": space.cost(entry.arch, "params", "imagenet"),  # type: ignore[attr-defined]
            "flops_thop": space.cost(entry.arch, "flops", "imagenet", "rlnas-thop"),  # type: ignore[attr-defined]
            "flops_macs": space.cost(entry.arch, "flops", "imagenet", "macs"),  # type: ignore[attr-defined]
            "paper_params": entry.paper_params.get("imagenet"), "paper_flops": entry.paper_flops.get("imagenet"),
            "paper_top1": entry.paper_top1,
        })
    return rows
