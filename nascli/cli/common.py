"""What every subcommand shares: error handling, exit codes, recipe resolution, output."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from nascli.errors import NasInputError, NasRuntimeError, StageInterrupted
from nascli.train.progress import console as progress_console
from nascli.train.progress import launched_rank

F = TypeVar("F", bound=Callable[..., Any])

out = Console()
err = Console(stderr=True)
PIPED_WIDTH = 200
"""Width of tables and progress lines written to a file or a pipe (rich would cut them to 80 characters,
numbers included)."""

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

RecipeOption = typer.Option(None, "--recipe", "-r", help="YAML recipe with a paper's settings (see recipes/). "
                            "(default: none, nascli's defaults)",
                            exists=False, dir_okay=False)
SetOption = typer.Option([], "--set", "-s", help="Override a recipe key, e.g. --set optim.lr=0.05 (repeatable). "
                      "(default: none)")
QuietOption = typer.Option(False, "--quiet", "-q", help="No progress bars or tables (for scripts).")
BenchOption = typer.Option(None, "--bench", help="NB201 table file (.npz from `nas bench import`) instead of the "
                           "shipped one. (default: the shipped table)")
BenchSha256Option = typer.Option(None, "--bench-sha256", help="Refuse a table whose content sha256 differs "
                                 "(pins the ground truth). (default: no check)")


def widen_when_piped() -> None:
    """Give tables and progress lines written to a file or a pipe room for every column, unless COLUMNS says
    otherwise."""
    if os.environ.get("COLUMNS"):
        return
    for console in (out, err, progress_console):
        if not console.is_terminal:
            console.width = PIPED_WIDTH


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """Print one line to stderr and exit with `code`."""
    line = " ".join(message.split())  # one line, whatever the message held
    err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn library exceptions into one clear line and the documented exit code (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out.quiet = launched_rank() != 0  # under torchrun only rank 0 prints results (progress bars likewise)
        try:
            return fn(*args, **kwargs)
        except NasInputError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except StageInterrupted as exc:
            err.print(f"[yellow]interrupted:[/] {exc}; continue with --resume", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]", highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except NasRuntimeError as exc:
            fail(str(exc), EXIT_FAILURE)
        except FileNotFoundError as exc:
            fail(f"{exc.filename} does not exist: check the path", EXIT_BAD_INPUT)
        except OSError as exc:  # any other file-system error that no writer turned into a message already
            from nascli.artifacts import output_error  # imports torch: only when needed

            error = output_error(exc, action="use")
            fail(str(error), EXIT_BAD_INPUT if isinstance(error, NasInputError) else EXIT_FAILURE)
        return None

    return wrapper  # type: ignore[return-value]


def flags(**values: Any) -> dict[str, Any]:
    """Typed CLI flags as dotted recipe keys, dropping those not given (None)."""
    return {key.replace("__", "."): value for key, value in values.items() if value is not None}


def print_paths(title: str, paths: dict[str, Path]) -> None:
    """A short list of written files."""
    out.print(f"[bold]{title}[/]")
    for label, path in paths.items():
        out.print(f"  {label:<14} {path}", highlight=False)


def is_tty() -> bool:
    """Whether stderr is a terminal (progress bars only then, unless forced)."""
    return sys.stderr.isatty()
