"""`nas correlate`: rank correlation of a score with ground truth (or another score), with intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nascli.cli.common import BenchOption, BenchSha256Option, QuietOption, err, handle_errors, out, print_paths


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("correlate")(correlate_command)


def _fmt(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4f}"


def _warn_about_matching(matching: dict[str, Any], scores: Path, against: Path | None) -> None:
    """One warning line each for repeated architectures and for rows that matched nothing."""
    if matching.get("duplicates"):
        err.print(f"[yellow]warning:[/] {matching['duplicates']} row(s) of {scores} repeat an earlier architecture: "
                  "each architecture counts once (its first row)", highlight=False, soft_wrap=True)
    if matching.get("against_duplicates"):
        err.print(f"[yellow]warning:[/] {matching['against_duplicates']} row(s) of {against} repeat an earlier "
                  "architecture: its first row is the one matched", highlight=False, soft_wrap=True)
    if matching.get("unmatched"):
        example = matching["unmatched_examples"][0]
        err.print(f"[yellow]warning:[/] {matching['unmatched']} architecture(s) of {scores} are not in {against} "
                  f"and are left out (e.g. {example[:80]}…)", highlight=False, soft_wrap=True)


@handle_errors
def correlate_command(
    scores: Path = typer.Option(..., "--scores", help="scores.csv written by `nas search` (or its folder)."),
    out_dir: Path | None = typer.Option(None, "--out", "-o", help="Folder for report.json and scatter.png. "
                                        "(default: a 'correlate' folder beside the scores' folder)"),
    score: str | None = typer.Option(None, help="Score column to correlate. (default: the file's first score)"),
    dataset: str = typer.Option("cifar10", help="Ground truth: cifar10, cifar10-valid, cifar100, imagenet16-120."),
    split: str = typer.Option("test", help="Ground-truth split: test or valid."),
    epochs: int = typer.Option(200, help="Ground-truth schedule: 200 or 12 epochs."),
    bench: str | None = BenchOption,
    bench_sha256: str | None = BenchSha256Option,
    against: Path | None = typer.Option(None, help="Correlate with a column of this other scores file (or CSV) "
                                        "instead; rows are matched by canonical architecture. (default: none, "
                                        "NB201 ground truth)"),
    against_score: str | None = typer.Option(None, help="Column of --against. (default: its first score)"),
    arch_column: str | None = typer.Option(None, "--arch-column", help="Column of --scores holding the "
                                           "architectures, for a CSV not written by nascli. (default: arch)"),
    against_arch_column: str | None = typer.Option(None, "--against-arch-column", help="Column of --against holding "
                                                   "the architectures. (default: arch)"),
    n_boot: int | None = typer.Option(None, help="Bootstrap resamples for the 95% intervals. (default: 1000; "
                                      "fewer for Kendall on large N)"),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    quiet: bool = QuietOption,
) -> None:
    """Kendall τ (τ-b and the RLNAS reference τ), Spearman, Pearson, top-k precision, with 95% intervals."""
    from nascli.analysis.correlate import correlate

    target = out_dir or (scores if scores.is_dir() else scores.parent).parent / "correlate"
    report = correlate(scores, target, score=score, dataset=dataset, split=split, epochs=epochs, bench=bench,
                       bench_sha256=bench_sha256, against=against, against_score=against_score, n_boot=n_boot,
                       seed=seed, arch_column=arch_column, against_arch_column=against_arch_column)
    _warn_about_matching(report["matching"], scores, against)
    if quiet:
        return
    table = Table(title=f"{report['score']} vs {report['truth']}: {report['n_used']} architectures "
                        f"({report['n_dropped']} dropped)")
    for column in ("metric", "value", "95% interval"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for key, label in (("kendall_tau_b", "Kendall τ-b"), ("kendall_tau_reference", "Kendall τ (RLNAS ranks)"),
                       ("spearman", "Spearman ρ"), ("pearson", "Pearson r")):
        m = report[key]
        table.add_row(label, _fmt(m["value"]), f"[{_fmt(m['ci_low'])}, {_fmt(m['ci_high'])}]")
    for key, m in report["top_k_precision"].items():
        table.add_row(f"precision {key.replace('_', ' ')} (k={m['k']})", _fmt(m["precision"]), "")
    table.add_row("rank of the true best", str(report["rank_of_true_best"]), "")
    out.print(table)
    print_paths("written", {"report": target / "report.json", "scatter": target / "scatter.png"})
