"""`nas visualize`: cell diagrams, training curves, search history, DrNAS trajectories."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer

from nascli.cli.common import handle_errors, print_paths
from nascli.errors import NasInputError

viz_app = typer.Typer(help="Pictures: cells (PNG/SVG/DOT), training curves, search history, trajectories.",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(viz_app, name="visualize")


def _outputs(stem: Path, formats: str) -> list[Path]:
    suffixes = [f".{s.strip().lstrip('.')}" for s in formats.split(",") if s.strip()]
    unknown = [s for s in suffixes if s not in (".png", ".svg", ".pdf", ".dot")]
    if unknown:
        raise NasInputError(f"unknown picture format {unknown[0]!r}: use png, svg, pdf or dot")
    return [stem.with_suffix(s) for s in suffixes]


@viz_app.command("cell")
@handle_errors
def cell_command(
    arch: str = typer.Argument(..., help="genotype.json, text form, NB201 index, DARTS genotype name, or a "
                               "MobileNet architecture (21 ints or a name such as RLNAS_mobilenet)."),
    out_stem: Path = typer.Option(Path("cell"), "--out", "-o", help="Output path without suffix."),
    space: str | None = typer.Option(None, help="nb201, darts or mobilenet. (default: guessed from the "
                                     "architecture)"),
    formats: str = typer.Option("png,svg,dot", help="Comma-separated: png, svg, pdf, dot."),
    title: str | None = typer.Option(None, help="Figure title. (default: the architecture)"),
) -> None:
    """Draw the cell(s) of an architecture as in the NAS-Bench-201 / DARTS papers, or a MobileNet-space
    architecture as a strip of blocks per stage."""
    from nascli.spaces.resolve import resolve_architecture
    from nascli.viz import draw_darts_genotype, draw_nb201_cell

    resolved_space, resolved = resolve_architecture(arch, space)
    paths = _outputs(out_stem, formats)
    with _as_input_error():
        _draw_cell(resolved_space, resolved, paths, arch, title, draw_nb201_cell, draw_darts_genotype)


@contextlib.contextmanager
def _as_input_error() -> Iterator[None]:
    """The drawing functions raise ValueError for malformed input: report it as bad input (exit 2)."""
    try:
        yield
    except ValueError as exc:
        raise NasInputError(str(exc)) from None


def _draw_cell(resolved_space, resolved, paths, arch, title, draw_nb201_cell, draw_darts_genotype) -> None:  # type: ignore[no-untyped-def]
    if resolved_space.name == "mobilenet":
        from nascli.spaces.mobilenet import BLOCK_SHAPES, STAGES
        from nascli.viz import draw_mobilenet_strip

        text = resolved_space.format(resolved)
        written = draw_mobilenet_strip(resolved.choices, STAGES, BLOCK_SHAPES, paths, title=title or text)
        print_paths(f"blocks {text}", {p.suffix[1:]: p for p in written})
        return
    if resolved_space.name == "nb201":
        text = resolved_space.format(resolved)
        written = draw_nb201_cell(resolved.ops, paths, title=title or f"NB201 #{resolved_space.index(resolved)}")
        print_paths(f"cell {text}", {p.suffix[1:]: p for p in written})
        return
    g = resolved
    written = draw_darts_genotype(list(g.cell("normal")), list(g.normal_concat), list(g.cell("reduce")),
                                  list(g.reduce_concat),
                                  paths, title=title or (arch if not arch.startswith("Genotype(") else None))
    print_paths("normal and reduction cells", {p.suffix[1:]: p for p in written})


@viz_app.command("curves")
@handle_errors
def curves_command(
    log: Path = typer.Argument(..., help="log.jsonl of a training run (train-supernet, retrain)."),
    out_path: Path = typer.Option(None, "--out", "-o", help="Picture to write. (default: curves.png beside the log)"),
) -> None:
    """Loss, accuracy and learning rate per epoch."""
    from nascli.viz import plot_training_curves, read_jsonl

    records = _records(log, read_jsonl)
    target = out_path or log.with_name("curves.png")
    with _as_input_error():
        print_paths("curves", {"picture": plot_training_curves(records, target)})


@viz_app.command("history")
@handle_errors
def history_command(
    history: Path = typer.Argument(..., help="history.jsonl of a search."),
    out_path: Path = typer.Option(None, "--out", "-o", help="Picture to write. (default: history.png beside it)"),
) -> None:
    """Best and mean score per generation of a search."""
    from nascli.viz import plot_search_history, read_jsonl

    records = _records(history, read_jsonl)
    target = out_path or history.with_name("history.png")
    with _as_input_error():
        print_paths("history", {"picture": plot_search_history(records, target)})


@viz_app.command("trajectory")
@handle_errors
def trajectory_command(
    history: Path = typer.Argument(..., help="history.jsonl of a DrNAS search on NB201."),
    out_path: Path = typer.Option(None, "--out", "-o", help="Picture to write. (default: trajectory.png beside it)"),
) -> None:
    """DrNAS figure: accuracy range of architectures sampled from the Dirichlet, and the mean genotype's."""
    from nascli.viz import plot_dirichlet_trajectory, read_jsonl

    records = _records(history, read_jsonl)
    target = out_path or history.with_name("trajectory.png")
    with _as_input_error():
        print_paths("trajectory", {"picture": plot_dirichlet_trajectory(records, target)})


def _records(path: Path, read) -> list[dict]:  # type: ignore[no-untyped-def]
    if path.is_dir():
        raise NasInputError(f"{path} is a folder: pass the .jsonl file inside it")
    if not path.is_file():
        raise NasInputError(f"{path} does not exist")
    with _as_input_error():
        records = read(path)
    if not records:
        raise NasInputError(f"{path} holds no records yet")
    return records
