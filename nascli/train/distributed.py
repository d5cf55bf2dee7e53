"""DDP under torchrun: process group set-up, gradient and buffer averaging, rank-0 writes."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """Whether more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes files and prints."""
        return self.rank == 0


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group when started by torchrun (gloo on CPU, nccl on CUDA); single process otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def init_device_and_ranks(device_name: str) -> tuple[torch.device, DistInfo]:
    """The stage's device (`auto|cpu|cuda`) and its place in a torchrun job; each rank takes its local GPU."""
    from nascli.train.devices import resolve_device

    device = resolve_device(device_name)
    dist_info = init_distributed(device.type)
    if dist_info.enabled and device.type == "cuda":
        device = torch.device("cuda", dist_info.local_rank)
    return device, dist_info


def average_gradients(parameters: Iterable[nn.Parameter], info: DistInfo) -> None:
    """All-reduce the mean of every existing gradient in one flat buffer.

    Every rank runs the same path at each step, so the set of parameters with gradients is the same on all
    ranks; a flat buffer keeps it one collective per step.
    """
    if not info.enabled:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for grad in grads:
        count = grad.numel()
        grad.copy_(flat[offset : offset + count].view_as(grad))
        offset += count


def average_buffers(module: nn.Module, info: DistInfo) -> None:
    """Average floating buffers (BN running statistics) so every rank saves the same model."""
    if not info.enabled:
        return
    for buffer in module.buffers():
        if buffer.dtype.is_floating_point:
            dist.all_reduce(buffer)
            buffer /= info.world_size
        else:
            dist.broadcast(buffer, src=0)


def broadcast_parameters(module: nn.Module, info: DistInfo) -> None:
    """Make every rank start from rank 0's weights."""
    if not info.enabled:
        return
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)


def barrier(info: DistInfo) -> None:
    """Wait for every rank."""
    if info.enabled:
        dist.barrier()


def all_reduce_sum(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum a tensor over ranks (in place) and return it."""
    if info.enabled:
        dist.all_reduce(tensor)
    return tensor
