"""Constraint filters: the space's own counter, or a lookup file written by `nas flops-table --lookup`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nascli.config import ConstraintConfig
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.flops_lookup import build_lookup, cost_from_lookup, write_lookup
from nascli.strategies.constraints import make_constraint


def test_a_lookup_file_decides_the_darts_constraint(tmp_path: Path) -> None:
    space = get_space("darts")
    lookup = build_lookup(space, "cifar10", channels=8, layers=5)
    path = write_lookup(lookup, tmp_path / "lookup.json")
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(30)]
    flops = np.array([cost_from_lookup(lookup, a, "flops") / 1e6 for a in archs])
    limit = float(np.median(flops))
    allowed = make_constraint(space, ConstraintConfig(max_flops=limit, lookup=str(path)), "cifar10")
    assert [allowed(a) for a in archs] == [f <= limit for f in flops]
    assert 0 < sum(f <= limit for f in flops) < len(archs)


def test_lookup_errors_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(NasInputError, match="does not exist"):
        make_constraint(get_space("darts"), ConstraintConfig(max_flops=100, lookup=str(tmp_path / "x.json")), None)
    with pytest.raises(NasInputError, match="applies to the darts space"):
        make_constraint(get_space("nb201"), ConstraintConfig(max_flops=100, lookup="any.json"), None)
    assert make_constraint(get_space("nb201"), ConstraintConfig(), None) is None
