"""Load time and peak memory of the NB201 ground-truth table: nascli's shipped .npz against pandas on the CSV.

- nascli: `BenchTable.load()` on the package's `nb201_table.npz` (reads the file, checks its sha256, unzips
  the 19 float64 columns, checks the layout against the packaged architecture list);
- pandas: `pd.read_csv("../shared/data/nb201/nb201_benchmark.csv.gz")` (the same table as gzip'd CSV, with
  its index and arch_str columns and two extra accuracy columns); skipped with a message when absent.

Every measurement runs in a fresh Python process, so imports, caches and allocator state never leak between
them. Each child reports: import time (numpy + nascli.bench.table, or pandas), load time, the tracemalloc peak
during the load (Python and numpy allocations; measured in a separate child, since tracing slows the load) and
the peak RSS of the whole process after the import and after the load: Linux's VmHWM, because `getrusage`'s
ru_maxrss keeps the launching process's peak across fork + exec (it is the fallback where /proc is absent).
Medians of 5 children per method (alternating), after one untimed child each to warm the page cache.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import console, make_parser, median, print_table, ratio_text

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = REPO_ROOT.parent / "shared" / "data" / "nb201" / "nb201_benchmark.csv.gz"
METHODS = ("nascli npz", "pandas csv")

# Runs in a fresh interpreter; stdlib imports only before the measured import.
CHILD_CODE = r"""
import json, resource, sys, time

def peak_rss_kib():
    # VmHWM is this program's own peak; getrusage's ru_maxrss also keeps the launching process's peak
    # across fork + exec on Linux, which would put a floor under every child's figure
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

method, csv_path, trace = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
start = time.perf_counter()
if method == "nascli npz":
    from nascli.bench.table import BenchTable
else:
    import pandas as pd
imported = time.perf_counter()
rss_before = peak_rss_kib()
if trace:
    import tracemalloc
    tracemalloc.start()
begin = time.perf_counter()
if method == "nascli npz":
    table = BenchTable.load()
    rows, checksum = len(table), float(table.column("cifar10_test").sum())
else:
    frame = pd.read_csv(csv_path)
    rows, checksum = len(frame), float(frame["cifar10_test"].sum())
loaded = time.perf_counter()
peak = tracemalloc.get_traced_memory()[1] if trace else None
print(json.dumps({
    "import_s": imported - start, "load_s": loaded - begin, "tracemalloc_peak": peak,
    "rss_before_kib": rss_before, "rss_max_kib": peak_rss_kib(),
    "rows": rows, "checksum": checksum,
}))
"""


def run_child(method: str, csv_path: Path, trace: bool) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return what it printed."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD_CODE, method, str(csv_path), "1" if trace else "0"],
        capture_output=True, text=True, cwd=REPO_ROOT, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{method} child failed:\n{result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def mib(value: float) -> str:
    """Bytes as MiB text."""
    return f"{value / 2**20:.1f}"


def main(argv: list[str] | None = None) -> int:
    """Measure both loaders in fresh processes and print medians and ratios."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="the shared nb201_benchmark.csv.gz")
    parser.add_argument("--repeats", type=int, default=None, help="children per method (default 5, quick 1)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 5)
    if repeats < 1:
        parser.error("--repeats must be at least 1")

    console.print(f"NB201 table load — Python {sys.version.split()[0]}, fresh process per measurement, "
                  f"median of {repeats}" + ("  [--quick: smoke run, numbers not meaningful]" if args.quick else ""))
    if args.device == "cuda" or args.threads is not None:
        console.print("note: --device and --threads do not apply: loading a table is CPU work without torch")
    methods = list(METHODS)
    if not args.csv.is_file():
        console.print(f"SKIP pandas baseline: {args.csv} does not exist (the shared NB201 data is not here)")
        methods.remove("pandas csv")
    else:
        if importlib.util.find_spec("pandas") is None:  # not imported here: it would swell the parent
            console.print("SKIP pandas baseline: pandas is not installed (pip install -e '.[bench]')")
            methods.remove("pandas csv")

    results: dict[str, list[dict[str, Any]]] = {method: [] for method in methods}
    traced: dict[str, list[dict[str, Any]]] = {method: [] for method in methods}
    if not args.quick:
        for method in methods:
            run_child(method, args.csv, trace=False)
    for repeat in range(repeats):
        for method in methods if repeat % 2 == 0 else methods[::-1]:
            results[method].append(run_child(method, args.csv, trace=False))
            traced[method].append(run_child(method, args.csv, trace=True))

    summary: dict[str, dict[str, float]] = {}
    rows = []
    for method in methods:
        runs = results[method]
        summary[method] = {
            "import_s": median([r["import_s"] for r in runs]),
            "load_s": median([r["load_s"] for r in runs]),
            "peak": median([r["tracemalloc_peak"] for r in traced[method]]),
            "rss_before": median([r["rss_before_kib"] * 1024 for r in runs]),
            "rss_max": median([r["rss_max_kib"] * 1024 for r in runs]),
        }
        stats = summary[method]
        rows.append([
            method, f"{1000 * stats['import_s']:.0f}", f"{1000 * stats['load_s']:.1f}", mib(stats["peak"]),
            mib(stats["rss_before"]), mib(stats["rss_max"]), mib(stats["rss_max"] - stats["rss_before"]),
            f"{runs[-1]['rows']:,}",
        ])
    print_table(
        "load of the 15,625-row table",
        ["method", "import ms", "load ms", "tracemalloc peak MiB", "peak RSS after import MiB", "peak RSS MiB",
         "RSS added by load MiB", "rows"],
        rows,
    )

    if len(methods) == 2:
        npz, csv = summary["nascli npz"], summary["pandas csv"]
        same = abs(results["nascli npz"][-1]["checksum"] - results["pandas csv"][-1]["checksum"]) < 1e-6
        print_table(
            "ratios pandas / nascli (> 1: nascli is faster or smaller)",
            ["quantity", "ratio"],
            [
                ["load time", ratio_text(csv["load_s"], npz["load_s"])],
                ["import + load time", ratio_text(csv["import_s"] + csv["load_s"], npz["import_s"] + npz["load_s"])],
                ["tracemalloc peak during load", ratio_text(csv["peak"], npz["peak"])],
                ["peak RSS added by the load", ratio_text(csv["rss_max"] - csv["rss_before"],
                                                          npz["rss_max"] - npz["rss_before"])],
                ["peak RSS of the process", ratio_text(csv["rss_max"], npz["rss_max"])],
                ["same cifar10_test column sum in both", "yes" if same else "NO"],
            ],
        )
        console.print("tracemalloc sees Python and numpy allocations only, not the buffers of pandas' C parser; "
                      "the RSS columns include everything")
    return 0


if __name__ == "__main__":
    sys.exit(main())
