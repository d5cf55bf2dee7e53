"""Run by `torchrun --nproc_per_node 2` in a test: train a tiny supernet and save each rank's weights."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from nascli.config import DataConfig, ModelConfig, OptimConfig, RuntimeConfig, TrainSupernetConfig
from nascli.train.supernet import train_supernet


def main(out: Path) -> None:
    """Train on synthetic data with random labels; each rank writes rank{r}.pt."""
    cfg = TrainSupernetConfig(
        data=DataConfig(dataset="synthetic", synthetic_train=128, batch_size=16, labels="random"),
        model=ModelConfig(channels=4, layers=1),
        optim=OptimConfig(epochs=2),
        runtime=RuntimeConfig(device="cpu", quiet=True),
    )
    run = train_supernet(cfg, out / "sn")
    rank = dist.get_rank()
    state = {k: v.detach().clone() for k, v in run.model.state_dict().items()}
    torch.save(state, out / f"rank{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
