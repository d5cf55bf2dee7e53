"""Correlation metrics: definitions, the RLNAS way of ranking, NaN handling, bootstrap, a data-README line."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from nascli.analysis.correlation import (
    bootstrap_ci,
    bootstrap_distribution,
    correlation_report,
    default_n_boot,
    kendall_tau_b,
    kendall_tau_reference,
    pearson,
    rank_of_true_best,
    spearman,
    top_k_precision,
)
from nascli.bench.table import BenchTable
from nascli.errors import NasInputError


def _tied_data(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n)
    score = np.round(truth + rng.normal(scale=0.8, size=n), 1)  # many ties in the score
    return score, np.round(truth, 1)


def _tau_b_by_pairs(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall τ-b from its definition: (C − D) / sqrt((n0 − n1)(n0 − n2)) over all pairs."""
    concordant = discordant = ties_x = ties_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        ties_x += dx == 0
        ties_y += dy == 0
        concordant += dx * dy > 0
        discordant += dx * dy < 0
    pairs = len(x) * (len(x) - 1) // 2
    return (concordant - discordant) / math.sqrt((pairs - ties_x) * (pairs - ties_y))


def _rlnas_cal_kendall_tau(truth: dict[str, float], score: dict[str, float]) -> float:
    """A literal re-implementation of RLNAS `exps/algos/cal_correlation.py: cal_kendall_tau`."""
    truth_sorted = sorted(truth.items(), key=lambda item: item[1], reverse=True)
    score_sorted = sorted(score.items(), key=lambda item: item[1], reverse=True)
    score_rank = {key: rank for rank, (key, _) in enumerate(score_sorted, start=1)}
    truth_ranks = list(range(1, len(truth_sorted) + 1))
    score_ranks = [score_rank[key] for key, _ in truth_sorted]
    return stats.kendalltau(truth_ranks, score_ranks)[0]


def test_tau_b_spearman_pearson_match_their_definitions() -> None:
    score, truth = _tied_data(n=60)
    assert kendall_tau_b(score, truth) == pytest.approx(_tau_b_by_pairs(score, truth), abs=1e-12)
    assert kendall_tau_b(score, truth) == pytest.approx(
        stats.kendalltau(score, truth, variant="b")[0], abs=1e-12
    )
    ranks_s, ranks_t = stats.rankdata(score), stats.rankdata(truth)
    assert spearman(score, truth) == pytest.approx(np.corrcoef(ranks_s, ranks_t)[0, 1], abs=1e-12)
    assert spearman(score, truth) == pytest.approx(stats.spearmanr(score, truth)[0], abs=1e-12)
    assert pearson(score, truth) == pytest.approx(np.corrcoef(score, truth)[0, 1], abs=1e-12)


def test_oracle_and_reversed_scores() -> None:
    truth = np.random.default_rng(1).permutation(200).astype(float)
    for fn in (kendall_tau_b, kendall_tau_reference, spearman, pearson):
        assert fn(truth, truth) == pytest.approx(1.0)
        assert fn(-truth, truth) == pytest.approx(-1.0)
    for fraction in (0.01, 0.05, 0.1, 0.5):
        assert top_k_precision(truth, truth, fraction) == 1.0
        assert top_k_precision(-truth, truth, fraction) == 0.0
    assert rank_of_true_best(truth, truth) == 1
    assert rank_of_true_best(-truth, truth) == 200


def test_reference_tau_breaks_ties_by_order_on_a_hand_example() -> None:
    score = [2.0, 1.0, 1.0, 3.0]
    truth = [4.0, 3.0, 2.0, 1.0]
    # by hand: stable descending ranks score → [2, 3, 4, 1], truth → [1, 2, 3, 4]: 3 concordant,
    # 3 discordant pairs, τ = 0; τ-b on the raw values: C = 2, D = 3, one tie in score → −1/√30
    assert kendall_tau_reference(score, truth) == pytest.approx(0.0, abs=1e-15)
    assert kendall_tau_b(score, truth) == pytest.approx(-1 / math.sqrt(30), abs=1e-12)


def test_reference_tau_equals_the_literal_rlnas_code_on_tied_data() -> None:
    score, truth = _tied_data(n=300, seed=2)
    keys = [f"arch{i}" for i in range(score.size)]
    literal = _rlnas_cal_kendall_tau(dict(zip(keys, truth, strict=True)), dict(zip(keys, score, strict=True)))
    assert kendall_tau_reference(score, truth) == pytest.approx(literal, abs=1e-12)
    assert abs(kendall_tau_reference(score, truth) - kendall_tau_b(score, truth)) > 1e-3


def test_top_k_precision_and_best_rank_by_hand() -> None:
    score = [5.0, 4.0, 3.0, 2.0, 1.0]
    truth = [1.0, 5.0, 4.0, 3.0, 2.0]
    # k = ceil(0.3·5) = 2: top-2 by score {0, 1}, by truth {1, 2}
    assert top_k_precision(score, truth, 0.3) == 0.5
    assert top_k_precision(score, truth, 0.2) == 0.0
    assert rank_of_true_best(score, truth) == 2
    # pessimistic on ties: all three share the best one's score
    assert rank_of_true_best([1.0, 1.0, 1.0], [0.0, 1.0, 0.0]) == 3
    with pytest.raises(NasInputError, match="outside"):
        top_k_precision(score, truth, 0.0)


def test_non_finite_pairs_are_dropped_and_counted() -> None:
    score, truth = _tied_data(n=100, seed=3)
    dirty_score, dirty_truth = score.copy(), truth.copy()
    dirty_score[[3, 10]] = np.nan
    dirty_score[20] = np.inf
    dirty_truth[[10, 50]] = np.nan
    keep = np.ones(100, dtype=bool)
    keep[[3, 10, 20, 50]] = False
    report = correlation_report(dirty_score, dirty_truth, n_boot=50, seed=0)
    clean = correlation_report(score[keep], truth[keep], n_boot=50, seed=0)
    assert report["n_used"] == 96
    assert report["n_dropped"] == 4
    for key in ("kendall_tau_b", "kendall_tau_reference", "spearman", "pearson"):
        assert report[key] == clean[key]
    assert report["kendall_tau_b"]["value"] == pytest.approx(kendall_tau_b(score[keep], truth[keep]))


def test_bootstrap_interval_is_seeded_and_contains_the_estimate() -> None:
    score, truth = _tied_data(n=150, seed=4)
    for fn in (kendall_tau_b, spearman, pearson):
        low, high = bootstrap_ci(fn, score, truth, n_boot=300, seed=7)
        assert low < fn(score, truth) < high
        assert bootstrap_ci(fn, score, truth, n_boot=300, seed=7) == (low, high)
        assert bootstrap_ci(fn, score, truth, n_boot=300, seed=8) != (low, high)


@pytest.mark.parametrize("metric", [spearman, pearson])
def test_batched_bootstrap_equals_one_call_per_resample(metric) -> None:
    score, truth = _tied_data(n=200, seed=5)
    batched = bootstrap_distribution(metric, score, truth, n_boot=40, seed=3)
    looped = bootstrap_distribution(lambda x, y: metric(x, y), score, truth, n_boot=40, seed=3)
    np.testing.assert_allclose(batched, looped, rtol=0, atol=1e-12)


def test_default_resamples_shrink_only_for_per_resample_metrics() -> None:
    assert default_n_boot(spearman, 15625) == 1000
    assert default_n_boot(kendall_tau_b, 1000) == 1000
    assert default_n_boot(kendall_tau_b, 15625) == 512


def test_mismatched_inputs_raise_input_errors() -> None:
    with pytest.raises(NasInputError, match="equally long"):
        kendall_tau_b([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(NasInputError, match="at least 2"):
        correlation_report([np.nan, 1.0], [1.0, 2.0])


def test_data_readme_params_line_on_all_15625() -> None:
    table = BenchTable.load()
    # data README "Reference rank correlations": params vs *_test, scipy τ-b / Spearman
    for params, dataset, tau, rho in (
        ("params_cifar10", "cifar10", 0.578, 0.753),
        ("params_cifar100", "cifar100", 0.553, 0.728),
        ("params_imagenet16", "imagenet16-120", 0.520, 0.692),
    ):
        score, truth = table.column(params), table.metric(dataset, "test")
        assert kendall_tau_b(score, truth) == pytest.approx(tau, abs=1e-3)
        assert spearman(score, truth) == pytest.approx(rho, abs=1e-3)


def test_full_report_on_15625_architectures() -> None:
    table = BenchTable.load()
    report = correlation_report(
        table.column("params_cifar10"), table.metric("cifar10"), seed=0, names=("params", "cifar10_test")
    )
    assert (report["n_used"], report["n_dropped"]) == (15625, 0)
    assert report["kendall_tau_b"]["n_boot"] == 512
    assert report["spearman"]["n_boot"] == 1000
    for key in ("kendall_tau_b", "kendall_tau_reference", "spearman", "pearson"):
        assert report[key]["ci_low"] < report[key]["value"] < report[key]["ci_high"]
    assert report["kendall_tau_b"]["value"] == pytest.approx(0.578, abs=1e-3)
    assert [entry["k"] for entry in report["top_k_precision"].values()] == [157, 782, 1563]
    assert report["score"] == "params"
