"""flops / params / bench scores equal the official NB201 columns for every architecture."""

from __future__ import annotations

import numpy as np
import pytest

from nascli.bench.table import BenchTable
from nascli.scores import ScoreContext, make_score
from nascli.spaces import get_space


@pytest.mark.parametrize("dataset,column", [("cifar10", "cifar10"), ("cifar100", "cifar100"),
                                            ("imagenet16-120", "imagenet16")])
def test_flops_and_params_equal_the_table_for_all_15625(dataset: str, column: str) -> None:
    space = get_space("nb201")
    archs = list(space.enumerate())
    table = BenchTable.load()
    context = ScoreContext(space=space, dataset=dataset)
    np.testing.assert_allclose(make_score("flops", context).score(archs), table.column(f"flops_{column}"),
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(make_score("params", context).score(archs), table.column(f"params_{column}"),
                               rtol=0, atol=1e-9)


def test_bench_score_is_the_table_and_finds_the_known_optimum() -> None:
    space = get_space("nb201")
    scores = make_score("bench", ScoreContext(space=space, dataset="cifar10")).score(list(space.enumerate()))
    assert int(np.argmax(scores)) == 6111 and round(scores[6111], 2) == 94.37
