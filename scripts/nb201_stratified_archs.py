"""Write N NB201 architectures drawn by seeded stratification over accuracy quantiles, one arch string a line.

The 15,625 architectures are sorted by the chosen ground truth (default: CIFAR-10 test accuracy after 200 epochs)
and cut into N strata of equal count (quantiles); one architecture is drawn uniformly from each stratum with a
numpy generator seeded by --seed. The file feeds `nas search --strategy list --archs FILE`.

    python scripts/nb201_stratified_archs.py --n 50 --seed 0 --out runs/nb201-50.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nascli.artifacts import atomic_write_text
from nascli.bench.table import BenchTable
from nascli.spaces import get_space


def stratified_indices(values: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Indices of `count` entries of `values`, one drawn uniformly from each of `count` equal-count quantile strata
    (lowest stratum first)."""
    order = np.argsort(values, kind="stable")
    rng = np.random.Generator(np.random.PCG64(seed))
    strata = np.array_split(order, count)
    return np.array([stratum[rng.integers(len(stratum))] for stratum in strata], dtype=np.int64)


def main() -> None:
    """Parse the options and write the file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--split", default="test")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    truth = BenchTable.load(None).metric(args.dataset, args.split, args.epochs)
    space = get_space("nb201")
    picked = stratified_indices(truth, args.n, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, "".join(space.format(space.arch_at(int(i))) + "\n" for i in picked))
    print(f"{args.n} architectures, {args.dataset} {args.split} accuracy {truth[picked].min():.2f}–"
          f"{truth[picked].max():.2f} %, written to {args.out}")


if __name__ == "__main__":
    main()
