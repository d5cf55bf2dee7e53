"""Speed-up of `nas search` with an expensive score split over 2 torchrun processes, against 1 process.

The score is `tiny-trained` of tests/strategies/ddp_search_worker.py, a stand-in for `trained-acc`: every
candidate is a small NB201 network trained a fixed number of SGD steps on synthetic data (seeded by its
candidate seed, checkpointed per step in its candidate folder), then scored on a held-out batch. The search is
an evolution (population 8, 3 generations: 24 trained candidates; --quick: 4 × 2, fewer steps).

Each measurement is a fresh launch: the worker as one plain process, and under `torchrun --standalone
--nproc_per_node 2` (gloo on the CPU, nccl with --device cuda where 2 GPUs exist), every process with 1 thread
(OMP_NUM_THREADS=1). Two wall-clock times: the whole launch (start-up included: torch import, process-group
set-up) and `run_search` alone as rank 0 times it (the search, scoring included); both runs must write the same
scores.csv (the script exits 1 otherwise). On a CPU with fewer than 2 idle cores the
speed-up cannot show: the script prints the load average it ran under.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import console, make_parser, median, print_table, ratio_text

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO / "tests" / "strategies" / "ddp_search_worker.py"
TORCHRUN = Path(sys.executable).with_name("torchrun")


def launch(out: Path, processes: int, settings: list[str]) -> tuple[float, float]:
    """(wall seconds of the launch, seconds of run_search on rank 0); exits 1 with the output when it fails."""
    command = [str(TORCHRUN), "--standalone", "--nproc_per_node", str(processes)] if processes > 1 else [
        sys.executable]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    completed = subprocess.run([*command, str(WORKER), str(out), *settings], env=env, capture_output=True,
                               text=True, check=False)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        console.print(f"FAIL: {' '.join(command)} ({processes} processes)\n{completed.stderr[-3000:]}")
        raise SystemExit(1)
    search = [line for line in completed.stdout.splitlines() if line.startswith("search seconds:")]
    return seconds, float(search[-1].split(":")[1])


def main(argv: list[str] | None = None) -> int:
    """Time 1 and 2 processes alternately; print medians and the speed-up; check the results agree."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="repeats, median reported (default 3, quick 1)")
    parser.add_argument("--steps", type=int, default=None, help="SGD steps per candidate (default 40, quick 5)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    steps = args.steps or (5 if args.quick else 40)
    if repeats < 1 or steps < 1:
        parser.error("--repeats and --steps must be at least 1")
    if not TORCHRUN.exists():
        console.print(f"torchrun is not installed beside {sys.executable}: nothing to compare")
        return 0
    device = args.device or "cpu"
    if device == "cuda":
        import torch

        if torch.cuda.device_count() < 2:
            console.print("--device cuda needs 2 visible GPUs (one per process): use --device cpu")
            raise SystemExit(2)
    population, generations = (4, 2) if args.quick else (8, 3)
    settings = ["--population", str(population), "--generations", str(generations), "--steps", str(steps),
                "--device", device]
    console.print(f"expensive-score search, {population * generations} candidates × {steps} SGD steps on {device}, "
                  f"1 thread per process; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
                  + ("  [--quick: smoke run, numbers not meaningful]" if args.quick else ""))
    workdir = Path(tempfile.mkdtemp(prefix="bench_search_ranks_"))
    try:
        times: dict[int, list[float]] = {1: [], 2: []}
        search_times: dict[int, list[float]] = {1: [], 2: []}
        scores: dict[int, bytes] = {}
        for repeat in range(repeats):
            for processes in (1, 2) if repeat % 2 == 0 else (2, 1):
                out = workdir / f"{processes}-{repeat}"
                seconds, search_seconds = launch(out, processes, settings)
                times[processes].append(seconds)
                search_times[processes].append(search_seconds)
                scores[processes] = (out / "scores.csv").read_bytes()
                shutil.rmtree(out)
        one, two = median(times[1]), median(times[2])
        search_one, search_two = median(search_times[1]), median(search_times[2])
        print_table(f"wall-clock seconds, median of {repeats} (fresh launch each)",
                    ["processes", "whole launch", "speed-up over 1", "run_search on rank 0", "speed-up over 1"],
                    [["1 (plain)", f"{one:.2f}", "1.00x", f"{search_one:.2f}", "1.00x"],
                     ["2 (torchrun)", f"{two:.2f}", ratio_text(one, two), f"{search_two:.2f}",
                      ratio_text(search_one, search_two)]])
        if scores[1] != scores[2]:
            console.print("FAIL: 2 processes wrote another scores.csv than 1 process")
            return 1
        console.print("scores.csv of 2 processes = 1 process: yes")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
