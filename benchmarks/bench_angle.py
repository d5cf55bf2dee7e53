"""Exhaustive RLNAS angle over all 15,625 NB201 architectures: per-(edge, op) tables against the literal vectors.

- vectorised: `NB201AngleTables.build(initial, trained, ops)` (table build included) and `.angles(M)` on the
  official op-index matrix M of all 15,625 architectures, as `nas search --score angle` does it;
- literal: `nb201_angle_literal(arch, initial, trained)` — the reference's vector built block by block
  (RLNAS `get_arch_angle`) — timed on a random sample of architectures and scaled to 15,625.

A real-size supernet (C=16, N=5, 10 classes) at initialisation stands for init.pt; a copy with every weight
perturbed stands for last.pt. Both forms must agree on the sample to 1e-9 (the script exits 1 otherwise).
Scoring runs on the CPU in float64, as in nascli (supernet checkpoints load to the CPU).
"""

from __future__ import annotations

import copy
import sys

import numpy as np
import torch
from _common import console, describe_torch, make_parser, median, print_table, ratio_text, setup_torch, timed

from nascli.scores.angle import NB201AngleTables, nb201_angle_literal
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig, SearchSpace

SEED = 0
TOLERANCE = 1e-9
PERTURBATION = 0.05


def make_supernet_pair(space: SearchSpace) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(initial, trained): a fresh C=16, N=5 supernet and a copy with Gaussian noise added to every weight."""
    torch.manual_seed(SEED)
    initial = space.supernet(NetworkConfig(num_classes=10, channels=16, layers=5)).eval()
    trained = copy.deepcopy(initial)
    generator = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(PERTURBATION * torch.randn(parameter.shape, generator=generator))
    return initial, trained


def main(argv: list[str] | None = None) -> int:
    """Time both forms, print the times, their ratio and the largest disagreement on the sample."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None, help="archs timed literally (default 100, quick 5)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats, median reported (default 5, quick 1)")
    args = parser.parse_args(argv)
    sample_size = args.sample or (5 if args.quick else 100)
    repeats = args.repeats or (1 if args.quick else 5)
    literal_repeats = 1 if args.quick else 3
    if not 1 <= sample_size <= 15625 or repeats < 1:
        parser.error("--sample must lie in 1..15625 and --repeats be at least 1")

    device = setup_torch(args.device, args.threads)
    console.print(f"NB201 exhaustive angle — {describe_torch(torch.device('cpu'))}, float64"
                  + ("  [--quick: smoke run, numbers not meaningful]" if args.quick else ""))
    if device.type != "cpu":
        console.print(f"note: --device {device.type} ignored: nascli scores angles on the CPU (checkpoints load there)")

    space = get_space("nb201")
    initial, trained = make_supernet_pair(space)
    matrix_seconds, matrix = timed(space.op_index_matrix)  # first call parses the packaged arch list, then cached

    build_times, angle_times, angles = [], [], np.empty(0)
    for _ in range(repeats):
        build_seconds, tables = timed(lambda: NB201AngleTables.build(initial, trained, space.ops))
        angle_seconds, angles = timed(lambda tables=tables: tables.angles(matrix))
        build_times.append(build_seconds)
        angle_times.append(angle_seconds)
    vectorised = median(build_times) + median(angle_times)

    rng = np.random.default_rng(SEED)
    indices = np.sort(rng.choice(len(matrix), size=sample_size, replace=False))
    archs = [space.arch_at(int(index)) for index in indices]
    literal_times, literal = [], np.empty(0)
    for _ in range(literal_repeats):
        seconds, values = timed(lambda: [nb201_angle_literal(arch, initial, trained) for arch in archs])
        literal_times.append(seconds / sample_size)
        literal = np.asarray(values)
    per_arch = median(literal_times)
    literal_total = per_arch * len(matrix)

    print_table(
        f"time for all {len(matrix):,} architectures",
        ["method", "timed", "seconds", "µs / arch"],
        [
            ["vectorised tables", f"build + angles, median of {repeats}", f"{vectorised:.3f}",
             f"{1e6 * vectorised / len(matrix):.2f}"],
            ["  table build", "NB201AngleTables.build", f"{median(build_times):.3f}", ""],
            ["  angles", "tables.angles(op_index_matrix)", f"{median(angle_times):.4f}", ""],
            ["  (op-index matrix)", "first call (package data); not in total", f"{matrix_seconds:.3f}", ""],
            ["literal vectors", f"{sample_size} archs × 15,625/{sample_size}, median of {literal_repeats}",
             f"{literal_total:.1f}", f"{1e6 * per_arch:,.0f}"],
        ],
    )
    difference = float(np.max(np.abs(angles[indices] - literal)))
    agree = difference <= TOLERANCE
    print_table(
        "comparison",
        ["", "value"],
        [
            ["speed-up: literal (scaled) / vectorised", ratio_text(literal_total, vectorised)],
            [f"max |angle difference| on the {sample_size} sampled archs", f"{difference:.2e}"],
            [f"agreement within {TOLERANCE:g}", "yes" if agree else "NO"],
            ["angle range over the space (rad)", f"{angles.min():.4f} … {angles.max():.4f}"],
        ],
    )
    if not agree:
        console.print(f"FAIL: the vectorised and literal angles differ by {difference:.3e} > {TOLERANCE:g}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
