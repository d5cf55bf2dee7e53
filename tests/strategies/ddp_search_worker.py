"""One process of the distributed-search tests and benchmark: `[torchrun --nproc_per_node W] ddp_search_worker.py
OUT [--resume] [--generations G] [--population P] [--steps S] [--device cpu|cuda]`.

Registers `tiny-trained`, a training-based score standing in for `trained-acc`: each candidate is a tiny NB201
network (C=4, N=1, 8×8 inputs, 4 classes) trained S SGD steps on synthetic batches drawn from its
`candidate_seed`, checkpointed after every step in its `candidate_dir` (a killed search continues a half-trained
candidate from there), and scored by minus its loss on a held-out synthetic batch, on the rank's device. Then
runs an evolution search with it. With KILL_RANK=r and KILL_AFTER=k in the environment, rank r kills itself
(SIGKILL) right after its k-th training step, checkpoint written, in the middle of a search step.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nascli.artifacts import atomic_torch_save, load_checkpoint
from nascli.config import EvolutionConfig, SearchConfig
from nascli.scores.base import SCORES, Score
from nascli.scores.candidates import candidate_dir, candidate_seed
from nascli.spaces.base import Architecture, NetworkConfig
from nascli.strategies.runner import run_search

NETWORK = NetworkConfig(num_classes=4, channels=4, layers=1, input_size=8)
BATCH = 8


def _batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(BATCH, 3, NETWORK.input_size, NETWORK.input_size, generator=generator)
    return images, torch.randint(0, NETWORK.num_classes, (BATCH,), generator=generator)


class TinyTrainedScore(Score):
    """Minus the held-out loss of the candidate trained `steps` SGD steps (resumable per candidate)."""

    name = "tiny-trained"
    expensive = True
    steps = 3
    trained_steps = 0  # training steps run by this process (for KILL_AFTER)

    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Train each candidate (continuing from its checkpoint) and score it."""
        return np.array([self._train(arch) for arch in archs], dtype=np.float64)

    def _train(self, arch: Architecture) -> float:
        space, context = self.context.space, self.context
        text = space.format(arch)
        seed = candidate_seed(context.seed, text)
        folder = candidate_dir(context.run_dir, text)
        device = context.device
        torch.manual_seed(seed)
        network = space.network(arch, NETWORK).to(device)
        optimizer = torch.optim.SGD(network.parameters(), lr=0.1, momentum=0.9)
        start = 0
        if (folder / "last.pt").is_file():
            state = load_checkpoint(folder / "last.pt")  # on the CPU; load_state_dict copies to the device
            network.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start = int(state["step"])
        network.train()
        for step in range(start, self.steps):
            images, labels = (t.to(device) for t in _batch(seed + 1 + step))
            loss = F.cross_entropy(network(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            atomic_torch_save({"model": network.state_dict(), "optimizer": optimizer.state_dict(), "step": step + 1},
                              folder / "last.pt")
            with open(folder / "trained_by.txt", "a", encoding="utf-8") as log:
                log.write(f"{os.environ.get('RANK', '0')} {step}\n")
            TinyTrainedScore.trained_steps += 1
            if (os.environ.get("KILL_RANK") == os.environ.get("RANK", "0")
                    and TinyTrainedScore.trained_steps == int(os.environ.get("KILL_AFTER", "0"))):
                os.kill(os.getpid(), signal.SIGKILL)
        network.eval()
        with torch.no_grad():
            images, labels = (t.to(device) for t in _batch(seed))
            return -float(F.cross_entropy(network(images), labels))


if "tiny-trained" not in SCORES:
    SCORES.add("tiny-trained", TinyTrainedScore)


def search_config(generations: int, population: int, device: str = "cpu") -> SearchConfig:
    """The evolution over NB201 the tests and the benchmark run with `tiny-trained`."""
    half = population // 2
    cfg = SearchConfig(space="nb201", strategy="evolution", score="tiny-trained", seed=5,
                       evolution=EvolutionConfig(population=population, parents=max(2, half), mutation=half,
                                                 crossover=population - half, generations=generations))
    cfg.runtime.device = device
    cfg.runtime.quiet = True
    return cfg


def main(argv: list[str]) -> None:
    """Run the search into OUT (resuming it with --resume)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--population", type=int, default=6)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    TinyTrainedScore.steps = args.steps
    start = time.perf_counter()
    run_search(search_config(args.generations, args.population, args.device), args.out, resume=args.resume)
    if os.environ.get("RANK", "0") == "0":
        print(f"search seconds: {time.perf_counter() - start:.6f}")  # read by benchmarks/bench_search_ranks.py


if __name__ == "__main__":
    main(sys.argv[1:])
