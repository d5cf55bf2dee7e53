"""The DARTS search space object: parsing, random operators, networks and costs behind `SearchSpace`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.base import SPACES, NetworkConfig, SearchSpace
from nascli.spaces.darts.encodings import from_rlnas_codes
from nascli.spaces.darts.genotype import (
    CELL_KINDS,
    DARTS_OPS_DRNAS,
    DARTS_OPS_RLNAS,
    NUM_EDGES,
    Code,
    DartsGenotype,
    format_genotype,
    genotype_from_json,
    genotype_to_json,
    parse_genotype,
)
from nascli.spaces.darts.network import NetworkCIFAR, NetworkImageNet
from nascli.spaces.darts.sampler import GENOTYPE_SAMPLERS, DartsRepairSampler, repair
from nascli.spaces.darts.supernet import DartsSupernet, path_codes, supernet_path_parameters

_VARIANT_OPS = {"rlnas": DARTS_OPS_RLNAS, "drnas": DARTS_OPS_DRNAS}
_NETWORK_OPTIONS = ("auxiliary", "drop_path_prob", "imagenet", "affine", "pool_bn", "pool_bn_affine",
                    "partial_channels", "stem_multiplier", "aux_pool")
_CIFAR_LIKE = {"cifar10": 10, "cifar100": 100, "synthetic": 10}
_IMAGENET_LIKE = {"imagenet": 1000, "imagefolder": 1000}


@SPACES.register("darts")
class DartsSpace(SearchSpace):
    """The DARTS cell space; `variant="rlnas"` has 8 ops incl. none, `variant="drnas"` the 7 without;
    `variant="dense"` is BPE's 28-variable dense cell (`DenseDartsSpace`)."""

    name = "darts"

    def __new__(cls, variant: str = "rlnas", sampler: str = "uniform") -> DartsSpace:
        if cls is DartsSpace and variant == "dense":
            from nascli.spaces.darts.dense_space import DenseDartsSpace

            return super().__new__(DenseDartsSpace)
        return super().__new__(cls)

    def __init__(self, variant: str = "rlnas", sampler: str = "uniform") -> None:
        if variant not in _VARIANT_OPS:
            raise NasInputError(f"unknown DARTS space variant {variant!r}: choose one of "
                                f"{', '.join([*_VARIANT_OPS, 'dense'])}")
        if sampler not in GENOTYPE_SAMPLERS:
            raise NasInputError(f"unknown DARTS sampler {sampler!r}: choose one of {', '.join(GENOTYPE_SAMPLERS)}")
        self.variant = variant
        self.sampler = sampler
        self.ops = _VARIANT_OPS[variant]
        self._cost_cache: dict[tuple[Any, ...], float] = {}

    # --- text and JSON forms -------------------------------------------------------------------
    def parse(self, text: str) -> DartsGenotype:
        """Parse the papers' flat or pt.darts nested `Genotype(...)` text."""
        return parse_genotype(text)

    def format(self, arch: DartsGenotype) -> str:
        """The papers' flat text form."""
        return format_genotype(self.coerce(arch))

    def to_json(self, arch: DartsGenotype) -> dict[str, Any]:
        """`{"normal": [[op, in], ...], "normal_concat": [...], ...}`."""
        return genotype_to_json(self.coerce(arch))

    def from_json(self, obj: Any) -> DartsGenotype:
        """Inverse of `to_json`; a list of 28 ints is read as an RLNAS code."""
        if isinstance(obj, list | tuple) and len(obj) in (2, 2 * NUM_EDGES):
            return from_rlnas_codes(obj)
        return genotype_from_json(obj)

    def coerce(self, value: Any) -> DartsGenotype:
        """A genotype, its text or JSON form, a registered name (e.g. RLDARTS) or 28 RLNAS ints."""
        if isinstance(value, DartsGenotype):
            return value
        inner = getattr(value, "genotype", None)
        if isinstance(inner, DartsGenotype):
            return inner
        if isinstance(value, str) and not value.lstrip().startswith(("Genotype", "{", "[")) and "(" not in value:
            from nascli.spaces.genotypes import get_genotype

            return get_genotype(value.strip())
        result = super().coerce(value)
        if not isinstance(result, DartsGenotype):
            raise NasInputError(f"cannot read {value!r} as a DARTS genotype: give Genotype(...) text or a name")
        return result

    def canonical(self, arch: DartsGenotype) -> DartsGenotype:
        """The same cells with each node's two (op, input) pairs sorted by input: a node's edges are summed, so their
        order does not change the network."""
        return self.coerce(arch).canonical()

    # --- random operators ----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> DartsGenotype:
        """A final genotype drawn by the space's sampling rule (`sampler`; uniform: per cell and node two distinct
        inputs uniformly, each with an op uniform over the non-none ops)."""
        return GENOTYPE_SAMPLERS[self.sampler](rng)

    def repair(self, code: Sequence[int], rng: np.random.Generator) -> Code:
        """RLNAS `check_cand` on one 14-int cell code (see `repair`)."""
        return repair(code, rng)

    def mutate(
        self,
        arch: DartsGenotype,
        rng: np.random.Generator,
        prob: float,
        ops: Sequence[str] | None = None,
        cells: Sequence[str] = CELL_KINDS,
    ) -> DartsGenotype:
        """Each edge gene of `cells` redrawn with probability `prob` uniformly from `ops`, then repaired.

        `ops` defaults to the variant's ops (RLNAS CIFAR: all 8 incl. none; RLNAS ImageNet uses the 7
        non-none); `cells=("normal",)` reproduces the RLNAS reference, which mutates the normal cell only.
        """
        choices = self._op_indices(ops)
        unknown = [cell for cell in cells if cell not in CELL_KINDS]
        if unknown:
            raise NasInputError(f"unknown cell kind {unknown[0]!r}: choose normal and/or reduce")
        codes = list(path_codes(self.coerce(arch)))
        for c, cell in enumerate(CELL_KINDS):
            if cell not in cells:
                continue
            code = list(codes[c])
            for e in range(NUM_EDGES):
                if rng.random() < prob:
                    code[e] = choices[int(rng.integers(len(choices)))]
            codes[c] = repair(code, rng)
        return from_rlnas_codes(codes)

    def crossover(self, a: DartsGenotype, b: DartsGenotype, rng: np.random.Generator) -> DartsGenotype:
        """Each of the 28 edge genes from `a` or `b` with probability ½, then each cell repaired."""
        codes_a, codes_b = path_codes(self.coerce(a)), path_codes(self.coerce(b))
        children = []
        for code_a, code_b in zip(codes_a, codes_b, strict=True):
            child = [x if rng.random() < 0.5 else y for x, y in zip(code_a, code_b, strict=True)]
            children.append(repair(child, rng))
        return from_rlnas_codes(children)

    def _op_indices(self, ops: Sequence[str] | None) -> list[int]:
        names = list(self.ops if ops is None else ops)
        unknown = [op for op in names if op not in self.ops]
        if unknown or not names:
            raise NasInputError(
                f"unknown operation {unknown[0] if unknown else '(none given)'!r} for the {self.variant} DARTS "
                f"space: choose from {', '.join(self.ops)}"
            )
        return [DARTS_OPS_RLNAS.index(op) for op in names]

    # --- networks ------------------------------------------------------------------------------
    def _options(self, cfg: NetworkConfig) -> dict[str, Any]:
        unknown = sorted(set(cfg.options) - set(_NETWORK_OPTIONS))
        if unknown:
            raise NasInputError(
                f"unknown DARTS network option {unknown[0]!r}: choose from {', '.join(_NETWORK_OPTIONS)}"
            )
        options = dict(cfg.options)
        options.setdefault("imagenet", cfg.input_size >= 64)
        return options

    def supernet(self, cfg: NetworkConfig) -> DartsSupernet:
        """CIFAR C=16 with 8 cells (ImageNet C=48, 14 cells), BN affine (RLNAS; option `affine`), and a BN after
        each pool (option `pool_bn`, default on: RLNAS, DARTS, PC-DARTS and DrNAS, whose `OPS` builds the pools as
        `AvgPoolBN`/`MaxPoolBN`); option `partial_channels` K builds the ops for C/K channels (mixed forward only);
        option `stem_multiplier` widens the ImageNet stems (DrNAS ImageNet search: 3)."""
        options = self._options(cfg)
        imagenet = bool(options["imagenet"])
        partial = options.get("partial_channels", 1)
        if isinstance(partial, bool) or not isinstance(partial, int):
            raise NasInputError(f"network option 'partial_channels' must be an integer K ≥ 1, got {partial!r}")
        return DartsSupernet(
            channels=cfg.channels or (48 if imagenet else 16),
            num_classes=cfg.num_classes,
            layers=cfg.layers or (14 if imagenet else 8),
            ops=self.ops,
            imagenet=imagenet,
            affine=bool(options.get("affine", True)),
            pool_bn=bool(options.get("pool_bn", True)),
            partial_channels=partial,
            stem_multiplier=options.get("stem_multiplier", 1),
        )

    def network(self, arch: DartsGenotype, cfg: NetworkConfig) -> NetworkCIFAR | NetworkImageNet:
        """Stand-alone network: CIFAR C=36 L=20 or ImageNet C=48 L=14 unless `cfg` says otherwise; no BN after the
        pools unless option `pool_bn` (DARTS's `model.py` has none; DrNAS's has one, never affine: set
        `pool_bn_affine: false` with it); option `aux_pool` (CIFAR) picks the auxiliary head's pooling
        (`network.AUX_POOLS`: BPE's 16-px proxies need `adaptive`)."""
        genotype = self.coerce(arch)
        options = self._options(cfg)
        common = {
            "num_classes": cfg.num_classes,
            "auxiliary": bool(options.get("auxiliary", False)),
            "drop_path_prob": float(options.get("drop_path_prob", 0.0)),
            "input_size": cfg.input_size,
            "affine": bool(options.get("affine", True)),
            "pool_bn": bool(options.get("pool_bn", False)),
            "pool_bn_affine": None if options.get("pool_bn_affine") is None else bool(options["pool_bn_affine"]),
        }
        if options["imagenet"]:
            if "aux_pool" in options:
                raise NasInputError("network option 'aux_pool' is the CIFAR auxiliary head's: drop it for ImageNet")
            return NetworkImageNet(genotype, channels=cfg.channels or 48, layers=cfg.layers or 14, **common)
        return NetworkCIFAR(genotype, channels=cfg.channels or 36, layers=cfg.layers or 20,
                            aux_pool=str(options.get("aux_pool", "fixed")), **common)

    def cost(self, arch: Any, what: str, dataset: str | None = None) -> float:
        """FLOPs or params (millions, aux head excluded) of the paper-size network for `dataset` (default CIFAR-10).

        CIFAR-like datasets: C=36, L=20 at 32 px; ImageNet: C=48, L=14 at 224 px. Summed from the per-op
        lookup (`nascli.spaces.flops_lookup`, built once per size), which equals `count_flops` /
        `count_params` on the built network.
        """
        from nascli.spaces.flops_lookup import lookup_cost

        if what not in ("flops", "params"):
            raise NasInputError(f"unknown cost {what!r}: choose flops or params")
        genotype = self.coerce(arch)
        key = (genotype, what, dataset or "cifar10")
        if key not in self._cost_cache:
            self._cost_cache[key] = lookup_cost(self, genotype, what, dataset)
        return self._cost_cache[key]

    def path_parameters(self, supernet: nn.Module, arch: Any) -> list[nn.Parameter]:
        """Parameters of `arch`'s path in `supernet`, each once, in forward order."""
        if not isinstance(supernet, DartsSupernet):
            raise NasInputError(f"expected a DARTS supernet, got {type(supernet).__name__}")
        return supernet_path_parameters(supernet, arch if not isinstance(arch, str) else self.coerce(arch))

    def path_sampler(self, seed: int, cfg: NetworkConfig | None = None) -> DartsRepairSampler:
        """RLNAS uniform sampling with `check_cand` repair, from one seeded generator."""
        return DartsRepairSampler(seed)

    def default_config(self, dataset: str) -> NetworkConfig:
        """CIFAR-10/100 and synthetic: the 32 px CIFAR network; ImageNet / image folders: the 224 px network."""
        key = dataset.lower().replace("_", "").replace("-", "")
        if key in _CIFAR_LIKE:
            return NetworkConfig(num_classes=_CIFAR_LIKE[key], input_size=32)
        if key in _IMAGENET_LIKE:
            return NetworkConfig(num_classes=_IMAGENET_LIKE[key], input_size=224)
        known = ", ".join([*_CIFAR_LIKE, *_IMAGENET_LIKE])
        raise NasInputError(f"the DARTS space has no default network for dataset {dataset!r}: choose one of {known}")
