"""`nas bench`: query the shipped NAS-Bench-201 table; import the official benchmark files into it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nascli.cli.common import BenchOption, BenchSha256Option, handle_errors, out
from nascli.errors import NasInputError

bench_app = typer.Typer(help="NAS-Bench-201 ground truth: query the shipped table, import official files.",
                        no_args_is_help=True)

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "imagenet16-120")


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(bench_app, name="bench")


@bench_app.command("query")
@handle_errors
def query_command(
    arch: str = typer.Argument(..., help="NB201 architecture: official index, text form or genotype.json."),
    dataset: str | None = typer.Option(None, help="Only this dataset: cifar10, cifar10-valid, cifar100, "
                                       "imagenet16-120. (default: all)"),
    bench: str | None = BenchOption,
    bench_sha256: str | None = BenchSha256Option,
) -> None:
    """Print one architecture's row: accuracies (200 and 12 epochs), parameters and FLOPs."""
    from nascli.bench.table import BenchTable, column_name
    from nascli.spaces.resolve import resolve_architecture

    if dataset is not None:
        column_name(dataset)  # an unknown dataset is named as the user wrote it, with the choices

    space, resolved = resolve_architecture(arch, "nb201")
    index = space.index(resolved)
    table = BenchTable.load(bench, expected_sha256=bench_sha256)
    names = [dataset] if dataset else list(DATASETS)
    view = Table(title=f"NB201 #{index}  {space.format(resolved)}")
    for column in ("dataset", "valid %", "test %", "valid % (12 ep)", "test % (12 ep)", "params M", "FLOPs M"):
        view.add_column(column, justify="right" if column != "dataset" else "left")
    for name in names:
        cells = [name]
        for epochs in (200, 12):
            for split in ("valid", "test"):
                try:
                    cells.append(f"{table.metric(name, split, epochs)[index]:.2f}")
                except NasInputError:  # the benchmark has no such column (cifar10-valid at 12 epochs)
                    cells.append("–")
        key = {"cifar10-valid": "cifar10", "imagenet16-120": "imagenet16"}.get(name, name)
        cells += [f"{table.column(f'params_{key}')[index]:.6f}", f"{table.column(f'flops_{key}')[index]:.4f}"]
        view.add_row(*cells)
    out.print(view)
    out.print(f"table {table.source} sha256 {table.sha256}", highlight=False)


@bench_app.command("import")
@handle_errors
def import_command(
    source: Path = typer.Argument(..., help="Official file: NAS-Bench-201 v1.0/v1.1 .pth, NATS-tss .pickle.pbz2 "
                                  "or a folder of per-architecture NATS records."),
    out_path: Path = typer.Option(..., "--out", "-o", help="Table file to write (.npz)."),
    allow_partial: bool = typer.Option(False, help="Accept files that hold only some architectures (NaN rows)."),
) -> None:
    """Convert the official benchmark files into nascli's compact table (checked by content hash)."""
    from nascli.bench.importer import import_official, write_table

    if out_path.exists():
        raise NasInputError(f"{out_path} exists: choose another --out (an existing table is never overwritten)")
    columns = import_official(source, allow_partial=allow_partial)
    digest = write_table(columns, out_path)
    out.print(f"wrote {out_path}  sha256 {digest}", highlight=False)
    out.print(f"use it with --bench {out_path} --bench-sha256 {digest}, or NASCLI_NB201_TABLE={out_path}",
              highlight=False)
