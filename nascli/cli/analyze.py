"""`nas analyze importance|motifs|sample|prune`: cell redundancy analysis (wiring only; see nascli.analysis)."""

from __future__ import annotations

from pathlib import Path

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
from nascli.errors import NasInputError

analyze_app = typer.Typer(help="Cell redundancy analysis (Wan et al., ICLR 2022): operation importance, important "
                          "motifs, Prim/Skip sampling, pruning by importance.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(analyze_app, name="analyze")


def _pct(value: float | None) -> str:
    return "–" if value is None or value != value else f"{100 * value:.1f}%"


def _summary_table(summary: list[dict], title: str) -> Table:
    table = Table(title=title)
    with_noise = any("important_above_noise" in row for row in summary)
    columns = ["dataset", "selection", "cell", "op", "slots", "mean OI", "important", "share of op",
               "share of important"] + (["important ≥ noise"] if with_noise else [])
    for column in columns:
        table.add_column(column, justify="left" if column in ("dataset", "selection", "cell", "op") else "right")
    for row in summary:
        mean = row["mean"]
        cells = [row["dataset"], row["selection"], row["cell"], row["op"], str(row["count"]),
                 "–" if mean != mean else f"{mean:+.4f}", str(row["important"]), _pct(row["share_important"]),
                 _pct(row["share_of_all_important"])]
        table.add_row(*cells, *([str(row.get("important_above_noise", "–"))] if with_noise else []))
    return table


@analyze_app.command("importance")
@handle_errors
def importance_command(
    out_dir: Path | None = typer.Option(None, "--out", "-o", help="Run folder for importance.csv, summary.csv, "
                                        "report.json and the figures (needed unless --write-neighbours). "
                                        "(default: none)"),
    space: str = typer.Option("nb201", help="nb201 (exact, from the shipped table) or darts."),
    dataset: list[str] = typer.Option([], "--dataset", help="NB201: cifar10, cifar100, imagenet16-120 "
                                      "(repeatable). (default: all three)"),
    selection: list[str] = typer.Option([], "--selection", help="top, bottom or uniform (repeatable). NB201 "
                                        "default: top and bottom; DARTS: selects from --scores-file."),
    fraction: float = typer.Option(0.05, help="Share of the archs in top/bottom (the reference: 5%)."),
    n: int = typer.Option(1000, "--n", help="uniform: number of architectures (the reference: 1,000)."),
    seed: int | None = typer.Option(None, help="Seed of the uniform sample (the reference: RandomState(0)); with "
                                    "--score also the search seed (default: the recipe's). (default: 0)"),
    threshold: float = typer.Option(0.001, help="An op is important when its importance exceeds this."),
    bench: str | None = BenchOption,
    bench_sha256: str | None = BenchSha256Option,
    genotype: list[str] = typer.Option([], "--genotype", help="DARTS: an architecture (Genotype text or a name "
                                       "such as DARTS_V2; repeatable). (default: none)"),
    archs: Path | None = typer.Option(None, "--archs", help="DARTS: file of genotypes, one per line. "
                                      "(default: none)"),
    scores_file: Path | None = typer.Option(None, "--scores-file", help="DARTS: performance from this CSV "
                                            "(arch/genotype column + value column, e.g. a `nas search` "
                                            "scores.csv). (default: none)"),
    column: str | None = typer.Option(None, help="Value column of --scores-file. (default: its first)"),
    unit: str = typer.Option("auto", help="Accuracy unit of the source: percent, fraction or auto (a file with "
                             "values > 1 is percent; a score is a fraction)."),
    score: str | None = typer.Option(None, help="DARTS: performance from this registered score (e.g. trained-acc, "
                                     "settings from --recipe/--set as for `nas search`). (default: none)"),
    recipe: Path | None = RecipeOption,
    overrides: list[str] = SetOption,
    cell: list[str] = typer.Option([], "--cell", help="DARTS: normal and/or reduce (repeatable). (default: both)"),
    repeat: Path | None = typer.Option(None, "--repeat", help="DARTS: the same archs evaluated again (another "
                                       "seed); |Δacc| is the noise, importances below it are flagged. (default: none)"),
    write_neighbours: Path | None = typer.Option(None, "--write-neighbours", help="DARTS: only write every arch "
                                                 "and neighbour to evaluate to this file (for `nas search "
                                                 "--strategy list --archs FILE`), then stop. (default: off)"),
    resume: bool = typer.Option(False, "--resume", help="DARTS: continue an interrupted run in --out."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier run in --out."),
    quiet: bool = QuietOption,
) -> None:
    """Operation importance: mean error change when one op slot is changed (redundancy paper §3)."""
    from nascli.analysis import redundancy

    if out_dir is None and (space != "darts" or write_neighbours is None):
        raise NasInputError("no run folder given: pass --out DIR")
    if space == "nb201":
        report = redundancy.run_importance_nb201(
            out_dir, datasets=dataset or ("cifar10", "cifar100", "imagenet16-120"),
            selections=selection or ("top", "bottom"), fraction=fraction, n_uniform=n, seed=seed or 0, bench=bench,
            bench_sha256=bench_sha256, threshold=threshold, overwrite=overwrite)
    elif space == "darts":
        report = _darts_importance(out_dir, genotype, archs, scores_file, column, unit, score, recipe, overrides,
                                   cell, repeat, write_neighbours, selection, fraction, n, seed, threshold, resume,
                                   overwrite, quiet)
        if report is None:
            return
    else:
        raise NasInputError(f"unknown space {space!r}: choose nb201 or darts")
    if quiet:
        return
    out.print(_summary_table(report["summary"], f"operation importance ({report['source']}), threshold "
                                                f"{report['threshold']:g}, {report['seconds']:.1f} s"))
    if report.get("missing"):
        out.print(f"[yellow]{report['missing']} neighbour evaluations are missing[/] (listed in missing.csv; "
                  "their slots have no importance)")
    print_paths("written", {name: out_dir / name for name in ("importance.csv", "summary.csv", "report.json",
                                                              "importance_distribution.png", "cell_importance.png")})


def _unit(unit: str) -> bool | None:
    if unit not in ("auto", "percent", "fraction"):
        raise NasInputError(f"unknown unit {unit!r}: choose percent, fraction or auto")
    return None if unit == "auto" else unit == "percent"


def _darts_importance(out_dir: Path | None, genotype: list[str], archs: Path | None, scores_file: Path | None,
                      column: str | None, unit: str, score: str | None, recipe: Path | None, overrides: list[str],
                      cell: list[str], repeat: Path | None, write_neighbours: Path | None, selection: list[str],
                      fraction: float, n: int, seed: int | None, threshold: float, resume: bool, overwrite: bool,
                      quiet: bool) -> dict | None:
    from nascli.analysis import redundancy
    from nascli.analysis.importance import FileSource
    from nascli.spaces import get_space

    cells = tuple(cell) or ("normal", "reduce")
    darts = get_space("darts")
    chosen = [darts.coerce(text) for text in genotype]
    if archs is not None:
        chosen += redundancy.read_genotypes(archs)
    percent = _unit(unit)
    file_source = FileSource(scores_file, column, percent) if scores_file is not None else None
    if selection:
        if file_source is None or len(selection) != 1:
            raise NasInputError("--selection on DARTS picks archs from --scores-file: give the file and one "
                                "of top, bottom, uniform")
        chosen += redundancy.select_from_source(file_source, selection[0], fraction, n, seed or 0)
    if not chosen:
        raise NasInputError("no DARTS architecture given: pass --genotype, --archs, or --scores-file with "
                            "--selection top|bottom|uniform")
    if write_neighbours is not None:
        count = redundancy.write_evaluation_set(chosen, write_neighbours, cells)
        if not quiet:
            out.print(f"{count} architectures (the {len(chosen)} given and their neighbours) written to "
                      f"{write_neighbours}; score them with `nas search --strategy list --archs {write_neighbours}`, "
                      "then pass the scores.csv as --scores-file")
        return None
    if out_dir is None:
        raise NasInputError("no run folder given: pass --out DIR")
    if (file_source is None) == (score is None):
        raise NasInputError("give exactly one performance source: --scores-file FILE or --score NAME")
    config: dict = {"scores_file": str(scores_file) if scores_file else None, "score": score}
    if file_source is not None:
        source = file_source
    else:
        from nascli.config import SearchConfig, resolve_config, to_dict

        cfg, _ = resolve_config(SearchConfig, recipe, overrides, flags(space="darts", score=score, seed=seed),
                                section="search")
        redundancy.check_importance_folder(out_dir, resume, overwrite)
        source = redundancy.score_source(cfg, out_dir, percent=bool(percent))
        config["search"] = to_dict(cfg)
    repeat_source = FileSource(repeat, column, percent) if repeat is not None else None
    config["source"] = source.name
    return redundancy.run_importance_darts(out_dir, chosen, source, cells=cells,
                                           selection=selection[0] if selection else "given", threshold=threshold,
                                           repeat=repeat_source, resume=resume, overwrite=overwrite, quiet=quiet,
                                           config=config)


@analyze_app.command("motifs")
@handle_errors
def motifs_command(
    importance: Path = typer.Option(..., "--importance", help="Run folder of `nas analyze importance`."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder for motifs.csv, report.json, motifs.png."),
    dataset: str | None = typer.Option(None, help="NB201: which dataset of the importance run. "
                                   "(default: its only one)"),
    selection: str | None = typer.Option(None, help="Which architectures of the importance run: top, bottom, "
                                         "uniform, given. (default: top, or the run's only selection)"),
    cell: list[str] = typer.Option([], "--cell", help="DARTS: normal and/or reduce (repeatable). (default: normal, "
                                   "as the paper)"),
    min_support: float = typer.Option(0.05, help="Minimum support: a share of the architectures (< 1) or a count."),
    min_vertices: int = typer.Option(2, help="Smallest motif, in vertices."),
    max_vertices: int = typer.Option(6, help="Largest motif, in vertices."),
    threshold: float = typer.Option(0.001, help="Keep edges of importance ≥ this."),
    unimportant: bool = typer.Option(False, "--unimportant", help="Keep the edges of importance ≤ threshold "
                                     "instead (the reference's condition 'leq')."),
    reference_split: bool = typer.Option(False, "--reference-split", help="The reference's --normal_only random "
                                         "subgraph: randint(n) edges instead of n (a biased baseline)."),
    reference_induced: bool = typer.Option(False, "--reference-induced", help="Count reference incidence with "
                                           "induced subgraph isomorphism, as the reference's networkx call does."),
    reference_gspan: bool = typer.Option(False, "--reference-gspan", help="Keep only the out-tree motifs, the "
                                         "ones the reference's directed gSpan can find."),
    seed: int = typer.Option(0, help="Seed of the random reference subgraphs."),
    top: int = typer.Option(12, help="Motifs shown in the table and the figure."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier run in --out."),
    quiet: bool = QuietOption,
) -> None:
    """Frequent important subgraphs (gSpan semantics), ranked by support / reference incidence."""
    from nascli.analysis.redundancy import run_motifs

    report = run_motifs(importance, out_dir, dataset=dataset, selection=selection, cells=tuple(cell) or ("normal",),
                        min_support=min_support, min_vertices=min_vertices, max_vertices=max_vertices,
                        threshold=threshold, keep_unimportant=unimportant, reference_split=reference_split,
                        reference_induced=reference_induced, reference_gspan=reference_gspan, seed=seed, top=top,
                        overwrite=overwrite)
    if quiet:
        return
    table = Table(title=f"{report['motifs']} motifs in {report['graphs']} cells (support ≥ "
                        f"{report['min_support_count']}); top {len(report['top'])}")
    for column in ("#", "motif", "support", "ref incidence", "ratio"):
        table.add_column(column, justify="left" if column == "motif" else "right", overflow="fold")
    for rank, m in enumerate(report["top"], start=1):
        ratio = "∞ (flagged)" if m["ratio"] is None else f"{m['ratio']:.2f}"
        table.add_row(str(rank), m["motif"], str(m["support"]), str(m["ref_incidence"]), ratio)
    out.print(table)
    print_paths("written", {name: out_dir / name for name in ("motifs.csv", "report.json", "motifs.png")})


@analyze_app.command("sample")
@handle_errors
def sample_command(
    out_file: Path = typer.Option(..., "--out", "-o", help="File of genotypes to write, one per line."),
    sampler: str = typer.Option("prim", help="uniform (Random), prim, skip or primskip."),
    wiring: str = typer.Option("full", help="Skip/PrimSkip wiring: full (state s reads 0..s−1) or reference (the "
                               "paper code: 0..s−2)."),
    n: int = typer.Option(100, "--n", help="Number of genotypes (the paper: 100 per group)."),
    seed: int = typer.Option(0, help="Seed of the draws."),
    quiet: bool = QuietOption,
) -> None:
    """Random / Prim / Skip / PrimSkip DARTS genotypes, for `nas search --strategy list` and `nas retrain`."""
    from nascli.analysis.redundancy import sample_genotypes, write_genotypes

    if wiring not in ("full", "reference"):
        raise NasInputError(f"unknown wiring {wiring!r}: choose full or reference")
    name = sampler
    if wiring == "reference":
        if sampler not in ("skip", "primskip"):
            raise NasInputError("--wiring reference applies to skip and primskip only")
        name = f"{sampler}-reference"
    path = write_genotypes(sample_genotypes(name, n, seed), out_file)
    if not quiet:
        out.print(f"{n} {name} genotypes (seed {seed}) written to {path}")


@analyze_app.command("prune")
@handle_errors
def prune_command(
    importance: Path = typer.Option(..., "--importance", help="Run folder of a DARTS `nas analyze importance`."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder for pruned.csv and genotypes.txt."),
    order: str = typer.Option("ascending", help="ascending (least important first), descending, or both."),
    max_removed: int | None = typer.Option(None, "--max-removed", help="Slots to remove at most. (default: "
                                           "round(0.49 · slots): 8 of 16, as the reference)"),
    arch: str | None = typer.Option(None, help="Only this architecture of the importance run. (default: all)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier run in --out."),
    quiet: bool = QuietOption,
) -> None:
    """Successive removal: replace one more slot by `none` each time, in importance order."""
    from nascli.analysis.redundancy import run_prune

    report = run_prune(importance, out_dir, order=order, max_removed=max_removed, arch=arch, overwrite=overwrite)
    if not quiet:
        out.print(f"{report['genotypes']} pruned genotypes of {report['archs']} architectures")
        print_paths("written", {k: Path(v) for k, v in report["files"].items()})
