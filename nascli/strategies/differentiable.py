"""Differentiable search: architecture parameters, the architecture step (first or second order), genotypes.

DARTS mixes the ops of an edge with softmax(θ); DrNAS draws the mixing weights at every forward from
Dir(β), β = ELU(θ) + 1, with pathwise gradients (methods/drnas.md §1). One θ matrix per cell type (NB201:
`cell` 6×5; DARTS: `normal` and `reduce` 14×ops), one draw per edge per forward shared by all cells of a
type. The architecture step runs as a `TrainHook` before every weight step of the `Trainer`, on a batch
of the architecture half from a persistent, cycling loader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Dirichlet, kl_divergence

from nascli.data.loader import derive_seed
from nascli.errors import NasInputError
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.progressive import StagePlan, prune, widen_supernet
from nascli.train.devices import Precision, autocast
from nascli.train.distributed import DistInfo, all_reduce_sum
from nascli.train.engine import Trainer, TrainHook, full_precision

DIFFERENTIABLE = ("darts", "drnas")
"""Strategies that train a mixed supernet instead of scoring architectures (`run_search` hands them over)."""

METHODS = {"darts": "softmax", "drnas": "dirichlet"}


def cell_layout(space: SearchSpace) -> dict[str, list[list[int]]]:
    """Per cell type, the edges entering each node (edge indices), in the order the θ rows use."""
    if space.name == "nb201":
        from nascli.spaces.nb201 import EDGES

        return {"cell": [[e for e, (to, _) in enumerate(EDGES) if to == node] for node in (1, 2, 3)]}
    if space.name == "darts":
        from nascli.spaces.darts import CELL_KINDS, EDGE_OFFSETS

        nodes = [list(range(EDGE_OFFSETS[s - 2], EDGE_OFFSETS[s - 2] + s)) for s in range(2, 6)]
        return {kind: nodes for kind in CELL_KINDS}
    raise NasInputError(f"differentiable search supports the nb201 and darts spaces, not {space.name!r}")


class ArchParameters:
    """θ per cell type (init 1e-3·N(0,1)), pruning masks and, for PC-DARTS edge normalisation, edge logits β."""

    def __init__(self, space: SearchSpace, method: str, *, edge_normalization: bool = False,
                 device: torch.device | str = "cpu") -> None:
        if method not in ("softmax", "dirichlet"):
            raise ValueError(f"unknown mixing method {method!r}")
        self.method = method
        self.ops = tuple(space.ops)
        self.layout = cell_layout(space)
        self.theta: dict[str, torch.Tensor] = {}
        self.betas: dict[str, torch.Tensor] = {}
        self.masks: dict[str, torch.Tensor | None] = {}
        for kind, nodes in self.layout.items():
            num_edges = sum(len(edges) for edges in nodes)
            self.theta[kind] = (1e-3 * torch.randn(num_edges, len(self.ops))).to(device).requires_grad_()
            self.masks[kind] = None
        if edge_normalization:
            for kind, nodes in self.layout.items():
                num_edges = sum(len(edges) for edges in nodes)
                self.betas[kind] = (1e-3 * torch.randn(num_edges)).to(device).requires_grad_()

    @property
    def kinds(self) -> tuple[str, ...]:
        """The cell types (`cell`, or `normal` and `reduce`)."""
        return tuple(self.theta)

    def parameters(self) -> list[torch.Tensor]:
        """θ of each cell type, then the edge logits β (what the architecture optimizer updates)."""
        return [*self.theta.values(), *self.betas.values()]

    def concentration(self, kind: str) -> torch.Tensor:
        """Dirichlet concentration β = ELU(θ) + 1."""
        return F.elu(self.theta[kind]) + 1

    def _masked(self, weights: torch.Tensor, kind: str) -> torch.Tensor:
        mask = self.masks[kind]
        if mask is None:
            return weights
        weights = weights * mask
        return weights / weights.sum(dim=-1, keepdim=True)

    def mixing_weights(self, detach: bool = False) -> dict[str, torch.Tensor]:
        """One matrix of op weights per cell type: a fresh Dir(β) draw per edge (rsample) or softmax(θ).

        Pruned ops get exactly 0 and the rest are renormalised (DrNAS `process_step_vector`: a full draw,
        masked, renormalised, which by aggregation equals a draw from the kept concentrations).
        `detach` cuts the graph to θ (the weight step needs no θ gradient).
        """
        out = {}
        for kind, theta in self.theta.items():
            theta = theta.detach() if detach else theta
            if self.method == "dirichlet":
                weights = Dirichlet(F.elu(theta) + 1).rsample()
            else:
                weights = F.softmax(theta, dim=-1)
            out[kind] = self._masked(weights, kind)
        return out

    def edge_weights(self, detach: bool = False) -> dict[str, torch.Tensor] | None:
        """PC-DARTS: per node, softmax of β over its incoming edges; None without edge normalisation."""
        if not self.betas:
            return None
        out = {}
        for kind, betas in self.betas.items():
            betas = betas.detach() if detach else betas
            out[kind] = torch.cat([F.softmax(betas[edges], dim=-1) for edges in self.layout[kind]])
        return out

    @torch.no_grad()
    def probabilities(self) -> dict[str, np.ndarray]:
        """softmax(θ) with pruned ops masked (× the normalised edge weights with edge normalisation)."""
        edge_weights = self.edge_weights(detach=True)
        out = {}
        for kind, theta in self.theta.items():
            probs = self._masked(F.softmax(theta.detach().float(), dim=-1), kind)
            if edge_weights is not None:
                probs = probs * edge_weights[kind].float()[:, None]
            out[kind] = probs.cpu().numpy()
        return out

    def kl_to_uniform(self) -> torch.Tensor:
        """Σ over edges and cell types of KL(Dir(β_e) ‖ Dir(1)) (DrNAS `_get_kl_reg`, without the scale)."""
        total = torch.zeros((), device=next(iter(self.theta.values())).device)
        for kind in self.theta:
            concentration = self.concentration(kind)
            total = total + kl_divergence(Dirichlet(concentration), Dirichlet(torch.ones_like(concentration))).sum()
        return total

    def prune(self, num_keep: int) -> None:
        """Keep the `num_keep` strongest ops per edge by θ in every cell type (see `progressive.prune`)."""
        for kind, theta in self.theta.items():
            self.masks[kind] = prune(theta, num_keep, self.masks[kind])
        self._active = None

    def active_ops(self) -> dict[str, list[list[bool]]]:
        """Per cell type, edge and op: not pruned. Read on the host once per stage, so the mixed forward needs no
        device sync to know which ops to skip (a Dirichlet draw is never exactly 0 where the mask keeps an op)."""
        if getattr(self, "_active", None) is None:
            self._active = {
                kind: [[True] * len(self.ops) for _ in range(theta.shape[0])] if self.masks[kind] is None
                else self.masks[kind].bool().tolist()
                for kind, theta in self.theta.items()
            }
        return self._active

    def num_kept(self) -> int:
        """Ops per edge still in play."""
        mask = next(iter(self.masks.values()))
        return len(self.ops) if mask is None else int(mask[0].sum())

    def record(self) -> dict[str, Any]:
        """θ (and β, masks) as plain lists, for the history log."""
        out: dict[str, Any] = {"theta": {kind: theta.detach().cpu().tolist() for kind, theta in self.theta.items()}}
        if self.betas:
            out["edge_logits"] = {kind: betas.detach().cpu().tolist() for kind, betas in self.betas.items()}
        if any(mask is not None for mask in self.masks.values()):
            out["masks"] = {kind: mask.cpu().tolist() for kind, mask in self.masks.items() if mask is not None}
        return out

    def state_dict(self) -> dict[str, Any]:
        """θ, β and masks (tensors, for checkpoints)."""
        return {
            "method": self.method,
            "theta": {kind: theta.detach().cpu().clone() for kind, theta in self.theta.items()},
            "betas": {kind: betas.detach().cpu().clone() for kind, betas in self.betas.items()},
            "masks": {kind: None if mask is None else mask.cpu().clone() for kind, mask in self.masks.items()},
        }

    @torch.no_grad()
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict` output in place (the optimizer keeps pointing at the same tensors)."""
        if state.get("method") != self.method or set(state["theta"]) != set(self.theta) or set(
                state.get("betas", {})) != set(self.betas):
            raise NasInputError("the checkpoint holds the architecture parameters of another search: resume with "
                                "the recipe the run was started with, or use a new --out")
        for kind, theta in self.theta.items():
            if state["theta"][kind].shape != theta.shape:
                raise NasInputError("the checkpoint's architecture parameters have another shape: resume with the "
                                    "same space and variant")
            theta.copy_(state["theta"][kind])
            mask = state["masks"][kind]
            self.masks[kind] = None if mask is None else mask.to(theta.device)
        self._active = None
        for kind, betas in self.betas.items():
            betas.copy_(state["betas"][kind])


def derive_genotype(space: SearchSpace, probabilities: Mapping[str, np.ndarray]) -> Architecture:
    """The architecture the references derive from the (masked) op probabilities (methods/drnas.md §1.4).

    NB201: the argmax op of each edge. DARTS: per node the two incoming edges whose strongest non-`none`
    op is largest, each with that op (strongest edge first, as the reference parse emits them).
    """
    if space.name == "nb201":
        from nascli.spaces.nb201 import NB201Arch

        return NB201Arch.from_indices(np.asarray(probabilities["cell"]).argmax(axis=1))
    from nascli.spaces.darts import CELL_KINDS, CONCAT, EDGE_OFFSETS, DartsGenotype

    candidates = [c for c, op in enumerate(space.ops) if op != "none"]
    cells = []
    for kind in CELL_KINDS:
        weights = np.asarray(probabilities[kind])[:, candidates]
        pairs: list[tuple[str, int]] = []
        for state in range(2, 6):
            rows = weights[EDGE_OFFSETS[state - 2] : EDGE_OFFSETS[state - 2] + state]
            strongest = sorted(range(state), key=lambda source: -rows[source].max())[:2]
            pairs.extend((space.ops[candidates[int(rows[source].argmax())]], source) for source in strongest)
        cells.append(tuple(pairs))
    return DartsGenotype(cells[0], CONCAT, cells[1], CONCAT)


class CyclingBatches:
    """Endless batches of a loader, epoch after epoch; the position (epoch, step) checkpoints.

    The references draw `next(iter(valid_queue))` at every step, i.e. rebuild the iterator each time (a
    fresh random batch, with replacement across steps); a persistent iterator visits every image of the
    architecture half once per pass instead (documented departure, methods/drnas.md §6.1).
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.epoch = 0
        self.step = 0
        self._iterator: Any = None

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next (images, labels) batch."""
        if self._iterator is None:
            self._iterator = iter(self.loader.iterate(self.epoch, self.step))
        try:
            images, labels, _ = next(self._iterator)
        except StopIteration:
            self.epoch, self.step = self.epoch + 1, 0
            self._iterator = iter(self.loader.iterate(self.epoch, 0))
            images, labels, _ = next(self._iterator)
        self.step += 1
        return images, labels

    def state_dict(self) -> dict[str, int]:
        """The position of the next batch."""
        return {"epoch": self.epoch, "step": self.step}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Continue from a saved position."""
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self._iterator = None


def unrolled_arch_gradients(
    weights: Sequence[nn.Parameter],
    arch: Sequence[torch.Tensor],
    train_loss: Callable[[], torch.Tensor],
    valid_loss: Callable[[], torch.Tensor],
    eta: float,
    optimizer: torch.optim.Optimizer,
    r: float = 1e-2,
    hessian_divisor_bug: bool = False,
) -> list[torch.Tensor]:
    """DARTS second-order architecture gradient (methods/drnas.md §1.2 `--unrolled`; DARTS `Architect`).

    w' = w − η (μ·m + ∇_w L_train(w, α) + λ w) is one virtual SGD step (m: the optimizer's momentum
    buffers, μ and λ its momentum and weight decay); the result is ∇_α L_val(w', α) − η · H v with
    v = ∇_{w'} L_val(w', α) and the Hessian-vector product H v = ∇²_{α,w} L_train · v by central finite
    differences at w ± R v, R = r / ‖v‖. The weights are restored before returning. `hessian_divisor_bug`
    divides the difference as pt.darts does, (g⁺ − g⁻)/2 · R instead of /(2R) (methods/bpe.md §3.5).
    """
    weights = [p for p in weights if p.requires_grad]
    settings = {id(p): (float(g.get("momentum", 0.0)), float(g.get("weight_decay", 0.0)))
                for g in optimizer.param_groups for p in g["params"]}
    originals = [p.detach().clone() for p in weights]
    grads = torch.autograd.grad(train_loss(), weights, allow_unused=True)
    with torch.no_grad():
        for param, grad in zip(weights, grads, strict=True):
            momentum, decay = settings.get(id(param), (0.0, 0.0))
            step = decay * param if grad is None else grad + decay * param
            buffer = optimizer.state.get(param, {}).get("momentum_buffer")
            if buffer is not None:
                step = step + momentum * buffer
            param.sub_(eta * step)
    try:
        grads = torch.autograd.grad(valid_loss(), [*arch, *weights], allow_unused=True)
        d_arch = [torch.zeros_like(a) if g is None else g for a, g in zip(arch, grads[: len(arch)], strict=True)]
        vector = [torch.zeros_like(p) if g is None else g for p, g in zip(weights, grads[len(arch):], strict=True)]
        norm = torch.cat([v.reshape(-1) for v in vector]).norm()
        if float(norm) == 0.0:
            return d_arch
        radius = r / norm

        def arch_grad_at(sign: float) -> list[torch.Tensor]:
            with torch.no_grad():
                for param, original, v in zip(weights, originals, vector, strict=True):
                    param.copy_(original + sign * radius * v)
            found = torch.autograd.grad(train_loss(), list(arch), allow_unused=True)
            return [torch.zeros_like(a) if g is None else g for a, g in zip(arch, found, strict=True)]

        plus, minus = arch_grad_at(1.0), arch_grad_at(-1.0)
        if hessian_divisor_bug:
            return [d - eta * (p - m) / 2 * radius for d, p, m in zip(d_arch, plus, minus, strict=True)]
        return [d - eta * (p - m) / (2 * radius) for d, p, m in zip(d_arch, plus, minus, strict=True)]
    finally:
        with torch.no_grad():
            for param, original in zip(weights, originals, strict=True):
                param.copy_(original)


def average_across_ranks(tensors: Sequence[torch.Tensor], dist: DistInfo) -> None:
    """Mean over ranks, in place (every rank then applies the same architecture update)."""
    if not dist.enabled or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    all_reduce_sum(flat, dist)
    flat /= dist.world_size
    offset = 0
    for tensor in tensors:
        tensor.copy_(flat[offset : offset + tensor.numel()].view_as(tensor))
        offset += tensor.numel()


class ArchitectureHook(TrainHook):
    """The architecture side of a differentiable search, run by the `Trainer`.

    Before each weight step: one Adam step on θ from a batch of the architecture half (unless θ is frozen
    in the first `freeze_epochs` of the stage). After each epoch: θ, the derived genotype and `report`'s
    fields go into the epoch's record; at the end of a stage, the weakest ops are pruned and the supernet
    widened to the next stage's K (the Trainer's optimizer is replaced by one carrying the momentum).
    """

    def __init__(
        self,
        *,
        space: SearchSpace,
        arch: ArchParameters,
        optimizer: torch.optim.Optimizer,
        valid: CyclingBatches,
        plan: StagePlan,
        order: str = "first",
        kl_weight: float = 0.0,
        grad_clip: float = 0.0,
        freeze_epochs: int = 0,
        seed: int = 0,
        report: Callable[[ArchParameters, int], dict[str, Any]] | None = None,
        dist: DistInfo = DistInfo(),
        stage_lr: str = "continue",
        weight_clip_with_arch: bool = False,
        hessian_divisor_bug: bool = False,
    ) -> None:
        self.hessian_divisor_bug = hessian_divisor_bug
        self.space = space
        self.arch = arch
        self.optimizer = optimizer
        self.valid = valid
        self.plan = plan
        self.order = order
        self.kl_weight = kl_weight
        self.grad_clip = grad_clip
        self.freeze_epochs = freeze_epochs
        self.seed = seed
        self.report = report
        self.dist = dist
        self.stage_index = 0
        self.partial_channels = plan.stages[0].partial_channels
        self.arch_steps = 0
        if stage_lr not in ("continue", "reference"):
            raise NasInputError(f"unknown stage_lr {stage_lr!r}: choose continue or reference")
        self.stage_lr = stage_lr
        self.weight_clip_with_arch = weight_clip_with_arch
        self._epoch_lr: float | None = None

    def base_lr_epoch(self, epoch: int) -> bool:
        """Whether `epoch` runs at the base LR: the first epoch of a later stage under `stage_lr: reference`."""
        stage = self.plan.at(epoch)
        return self.stage_lr == "reference" and stage.index > 0 and epoch == stage.start

    def loss(self, trainer: Trainer, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the mixed supernet under a fresh draw of mixing weights (+ the KL regulariser).

        The second-order step always runs in fp32: its finite-difference Hessian-vector product is noise in bf16.
        """
        precision = Precision(None, False) if self.order == "second" else trainer.precision
        with autocast(precision, trainer.device):
            output = trainer.model(images, self.arch.mixing_weights(), self.arch.edge_weights(),
                                   active=self.arch.active_ops())
        loss = F.cross_entropy(full_precision(output), labels)
        if self.kl_weight > 0:
            loss = loss + self.kl_weight * self.arch.kl_to_uniform()
        return loss

    def frozen(self, epoch: int) -> bool:
        """Whether θ is frozen in `epoch` (the first `freeze_epochs` of every stage)."""
        return epoch - self.plan.at(epoch).start < self.freeze_epochs

    def on_step_start(self, trainer: Trainer, epoch: int, step: int) -> None:
        """One architecture step (first order, or DARTS's unrolled second order)."""
        if self.base_lr_epoch(epoch):
            for group in trainer.optimizer.param_groups:
                group["lr"] = trainer.cfg.lr
        self._epoch_lr = float(trainer.optimizer.param_groups[0]["lr"])
        try:
            self._arch_step(trainer, epoch)
        finally:
            if self.weight_clip_with_arch:  # the weight step's backward starts θ's gradient afresh (zero_grad)
                for param in self.arch.parameters():
                    param.grad = None

    def _arch_step(self, trainer: Trainer, epoch: int) -> None:
        if self.frozen(epoch):
            return
        images, labels = self.valid.next()
        if trainer.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        params = self.arch.parameters()
        if self.order == "second":
            if trainer.batch is None:
                raise RuntimeError("the second-order step needs the trainer's current batch")
            train_images, train_labels = trainer.batch
            grads = unrolled_arch_gradients(
                list(trainer.model.parameters()), params,
                lambda: self.loss(trainer, train_images, train_labels), lambda: self.loss(trainer, images, labels),
                float(trainer.optimizer.param_groups[0]["lr"]), trainer.optimizer,
                hessian_divisor_bug=self.hessian_divisor_bug,
            )
        else:
            found = torch.autograd.grad(self.loss(trainer, images, labels), params, allow_unused=True)
            grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, found, strict=True)]
        average_across_ranks(grads, self.dist)
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(params, self.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.arch_steps += 1

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any]) -> None:
        """Record θ and the genotype; prune and widen when a stage ends."""
        stage = self.plan.at(epoch)
        if self._epoch_lr is not None:
            record["lr"] = self._epoch_lr  # the LR the epoch ran at (the base LR after a boundary under `reference`)
        record.update({
            "stage": stage.index,
            "partial_channels": self.partial_channels,
            "ops_kept": self.arch.num_kept(),
            "arch_frozen": self.frozen(epoch),
            "arch_steps": self.arch_steps,
        })
        record.update(self.arch.record())
        record["genotype"] = self.space.format(derive_genotype(self.space, self.arch.probabilities()))
        if self.report is not None:
            record.update(self.report(self.arch, epoch))
        upcoming = self.plan.next_after(epoch)
        if upcoming is None:
            return
        if upcoming.ops_kept < self.arch.num_kept():
            self.arch.prune(upcoming.ops_kept)
        if upcoming.partial_channels != self.partial_channels:
            generator = torch.Generator().manual_seed(derive_seed("widen", self.seed, upcoming.index))
            trainer.optimizer = widen_supernet(trainer.model, trainer.optimizer, trainer.cfg,
                                               upcoming.partial_channels, generator, trainer.channels_last)
            self.partial_channels = upcoming.partial_channels
        self.stage_index = upcoming.index

    def state_dict(self) -> dict[str, Any]:
        """θ, masks, the Adam state, the loader position, the stage and K."""
        return {
            "arch": self.arch.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "valid": self.valid.state_dict(),
            "stage": self.stage_index,
            "partial_channels": self.partial_channels,
            "arch_steps": self.arch_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output (the supernet must already be built at the saved K)."""
        self.arch.load_state_dict(state["arch"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.valid.load_state_dict(state["valid"])
        self.stage_index = int(state["stage"])
        self.partial_channels = int(state["partial_channels"])
        self.arch_steps = int(state["arch_steps"])
