"""Overhead of `nas search` over its bare score: the whole command against the score alone plus start-up.

Two searches, each run as the real command in a fresh process:
- `nas search --strategy exhaustive --score angle` over all 15,625 NB201 architectures, on a real-size
  supernet folder (C=16, N=5, 10 classes: seeded weights at init.pt, a seeded perturbation of them at last.pt;
  `--quick`: C=4, N=1);
- `nas search --strategy random --samples 15625 --score bench --dataset cifar10` (every architecture, drawn).

Baselines measured in the same run, each in a fresh process too:
- start-up: `nas --help`;
- bare score: a Python process that imports nascli, builds the score and scores the same 15,625
  architectures in one call (timed inside it from before the first nascli import: torch's import included,
  since the score needs it; interpreter start-up is in the start-up baseline).
Overhead = whole − (start-up + bare score): the strategy, the per-step persistence, the manifest, the top
table and genotype.json. Goal (issue #13): ≤ 1 s for both searches. Children run with OMP_NUM_THREADS=1
unless --threads is given.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import console, make_parser, median, print_table

GOAL_SECONDS = 1.0
NAS = str(Path(sys.executable).with_name("nas"))

BARE_SCORE = """
import sys, time
start, start_cpu = time.perf_counter(), time.process_time()
from nascli.scores.base import ScoreContext, make_score
from nascli.spaces import get_space
space = get_space("nb201")
imported = time.perf_counter()
context = ScoreContext(space=space, supernet_dir=sys.argv[2] if sys.argv[2] != "-" else None, dataset="cifar10")
score = make_score(sys.argv[1], context)
archs = list(space.enumerate())
values = score.score(archs)
done, done_cpu = time.perf_counter(), time.process_time()
assert len(values) == 15625
print(f"{done - start:.6f} {imported - start:.6f} {done_cpu - start_cpu:.6f}")
"""


def make_supernet_folder(folder: Path, channels: int, layers: int) -> Path:
    """A supernet run folder with seeded init.pt and a seeded perturbation of it as last.pt."""
    import torch

    from nascli.artifacts import RunFolder, atomic_torch_save
    from nascli.spaces import get_space
    from nascli.spaces.base import NetworkConfig

    network = NetworkConfig(num_classes=10, channels=channels, layers=layers)
    torch.manual_seed(0)
    initial = get_space("nb201").supernet(network)
    trained = copy.deepcopy(initial)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    run = RunFolder(folder)
    run.start(kind="supernet", space="nb201", dataset="cifar10", config={}, seed=0,
              extra={"network": dataclasses.asdict(network)})
    atomic_torch_save({"model": initial.state_dict()}, run.file("init.pt"))
    atomic_torch_save({"model": trained.state_dict()}, run.file("last.pt"))
    return folder


def run_child(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of a child process; exits 1 with its output when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        console.print(f"FAIL: {' '.join(command)}\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}")
        raise SystemExit(1)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, completed.stdout


def main(argv: list[str] | None = None) -> int:
    """Time each search, its bare score and the start-up; print the overheads against the 1 s goal."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="repeats, median reported (default 3, quick 1)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    threads = args.threads or 1
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    load = os.getloadavg()[0]
    console.print(f"nas search overhead — {threads} thread(s) per process, load average {load:.1f} on "
                  f"{os.cpu_count()} cores" + ("  [--quick: smoke run, numbers not meaningful]" if args.quick else ""))
    if args.device == "cuda":
        console.print("note: --device cuda ignored: both scores run on the CPU")

    workdir = Path(tempfile.mkdtemp(prefix="bench_search_"))
    try:
        size = (4, 1) if args.quick else (16, 5)
        supernet = make_supernet_folder(workdir / "supernet", *size)
        cases = {
            f"exhaustive, angle (C={size[0]}, N={size[1]})": (
                ["search", "--supernet", str(supernet), "--strategy", "exhaustive", "--score", "angle"],
                ["angle", str(supernet)]),
            "random --samples 15625, bench": (
                ["search", "--strategy", "random", "--samples", "15625", "--score", "bench", "--dataset", "cifar10"],
                ["bench", "-"]),
        }
        keys = ("whole", "score", "import", "whole_cpu", "score_cpu")
        startup: dict[str, list[float]] = {"wall": [], "cpu": []}
        timings: dict[str, dict[str, list[float]]] = {name: {key: [] for key in keys} for name in cases}
        for repeat in range(repeats):
            seconds, cpu, _ = run_child([NAS, "--help"], env)
            startup["wall"].append(seconds)
            startup["cpu"].append(cpu)
            for index, (name, (search_args, score_args)) in enumerate(cases.items()):
                out = workdir / f"search{index}-{repeat}"
                seconds, cpu, _ = run_child([NAS, *search_args, "--out", str(out), "--quiet"], env)
                timings[name]["whole"].append(seconds)
                timings[name]["whole_cpu"].append(cpu)
                shutil.rmtree(out)
                _, _, printed = run_child([sys.executable, "-c", BARE_SCORE, *score_args], env)
                score_seconds, import_seconds, score_cpu = (float(v) for v in printed.split())
                timings[name]["score"].append(score_seconds)
                timings[name]["import"].append(import_seconds)
                timings[name]["score_cpu"].append(score_cpu)
        for clock, suffix, start_times in (("wall-clock", "", startup["wall"]), ("CPU", "_cpu", startup["cpu"])):
            start_seconds = median(start_times)
            rows = []
            for name, times in timings.items():
                whole, score = median(times["whole" + suffix]), median(times["score" + suffix])
                overhead = whole - start_seconds - score
                score_text = f"{score:.2f}" + (f" ({median(times['import']):.2f})" if not suffix else "")
                rows.append([name, f"{whole:.2f}", f"{start_seconds:.2f}", score_text, f"{overhead:+.2f}",
                             f"{whole / (start_seconds + score):.2f}x", "yes" if overhead <= GOAL_SECONDS else "NO"])
            print_table(f"{clock} seconds, median of {repeats} (fresh process each)",
                        ["search", "whole command", "start-up (nas --help)",
                         "bare score" + (" (of which imports)" if not suffix else ""), "overhead",
                         "whole / (start-up + score)", f"overhead ≤ {GOAL_SECONDS:g} s"], rows)
        console.print("CPU seconds are the children's user + system time: steadier than wall-clock on a busy machine.")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
