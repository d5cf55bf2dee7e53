"""`list`: score the architectures of a file, once each, in the file's order (resumable like every strategy).

The file holds one architecture per line in any form the space reads (NB201: the arch string or an official index;
DARTS: the flat or the pt.darts nested `Genotype(...)` text, or a registered name such as DARTS_V2), blank lines
and `#` comments skipped; or it is a CSV (a `nas search` scores.csv, or any CSV with `arch_column`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nascli.artifacts import file_sha256
from nascli.config import SearchConfig
from nascli.errors import NasInputError
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.base import STRATEGIES, Allowed, Strategy


@dataclass
class ArchitectureList:
    """The architectures of a file in order, each once, and the lines that repeated an earlier one."""

    archs: list[Architecture]
    lines: list[int]
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    """(line, line of the first occurrence) of each repeated architecture (same canonical form)."""


def _entries(path: Path, column: str | None) -> list[tuple[int, str]]:
    """(line number, text) of each architecture entry of a text file or a CSV column."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NasInputError(f"{path} is not a UTF-8 text file: write one architecture per line") from None
    if column is None and path.suffix.lower() != ".csv":
        return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
                if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(text.splitlines())
    wanted = column or "arch"
    if not reader.fieldnames or wanted not in reader.fieldnames:
        found = ", ".join(reader.fieldnames or []) or "none"
        raise NasInputError(f"{path} has no column {wanted!r} (its columns: {found}): name the architecture column "
                            "with --arch-column")
    return [(n, (row.get(wanted) or "").strip()) for n, row in enumerate(reader, 2)
            if (row.get(wanted) or "").strip()]


def read_architectures(space: SearchSpace, path: str | Path, column: str | None = None) -> ArchitectureList:
    """Parse every entry of `path` in `space`; an entry that does not parse is an input error naming its line."""
    path = Path(path)
    if not path.is_file():
        raise NasInputError(f"architecture file {path} does not exist: pass --archs FILE (one architecture a line)")
    result = ArchitectureList(archs=[], lines=[])
    first_line: dict[str, int] = {}
    for line, entry in _entries(path, column):
        try:
            arch = space.coerce(entry)
        except NasInputError as exc:
            from nascli.spaces.resolve import guess_space

            guessed = guess_space(entry)
            hint = f"; it looks like a {guessed} architecture: pass --space {guessed}" if guessed not in (
                None, space.name) else ""
            raise NasInputError(f"{path} line {line}: not a {space.name} architecture ({exc}){hint}") from None
        key = space.format(space.canonical(arch))
        if key in first_line:
            result.duplicates.append((line, first_line[key]))
            continue
        first_line[key] = line
        result.archs.append(arch)
        result.lines.append(line)
    if not result.archs:
        raise NasInputError(f"{path} holds no architecture: write one per line")
    return result


@STRATEGIES.register("list")
class ListStrategy(Strategy):
    """Every architecture of `cfg.archs` in order, `batch` at a time; repeats of an architecture are scored once."""

    name = "list"

    def __init__(self, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> None:
        super().__init__(space, cfg, allowed)
        if not cfg.archs:
            raise NasInputError("--strategy list scores the architectures of a file: pass --archs FILE")
        self.path = Path(cfg.archs)
        self.listing = read_architectures(space, self.path, cfg.arch_column)
        self.source_sha256 = file_sha256(self.path)
        self.position = 0
        if self.listing.duplicates and not cfg.runtime.quiet:
            from nascli.train.progress import console

            line, first = self.listing.duplicates[0]
            console.print(f"[yellow]warning:[/] {len(self.listing.duplicates)} line(s) of {self.path} repeat an "
                          f"earlier architecture (e.g. line {line} = line {first}); each is scored once",
                          highlight=False)

    def ask(self) -> list[Architecture]:
        """The next `batch` architectures of the file that pass the constraints."""
        batch: list[Architecture] = []
        while self.position < len(self.listing.archs) and len(batch) < self.cfg.batch:
            arch = self.listing.archs[self.position]
            self.position += 1
            if self.allowed(arch):
                batch.append(arch)
        return batch

    def state_dict(self) -> dict[str, Any]:
        """Base state plus the position in the file and the file's hash."""
        return {**super().state_dict(), "position": self.position, "source_sha256": self.source_sha256}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output; the file must be the one the search started with."""
        if state.get("source_sha256") != self.source_sha256:
            raise NasInputError(f"{self.path} changed since this search started: restore it, or start a new search "
                                "with a new --out")
        super().load_state_dict(state)
        self.position = int(state["position"])
