"""Shared helpers of the benchmark scripts: command-line options, device choice, medians and result tables.

Imports torch lazily, so that a script measuring import cost or memory (bench_table_load.py) stays light.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

# 120 columns when piped (make bench, a log file), so that tables do not wrap at the default 80
console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def make_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes: --quick, --device and --threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smoke run: few repeats, numbers not meaningful")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None, help="where to run (default: cuda when available, else cpu)"
    )
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch intra-op threads (default: torch's choice, or 1 when the CPU is already busy)",
    )
    return parser


def setup_torch(device_name: str | None, threads: int | None) -> Any:
    """Resolve the device (exit 2 when CUDA is asked for but absent) and fix the thread count (1 on a busy CPU)."""
    import torch

    if device_name == "cuda" and not torch.cuda.is_available():
        console.print("--device cuda was asked for but no CUDA GPU is visible: use --device cpu or leave it out")
        raise SystemExit(2)
    if device_name is None:
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    if threads is None and device_name == "cpu":
        load, cores = os.getloadavg()[0], os.cpu_count() or 1
        if load >= cores:
            # an OpenMP team on an oversubscribed CPU stalls whenever one of its threads is descheduled,
            # which makes multi-threaded timings swing by 10x; one thread degrades evenly instead
            console.print(f"machine busy (load average {load:.1f} on {cores} cores): using 1 torch thread; "
                          "pass --threads to override")
            threads = 1
    if threads is not None:
        if threads < 1:
            console.print(f"--threads must be at least 1, got {threads}")
            raise SystemExit(2)
        torch.set_num_threads(threads)
    return torch.device(device_name)


def describe_torch(device: Any) -> str:
    """One line naming torch, the device and the thread count, for the top of a report."""
    import torch

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return f"torch {torch.__version__} on {device.type} ({where}), {torch.get_num_threads()} intra-op threads"


def synchronize(device: Any) -> None:
    """Wait for queued GPU work, so that wall-clock timings cover it (no-op on CPU)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_steps(step: Callable[[], Any], steps: int, device: Any) -> float:
    """Seconds taken by `steps` calls of `step`, queued GPU work included."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return time.perf_counter() - start


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    return float(statistics.median(values))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a small table: first column left-aligned, the others right-aligned."""
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def ratio_text(numerator: float, denominator: float) -> str:
    """`a/b` as `1.23x`, or `n/a` when it is undefined."""
    if denominator <= 0 or numerator != numerator or denominator != denominator:
        return "n/a"
    return f"{numerator / denominator:.2f}x"
