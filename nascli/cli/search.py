"""`nas search`: options → recipe → `nascli.strategies.runner.run_search` → top-10 table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nascli.cli.common import (
    BenchOption,
    BenchSha256Option,
    QuietOption,
    RecipeOption,
    SetOption,
    flags,
    handle_errors,
    out,
    print_paths,
)
from nascli.config import SearchConfig, resolve_config


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("search")(search_command)


def _million(text: str | None) -> float | None:
    """'600M' / '600' / '0.6G' → 600.0 (millions)."""
    if text is None:
        return None
    raw = text.strip().upper()
    scale = 1.0
    if raw.endswith("G"):
        raw, scale = raw[:-1], 1000.0
    elif raw.endswith("M"):
        raw = raw[:-1]
    try:
        return float(raw) * scale
    except ValueError:
        from nascli.errors import NasInputError

        raise NasInputError(f"{text!r} is not a size: write e.g. 600M or 0.6G") from None


@handle_errors
def search_command(
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder to write (scores.csv, history.jsonl, "
                                 "genotype.json, manifest.json)."),
    supernet: Path | None = typer.Option(None, help="train-supernet run folder (needed by angle and "
                                         "supernet-acc). (default: none)"),
    recipe: Path | None = RecipeOption,
    overrides: list[str] = SetOption,
    space: str | None = typer.Option(None, help="Search space: nb201, darts or mobilenet. (default: recipe or "
                                     "nb201)"),
    strategy: str | None = typer.Option(None, help="evolution, random, exhaustive, list (--archs), reinforce, "
                                        "aging-evolution, rf (RMI-NAS), or the differentiable darts "
                                        "and drnas (settings under differentiable.* in the recipe). "
                                        "(default: evolution)"),
    score: str | None = typer.Option(None, help="angle, supernet-acc, flops, params, bench, trained-acc "
                                     "(settings under trained_acc.*) or rmi (RMI-NAS; needs --teacher). "
                                     "(default: angle)"),
    extra_score: list[str] = typer.Option([], "--extra-score", help="Also record this score for every "
                                          "evaluated architecture (repeatable). (default: none)"),
    dataset: str | None = typer.Option(None, help="Dataset for benchmark look-ups and cost conventions. "
                                       "(default: the supernet's)"),
    seed: int | None = typer.Option(None, help="Seed of the strategy. (default: 0)"),
    population: int | None = typer.Option(None, help="Evolution: population per generation. (default: 100)"),
    parents: int | None = typer.Option(None, help="Evolution: size of the elitist parent archive. (default: 30)"),
    mutation: int | None = typer.Option(None, help="Evolution: mutation children per generation. (default: 50)"),
    crossover: int | None = typer.Option(None, help="Evolution: crossover children per generation. (default: 50)"),
    generations: int | None = typer.Option(None, help="Evolution: generations. (default: 20)"),
    mutation_prob: float | None = typer.Option(None, help="Evolution: per-gene mutation probability. (default: 0.1)"),
    samples: int | None = typer.Option(None, help="Random: number of architectures. (default: 1000)"),
    archs: Path | None = typer.Option(None, "--archs", help="List: file of architectures to score, one a line (any "
                                      "text form, an NB201 index, a registered name) or a CSV / scores.csv. "
                                      "(default: none)"),
    arch_column: str | None = typer.Option(None, "--arch-column", help="List: the CSV column holding the "
                                           "architectures. (default: arch)"),
    batch: int | None = typer.Option(None, "--batch", help="Random, exhaustive, list: architectures scored per "
                                     "step (each step is checkpointed). (default: 500)"),
    max_flops: str | None = typer.Option(None, "--max-flops", help="Never score architectures above this many "
                                         "FLOPs, e.g. 600M. (default: no limit)"),
    max_params: str | None = typer.Option(None, "--max-params", help="Never score architectures above this many "
                                          "parameters, e.g. 5M. (default: no limit)"),
    lookup: str | None = typer.Option(None, "--lookup", help="DARTS, MobileNet: count FLOPs/params for --max-flops/"
                                      "--max-params from this `nas flops-table --lookup` file, counted in "
                                      "constraints.flops_convention. (default: built in memory)"),
    bench: str | None = BenchOption,
    bench_sha256: str | None = BenchSha256Option,
    data_root: Path | None = typer.Option(None, "--data-root", help="darts/drnas, trained-acc and rmi: folder of "
                                          "the training data (differentiable.data.root, trained_acc.data.root, "
                                          "rmi.data.root). (default: recipe)"),
    teacher: Path | None = typer.Option(None, "--teacher", help="rmi score: the teacher, a `nas retrain --network` "
                                        "run folder or a checkpoint file (rmi.teacher). (default: recipe)"),
    device: str | None = typer.Option(None, help="auto, cpu or cuda. (default: auto)"),
    resume: bool = typer.Option(False, "--resume", help="Continue the search in --out from its last generation."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished search in --out."),
    quiet: bool = QuietOption,
) -> None:
    """Search a space with a strategy maximising a score (RLNAS: --strategy evolution --score angle)."""
    from nascli.strategies.runner import run_search

    cfg, meta = resolve_config(SearchConfig, recipe, overrides, flags(
        space=space, strategy=strategy, score=score, extra_scores=list(extra_score) or None, dataset=dataset,
        seed=seed, evolution__population=population, evolution__parents=parents, evolution__mutation=mutation,
        evolution__crossover=crossover, evolution__generations=generations,
        evolution__mutation_prob=mutation_prob, samples=samples, constraints__max_flops=_million(max_flops),
        constraints__max_params=_million(max_params), constraints__lookup=lookup, bench=bench,
        bench_sha256=bench_sha256, runtime__device=device,
        runtime__quiet=quiet or None, differentiable__data__root=str(data_root) if data_root else None,
        trained_acc__data__root=str(data_root) if data_root else None, archs=str(archs) if archs else None,
        arch_column=arch_column, batch=batch,
        rmi__data__root=str(data_root) if data_root else None, rmi__teacher=str(teacher) if teacher else None,
    ), section="search")
    result = run_search(cfg, out_dir, supernet=supernet, resume=resume, overwrite=overwrite, meta=meta)
    if cfg.runtime.quiet or not result.is_main:  # under torchrun only rank 0 reports
        return
    from nascli.strategies.differentiable import DIFFERENTIABLE

    if cfg.strategy in DIFFERENTIABLE:
        _print_differentiable(result, cfg.strategy)
        return
    table = Table(title=f"top {len(result.top)} of {result.evaluated} by {cfg.score} ({cfg.strategy})")
    table.add_column("#", justify="right")
    table.add_column("architecture", overflow="fold")
    table.add_column(cfg.score, justify="right")
    has_bench = bool(result.top) and "bench" in result.top[0]
    if has_bench:
        table.add_column("index", justify="right")
        for name in ("C10 test", "C100 test", "IN16 test"):
            table.add_column(name, justify="right")
    for rank, row in enumerate(result.top, 1):
        cells = [str(rank), row["arch"], f"{row['score']:.4f}"]
        if has_bench:
            b = row["bench"]
            cells += [str(row["index"]), f"{b['cifar10']:.2f}", f"{b['cifar100']:.2f}", f"{b['imagenet16-120']:.2f}"]
        table.add_row(*cells)
    out.print(table)
    print_paths("written", {name: result.out / name for name in
                            ("scores.csv", "history.jsonl", "genotype.json", "manifest.json")})


def _print_differentiable(result: Any, strategy: str) -> None:
    """The derived genotype of a darts/drnas search (and its NB201 benchmark accuracies)."""
    genotype = result.genotype
    if not genotype:
        out.print(f"{strategy}: stopped after {result.evaluated} epochs; continue with --resume")
        return
    out.print(f"[bold]{strategy} genotype[/] after {result.evaluated} epochs: {genotype['text']}", highlight=False)
    bench = genotype.get("bench")
    if bench:
        out.print(f"  NB201 #{genotype['index']}: C10 test {bench['cifar10']:.2f}  C100 test {bench['cifar100']:.2f}  "
                  f"IN16 test {bench['imagenet16-120']:.2f}", highlight=False)
    print_paths("written", {name: result.out / name for name in
                            ("genotype.json", "history.jsonl", "manifest.json", "last.pt")})
