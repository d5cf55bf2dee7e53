"""Constraint filters around any strategy (max FLOPs / max params, in the space's paper convention)."""

from __future__ import annotations

from collections.abc import Callable

from nascli.config import ConstraintConfig
from nascli.errors import NasInputError
from nascli.scores.cost import architecture_cost
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.base import Allowed

CostCounter = Callable[[Architecture, str], float]


def cost_counter(space: SearchSpace, cfg: ConstraintConfig, dataset: str | None) -> CostCounter:
    """(arch, "flops" | "params") → millions: from the lookup file when one is given, else the space's counter."""
    if cfg.lookup is None:
        return lambda arch, what: float(architecture_cost(space, [arch], what, dataset)[0])
    if space.name != "darts":
        raise NasInputError(f"constraints.lookup applies to the darts space; the {space.name} space counts in "
                            "closed form: drop --lookup")
    from nascli.spaces.flops_lookup import cost_from_lookup, read_lookup

    lookup = read_lookup(cfg.lookup)
    return lambda arch, what: cost_from_lookup(lookup, space.coerce(arch), what) / 1e6


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
