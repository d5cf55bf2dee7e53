"""Kendall τ of the `rmi` score on NB201 architectures drawn by seeded stratification over CIFAR-10 test accuracy.

Draws N architectures, one from each of N equal-count accuracy quantile bins of the NB201 table (seeded), scores
them with `rmi` (the settings of a search recipe, `--set` overrides applied, the teacher from --teacher), and
reports Kendall τ-b with a 95% bootstrap interval against NB201 CIFAR-10 test accuracy (200 epochs), beside the
`params` score's τ on the same architectures. Scores are appended to OUT/rmi_scores.jsonl as they come, so a run
resumes where it stopped, and `--shard K --shards S` splits the work over processes (each scores every S-th arch).

    python scripts/rmi_nb201_tau.py --recipe recipes/rminas/nb201-cifar10.yaml --teacher runs/teacher \\
        --out runs/rmi-tau [--set rmi.observe_step=40 …] [--shard 0 --shards 2] [--report]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from nascli.analysis.correlation import bootstrap_ci, kendall_tau_b
from nascli.artifacts import append_jsonl, atomic_write_json, read_jsonl
from nascli.config import SearchConfig, resolve_config
from nascli.scores.base import ScoreContext, make_score
from nascli.spaces.base import get_space


def stratified_indices(accuracy: np.ndarray, count: int, seed: int) -> list[int]:
    """One index drawn uniformly from each of `count` equal-count bins of the architectures sorted by accuracy."""
    order = np.argsort(accuracy, kind="stable")
    rng = np.random.Generator(np.random.PCG64(seed))
    return [int(rng.choice(part)) for part in np.array_split(order, count)]


def main() -> None:
    """Score, or report on, the stratified sample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--prepare", action="store_true", help="only draw the fixed batch (rmi_batch.pt)")
    parser.add_argument("--report", action="store_true", help="only compute τ from the scores written so far")
    args = parser.parse_args()

    cfg, _ = resolve_config(SearchConfig, args.recipe, [*args.overrides, f"rmi.teacher={args.teacher}"],
                            section="search")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = get_space("nb201")
    context = ScoreContext(space=space, dataset="cifar10", seed=cfg.seed, run_dir=out, config=cfg)
    truth = context.bench.metric("cifar10", "test", 200)
    indices = stratified_indices(truth, args.count, args.sample_seed)
    results_path = out / "rmi_scores.jsonl"
    done = {int(r["index"]): r for r in read_jsonl(results_path)} if results_path.exists() else {}
    if not args.report:
        score = make_score("rmi", context)
        batch = score.batch
        print(f"batch: {len(batch.labels)} images, teacher losses {batch.teacher_losses.min():.4f}.."
              f"{batch.teacher_losses.max():.4f}, pool step {batch.info['pool_step']}", flush=True)
        if not args.prepare:
            mine = [index for k, index in enumerate(indices) if k % args.shards == args.shard and index not in done]
            for index in mine:
                started = time.perf_counter()
                value = float(score.score([space.arch_at(index)])[0])
                record = {"index": index, "arch": space.format(space.arch_at(index)), "rmi": value,
                          "seconds": time.perf_counter() - started, "cifar10_test": float(truth[index])}
                append_jsonl(results_path, record)
                print(json.dumps(record), flush=True)
        done = {int(r["index"]): r for r in read_jsonl(results_path)}
    scored = [index for index in indices if index in done]
    if len(scored) < 3:
        print(f"{len(scored)} of {len(indices)} scored: nothing to report yet")
        return
    accuracy = truth[scored]
    rmi = np.array([done[i]["rmi"] for i in scored])
    # a NaN loss is +inf (score −inf), the worst rank as in the reference: keep those architectures in the τ, tied
    # below every finite score, rather than let the correlation drop non-finite pairs
    worst = np.isneginf(rmi)
    if worst.any():
        rmi = np.where(worst, rmi[~worst].min() - 1.0, rmi)
    params = make_score("params", context).score([space.arch_at(i) for i in scored])
    report = {"count": len(scored), "planned": len(indices), "sample_seed": args.sample_seed,
              "nan_losses": int(worst.sum()),
              "settings": {k: v for k, v in json.loads(json.dumps(cfg.rmi.__dict__, default=str)).items()},
              "seconds_per_candidate": float(np.mean([done[i]["seconds"] for i in scored]))}
    for name, values in (("rmi", rmi), ("params", params)):
        low, high = bootstrap_ci(kendall_tau_b, values, accuracy, n_boot=1000, seed=0)
        report[name] = {"kendall_tau": kendall_tau_b(values, accuracy), "ci95": [low, high]}
    atomic_write_json(out / "report.json", report)
    print(json.dumps({k: report[k] for k in ("count", "nan_losses", "rmi", "params", "seconds_per_candidate")}))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
