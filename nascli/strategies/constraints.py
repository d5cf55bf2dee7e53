"""Constraint filters around any strategy (max FLOPs / max params, in the space's paper convention)."""

from __future__ import annotations

from nascli.config import ConstraintConfig
from nascli.scores.cost import architecture_cost
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.base import Allowed


def make_constraint(space: SearchSpace, cfg: ConstraintConfig, dataset: str | None) -> Allowed | None:
    """A predicate that is True for architectures within the limits; None when no limit is set."""
    if cfg.max_flops is None and cfg.max_params is None:
        return None

    def allowed(arch: Architecture) -> bool:
        if cfg.max_flops is not None and architecture_cost(space, [arch], "flops", dataset)[0] > cfg.max_flops:
            return False
        return not (cfg.max_params is not None
                    and architecture_cost(space, [arch], "params", dataset)[0] > cfg.max_params)

    return allowed
