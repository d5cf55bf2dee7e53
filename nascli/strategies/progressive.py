"""Progressive learning (methods/drnas.md §2): the stage plan, pruning by θ, widening with the SGD state carried.

Between stages the weakest ops of every edge are pruned by their θ (previously pruned ops cannot return,
kept θ are not reset) and the partial-channel ratio K shrinks: every op is widened from C/K_old to C/K_new
channels by copying random channels, and the new SGD optimizer receives the old momentum buffers grown
with the same copied indices. The learning rate is a pure function of the epoch over all stages
(`nascli.train.schedule`), so by default the cosine curve continues across the boundary. The reference does not
quite: its new SGD is built at the base LR and its scheduler restored with `load_state_dict`, which leaves the
optimizer's LR alone, so the first epoch of every later stage runs at the base LR (PyTorch 1.3.0's closed-form
CosineAnnealingLR then resumes the curve); `differentiable.stage_lr: reference` reproduces that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from nascli.config import OptimConfig, StageConfig
from nascli.errors import NasInputError
from nascli.spaces.mixed import WidenedParameter, widen_edges
from nascli.train.engine import build_optimizer

PRUNED_OFFSET = 1_000_000.0
"""Subtracted from the θ of already pruned ops before ranking, so that they can never come back."""


@dataclass(frozen=True)
class Stage:
    """One stage: its index, first epoch, length, partial-channel ratio K and ops kept per edge."""

    index: int
    start: int
    epochs: int
    partial_channels: int
    ops_kept: int

    @property
    def end(self) -> int:
        """First epoch after the stage."""
        return self.start + self.epochs


class StagePlan:
    """The stages of a search, checked: K and the ops kept never grow, the first stage keeps every op."""

    def __init__(self, stages: Sequence[StageConfig], num_ops: int) -> None:
        if not stages:
            raise NasInputError("a differentiable search needs at least one stage: set differentiable.stages")
        built: list[Stage] = []
        start = 0
        for index, stage in enumerate(stages):
            kept = num_ops if stage.ops_kept is None else int(stage.ops_kept)
            if stage.epochs < 1:
                raise NasInputError(f"stage {index + 1} has {stage.epochs} epochs: every stage needs at least 1")
            if stage.partial_channels < 1:
                raise NasInputError(f"stage {index + 1} has partial_channels {stage.partial_channels}: K must be ≥ 1")
            if not 1 <= kept <= num_ops:
                raise NasInputError(f"stage {index + 1} keeps {kept} ops per edge: choose 1..{num_ops}")
            if index == 0 and kept != num_ops:
                raise NasInputError(
                    f"the first stage keeps {kept} of {num_ops} ops, but nothing has been learnt to prune by yet: "
                    "leave its ops_kept unset and prune from the second stage on"
                )
            if built and (stage.partial_channels > built[-1].partial_channels or kept > built[-1].ops_kept):
                raise NasInputError(
                    f"stage {index + 1} raises K or the ops kept over stage {index}: progressive learning only "
                    "shrinks K (widening the ops) and prunes ops"
                )
            built.append(Stage(index, start, int(stage.epochs), int(stage.partial_channels), kept))
            start += int(stage.epochs)
        self.stages = tuple(built)

    @property
    def total_epochs(self) -> int:
        """Epochs over all stages (the length of the LR schedule)."""
        return self.stages[-1].end

    def at(self, epoch: int) -> Stage:
        """The stage `epoch` belongs to (the last one past the end)."""
        for stage in self.stages:
            if epoch < stage.end:
                return stage
        return self.stages[-1]

    def next_after(self, epoch: int) -> Stage | None:
        """The stage that starts right after `epoch`, if `epoch` ends a stage that is not the last."""
        stage = self.at(epoch)
        if epoch == stage.end - 1 and stage.index + 1 < len(self.stages):
            return self.stages[stage.index + 1]
        return None


@torch.no_grad()
def prune(theta: torch.Tensor, num_keep: int, mask: torch.Tensor | None) -> torch.Tensor:
    """Keep the `num_keep` largest θ per edge (row), in place; returns the new boolean mask (DrNAS `utils.prune`).

    Already pruned entries are pushed down by 1e6 first so they cannot return; kept θ keep their values,
    the others are set to 0.
    """
    if mask is not None:
        theta[~mask] -= PRUNED_OFFSET
    values, index = theta.topk(k=num_keep, dim=-1)
    theta.copy_(torch.zeros_like(theta).scatter(1, index, values))
    return torch.zeros_like(theta, dtype=torch.bool).scatter(1, index, True)


def transplant_optimizer_state(old: torch.optim.Optimizer, new: torch.optim.Optimizer,
                               widened: Sequence[WidenedParameter]) -> None:
    """Give `new` the per-parameter state of `old`; widened parameters get it grown like their weights.

    DrNAS `net2wider.configure_optimizer`: the momentum buffers are extended with the copied channels.
    """
    replaced = {id(item.new): item for item in widened}
    for group in new.param_groups:
        for param in group["params"]:
            item = replaced.get(id(param))
            source = item.old if item is not None else param
            state = old.state.get(source)
            if not state:
                continue
            carried = {}
            for key, value in state.items():
                if item is not None and torch.is_tensor(value) and value.shape == item.old.shape:
                    value = item.expand(value)
                carried[key] = value
            new.state[param] = carried


def widen_supernet(model: nn.Module, optimizer: torch.optim.Optimizer, optim_cfg: OptimConfig,
                   partial_channels: int, generator: torch.Generator, channels_last: bool = False
                   ) -> torch.optim.Optimizer:
    """Widen every mixed edge to K = `partial_channels` and return a new SGD optimizer carrying the old state."""
    widened = widen_edges(model, partial_channels, generator)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    new = build_optimizer(model, optim_cfg)
    transplant_optimizer_state(optimizer, new, widened)
    return new
