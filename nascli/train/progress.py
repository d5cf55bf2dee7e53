"""Rich progress bars that vanish under --quiet or on non-zero ranks."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def launched_rank() -> int:
    """This process's rank under torchrun (0 when not launched by it), readable before any process group exists."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def notice(message: str) -> None:
    """One line to stderr about a choice the user should know of (rank 0 only, also under --quiet)."""
    if launched_rank() == 0:
        console.print(f"[yellow]note:[/] {message}", highlight=False, soft_wrap=True)


class NullProgress:
    """Stand-in with the Progress methods used here, doing nothing."""

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        """No task."""
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to update."""

    def advance(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to advance."""

    def remove_task(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to remove."""


def make_progress(enabled: bool = True) -> Progress | NullProgress:
    """A progress display with count, rate, elapsed and remaining time; a no-op when disabled."""
    if not enabled or launched_rank() != 0:  # under torchrun one bar, from rank 0
        return NullProgress()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
