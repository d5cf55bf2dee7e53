"""`space: darts` with `space_options.variant: dense`: BPE's 28-variable dense cell as a search space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.base import NetworkConfig, PathSampler
from nascli.spaces.darts.dense import (
    DENSE_OPS,
    NUM_VARIABLES,
    DenseGenotype,
    dense_from_codes,
    dense_from_json,
    dense_to_json,
    format_dense,
    parse_dense,
    sample_dense,
)
from nascli.spaces.darts.genotype import (
    CELL_KINDS,
    NUM_EDGES,
    DartsGenotype,
    format_genotype,
    genotype_from_json,
    genotype_to_json,
    parse_genotype,
)
from nascli.spaces.darts.network import NetworkCIFAR, NetworkImageNet
from nascli.spaces.darts.space import DartsSpace


class DenseDartsSpace(DartsSpace):
    """BPE's RL/EA space: 28 independent edges × the 7 non-`none` ops, every node summing all of its inputs.

    Built by `get_space("darts", variant="dense")`. Stand-alone networks are the DARTS networks with dense cells;
    there is no supernet. `categorical_sizes` makes it searchable by `reinforce` and `aging-evolution`. The
    2-input genotypes the parse rules produce are accepted too (text, JSON, networks, costs), so the EA parse
    scores its sub-cells with the search's own score.
    """

    def __init__(self, variant: str = "dense", sampler: str = "uniform") -> None:
        if variant != "dense":
            raise NasInputError(f"DenseDartsSpace is the dense variant, not {variant!r}")
        if sampler != "uniform":
            raise NasInputError(f"the dense DARTS variant samples its 28 edges uniformly: drop sampler {sampler!r} "
                                "(bpe-rs, prim, … are rules for 2-input genotypes)")
        self.variant = variant
        self.sampler = sampler
        self.ops = DENSE_OPS
        self._cost_cache: dict[tuple[Any, ...], float] = {}

    # --- text and JSON forms -------------------------------------------------------------------
    def parse(self, text: str) -> DenseGenotype | DartsGenotype:
        """Parse the nested pt.darts text with every edge (nodes of 2, 3, 4, 5 inputs), or a 2-input genotype."""
        try:
            return parse_dense(text)
        except NasInputError as dense_error:
            try:
                return parse_genotype(text)
            except NasInputError:
                raise dense_error from None

    def format(self, arch: DenseGenotype | DartsGenotype) -> str:
        """The nested pt.darts text with every edge, as the BPE reference prints a sample (2-input: the flat text)."""
        arch = self.coerce(arch)
        return format_dense(arch) if isinstance(arch, DenseGenotype) else format_genotype(arch)

    def to_json(self, arch: DenseGenotype | DartsGenotype) -> dict[str, Any]:
        """`{"bpe_code": [28 ints]}` in pt.darts op order (2-input: the genotype's JSON)."""
        arch = self.coerce(arch)
        return dense_to_json(arch) if isinstance(arch, DenseGenotype) else genotype_to_json(arch)

    def from_json(self, obj: Any) -> DenseGenotype | DartsGenotype:
        """Inverse of `to_json` (a bare 28-int list is read as a BPE code too)."""
        if isinstance(obj, dict) and "bpe_code" not in obj:
            return genotype_from_json(obj)
        return dense_from_json(obj)

    def coerce(self, value: Any) -> DenseGenotype | DartsGenotype:
        """A dense genotype (or 2-input genotype), its text or its JSON form."""
        if isinstance(value, DenseGenotype | DartsGenotype):
            return value
        if isinstance(value, str):
            return self.parse(value.strip())
        if isinstance(value, dict | list | tuple):
            return self.from_json(value)
        raise NasInputError(f"cannot read {value!r} as a dense DARTS architecture: give its Genotype(...) text or "
                            "{\"bpe_code\": [28 ints]}")

    def dense(self, value: Any) -> DenseGenotype:
        """`value` as a dense genotype; a 2-input genotype is refused."""
        arch = self.coerce(value)
        if not isinstance(arch, DenseGenotype):
            raise NasInputError("expected a dense DARTS architecture (every node reads every earlier state), got a "
                                "2-input genotype")
        return arch

    # --- random operators ----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> DenseGenotype:
        """Each of the 28 edges uniform over the 7 ops."""
        return sample_dense(rng)

    def mutate(self, arch: DenseGenotype, rng: np.random.Generator, prob: float, ops: Sequence[str] | None = None,
               cells: Sequence[str] = CELL_KINDS) -> DenseGenotype:
        """Each edge of `cells` redrawn with probability `prob` uniformly from `ops` (default: the 7)."""
        names = list(DENSE_OPS if ops is None else ops)
        unknown = [op for op in names if op not in DENSE_OPS]
        if unknown or not names:
            raise NasInputError(f"unknown operation {unknown[0] if unknown else '(none given)'!r} for the dense DARTS "
                                f"space: choose from {', '.join(DENSE_OPS)}")
        bad_cells = [cell for cell in cells if cell not in CELL_KINDS]
        if bad_cells:
            raise NasInputError(f"unknown cell kind {bad_cells[0]!r}: choose normal and/or reduce")
        codes = list(self.dense(arch).codes())
        for c, cell in enumerate(CELL_KINDS):
            for e in range(NUM_EDGES):
                if rng.random() < prob and cell in cells:
                    codes[c * NUM_EDGES + e] = DENSE_OPS.index(names[int(rng.integers(len(names)))])
        return dense_from_codes(codes)

    def crossover(self, a: DenseGenotype, b: DenseGenotype, rng: np.random.Generator) -> DenseGenotype:
        """Each of the 28 edge ops from `a` or `b` with probability ½."""
        take_a = rng.random(NUM_VARIABLES) < 0.5
        return dense_from_codes([x if keep else y for x, y, keep in
                                 zip(self.dense(a).codes(), self.dense(b).codes(), take_a, strict=True)])

    def categorical_sizes(self) -> tuple[int, ...]:
        """28 edges (normal then reduce, node-major), 7 ops each."""
        return (len(DENSE_OPS),) * NUM_VARIABLES

    def to_categorical(self, arch: DenseGenotype) -> tuple[int, ...]:
        """The BPE code: each edge's op index in pt.darts order."""
        return self.dense(arch).codes()

    def from_categorical(self, values: Sequence[int]) -> DenseGenotype:
        """The dense genotype of a BPE code."""
        return dense_from_codes(list(values))

    def repair(self, code: Sequence[int], rng: np.random.Generator) -> tuple[int, ...]:
        """Not defined: a dense code needs no repair."""
        raise NasInputError("the dense DARTS variant has no none edges to repair: drop the repair step")

    # --- networks ------------------------------------------------------------------------------
    def supernet(self, cfg: NetworkConfig) -> nn.Module:
        """Not defined: BPE trains every dense candidate stand-alone."""
        raise NasInputError("the dense DARTS variant has no supernet (BPE trains each candidate from scratch): "
                            "use --score trained-acc, or variant rlnas / drnas for a supernet")

    def network(self, arch: DenseGenotype | DartsGenotype, cfg: NetworkConfig) -> NetworkCIFAR | NetworkImageNet:
        """The stand-alone DARTS network with dense cells (pt.darts `AugmentCNN` on the dense genotype)."""
        return super().network(self.coerce(arch), cfg)

    def cost(self, arch: Any, what: str, dataset: str | None = None) -> float:
        """FLOPs or params (millions) of the paper-size network with dense cells, from the per-op lookup."""
        from nascli.spaces.flops_lookup import cached_lookup, cost_from_lookup

        if what not in ("flops", "params"):
            raise NasInputError(f"unknown cost {what!r}: choose flops or params")
        genotype = self.coerce(arch)
        key = (genotype, what, dataset or "cifar10")
        if key not in self._cost_cache:
            # the lookup's entries depend on (op, input state, layer) only, so the 2-input space's table serves
            lookup = cached_lookup(DartsSpace(variant="drnas"), dataset or "cifar10")
            self._cost_cache[key] = cost_from_lookup(lookup, genotype, what) / 1e6  # type: ignore[arg-type]
        return self._cost_cache[key]

    def path_parameters(self, supernet: nn.Module, arch: Any) -> list[nn.Parameter]:
        """Not defined: there is no dense supernet."""
        raise NasInputError("the dense DARTS variant has no supernet to take path parameters from")

    def path_sampler(self, seed: int, cfg: NetworkConfig | None = None) -> PathSampler:
        """Not defined: there is no dense supernet."""
        raise NasInputError("the dense DARTS variant has no supernet to train: use variant rlnas")
