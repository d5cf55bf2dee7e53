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
from nascli.spaces.base import SearchSpace
from nascli.spaces.resolve import guess_space


@dataclass
class ScoresFile:
    """The rows of a scores.csv: architecture texts and one float column per score."""

    path: Path
    space: str | None
    archs: list[str]
    columns: dict[str, np.ndarray]
    duplicates: int = 0
    """Repeated rows of one architecture with the same values, counted once."""


def read_scores(path: str | Path, arch_column: str | None = None) -> ScoresFile:
    """Read a `nas search` scores.csv (its run manifest, when beside it, names the space), or any CSV whose
    architectures are in `arch_column`; the numeric columns are the scores."""
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
        rows = [row for row in reader if row]
    if arch_column is None:
        if not header or header[0] != "arch":
            raise NasInputError(f"{path} is not a nascli scores file (its first column must be 'arch'): name the "
                                "architecture column of another CSV with --arch-column")
        arch_at = 0
    elif not header or arch_column not in header:
        raise NasInputError(f"{path} has no column {arch_column!r} (its columns: {', '.join(header or [])}): pass "
                            "the column that holds the architectures")
    else:
        arch_at = header.index(arch_column)
    rows, duplicates = _unique_rows(path, header, rows, arch_at)
    archs = [row[arch_at] if arch_at < len(row) else "" for row in rows]
    columns = {}
    for j, name in enumerate(header):
        if j == arch_at:
            continue
        try:
            columns[name] = np.array([float(row[j]) for row in rows], dtype=np.float64)
        except (ValueError, IndexError):
            continue  # a non-numeric column is not a score
    if space is None and archs:
        space = guess_space(archs[0])
    return ScoresFile(path=path, space=space, archs=archs, columns=columns, duplicates=duplicates)


def _unique_rows(path: Path, header: list[str], rows: list[list[str]], arch_at: int
                 ) -> tuple[list[list[str]], int]:
    """One row per architecture: a repeated identical row counts once, a repeat with other values is refused."""
    first: dict[str, tuple[int, list[str]]] = {}
    kept = []
    for number, row in enumerate(rows, 2):  # line 1 is the header
        arch = row[arch_at] if arch_at < len(row) else ""
        seen = first.get(arch)
        if seen is None:
            first[arch] = (number, row)
            kept.append(row)
        elif _values(header, seen[1]) != _values(header, row):
            raise NasInputError(f"{path} lists {arch[:50]!r} twice with different values (lines {seen[0]} and "
                                f"{number}): keep one row per architecture")
    return kept, len(rows) - len(kept)


def _values(header: list[str], row: list[str]) -> list[str]:
    """The cells of a row but the step a search scored it in (which may differ between repeats)."""
    return [cell for name, cell in zip(header, row, strict=False) if name != "step"]


@dataclass
class Matched:
    """Score values joined to ground truth by canonical architecture, each architecture once."""

    keys: list[str]
    values: np.ndarray
    truth: np.ndarray
    report: dict[str, Any]


def canonical_keys(space: SearchSpace, scores: ScoresFile) -> list[str]:
    """The canonical text of each row's architecture (any text form the space reads); a row that names none is an
    input error naming the row."""
    keys = []
    for row, text in enumerate(scores.archs, 2):
        try:
            keys.append(space.format(space.canonical(space.coerce(text.strip()))))
        except NasInputError as exc:
            raise NasInputError(f"{scores.path} row {row}: not a {space.name} architecture ({exc})") from None
    return keys


def _first_of_each(keys: list[str], values: np.ndarray) -> tuple[list[str], np.ndarray, int]:
    """Keys and values with repeated keys dropped (the first row counts), and how many were dropped."""
    seen: dict[str, int] = {}
    for position, key in enumerate(keys):
        seen.setdefault(key, position)
    kept = sorted(seen.values())
    return [keys[i] for i in kept], values[kept], len(keys) - len(kept)


def match_architectures(space: SearchSpace, scores: ScoresFile, values: np.ndarray, other: ScoresFile,
                        other_values: np.ndarray) -> Matched:
    """Join `values` to `other_values` on the canonical architecture: the same DARTS cell written with a node's
    edges swapped, or in the nested pt.darts form, matches; repeats count once (the first row)."""
    keys, kept_values, repeated = _first_of_each(canonical_keys(space, scores), values)
    other_keys, kept_other, other_repeated = _first_of_each(canonical_keys(space, other), other_values)
    lookup = dict(zip(other_keys, kept_other.tolist(), strict=True))
    truth = np.array([lookup.get(key, math.nan) for key in keys], dtype=np.float64)
    unmatched = [key for key in keys if key not in lookup]
    present = set(keys)
    report = {"matched_by": f"canonical {space.name} architecture", "rows": len(scores.archs),
              "duplicates": repeated, "against_rows": len(other.archs), "against_duplicates": other_repeated,
              "unmatched": len(unmatched), "unmatched_examples": unmatched[:5],
              "against_unmatched": sum(key not in present for key in other_keys)}
    return Matched(keys=keys, values=kept_values, truth=truth, report=report)


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
    seed: int = 0, overwrite: bool = True, plot: bool = True, arch_column: str | None = None,
    against_arch_column: str | None = None,
) -> dict[str, Any]:
    """Correlate a score column with NB201 ground truth (or another file's column, rows joined on the canonical
    architecture); writes report.json and scatter.png into `out` and returns the report (its `matching` part
    counts repeated and unmatched architectures)."""
    scores = read_scores(scores_path, arch_column)
    name, values = _column(scores, score)
    highlight = None
    matching: dict[str, Any]
    if against is not None:
        other = read_scores(against, against_arch_column)
        other_name, other_values = _column(other, against_score)
        space = scores.space or other.space
        if space is None:
            raise NasInputError(f"cannot tell which space {scores.path} holds: its architectures are neither NB201 "
                                "strings nor DARTS Genotype(...) texts")
        from nascli.spaces import get_space

        matched = match_architectures(get_space(space), scores, values, other, other_values)
        values, truth, matching = matched.values, matched.truth, matched.report
        truth_name = f"{other_name} ({other.path})"
    else:
        if scores.space != "nb201":
            raise NasInputError(f"{scores.path} holds {scores.space or 'unknown'}-space architectures: ground truth "
                                "exists for NB201 only; compare two score files with --against instead")
        from nascli.bench.table import BenchTable
        from nascli.spaces import get_space

        table = BenchTable.load(bench, expected_sha256=bench_sha256)
        space_obj = get_space("nb201")
        keys, values, repeated = _first_of_each(canonical_keys(space_obj, scores), values)
        truth = table.metric(dataset, split, epochs)[space_obj.indices_of(keys)]
        matching = {"matched_by": "canonical nb201 architecture", "rows": len(scores.archs), "duplicates": repeated,
                    "unmatched": 0, "unmatched_examples": []}
        truth_name = f"{dataset} {split} accuracy ({epochs} epochs)"
        space = "nb201"
        genotype = scores.path.parent / "genotype.json"
        if genotype.is_file():
            try:
                best_text = json.loads(genotype.read_text(encoding="utf-8"))["text"]
                highlight = keys.index(space_obj.format(space_obj.coerce(best_text)))
            except (ValueError, KeyError, json.JSONDecodeError):
                highlight = None
    report = correlation_report(values, truth, n_boot=n_boot, seed=seed, names=(name, truth_name))
    report.update(scores_file=str(scores.path.absolute()), duplicate_rows=scores.duplicates, space=space,
                  dataset=dataset if against is None else None, split=split if against is None else None,
                  matching=matching)
    run = RunFolder(out)
    run.prepare(kind="correlate", space=space, resume=False, overwrite=overwrite)
    run.start(kind="correlate", space=space, dataset=dataset, config={
        "score": name, "dataset": dataset, "split": split, "epochs": epochs, "bench": bench,
        "against": str(against) if against else None, "n_boot": n_boot, "seed": seed, "arch_column": arch_column,
        "against_arch_column": against_arch_column}, seed=seed,
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
