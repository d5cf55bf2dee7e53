"""Rich progress bars that vanish under --quiet or on non-zero ranks."""

from __future__ import annotations

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
    if not enabled:
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
