"""Writing figures and DOT text to the files a caller names, chosen by file suffix."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
DOT_SUFFIX = ".dot"
PNG_DPI = 200


def check_suffixes(out_paths: Sequence[Path | str], allow_dot: bool) -> list[Path]:
    """The paths as `Path`s; `ValueError` when none is given or a suffix cannot be written."""
    paths = [Path(p) for p in out_paths]
    if not paths:
        raise ValueError("no output path given: name at least one file ending in .png, .svg or .pdf")
    allowed = FIGURE_SUFFIXES + ((DOT_SUFFIX,) if allow_dot else ())
    for path in paths:
        if path.suffix.lower() not in allowed:
            raise ValueError(f"cannot write {str(path)!r}: the file name must end in one of {', '.join(allowed)}")
    return paths


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary sibling file, so a reader never sees a half-written file."""
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    if len(temporary.name.encode("utf-8")) > 255:  # a legal name must not fail for its temporary sibling's length
        temporary = path.with_name(f".nascli-{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        os.replace(temporary, path)
    except OSError as exc:  # name the file the user asked for, not the hidden temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        temporary.unlink(missing_ok=True)


def save_outputs(
    figure: Figure | Callable[[], Figure], out_paths: Sequence[Path | str], dot_text: str | None = None
) -> list[Path]:
    """Save the figure to every PNG/SVG/PDF path and `dot_text` to every .dot path; returns the paths.

    `figure` may be a function that builds it, called only when some path needs a picture.
    """
    paths = check_suffixes(out_paths, allow_dot=dot_text is not None)
    if callable(figure) and not isinstance(figure, Figure):
        if any(path.suffix.lower() != DOT_SUFFIX for path in paths):
            figure = figure()
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == DOT_SUFFIX:
            _replace_atomically(path, lambda tmp: tmp.write_text(dot_text, encoding="utf-8"))
            continue
        file_format = suffix[1:]
        # SVG text stays text (searchable, editable in Inkscape/Illustrator) instead of glyph outlines.
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "nascli", "pdf.fonttype": 42}):
            _replace_atomically(
                path,
                lambda tmp, fmt=file_format: figure.savefig(
                    tmp, format=fmt, dpi=PNG_DPI, facecolor="white", metadata=_metadata(fmt)
                ),
            )
    return paths


def _metadata(file_format: str) -> dict[str, str | None]:
    """File metadata without creation dates, so identical figures give identical files."""
    if file_format == "svg":
        return {"Date": None}
    if file_format == "pdf":
        return {"CreationDate": None}
    return {}
