"""Print the end-of-pipeline summary of an RLNAS NB201 run folder (used by `make demo` and the pipelines)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table


def main(out: Path, synthetic: bool) -> None:
    """Best architecture, its NB201 accuracies, the angle's τ over all 15,625, and the pictures."""
    console = Console()
    genotype = json.loads((out / "search" / "genotype.json").read_text())
    report = json.loads((out / "correlate" / "report.json").read_text())
    table = Table(title="RLNAS on NAS-Bench-201: result", show_header=False)
    table.add_row("best architecture", f"NB201 #{genotype['index']} (text below)")
    table.add_row("its angle", f"{genotype['scores']['angle']:.4f} rad")
    bench = genotype.get("bench", {})
    table.add_row("NB201 test accuracy", ", ".join(f"{k} {v:.2f}%" for k, v in bench.items()))
    tau = report["kendall_tau_b"]
    table.add_row(f"Kendall τ-b of the angle ({report['n_used']} archs)",
                  f"{tau['value']:.3f}  [95% CI {tau['ci_low']:.3f}, {tau['ci_high']:.3f}]")
    table.add_row("τ as RLNAS computes it", f"{report['kendall_tau_reference']['value']:.3f}")
    console.print(table)
    console.print(f"best architecture: {genotype['text']}", highlight=False, soft_wrap=True)
    if synthetic:
        console.print("[yellow]note:[/] this supernet was trained on the built-in synthetic images, so its angle is "
                      "not expected to rank CIFAR-10 accuracy; `make rlnas-nb201-real` trains on real CIFAR-10.")
    console.print("pictures:")
    for path in sorted((out / "pictures").glob("*")) + [out / "correlate" / "scatter.png"]:
        console.print(f"  {path}", highlight=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--synthetic" in sys.argv)
