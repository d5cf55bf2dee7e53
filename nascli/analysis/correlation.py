"""Rank-correlation metrics between an architecture score and ground truth, with bootstrap intervals.

Every function takes two equally long 1-D sequences and drops the pairs where either value is NaN or
infinite (RLNAS drops NaN scores the same way; `correlation_report` counts them). Higher is better for
both inputs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from scipy import stats

from nascli.errors import NasInputError

ArrayLike = Sequence[float] | np.ndarray
MetricFn = Callable[[np.ndarray, np.ndarray], float]

DEFAULT_N_BOOT = 1000
# Kendall-type metrics are bootstrapped one scipy call per resample; above this many points in total
# the default number of resamples shrinks (never below MIN_LOOP_BOOT): a 15,625-point report stays fast.
LOOP_POINT_BUDGET = 8_000_000
MIN_LOOP_BOOT = 200
TOP_K_FRACTIONS = (0.01, 0.05, 0.10)
_CHUNK_POINTS = 2_000_000


def finite_pairs(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    """(x, y, n_dropped): both as float64 without the pairs where either value is NaN or ±inf."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or ys.ndim != 1 or xs.shape != ys.shape:
        raise NasInputError(
            f"score and ground truth must be 1-D and equally long, got shapes {xs.shape} and {ys.shape}: "
            f"pass one value per architecture in both"
        )
    keep = np.isfinite(xs) & np.isfinite(ys)
    return xs[keep], ys[keep], int(keep.size - keep.sum())


def _checked(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    xs, ys, _ = finite_pairs(x, y)
    if xs.size < 2:
        raise NasInputError(
            f"only {xs.size} architecture(s) have finite values in both inputs: need at least 2"
        )
    return xs, ys


def _statistic(result: Any) -> float:
    return float(getattr(result, "statistic", result[0]))


def kendall_tau_b(x: ArrayLike, y: ArrayLike) -> float:
    """Kendall τ-b (ties averaged; scipy.stats.kendalltau, variant "b")."""
    xs, ys = _checked(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return _statistic(stats.kendalltau(xs, ys, variant="b"))


def reference_ranks(values: ArrayLike) -> np.ndarray:
    """Ranks 1..N by a stable descending sort: the largest value gets 1, equal values keep input order."""
    array = np.asarray(values, dtype=np.float64)
    order = np.argsort(-array, kind="stable")
    ranks = np.empty(array.size, dtype=np.int64)
    ranks[order] = np.arange(1, array.size + 1)
    return ranks


def kendall_tau_reference(x: ArrayLike, y: ArrayLike) -> float:
    """Kendall τ the RLNAS way (`cal_correlation.py: cal_kendall_tau`).

    Both sequences become ranks 1..N by a stable descending sort, so ties are broken by input order
    instead of averaged, and τ is taken between those two permutations.
    """
    xs, ys = _checked(x, y)
    return _statistic(stats.kendalltau(reference_ranks(xs), reference_ranks(ys)))


def spearman(x: ArrayLike, y: ArrayLike) -> float:
    """Spearman ρ (Pearson correlation of average ranks; scipy.stats.spearmanr); NaN for constant input."""
    xs, ys = _checked(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return _statistic(stats.spearmanr(xs, ys))


def pearson(x: ArrayLike, y: ArrayLike) -> float:
    """Pearson r (scipy.stats.pearsonr); NaN for constant input."""
    xs, ys = _checked(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return _statistic(stats.pearsonr(xs, ys))


def top_k_count(n: int, fraction: float) -> int:
    """k = ceil(fraction·n), at least 1; `fraction` must lie in (0, 1]."""
    if not 0.0 < fraction <= 1.0:
        raise NasInputError(f"top-k fraction {fraction} is outside (0, 1]: pass e.g. 0.05 for the top 5%")
    # the rounding keeps e.g. 0.07·100 = 7.000000000000001 from becoming 8
    return max(1, math.ceil(round(fraction * n, 9)))


def top_k_precision(score: ArrayLike, truth: ArrayLike, fraction: float) -> float:
    """|top-k by score ∩ top-k by truth| / k, k = ceil(fraction·N); ties at the cut keep input order."""
    scores, truths = _checked(score, truth)
    k = top_k_count(scores.size, fraction)
    by_score = np.argsort(-scores, kind="stable")[:k]
    by_truth = np.argsort(-truths, kind="stable")[:k]
    return float(np.intersect1d(by_score, by_truth).size / k)


def rank_of_true_best(score: ArrayLike, truth: ArrayLike) -> int:
    """Where the score ranks the truly best architecture: 1 = first.

    Pessimistic on ties: every other architecture whose score equals the best one's counts as ranked
    ahead of it, so a constant score gives N. If several architectures share the best truth, the one
    the score ranks highest counts.
    """
    scores, truths = _checked(score, truth)
    best_score = scores[truths == truths.max()].max()
    return int(np.count_nonzero(scores >= best_score))


# --- bootstrap -------------------------------------------------------------------------------------
def _average_ranks_weighted(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average ranks (as scipy rankdata) of each item inside resample b, which holds it counts[b, i] times."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    group_starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    group_of_sorted = np.repeat(np.arange(group_starts.size), np.diff(np.r_[group_starts, values.size]))
    group_counts = np.add.reduceat(counts[:, order], group_starts, axis=1)
    before = np.cumsum(group_counts, axis=1) - group_counts
    group_ranks = before + (group_counts + 1) / 2.0
    ranks = np.empty(counts.shape, dtype=np.float64)
    ranks[:, order] = group_ranks[:, group_of_sorted]
    return ranks


def _weighted_pearson(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    total = weights.sum(axis=1, keepdims=True)
    mean_a = (weights * a).sum(axis=1, keepdims=True) / total
    mean_b = (weights * b).sum(axis=1, keepdims=True) / total
    da, db = a - mean_a, b - mean_b
    covariance = (weights * da * db).sum(axis=1)
    spread = np.sqrt((weights * da * da).sum(axis=1) * (weights * db * db).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, covariance / spread, np.nan)


def _pearson_batch(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return _weighted_pearson(np.broadcast_to(x, counts.shape), np.broadcast_to(y, counts.shape), counts)


def _spearman_batch(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return _weighted_pearson(_average_ranks_weighted(x, counts), _average_ranks_weighted(y, counts), counts)


# A resample is fully described by how many times it holds each point, so Pearson and Spearman of all
# resamples come out of a few array operations on the count matrix instead of one call per resample.
_BATCHED: dict[Callable[..., float], Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    pearson: _pearson_batch,
    spearman: _spearman_batch,
}


def default_n_boot(metric_fn: Callable[..., float], n: int) -> int:
    """Resamples used when none are given: 1000, fewer for per-resample (Kendall-type) metrics on large N."""
    if metric_fn in _BATCHED or n <= 0:
        return DEFAULT_N_BOOT
    return int(min(DEFAULT_N_BOOT, max(MIN_LOOP_BOOT, LOOP_POINT_BUDGET // n)))


def _resample_indices(rng: np.random.Generator, n_boot: int, n: int) -> Iterator[np.ndarray]:
    rows = max(1, _CHUNK_POINTS // max(n, 1))
    for start in range(0, n_boot, rows):
        yield rng.integers(0, n, size=(min(rows, n_boot - start), n))


def bootstrap_distribution(
    metric_fn: Callable[..., float], x: ArrayLike, y: ArrayLike, n_boot: int | None = None, seed: int = 0
) -> np.ndarray:
    """The metric on `n_boot` paired resamples (with replacement) of the finite pairs, seeded by `seed`."""
    xs, ys = _checked(x, y)
    n = xs.size
    n_boot = default_n_boot(metric_fn, n) if n_boot is None else int(n_boot)
    if n_boot < 1:
        raise NasInputError(f"n_boot must be at least 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    batched = _BATCHED.get(metric_fn)
    results = []
    for indices in _resample_indices(rng, n_boot, n):
        if batched is not None:
            rows = indices.shape[0]
            flat = (np.arange(rows)[:, None] * n + indices).ravel()
            counts = np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)
            results.append(batched(xs, ys, counts))
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", stats.ConstantInputWarning)
                results.append(np.array([metric_fn(xs[row], ys[row]) for row in indices], dtype=np.float64))
    return np.concatenate(results)


def bootstrap_ci(
    metric_fn: Callable[..., float],
    x: ArrayLike,
    y: ArrayLike,
    n_boot: int | None = None,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap interval (low, high) at level 1 − alpha of `metric_fn(x, y)`.

    Pairs are resampled with replacement. Pearson and Spearman are computed for all resamples at once;
    other metrics (Kendall) call `metric_fn` once per resample, so `n_boot=None` uses
    `default_n_boot` (1000, or LOOP_POINT_BUDGET // N but at least 200 resamples for large N: 512 for
    15,625 points). The same seed gives the same interval.
    """
    if not 0.0 < alpha < 1.0:
        raise NasInputError(f"alpha {alpha} is outside (0, 1): pass e.g. 0.05 for a 95% interval")
    values = bootstrap_distribution(metric_fn, x, y, n_boot=n_boot, seed=seed)
    if np.all(np.isnan(values)):
        return (math.nan, math.nan)
    low, high = np.nanquantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return (float(low), float(high))


def correlation_report(
    score: ArrayLike,
    truth: ArrayLike,
    *,
    n_boot: int | None = None,
    seed: int = 0,
    names: tuple[str, str] = ("score", "truth"),
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Kendall τ-b, RLNAS τ, Spearman ρ, Pearson r with bootstrap intervals, top-k precision, best rank.

    Non-finite pairs are dropped and counted. `n_boot=None` uses `default_n_boot` per metric; the number
    used is reported with each interval. The result is plain JSON-serialisable data.
    """
    xs, ys, n_dropped = finite_pairs(score, truth)
    if xs.size < 2:
        raise NasInputError(
            f"only {xs.size} architecture(s) have a finite {names[0]} and {names[1]}: need at least 2"
        )
    metrics: dict[str, Any] = {}
    for key, fn in (
        ("kendall_tau_b", kendall_tau_b),
        ("kendall_tau_reference", kendall_tau_reference),
        ("spearman", spearman),
        ("pearson", pearson),
    ):
        used = default_n_boot(fn, xs.size) if n_boot is None else int(n_boot)
        low, high = bootstrap_ci(fn, xs, ys, n_boot=used, seed=seed, alpha=alpha)
        metrics[key] = {"value": fn(xs, ys), "ci_low": low, "ci_high": high, "n_boot": used}
    top_k = {
        f"top_{round(fraction * 100):g}%": {
            "fraction": fraction,
            "k": top_k_count(xs.size, fraction),
            "precision": top_k_precision(xs, ys, fraction),
        }
        for fraction in TOP_K_FRACTIONS
    }
    return {
        "score": names[0],
        "truth": names[1],
        "n_used": int(xs.size),
        "n_dropped": n_dropped,
        "alpha": alpha,
        "seed": seed,
        **metrics,
        "top_k_precision": top_k,
        "rank_of_true_best": rank_of_true_best(xs, ys),
    }
