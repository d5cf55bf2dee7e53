"""One process of the distributed reinforce / aging-evolution test: `[torchrun --nproc_per_node W]
ddp_bpe_worker.py OUT`.

Runs into OUT/reinforce a REINFORCE search with 4 samples per update and into OUT/aging an aging evolution with 4
workers, both over NB201 with `tiny-trained`, the training-based stand-in score of `ddp_search_worker` (each
candidate trained one SGD step in its own `candidates/<hash>/` folder on the rank that scores it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from nascli.config import SearchConfig, build_config
from nascli.strategies.runner import run_search
from tests.strategies.ddp_search_worker import TinyTrainedScore


def search_configs() -> dict[str, SearchConfig]:
    """The two searches, by folder name: 2 updates of 4 samples; a population of 4, then 4 children in one step."""
    common = {"space": "nb201", "score": "tiny-trained", "seed": 11, "runtime": {"quiet": True, "device": "cpu"}}
    return {
        "reinforce": build_config(SearchConfig, {**common, "strategy": "reinforce", "reinforce": {
            "iterations": 2, "lr": 1.0, "samples_per_update": 4}}),
        "aging": build_config(SearchConfig, {**common, "strategy": "aging-evolution", "aging_evolution": {
            "population": 4, "sample_size": 2, "evaluations": 8, "workers": 4}}),
    }


def main(argv: list[str]) -> None:
    """Run both searches into OUT/<name>."""
    torch.set_num_threads(1)
    TinyTrainedScore.steps = 1
    for name, cfg in search_configs().items():
        run_search(cfg, Path(argv[0]) / name)


if __name__ == "__main__":
    main(sys.argv[1:])
