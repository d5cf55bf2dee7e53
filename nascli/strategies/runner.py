"""`search` as a library call: a strategy, a score, constraints; scores.csv, history.jsonl, genotype.json."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch.distributed as dist

from nascli.artifacts import (
    RunFolder,
    append_jsonl,
    atomic_write_json,
    atomic_write_text,
    check_manifest,
    read_jsonl,
    read_manifest,
    write_jsonl,
)
from nascli.config import SearchConfig, to_dict
from nascli.errors import NasInputError
from nascli.scores.base import Score, ScoreContext, make_score
from nascli.spaces.base import Architecture, SearchSpace, get_space
from nascli.strategies.base import Strategy, make_strategy, sort_key
from nascli.strategies.constraints import make_constraint
from nascli.train.distributed import DistInfo, barrier, init_device_and_ranks
from nascli.train.progress import make_progress, notice

STATE_FILE = "search_state.json"
JOURNAL_FILE = "search_journal.jsonl"
"""Per-step additions to the strategy's grow-only sets (`Strategy.journal_entry`); the state counts the lines."""
BENCH_DATASETS = ("cifar10", "cifar100", "imagenet16-120")


@dataclass
class SearchRun:
    """What a finished search produced."""

    out: Path
    best: Architecture
    best_score: float
    top: list[dict[str, Any]]
    evaluated: int
    space: SearchSpace
    is_main: bool = True
    """False on the ranks other than 0 of a torchrun search (they wrote nothing and should print nothing)."""


def _bench_dataset(dataset: str | None) -> str:
    return dataset if dataset in BENCH_DATASETS else "cifar10"


def _csv_text(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _append_scores(path: Path, rows: list[list[Any]]) -> None:
    """Append rows to scores.csv and flush them to disk (the state written after them says how many count)."""
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write(_csv_text(rows))
        handle.flush()
        os.fsync(handle.fileno())


def _restore_scores(path: Path, header: list[str], rows_written: int, write: bool = True) -> list[list[str]]:
    """Cut scores.csv back to its header and the first `rows_written` rows, those the saved state accounts for
    (rows appended after the last state write, by a run that then stopped, are scored again); returns them."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    if len(lines) < 1 + rows_written or lines[0] != _csv_text([header]):
        raise NasInputError(f"{path} holds fewer rows than the search state records, or another header: delete "
                            f"the folder's {STATE_FILE} to restart the search, or use a new --out")
    kept = lines[1 : 1 + rows_written]
    if write and len(lines) > 1 + rows_written:
        atomic_write_text(path, "".join(lines[: 1 + rows_written]))
    return list(csv.reader(kept))


def _restore_journal(path: Path, entries: int, write: bool = True) -> list[dict[str, Any]]:
    """The first `entries` lines of the journal, cutting any written after the last state write."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    kept = [line for line in lines[:entries] if line.endswith("\n")]
    if len(kept) < entries:
        raise NasInputError(f"{path} holds fewer entries than the search state records: delete the folder's "
                            f"{STATE_FILE} to restart the search, or use a new --out")
    if write and len(lines) > entries:
        atomic_write_text(path, "".join(kept))
    return [json.loads(line) for line in kept]


def _restore_strategy(strategy: Strategy, space: SearchSpace, saved: dict[str, Any], rows: list[list[str]],
                      journal: list[dict[str, Any]]) -> None:
    """Give a fresh strategy its history (from scores.csv rows), its journal, then its saved state."""
    strategy.restore_evaluated([(space.parse(row[0]), float(row[1])) for row in rows])
    strategy.replay_journal(journal)
    strategy.load_state_dict(saved["strategy"])


def run_search(cfg: SearchConfig, out: str | Path, *, supernet: str | Path | None = None, resume: bool = False,
               overwrite: bool = False, meta: dict[str, Any] | None = None) -> SearchRun:
    """Run `cfg.strategy` maximising `cfg.score` and write the search artifacts into `out`."""
    from nascli.strategies.differentiable import DIFFERENTIABLE

    if cfg.strategy in DIFFERENTIABLE:  # darts / drnas train a mixed supernet instead of scoring architectures
        from nascli.strategies.differentiable_search import run_differentiable_search

        if supernet is not None:
            raise NasInputError(f"{cfg.strategy} trains its own mixed supernet: drop --supernet")
        return run_differentiable_search(cfg, out, resume=resume, overwrite=overwrite, meta=meta)
    space = get_space(cfg.space, **cfg.space_options)
    dataset = cfg.dataset
    parents: list[Path] = []
    if supernet is not None:
        supernet = Path(supernet)
        manifest = read_manifest(supernet)
        check_manifest(manifest, supernet, kind="supernet", space=space.name)
        dataset = dataset or manifest.get("dataset")
        parents.append(supernet)
    device, ranks = init_device_and_ranks(cfg.runtime.device)
    run = RunFolder(out, writer=ranks.is_main)
    resumed = run.prepare(kind="search", space=space.name, resume=resume, overwrite=overwrite,
                          guard_files=(STATE_FILE, "scores.csv"), config={**to_dict(cfg), "meta": meta or {}})
    barrier(ranks)  # every rank has read the folder before rank 0 writes to it
    context = ScoreContext(space=space, supernet_dir=supernet, dataset=dataset, bench_path=cfg.bench,
                           bench_sha256=cfg.bench_sha256, device=device, seed=cfg.seed,
                           options=dict(cfg.score_options), run_dir=run.path, config=cfg)
    score = make_score(cfg.score, context)
    extras = [make_score(name, context) for name in cfg.extra_scores if name != cfg.score]
    if space.name == "nb201":
        _ = context.bench  # the top table reads it: a wrong --bench/--bench-sha256 fails before anything is written
    strategy = make_strategy(cfg.strategy, space, cfg, make_constraint(space, cfg.constraints, dataset))
    header = ["arch", score.column or cfg.score, *[e.column or e.name for e in extras], "step"]
    header += ["index"] if space.is_finite() else []
    rows_written = 0
    journal_entries = 0
    state_path = run.file(STATE_FILE)
    if resumed and state_path.exists():
        try:
            saved = json.loads(state_path.read_text(encoding="utf-8"))
            rows_written = int(saved["rows_written"])
            journal_entries = int(saved.get("journal_entries", 0))
            rows = _restore_scores(run.file("scores.csv"), header, rows_written, write=ranks.is_main)
            journal = _restore_journal(run.file(JOURNAL_FILE), journal_entries, write=ranks.is_main)
            _restore_strategy(strategy, space, saved, rows, journal)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise NasInputError(f"{state_path} is corrupt ({type(exc).__name__}): delete the folder's "
                                f"{STATE_FILE} to restart the search, or use a new --out") from None
        if ranks.is_main:
            write_jsonl(run.file("history.jsonl"), [r for r in read_jsonl(run.file("history.jsonl"))
                                                     if r.get("generation", -1) < strategy.step])
    elif ranks.is_main:
        atomic_write_text(run.file("scores.csv"), _csv_text([header]))
        for name in ("history.jsonl", JOURNAL_FILE):
            if run.file(name).exists():
                write_jsonl(run.file(name), [])
    barrier(ranks)  # every rank has its strategy back before rank 0 writes the next state
    run.start(kind="search", space=space.name, dataset=dataset, config={**to_dict(cfg), "meta": meta or {}},
              seed=cfg.seed, parents=parents, extra={"score": cfg.score, "strategy": cfg.strategy,
                                                     "world_size": ranks.world_size})
    total = _planned_steps(strategy, cfg, space)
    warned_idle = False
    progress = make_progress(not cfg.runtime.quiet and ranks.is_main)
    with progress:
        task = progress.add_task(f"search {cfg.strategy}/{cfg.score}", total=total, info="")
        progress.advance(task, strategy.step)
        while True:
            archs = strategy.ask()
            if not archs:
                break
            if score.expensive and len(archs) < ranks.world_size and not warned_idle:
                warned_idle = True
                notice(f"this step scores {len(archs)} architecture(s) on {ranks.world_size} processes, so some "
                       "processes wait: give the strategy steps of at least as many architectures (e.g. --batch, "
                       "reinforce.samples_per_update, aging_evolution.workers, rf.proposals_per_step)")
            values = _score_step(score, archs, ranks, space)
            extra_values = [_score_step(e, archs, ranks, space) for e in extras]
            step = strategy.step
            record = strategy.tell(archs, values.tolist())
            indices = space.indices_of(archs) if space.is_finite() and hasattr(space, "indices_of") else None
            rows = []
            for i, arch in enumerate(archs):
                row = [space.format(arch), _num(values[i]), *[_num(v[i]) for v in extra_values], step]
                if space.is_finite():
                    row.append(int(indices[i]) if indices is not None else space.index(arch))
                rows.append(row)
            rows_written += len(rows)
            entry = strategy.journal_entry()
            journal_entries += bool(entry)
            if ranks.is_main:
                # rows, history and journal first, then the small state that counts them: a stop in between
                # scores this step again on --resume
                _append_scores(run.file("scores.csv"), rows)
                append_jsonl(run.file("history.jsonl"), record)
                if entry:
                    append_jsonl(run.file(JOURNAL_FILE), entry)
                atomic_write_json(state_path, {"strategy": strategy.state_dict(), "rows_written": rows_written,
                                               "journal_entries": journal_entries})
            progress.advance(task)
            progress.update(task, info=f"best {record['best_so_far']:.4f}")
    best, best_score = strategy.best()
    if best is None:
        raise NasInputError("the search scored no architecture: the constraints exclude every candidate; "
                            "raise --max-flops/--max-params")
    top = _top_table(strategy, space, cfg, context, dataset)
    genotype = {
        "space": space.name,
        "arch": space.to_json(best),
        "text": space.format(best),
        "scores": {cfg.score: best_score},
        "source": {"strategy": cfg.strategy, "score": cfg.score, "search": str(run.path.absolute()),
                   "supernet": str(supernet.absolute()) if supernet else None},
    }
    if space.is_finite():
        genotype["index"] = space.index(best)
    if top and "bench" in top[0]:
        genotype["bench"] = top[0]["bench"] if top[0]["arch"] == space.format(best) else _bench_row(
            context, space, best)
    genotype = strategy.final_genotype(genotype)
    if ranks.is_main and not run.frozen:  # a finished search resumed unchanged rewrites nothing
        atomic_write_json(run.file("genotype.json"), genotype)
    run.finish("done", evaluated=rows_written, best=space.format(best), best_score=best_score)
    barrier(ranks)  # no rank returns before rank 0 has written the results
    return SearchRun(out=run.path, best=best, best_score=best_score, top=top, evaluated=rows_written, space=space,
                     is_main=ranks.is_main)


def _score_step(score: Score, archs: list[Architecture], ranks: DistInfo, space: SearchSpace) -> np.ndarray:
    """`score` of this step's candidates; an expensive score under torchrun scores a share on each rank.

    The step's distinct architectures (by canonical text: two ranks must never train one candidate folder at
    once) are dealt out: rank r scores distinct candidates r, r + W, r + 2W, ... on its own device; the values
    are gathered on every rank and copied to the repeats in candidate order, so every rank's strategy is told
    the same thing. A candidate's value depends only on the search seed and its text
    (`nascli.scores.candidates`), so the result is one process's.
    """
    if not (score.expensive and ranks.enabled):
        return np.asarray(score.score(archs), dtype=np.float64)
    position: dict[str, int] = {}
    slot = [position.setdefault(space.format(space.canonical(arch)), len(position)) for arch in archs]
    distinct = [archs[slot.index(i)] for i in range(len(position))]
    share = distinct[ranks.rank :: ranks.world_size]
    mine = np.asarray(score.score(share), dtype=np.float64).tolist() if share else []
    gathered: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(gathered, mine)
    values = np.empty(len(distinct), dtype=np.float64)
    for rank, part in enumerate(gathered):
        values[rank :: ranks.world_size] = part
    return values[slot]


def _num(value: float) -> float | str:
    return "nan" if math.isnan(value) else float(value)


def _planned_steps(strategy: Strategy, cfg: SearchConfig, space: SearchSpace) -> int | None:
    if cfg.strategy == "evolution":
        return cfg.evolution.generations
    if cfg.strategy == "random":
        return math.ceil(cfg.samples / max(cfg.batch, 1))
    if cfg.strategy == "exhaustive" and space.is_finite():
        return math.ceil(space.size() / max(cfg.batch, 1))
    return None


def _bench_row(context: ScoreContext, space: SearchSpace, arch: Architecture) -> dict[str, float]:
    index = space.index(arch)
    return {name: float(context.bench.metric(name, "test")[index]) for name in BENCH_DATASETS}


def _top_table(strategy: Strategy, space: SearchSpace, cfg: SearchConfig, context: ScoreContext,
               dataset: str | None) -> list[dict[str, Any]]:
    """The best `top_k` architectures with their score and, on NB201, their benchmark test accuracies."""
    ranked = sorted(strategy.evaluated, key=lambda item: sort_key(item[1]), reverse=True)[: cfg.top_k]
    best, best_score = strategy.best()
    if best is not None and all(space.format(a) != space.format(best) for a, _ in ranked):
        ranked = [(best, best_score), *ranked[:-1]]
    rows = []
    for arch, value in ranked:
        # "score" holds the value even when the score's own name collides with a column below (`--score bench`)
        row: dict[str, Any] = {"arch": space.format(arch), cfg.score: value, "score": value}
        if space.name == "nb201":
            row["index"] = space.index(arch)
            row["bench"] = _bench_row(context, space, arch)
        rows.append(row)
    return rows
