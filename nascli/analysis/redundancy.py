"""`nas analyze` as library calls: importance, motifs, constrained sampling and pruning, each writing a run folder."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nascli.analysis.importance import (
    IMPORTANCE_THRESHOLD,
    NB201_DATASETS,
    DartsSlot,
    FileSource,
    PerformanceSource,
    darts_importance,
    darts_slots,
    genotype_column,
    genotype_key,
    nb201_errors,
    nb201_importance,
    select_by_error,
    summarise_by_op,
    unique_evaluation_set,
)
from nascli.analysis.motifs import (
    NB201_EDGE_NODES,
    CellGraph,
    darts_cell_graph,
    describe,
    min_support_count,
    mine_frequent,
    nb201_cell_graph,
    random_reference_graph,
    rank_motifs,
    reference_edge_count,
    reference_incidence,
)
from nascli.analysis.prune import ORDERS, successive_removal
from nascli.artifacts import RunFolder, atomic_write_json, atomic_write_text, read_manifest
from nascli.errors import NasInputError
from nascli.spaces.darts.genotype import CELL_KINDS, FINAL_OPS, DartsGenotype, format_genotype, parse_genotype
from nascli.spaces.nb201 import NB201_OPS
from nascli.train.progress import make_progress

IMPORTANCE_CSV = "importance.csv"
IMPORTANCE_COLUMNS = ("dataset", "selection", "arch", "accuracy", "cell", "slot", "op", "input", "importance",
                      "below_noise")
DARTS_PARTIAL = "importance_partial.jsonl"


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _fmt(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value:.6g}"


# --------------------------------------------------------------------------------------------------
# importance
# --------------------------------------------------------------------------------------------------


def run_importance_nb201(out: str | Path, *, datasets: Sequence[str] = NB201_DATASETS,
                         selections: Sequence[str] = ("top", "bottom"), fraction: float = 0.05,
                         n_uniform: int = 1000, seed: int = 0, bench: str | None = None,
                         bench_sha256: str | None = None, threshold: float = IMPORTANCE_THRESHOLD,
                         overwrite: bool = False, plot: bool = True) -> dict[str, Any]:
    """Exact NB201 operation importance from the table for each dataset × selection; writes importance.csv,
    summary.csv, report.json and the figures into `out` and returns the report."""
    from nascli.bench.table import BenchTable
    from nascli.spaces import get_space

    started = time.perf_counter()
    space = get_space("nb201")
    table = BenchTable.load(bench, expected_sha256=bench_sha256)
    run = RunFolder(out)
    run.prepare(kind="analyze-importance", space="nb201", resume=False, overwrite=overwrite)
    config = {"datasets": list(datasets), "selections": list(selections), "fraction": fraction,
              "n_uniform": n_uniform, "seed": seed, "threshold": threshold, "bench": bench}
    run.start(kind="analyze-importance", space="nb201", dataset=",".join(datasets), config=config, seed=seed,
              extra={"source": f"table:{table.source}", "table_sha256": table.sha256})
    op_matrix = space.op_index_matrix()
    rows: list[list[Any]] = []
    summary: list[dict[str, Any]] = []
    panels: dict[str, dict[str, dict[str, list[float]]]] = {}
    best: tuple[str, list[str], np.ndarray] | None = None
    with run.running():
        for dataset in datasets:
            errors = nb201_errors(table, dataset)
            panels[dataset] = {}
            for selection in selections:
                indices = select_by_error(errors, selection, fraction, n_uniform, seed)
                importance = nb201_importance(errors, indices, op_matrix, space.indices_of)
                ops = np.asarray(NB201_OPS)[op_matrix[indices]]
                for a, index in enumerate(indices):
                    text = space.format(space.arch_at(int(index)))
                    accuracy = 100.0 * (1.0 - errors[index])
                    for edge in range(len(NB201_EDGE_NODES)):
                        rows.append([dataset, selection, text, _fmt(accuracy), "cell", edge, ops[a, edge],
                                     NB201_EDGE_NODES[edge][0], _fmt(importance[a, edge]), ""])
                for entry in summarise_by_op(ops.ravel(), importance.ravel(), threshold, NB201_OPS):
                    summary.append({"dataset": dataset, "selection": selection, "cell": "cell",
                                    "archs": len(indices), **entry})
                panels[dataset][selection] = {op: importance[ops == op].tolist() for op in NB201_OPS}
                if best is None and selection == "top":
                    best = (space.format(space.arch_at(int(indices[0]))), list(ops[0]), importance[0])
        atomic_write_text(run.file(IMPORTANCE_CSV), _csv_text(IMPORTANCE_COLUMNS, rows))
        _write_summary(run, summary)
        figures = {}
        if plot:
            from nascli.viz.importance import plot_importance_distributions, plot_importance_nb201_cell

            figures["distribution"] = plot_importance_distributions(
                panels, NB201_OPS, run.file("importance_distribution.png"), threshold)
            if best is not None:
                text, ops, weights = best
                figures["cell"] = plot_importance_nb201_cell(
                    [str(op) for op in ops], [float(w) for w in weights], run.file("cell_importance.png"),
                    f"{text}\n(the best architecture of {datasets[0]})", threshold)
        elapsed = time.perf_counter() - started
        report = {"space": "nb201", "source": f"table:{table.source}", "threshold": threshold,
                  "summary": summary, "seconds": elapsed, "files": {k: str(v) for k, v in figures.items()}}
        atomic_write_json(run.file("report.json"), _finite(report))
        run.finish(seconds=elapsed)
    return report


def _write_summary(run: RunFolder, summary: list[dict[str, Any]]) -> None:
    header = ["dataset", "selection", "cell", "archs", "op", "count", "mean", "median", "important",
              "share_important", "share_of_all_important"]
    if any("important_above_noise" in row for row in summary):
        header.append("important_above_noise")
    body = [[row[h] if not isinstance(row[h], float) else _fmt(row[h]) for h in header] for row in summary]
    atomic_write_text(run.file("summary.csv"), _csv_text(header, body))


def read_genotypes(path: str | Path) -> list[DartsGenotype]:
    """Genotypes from a file: one `Genotype(...)` text per line, or a CSV whose first column is 'arch'/'genotype'."""
    path = Path(path)
    if not path.is_file():
        raise NasInputError(f"architecture file {path} does not exist: pass one Genotype(...) text per line")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    header = next(csv.reader(lines[:1]), [])
    column = genotype_column(header) if lines and not lines[0].startswith("Genotype") else None
    if column is not None:
        lines = [row[column] for row in csv.reader(lines[1:]) if len(row) > column]
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            out.append(parse_genotype(line))
        except NasInputError as error:
            raise NasInputError(f"{path}, entry {number}: {error}") from None
    if not out:
        raise NasInputError(f"{path} holds no genotypes: write one Genotype(...) text per line")
    return out


def write_evaluation_set(genotypes: Sequence[DartsGenotype], path: str | Path,
                         cells: Sequence[str] = CELL_KINDS) -> int:
    """Write every architecture and neighbour the DARTS analysis needs, one text per line (for
    `nas search --strategy list --archs FILE`); returns the count."""
    archs = unique_evaluation_set(genotypes, darts_slots(cells))
    atomic_write_text(Path(path), "".join(format_genotype(g) + "\n" for g in archs))
    return len(archs)


def select_from_source(source: FileSource, selection: str, fraction: float = 0.05, n_uniform: int = 1000,
                       seed: int = 0) -> list[DartsGenotype]:
    """The top/bottom `fraction` (by accuracy) of a file's genotypes, or a seeded uniform sample of them."""
    keys = sorted(source.values)
    accuracies = np.array([source.values[k] for k in keys])
    chosen = select_by_error(-accuracies, selection, fraction, min(n_uniform, len(keys)), seed)
    return [parse_genotype(keys[i]) for i in chosen]


def check_importance_folder(out: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse an `out` that holds another run before anything (e.g. a training score) writes into it."""
    RunFolder(out).prepare(kind="analyze-importance", space="darts", resume=resume, overwrite=overwrite,
                           guard_files=(DARTS_PARTIAL,))


def run_importance_darts(out: str | Path, genotypes: Sequence[DartsGenotype], source: PerformanceSource, *,
                         cells: Sequence[str] = CELL_KINDS, selection: str = "given",
                         threshold: float = IMPORTANCE_THRESHOLD, repeat: FileSource | None = None,
                         resume: bool = False, overwrite: bool = False, plot: bool = True, quiet: bool = False,
                         config: dict[str, Any] | None = None) -> dict[str, Any]:
    """DARTS operation importance of each genotype, the arch and its neighbours from one `source`; missing
    neighbours are listed in missing.csv and leave the slot's importance empty. `repeat` (the same archs
    evaluated again, e.g. with another seed) gives each arch's noise |acc − acc_repeat|; importances whose
    magnitude is below it are flagged `below_noise`."""
    started = time.perf_counter()
    slots = darts_slots(cells)
    run = RunFolder(out)
    resumed = run.prepare(kind="analyze-importance", space="darts", resume=resume, overwrite=overwrite,
                          guard_files=(DARTS_PARTIAL,))
    run.start(kind="analyze-importance", space="darts", dataset=None, seed=None,
              config={**(config or {}), "cells": list(cells), "threshold": threshold, "selection": selection,
                      "archs": len(genotypes)}, extra={"source": source.name})
    partial = run.file(DARTS_PARTIAL)
    done: dict[str, dict[str, Any]] = {}
    if resumed and partial.exists():
        from nascli.artifacts import read_jsonl

        done = {record["key"]: record for record in read_jsonl(partial)}
    elif partial.exists():
        partial.unlink()
    progress = make_progress(not quiet)
    with run.running(), progress:
        task = progress.add_task("importance", total=len(genotypes), info=source.name)
        for genotype in genotypes:
            key = genotype_key(genotype)
            if key not in done:
                result = darts_importance(genotype, source, slots)
                record = {
                    "key": key, "arch": format_genotype(genotype), "accuracy": _finite(result.accuracy),
                    "importance": _finite(result.importance.tolist()),
                    "missing": [[None if s is None else s.index, format_genotype(g)] for s, g in result.missing],
                }
                from nascli.artifacts import append_jsonl

                append_jsonl(partial, record)
                done[key] = record
            progress.advance(task)
    return _finish_darts(run, genotypes, slots, done, source, selection, threshold, repeat, plot, started)


def _finish_darts(run: RunFolder, genotypes: Sequence[DartsGenotype], slots: list[DartsSlot],
                  done: dict[str, dict[str, Any]], source: PerformanceSource, selection: str, threshold: float,
                  repeat: FileSource | None, plot: bool, started: float) -> dict[str, Any]:
    rows: list[list[Any]] = []
    missing_rows: list[list[Any]] = []
    per_cell: dict[str, tuple[list[str], list[float], list[float]]] = {cell: ([], [], []) for cell in CELL_KINDS}
    noise_values = []
    scale = 0.01 if source.percent else 1.0
    for genotype in genotypes:
        record = done[genotype_key(genotype)]
        own = record["accuracy"] if record["accuracy"] is not None else math.nan
        noise = math.nan
        if repeat is not None:
            again = float(repeat.accuracies([genotype])[0])
            noise = abs(own - again) * scale if math.isfinite(again) else math.nan  # same units as the source
            noise_values.append(noise)
        for slot, value in zip(slots, record["importance"], strict=True):
            value = math.nan if value is None else float(value)
            op, source_state = genotype.cell(slot.cell)[slot.position]
            flag = "" if not math.isfinite(noise) or not math.isfinite(value) else str(abs(value) < noise).lower()
            rows.append([source.name, selection, record["arch"], _fmt(own), slot.cell, slot.position, op,
                         source_state, _fmt(value), flag])
            per_cell[slot.cell][0].append(op)
            per_cell[slot.cell][1].append(value)
            per_cell[slot.cell][2].append(noise)
        for slot_index, text in record["missing"]:
            missing_rows.append([record["arch"], "" if slot_index is None else slot_index, text])
    atomic_write_text(run.file(IMPORTANCE_CSV), _csv_text(IMPORTANCE_COLUMNS, rows))
    atomic_write_text(run.file("missing.csv"), _csv_text(["arch", "slot", "missing_arch"], missing_rows))
    summary = []
    for cell, (ops, values, noises) in per_cell.items():
        if ops:
            summary += [{"dataset": source.name, "selection": selection, "cell": cell, "archs": len(genotypes),
                         **entry} for entry in summarise_by_op(ops, np.asarray(values), threshold, FINAL_OPS,
                                                            np.asarray(noises) if repeat is not None else None)]
    _write_summary(run, summary)
    figures = {}
    if plot and rows:
        from nascli.viz.importance import plot_importance_darts_cell, plot_importance_distributions

        panels = {f"{cell} cell": {selection: {op: [v for o, v in zip(*per_cell[cell][:2], strict=True) if o == op]
                                                for op in FINAL_OPS}}
                  for cell in CELL_KINDS if per_cell[cell][0]}
        figures["distribution"] = plot_importance_distributions(panels, FINAL_OPS,
                                                                run.file("importance_distribution.png"), threshold)
        first = genotypes[0]
        record = done[genotype_key(first)]
        cell = slots[0].cell
        weights = {s.position: (math.nan if v is None else v)
                   for s, v in zip(slots, record["importance"], strict=True) if s.cell == cell}
        pairs = list(first.cell(cell))
        accuracy = record["accuracy"]
        shown = "" if accuracy is None else f", accuracy {accuracy * scale:.2%}"
        concat = first.normal_concat if cell == "normal" else first.reduce_concat
        figures["cell"] = plot_importance_darts_cell(
            pairs, concat, [weights[p] for p in range(len(pairs))], run.file("cell_importance.png"),
            f"{cell} cell of the first architecture ({source.name}{shown})", threshold,
            noise_values[0] if noise_values else math.nan)
    elapsed = time.perf_counter() - started
    report = {"space": "darts", "source": source.name, "threshold": threshold, "archs": len(genotypes),
              "missing": len(missing_rows), "noise": noise_values or None, "summary": summary, "seconds": elapsed,
              "files": {k: str(v) for k, v in figures.items()}}
    atomic_write_json(run.file("report.json"), _finite(report))
    run.finish(seconds=elapsed, missing=len(missing_rows))
    return report


# --------------------------------------------------------------------------------------------------
# motifs
# --------------------------------------------------------------------------------------------------


def read_importance(folder: str | Path) -> tuple[str, list[dict[str, str]]]:
    """The space and rows of an `nas analyze importance` run folder."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("kind") != "analyze-importance":
        raise NasInputError(f"{folder} holds a {manifest.get('kind')!r} run: pass a `nas analyze importance` folder")
    path = folder / IMPORTANCE_CSV
    if not path.is_file():
        raise NasInputError(f"{folder} has no {IMPORTANCE_CSV}: the importance run did not finish; rerun it")
    with open(path, newline="", encoding="utf-8") as handle:
        return str(manifest.get("space")), list(csv.DictReader(handle))


def _cell_graphs(space: str, rows: list[dict[str, str]], dataset: str | None, selection: str | None,
                 cells: Sequence[str]) -> tuple[list[tuple[CellGraph, list[float]]], int]:
    """(full graph, importances) per analysed cell in file order; and the number of cells skipped as incomplete."""
    groups: dict[tuple[str, str, str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if dataset is not None and row["dataset"] != dataset:
            continue
        if selection is not None and row["selection"] != selection:
            continue
        if space == "darts" and row["cell"] not in cells:
            continue
        groups[(row["dataset"], row["selection"], row["arch"], row["cell"])].append(row)
    out = []
    skipped = 0
    for group in groups.values():
        group.sort(key=lambda r: int(r["slot"]))
        weights = [float(r["importance"]) if r["importance"] else math.nan for r in group]
        if not all(math.isfinite(w) for w in weights):
            skipped += 1
            continue
        if space == "nb201":
            graph = nb201_cell_graph([r["op"] for r in group])
        else:
            graph = darts_cell_graph([(r["op"], int(r["input"])) for r in group])
        out.append((graph, weights))
    return out, skipped


def run_motifs(importance_dir: str | Path, out: str | Path, *, dataset: str | None = None,
               selection: str | None = None, cells: Sequence[str] = ("normal",), min_support: float = 0.05,
               min_vertices: int = 2, max_vertices: int = 6, threshold: float = IMPORTANCE_THRESHOLD,
               keep_unimportant: bool = False, reference_split: bool = False, reference_induced: bool = False,
               reference_gspan: bool = False,
               seed: int = 0, top: int = 12, overwrite: bool = False, plot: bool = True) -> dict[str, Any]:
    """Mine the frequent important subgraphs of an importance run's cells and rank them by support / reference
    incidence; writes motifs.csv, report.json and motifs.png."""
    space, rows = read_importance(importance_dir)
    if selection is None:
        present = sorted({row["selection"] for row in rows})
        if "top" not in present and len(present) > 1:
            raise NasInputError(f"the importance run holds selections {', '.join(present)}: pick one with --selection")
        selection = "top" if "top" in present else (present[0] if present else None)
    if space == "nb201" and dataset is None:
        present = sorted({row["dataset"] for row in rows})
        if len(present) > 1:
            raise NasInputError(f"the importance run holds datasets {', '.join(present)}: pick one with --dataset")
    cells_graphs, skipped = _cell_graphs(space, rows, dataset, selection, cells)
    if not cells_graphs:
        raise NasInputError(f"no complete cells in {importance_dir} for dataset={dataset} selection={selection}: "
                            "check --dataset/--selection/--cells against the importance run")
    important: list[CellGraph] = []
    for graph, weights in cells_graphs:
        if keep_unimportant:  # the reference's condition 'leq': the unimportant edges instead
            kept = tuple(e for e, w in zip(graph.edges, weights, strict=True) if w <= threshold)
        else:
            kept = tuple(e for e, w in zip(graph.edges, weights, strict=True) if w >= threshold)
        used = {u for u, _, _ in kept} | {v for _, v, _ in kept}
        important.append(CellGraph({n: graph.labels[n] for n in sorted(used)}, kept))
    n_archs = len({(r["dataset"], r["selection"], r["arch"]) for r in rows
                   if dataset in (None, r["dataset"]) and selection in (None, r["selection"])})
    support_min = min_support_count(min_support, n_archs)
    support = mine_frequent(important, support_min, min_vertices, max_vertices, out_trees_only=reference_gspan)
    rng = np.random.RandomState(seed)
    reference = [random_reference_graph(graph, reference_edge_count(len(kept.edges), rng, reference_split), rng)
                 for (graph, _), kept in zip(cells_graphs, important, strict=True)]
    incidence = reference_incidence(support, reference, induced=reference_induced)
    motifs = rank_motifs(support, incidence)
    run = RunFolder(out)
    run.prepare(kind="analyze-motifs", space=space, resume=False, overwrite=overwrite)
    config = {"dataset": dataset, "selection": selection, "cells": list(cells), "min_support": min_support,
              "min_support_count": support_min, "min_vertices": min_vertices, "max_vertices": max_vertices,
              "threshold": threshold, "keep_unimportant": keep_unimportant, "reference_split": reference_split,
              "reference_induced": reference_induced, "reference_gspan": reference_gspan, "seed": seed}
    run.start(kind="analyze-motifs", space=space, dataset=dataset, config=config, seed=seed,
              parents=[Path(importance_dir)])
    header = ["rank", "motif", "vertices", "edges", "support", "support_share", "ref_incidence", "ref_share",
              "ratio", "zero_reference"]
    body = []
    for rank, m in enumerate(motifs, start=1):
        body.append([rank, describe(m.code), m.n_vertices, m.n_edges, m.support, _fmt(m.support / n_archs),
                     m.ref_incidence, _fmt(m.ref_incidence / n_archs), "inf" if math.isinf(m.ratio) else _fmt(m.ratio),
                     str(m.ref_incidence == 0).lower()])
    atomic_write_text(run.file("motifs.csv"), _csv_text(header, body))
    files = {}
    if plot:
        from nascli.viz.importance import plot_motifs

        shown = [(list(m.code[0]), list(m.code[1]),
                  f"#{i + 1}: support {m.support}, ratio {'∞' if math.isinf(m.ratio) else f'{m.ratio:.2f}'}")
                 for i, m in enumerate(motifs[:top])]
        files["figure"] = str(plot_motifs(shown, run.file("motifs.png")))
    report = {"space": space, "graphs": len(important), "archs": n_archs, "skipped_incomplete": skipped,
              "min_support_count": support_min, "motifs": len(motifs),
              "top": [{"motif": describe(m.code), "support": m.support, "ref_incidence": m.ref_incidence,
                       "ratio": None if math.isinf(m.ratio) else m.ratio} for m in motifs[:top]], "files": files}
    atomic_write_json(run.file("report.json"), report)
    run.finish()
    return report


# --------------------------------------------------------------------------------------------------
# sampling and pruning
# --------------------------------------------------------------------------------------------------


def sample_genotypes(sampler: str, n: int, seed: int) -> list[DartsGenotype]:
    """`n` genotypes from the DARTS space's sampling rule `sampler`, one seeded generator."""
    from nascli.spaces.darts.sampler import GENOTYPE_SAMPLERS

    if sampler not in GENOTYPE_SAMPLERS:
        raise NasInputError(f"unknown sampler {sampler!r}: choose one of {', '.join(GENOTYPE_SAMPLERS)}")
    if n < 1:
        raise NasInputError(f"--n {n}: sample at least one genotype")
    rng = np.random.default_rng(seed)
    return [GENOTYPE_SAMPLERS[sampler](rng) for _ in range(n)]


def write_genotypes(genotypes: Sequence[DartsGenotype], path: str | Path) -> Path:
    """One `Genotype(...)` text per line, written atomically."""
    path = Path(path)
    atomic_write_text(path, "".join(format_genotype(g) + "\n" for g in genotypes))
    return path


def run_prune(importance_dir: str | Path, out: str | Path, *, order: str = "ascending",
              max_removed: int | None = None, arch: str | None = None, overwrite: bool = False
              ) -> dict[str, Any]:
    """Successive `none` replacement by importance for each (or one) DARTS architecture of an importance run;
    writes pruned.csv and genotypes.txt (every pruned genotype, ready for `nas retrain`)."""
    space, rows = read_importance(importance_dir)
    if space != "darts":
        raise NasInputError("pruning writes DARTS genotypes: pass a DARTS importance run (NB201 cells with `none` "
                            "edges are ordinary NB201 archs, look them up with `nas bench`)")
    orders = ORDERS if order == "both" else (order,)
    if any(o not in ORDERS for o in orders):
        raise NasInputError(f"unknown order {order!r}: choose ascending, descending or both")
    by_arch: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_arch[row["arch"]].append(row)
    if arch is not None:
        wanted = genotype_key(parse_genotype(arch))
        by_arch = {k: v for k, v in by_arch.items() if genotype_key(parse_genotype(k)) == wanted}
        if not by_arch:
            raise NasInputError("the importance run has no such architecture: pass one of its arch texts")
    out_rows = []
    texts = []
    for text, group in by_arch.items():
        genotype = parse_genotype(text)
        slots = [DartsSlot(r["cell"], int(r["slot"])) for r in group]
        values = [float(r["importance"]) if r["importance"] else math.nan for r in group]
        for direction in orders:
            for step, (pruned, removed) in enumerate(successive_removal(genotype, slots, values, direction,
                                                                        max_removed), start=1):
                removed_text = " ".join(f"{s.cell}{s.position}" for s in removed)
                out_rows.append([text, direction, step, removed_text, format_genotype(pruned)])
                texts.append(format_genotype(pruned))
    run = RunFolder(out)
    run.prepare(kind="analyze-prune", space="darts", resume=False, overwrite=overwrite)
    run.start(kind="analyze-prune", space="darts", dataset=None, seed=None,
              config={"order": order, "max_removed": max_removed, "arch": arch}, parents=[Path(importance_dir)])
    atomic_write_text(run.file("pruned.csv"), _csv_text(["arch", "order", "removed", "slots", "genotype"], out_rows))
    atomic_write_text(run.file("genotypes.txt"), "".join(t + "\n" for t in texts))
    run.finish()
    return {"archs": len(by_arch), "genotypes": len(texts), "files": {"pruned": str(run.file("pruned.csv")),
                                                                       "genotypes": str(run.file("genotypes.txt"))}}



def score_source(cfg: Any, run_dir: str | Path, percent: bool = False) -> PerformanceSource:
    """The search recipe's score (`cfg.score`, e.g. trained-acc) as a performance source, its context built as
    `nas search` builds it (space options, dataset, score options, device, seed; candidates under `run_dir`)."""
    from nascli.analysis.importance import ScoreSource
    from nascli.scores.base import ScoreContext, make_score
    from nascli.spaces import get_space
    from nascli.train.devices import resolve_device

    space = get_space("darts", **cfg.space_options)
    # the search recipe itself, for scores that read their settings from it (trained-acc's `trained_acc` section)
    with_config = {"config": cfg} if "config" in {f.name for f in dataclasses.fields(ScoreContext)} else {}
    context = ScoreContext(space=space, dataset=cfg.dataset, bench_path=cfg.bench, bench_sha256=cfg.bench_sha256,
                           device=resolve_device(cfg.runtime.device), seed=cfg.seed, options=dict(cfg.score_options),
                           run_dir=Path(run_dir), **with_config)
    return ScoreSource(make_score(cfg.score, context), percent=percent)
