"""Constraint filters around any strategy (max FLOPs / max params, in the space's paper convention)."""

from __future__ import annotations

from collections.abc import Callable

from nascli.config import ConstraintConfig
from nascli.errors import NasInputError
from nascli.scores.cost import architecture_cost
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.base import Allowed

CostCounter = Callable[[Architecture, str], float]


_LOOKUP_SPACES = ("darts", "mobilenet")


def cost_counter(space: SearchSpace, cfg: ConstraintConfig, dataset: str | None) -> CostCounter:
    """(arch, "flops" | "params") → millions: from the lookup file when one is given, else the space's counter,
    FLOPs in `cfg.flops_convention` (a lookup file counted in another convention is refused)."""
    convention = cfg.flops_convention
    if cfg.lookup is None:
        if space.name == "mobilenet":
            return lambda arch, what: float(space.cost(arch, what, dataset, convention=convention))  # type: ignore[attr-defined]
        if space.name == "darts" and convention != "macs":
            from nascli.spaces.flops_lookup import lookup_cost

            return lambda arch, what: float(lookup_cost(space, arch, what, dataset, convention))
        if space.name not in _LOOKUP_SPACES and convention != "macs":
            raise NasInputError(f"constraints.flops_convention {convention} applies to the darts and mobilenet "
                                f"spaces; the {space.name} space counts in its benchmark's closed form: drop it")
        return lambda arch, what: float(architecture_cost(space, [arch], what, dataset)[0])
    if space.name not in _LOOKUP_SPACES:
        raise NasInputError(f"constraints.lookup applies to the darts space and the mobilenet space; the "
                            f"{space.name} space counts in closed form: drop --lookup")
    from nascli.spaces.flops_lookup import check_lookup, lookup_convention, read_lookup, space_cost_from_lookup

    lookup = check_lookup(read_lookup(cfg.lookup), str(cfg.lookup), space=space.name)
    recorded = lookup_convention(lookup)
    if recorded != convention:
        raise NasInputError(f"{cfg.lookup} counts FLOPs in the {recorded} convention but the search caps them in "
                            f"{convention}: write the lookup with nas flops-table --lookup --convention {convention}, "
                            f"or set constraints.flops_convention: {recorded}")
    return lambda arch, what: space_cost_from_lookup(lookup, space, arch, what) / 1e6


def make_constraint(space: SearchSpace, cfg: ConstraintConfig, dataset: str | None) -> Allowed | None:
    """A predicate that is True for architectures within the limits; None when no limit is set."""
    if cfg.max_flops is None and cfg.max_params is None:
        return None
    cost = cost_counter(space, cfg, dataset)

    def allowed(arch: Architecture) -> bool:
        if cfg.max_flops is not None and cost(arch, "flops") > cfg.max_flops:
            return False
        return not (cfg.max_params is not None and cost(arch, "params") > cfg.max_params)

    return allowed
