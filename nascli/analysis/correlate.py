"""`correlate` as a library call: a scores.csv against NB201 ground truth, or against another scores file."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nascli.analysis.correlation import correlation_report
from nascli.artifacts import MANIFEST, RunFolder, atomic_write_json, read_manifest
from nascli.errors import NasInputError


@dataclass
class ScoresFile:
    """The rows of a scores.csv: architecture texts and one float column per score."""

    path: Path
    space: str | None
    archs: list[str]
    columns: dict[str, np.ndarray]
    duplicates: int = 0
    """Repeated rows of one architecture with the same values, counted once."""


def read_scores(path: str | Path) -> ScoresFile:
    """Read a `nas search` scores.csv (its run manifest, when beside it, names the space)."""
    path = Path(path)
    if path.is_dir():
        path = path / "scores.csv"
    if not path.is_file():
        raise NasInputError(f"scores file {path} does not exist: pass the scores.csv a `nas search` wrote")
    space = None
    if (path.parent / MANIFEST).is_file():
        space = read_manifest(path.parent).get("space")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or header[0] != "arch":
            raise NasInputError(f"{path} is not a nascli scores file (its first column must be 'arch')")
        rows = [row for row in reader if row]
    rows, duplicates = _unique_rows(path, header, rows)
    archs = [row[0] for row in rows]
    columns = {}
    for j, name in enumerate(header[1:], 1):
        try:
            columns[name] = np.array([float(row[j]) for row in rows], dtype=np.float64)
        except (ValueError, IndexError):
            continue  # a non-numeric column is not a score
    if space is None and archs:
        space = "nb201" if archs[0].startswith("|") else "darts" if archs[0].startswith("Genotype(") else None
    return ScoresFile(path=path, space=space, archs=archs, columns=columns, duplicates=duplicates)


def _unique_rows(path: Path, header: list[str], rows: list[list[str]]) -> tuple[list[list[str]], int]:
    """One row per architecture: a repeated identical row counts once, a repeat with other values is refused."""
    first: dict[str, tuple[int, list[str]]] = {}
    kept = []
    for number, row in enumerate(rows, 2):  # line 1 is the header
        seen = first.get(row[0])
        if seen is None:
            first[row[0]] = (number, row)
            kept.append(row)
        elif _values(header, seen[1]) != _values(header, row):
            raise NasInputError(f"{path} lists {row[0][:50]!r} twice with different values (lines {seen[0]} and "
                                f"{number}): keep one row per architecture")
    return kept, len(rows) - len(kept)


def _values(header: list[str], row: list[str]) -> list[str]:
    """The cells of a row but the step a search scored it in (which may differ between repeats)."""
    return [cell for name, cell in zip(header, row, strict=False) if name != "step"]


def _column(scores: ScoresFile, name: str | None) -> tuple[str, np.ndarray]:
    candidates = [c for c in scores.columns if c not in ("step", "index")]
    if name is None:
        if not candidates:
            raise NasInputError(f"{scores.path} has no score column")
        name = candidates[0]
    if name not in scores.columns:
        raise NasInputError(f"{scores.path} has no column {name!r}: choose one of {', '.join(candidates)}")
    return name, scores.columns[name]


def correlate(
    scores_path: str | Path, out: str | Path, *, score: str | None = None, dataset: str = "cifar10",
    split: str = "test", epochs: int = 200, bench: str | None = None, bench_sha256: str | None = None,
    against: str | Path | None = None, against_score: str | None = None, n_boot: int | None = None,
    seed: int = 0, overwrite: bool = True, plot: bool = True,
) -> dict[str, Any]:
    """Correlate a score column with NB201 ground truth (or another file's column); writes report.json and
    scatter.png into `out` and returns the report."""
    scores = read_scores(scores_path)
    name, values = _column(scores, score)
    highlight = None
    if against is not None:
        other = read_scores(against)
        other_name, other_values = _column(other, against_score)
        lookup = dict(zip(other.archs, other_values, strict=True))
        truth = np.array([lookup.get(a, math.nan) for a in scores.archs], dtype=np.float64)
        truth_name = f"{other_name} ({other.path})"
        space = scores.space
    else:
        if scores.space != "nb201":
            raise NasInputError(f"{scores.path} holds {scores.space or 'unknown'}-space architectures: ground truth "
                                "exists for NB201 only; compare two score files with --against instead")
        from nascli.bench.table import BenchTable
        from nascli.spaces import get_space

        table = BenchTable.load(bench, expected_sha256=bench_sha256)
        space_obj = get_space("nb201")
        indices = space_obj.indices_of(scores.archs)
        truth = table.metric(dataset, split, epochs)[indices]
        truth_name = f"{dataset} {split} accuracy ({epochs} epochs)"
        space = "nb201"
        genotype = scores.path.parent / "genotype.json"
        if genotype.is_file():
            try:
                best_text = json.loads(genotype.read_text(encoding="utf-8"))["text"]
                highlight = scores.archs.index(best_text)
            except (ValueError, KeyError, json.JSONDecodeError):
                highlight = None
    report = correlation_report(values, truth, n_boot=n_boot, seed=seed, names=(name, truth_name))
    report.update(scores_file=str(scores.path.absolute()), duplicate_rows=scores.duplicates, space=space,
                  dataset=dataset if against is None else None, split=split if against is None else None)
    run = RunFolder(out)
    run.prepare(kind="correlate", space=space, resume=False, overwrite=overwrite)
    run.start(kind="correlate", space=space, dataset=dataset, config={
        "score": name, "dataset": dataset, "split": split, "epochs": epochs, "bench": bench,
        "against": str(against) if against else None, "n_boot": n_boot, "seed": seed}, seed=seed,
        parents=[scores.path] + ([Path(against)] if against else []))
    atomic_write_json(run.file("report.json"), _finite(report))
    if plot:
        from nascli.viz.plots import plot_score_scatter

        plot_score_scatter(values, truth, run.file("scatter.png"), name, truth_name, highlight=highlight,
                           tau=report["kendall_tau_b"]["value"])
    run.finish("done", n_used=report["n_used"])
    return report


def _finite(obj: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
