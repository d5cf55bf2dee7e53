"""Operation importance of the NB201 top 5% (781 archs × 6 edges × 4 neighbours) on one dataset.

- nascli: `nb201_importance` — one vectorised look-up of all 18,744 neighbours through the op-index matrix;
- baseline (same run): the reference's way, one table query per neighbour: build each neighbour's arch string
  (`get_node_proximate_archs`), look its index up by string, read its error; on a sample of archs, scaled.
The largest difference between the two on the sample is printed (must be 0).
"""

from __future__ import annotations

import numpy as np
from _common import console, make_parser, median, print_table, ratio_text, timed

from nascli.analysis.importance import nb201_errors, nb201_importance, select_by_error
from nascli.bench.table import BenchTable
from nascli.spaces import get_space
from nascli.spaces.nb201 import NB201_OPS


def per_query(table: BenchTable, errors: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """One string construction and index look-up per neighbour, as the reference queries its API."""
    space = get_space("nb201")
    out = np.empty((len(indices), 6))
    for a, index in enumerate(indices):
        arch = space.arch_at(int(index))
        for edge in range(6):
            changes = []
            for op in NB201_OPS:
                if op == arch.ops[edge]:
                    continue
                ops = list(arch.ops)
                ops[edge] = op
                text = space.format(type(arch)(tuple(ops)))
                changes.append(errors[int(table.indices_of_strings(text)[0])] - errors[index])
            out[a, edge] = np.mean(changes)
    return out


def main() -> None:
    """Time both ways and print the ratio."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cifar10")
    args = parser.parse_args()
    table = BenchTable.load()
    space = get_space("nb201")
    errors = nb201_errors(table, args.dataset)
    top = select_by_error(errors, "top")
    matrix = space.op_index_matrix()
    space.indices_of(matrix[:1])  # the packaged index is parsed once, outside the timings
    repeats = 2 if args.quick else 5
    fast = [timed(lambda: nb201_importance(errors, top, matrix, space.indices_of)) for _ in range(repeats)]
    sample = top[: 20 if args.quick else 100]
    slow = [timed(lambda: per_query(table, errors, sample)) for _ in range(1 if args.quick else 3)]
    vectorised_s = median([t for t, _ in fast])
    per_query_s = median([t for t, _ in slow]) * len(top) / len(sample)
    difference = float(np.abs(fast[0][1][: len(sample)] - slow[0][1]).max())
    print_table(f"NB201 operation importance, top 5% of {args.dataset} ({len(top)} archs)",
                ["method", "seconds", "ratio"],
                [["nascli vectorised", f"{vectorised_s:.4f}", "1.00x"],
                 ["per-neighbour queries (scaled)", f"{per_query_s:.4f}", ratio_text(per_query_s, vectorised_s)]])
    console.print(f"largest difference on the {len(sample)}-arch sample: {difference:.3g}")


if __name__ == "__main__":
    main()
