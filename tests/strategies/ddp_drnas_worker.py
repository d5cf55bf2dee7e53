"""One rank of the 2-process DrNAS agreement test: `torchrun --nproc_per_node 2 ddp_drnas_worker.py OUT TMP`.

Runs the tiny progressive search of test_drnas.py and saves, per rank, θ after every training step and the
derived genotype to TMP/rank{RANK}.pt, for the test to compare.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import torch

from nascli.strategies import differentiable
from nascli.strategies.runner import run_search
from tests.strategies.test_drnas import tiny_search


def main(out: str, folder: str) -> None:
    """Run the search with θ recorded after every step, then save what this rank saw."""
    steps: list[torch.Tensor] = []
    original = differentiable.ArchitectureHook.on_step_start

    def recording(self: differentiable.ArchitectureHook, trainer: Any, epoch: int, step: int) -> None:
        original(self, trainer, epoch, step)
        steps.append(torch.cat([t.detach().reshape(-1).clone() for t in self.arch.parameters()]))

    differentiable.ArchitectureHook.on_step_start = recording  # type: ignore[method-assign]
    result = run_search(tiny_search(), out)
    rank = int(os.environ["RANK"])
    torch.save({"steps": steps, "genotype": result.space.format(result.best),
                "world_size": int(os.environ["WORLD_SIZE"])}, Path(folder) / f"rank{rank}.pt")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
