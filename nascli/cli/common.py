"""What every subcommand shares: error handling, exit codes, recipe resolution, output."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from nascli.errors import NasInputError, NasRuntimeError, StageInterrupted

F = TypeVar("F", bound=Callable[..., Any])

out = Console()
err = Console(stderr=True)

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

RecipeOption = typer.Option(None, "--recipe", "-r", help="YAML recipe with a paper's settings (see recipes/).",
                            exists=False, dir_okay=False)
SetOption = typer.Option([], "--set", "-s", help="Override a recipe key, e.g. --set optim.lr=0.05 (repeatable).")
QuietOption = typer.Option(False, "--quiet", "-q", help="No progress bars or tables (for scripts).")
BenchOption = typer.Option(None, "--bench", help="NB201 table file (.npz from `nas bench import`) instead of the "
                           "shipped one. (default: the shipped table)")
BenchSha256Option = typer.Option(None, "--bench-sha256", help="Refuse a table whose content sha256 differs "
                                 "(pins the ground truth). (default: no check)")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """Print one line to stderr and exit with `code`."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn library exceptions into one clear line and the documented exit code (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
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
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            fail(f"{exc.strerror}: {exc.filename}", EXIT_BAD_INPUT)
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
