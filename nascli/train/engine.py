"""The training loop shared by supernets, stand-alone networks, reduced-budget candidates and
differentiable search (which adds its architecture step through a hook)."""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from nascli.artifacts import (
    append_jsonl,
    atomic_torch_save,
    load_checkpoint,
    read_jsonl,
    withdraw_tail,
    write_jsonl,
)
from nascli.config import OptimConfig
from nascli.errors import NasInputError, StageInterrupted
from nascli.spaces.base import PathSampler
from nascli.train.devices import Precision, autocast
from nascli.train.distributed import DistInfo, all_reduce_sum, average_buffers, average_gradients
from nascli.train.progress import make_progress
from nascli.train.schedule import learning_rate

CHECKPOINT_FORMAT = "nascli-train"


class TrainingInterrupted(StageInterrupted):
    """Raised after a checkpoint was saved because of SIGINT/SIGTERM; `--resume` continues."""


class BatchSource(Protocol):
    """What the trainer needs from a data loader (nascli.data.BatchLoader implements it)."""

    def __len__(self) -> int: ...

    def iterate(self, epoch: int, start_step: int = 0) -> Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Batches of (images, labels, indices) for `epoch`, skipping the first `start_step`."""
        ...


class TrainHook:
    """Extension points; a hook's state is checkpointed with the run (differentiable search uses these)."""

    def on_step_start(self, trainer: Trainer, epoch: int, step: int) -> None:
        """Before the weight step (e.g. an architecture step); `trainer.batch` holds the step's batch on the device."""

    def on_after_backward(self, trainer: Trainer, path: Any) -> None:
        """After the weight step's backward, before gradients are averaged, clipped and applied."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any]) -> None:
        """After an epoch; may add fields to the log record."""

    def state_dict(self) -> dict[str, Any]:
        """State to checkpoint."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore checkpointed state."""


@dataclass
class TrainResult:
    """What `fit` returns."""

    epochs_done: int
    records: list[dict[str, Any]] = field(default_factory=list)


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop saves a checkpoint at the next step boundary."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def full_precision(logits: torch.Tensor) -> torch.Tensor:
    """Logits for the loss: half-precision (autocast) logits upcast to fp32; fp32 and fp64 ones as they are."""
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def classification_loss(output: Any, labels: torch.Tensor, label_smoothing: float, aux_weight: float) -> torch.Tensor:
    """Cross-entropy on the logits, plus `aux_weight` × the auxiliary head's loss when the model returns one."""
    if isinstance(output, tuple):
        logits, aux = output
    else:
        logits, aux = output, None
    loss = F.cross_entropy(full_precision(logits), labels, label_smoothing=label_smoothing)
    if aux is not None and aux_weight > 0:
        loss = loss + aux_weight * F.cross_entropy(full_precision(aux), labels, label_smoothing=label_smoothing)
    return loss


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.SGD:
    """SGD with momentum / Nesterov; weight decay on all weights or, as `weight_decay_on` says, on conv
    (4-D) weights only, conv and linear weights only, or conv weights and linear weights and biases (RLNAS
    ImageNet supernets)."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            is_conv = isinstance(module, nn.Conv2d) and name == "weight"
            is_linear = isinstance(module, nn.Linear) and name == "weight"
            wanted = (cfg.weight_decay_on == "all"
                      or (is_conv and cfg.weight_decay_on in ("conv", "conv+linear", "conv+linear+bias"))
                      or (is_linear and cfg.weight_decay_on == "conv+linear")
                      or (isinstance(module, nn.Linear) and cfg.weight_decay_on == "conv+linear+bias"))
            (decay if wanted else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0)


class Trainer:
    """One loop: LR schedule, AMP, channels_last, clipping, DDP averaging, JSONL log, exact resume."""

    def __init__(
        self,
        model: nn.Module,
        optim_cfg: OptimConfig,
        loader: BatchSource,
        run_dir: str | Path,
        *,
        device: torch.device,
        precision: Precision = Precision(None, False),
        channels_last: bool = False,
        path_sampler: PathSampler | None = None,
        forward: Callable[[nn.Module, torch.Tensor, Any], Any] | None = None,
        evaluate: Callable[[nn.Module, int], dict[str, float]] | None = None,
        hooks: Sequence[TrainHook] = (),
        dist_info: DistInfo = DistInfo(),
        quiet: bool = False,
        aux_weight: float = 0.0,
        optimizer: torch.optim.Optimizer | None = None,
        log_name: str = "log.jsonl",
        checkpoint_name: str = "last.pt",
        description: str = "train",
        extra_state: Callable[[], dict[str, Any]] | None = None,
        clip_extra: Sequence[torch.Tensor] = (),
    ) -> None:
        self.model = model.to(device)
        # tensors outside the model whose gradients the weight step's clip norm also counts (DrNAS NB201's θ)
        self.clip_extra = list(clip_extra)
        self.cfg = optim_cfg
        self.loader = loader
        self.run_dir = Path(run_dir)
        self.device = device
        self.precision = precision
        # channels_last is faster on CPU too (oneDNN): 1.8-2.4x for NB201 supernet steps (benchmarks/)
        self.channels_last = channels_last
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.path_sampler = path_sampler
        self.forward = forward or _default_forward
        self.evaluate = evaluate
        self.hooks = list(hooks)
        self.dist = dist_info
        self.quiet = quiet or not dist_info.is_main
        self.aux_weight = aux_weight
        self.optimizer = optimizer or build_optimizer(self.model, optim_cfg)
        self.scaler = torch.amp.GradScaler(device.type) if precision.scaler else None
        self.log_path = self.run_dir / log_name
        self.checkpoint_path = self.run_dir / checkpoint_name
        self.description = description
        self.extra_state = extra_state
        self.epoch = 0
        self.global_step = 0
        self._resume_step = 0
        self._accum: dict[str, float] = {}
        self._restored = False
        self.batch: tuple[torch.Tensor, torch.Tensor] | None = None

    # ---------------------------------------------------------------------------------------------
    @property
    def end_epoch(self) -> int:
        """Last epoch (exclusive) this run trains, `stop_after_epochs` applied."""
        stop = self.cfg.stop_after_epochs
        return min(self.cfg.epochs, stop) if stop is not None else self.cfg.epochs

    def state_dict(self, step_in_epoch: int, accum: dict[str, float]) -> dict[str, Any]:
        """Everything needed to continue bit-for-bit: model, optimizer, sampler, RNG, position."""
        state: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "epoch": self.epoch,
            "step_in_epoch": step_in_epoch,
            "global_step": self.global_step,
            "accum": dict(accum),
            "sampler": self.path_sampler.state_dict() if self.path_sampler is not None else None,
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "hooks": [hook.state_dict() for hook in self.hooks],
            # with in-place zero_grad, a weight that ever had a gradient keeps a (zero) one and keeps getting
            # weight decay and momentum; a resumed process must start with the same set of gradients
            "grad_present": torch.tensor([p.grad is not None for p in self.model.parameters()], dtype=torch.bool),
        }
        if self.extra_state is not None:
            state["extra"] = self.extra_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint written by `state_dict`."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise NasInputError(f"{self.checkpoint_path} is not a nascli training checkpoint: start a new --out folder")
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise NasInputError(
                f"{self.checkpoint_path} does not fit this network ({first[:100]}): it was made with other "
                "settings; resume with the same recipe or use a new --out folder"
            ) from None
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self._resume_step = int(state["step_in_epoch"])
        self.global_step = int(state["global_step"])
        self._accum = {k: float(v) for k, v in state.get("accum", {}).items()}
        if self.path_sampler is not None and state.get("sampler") is not None:
            self.path_sampler.load_state_dict(state["sampler"])
        torch.set_rng_state(state["rng_cpu"])
        if torch.cuda.is_available() and state.get("rng_cuda"):
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        for hook, hook_state in zip(self.hooks, state.get("hooks", []), strict=False):
            hook.load_state_dict(hook_state)
        present = state.get("grad_present")
        if present is not None:
            for param, has_grad in zip(self.model.parameters(), present.tolist(), strict=True):
                param.grad = torch.zeros_like(param) if has_grad else None

    def save(self, step_in_epoch: int, accum: dict[str, float]) -> None:
        """Write the checkpoint atomically (rank 0 only)."""
        state = self.state_dict(step_in_epoch, accum)
        if self.dist.is_main:
            atomic_torch_save(state, self.checkpoint_path)

    # ---------------------------------------------------------------------------------------------
    def restore(self) -> bool:
        """Load the run's checkpoint if there is one (call before writing anything, to fail early)."""
        if self._restored or not self.checkpoint_path.exists():
            return self._restored
        self.load_state_dict(load_checkpoint(self.checkpoint_path, "training checkpoint"))
        self._restored = True
        return True

    def fit(self, resume: bool = False) -> TrainResult:
        """Train from scratch or from the last checkpoint up to `end_epoch`; returns the epoch records."""
        if resume and self.restore():
            if self.dist.is_main:
                kept = [r for r in read_jsonl(self.log_path) if r.get("epoch", -1) < self.epoch]
                write_jsonl(self.log_path, kept)
        elif self.dist.is_main and self.log_path.exists():
            write_jsonl(self.log_path, [])
        records = read_jsonl(self.log_path) if self.dist.is_main else []
        steps_per_epoch = len(self.loader)
        if steps_per_epoch == 0:
            raise NasInputError("the training set is smaller than one batch: lower --batch-size or add data")
        progress = make_progress(not self.quiet)
        with _StopFlag() as stop, progress:
            task = progress.add_task(self.description, total=(self.end_epoch - self.epoch) * steps_per_epoch,
                                     info="")
            progress.advance(task, self._resume_step)
            while self.epoch < self.end_epoch:
                record = self._run_epoch(stop, progress, task, steps_per_epoch)
                records.append(record)
        return TrainResult(epochs_done=self.epoch, records=records)

    def _run_epoch(self, stop: _StopFlag, progress: Any, task: int, steps_per_epoch: int) -> dict[str, Any]:
        model, cfg = self.model, self.cfg
        model.train()
        start_step = self._resume_step
        self._resume_step = 0
        accum = self._accum or {"loss_sum": 0.0, "correct": 0.0, "count": 0.0, "seconds": 0.0}
        self._accum = {}
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.float64, device=self.device)
        count = 0
        started = time.perf_counter()
        lr = cfg.lr
        step = start_step
        for step, (images, labels, _indices) in enumerate(self.loader.iterate(self.epoch, start_step), start_step):
            lr = learning_rate(cfg, self.epoch, step, steps_per_epoch)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            images = images.to(self.device, non_blocking=True)
            labels = labels.to(self.device, non_blocking=True)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            self.batch = (images, labels)  # the step's training batch, for hooks (DARTS second-order step)
            for hook in self.hooks:
                hook.on_step_start(self, self.epoch, step)
            path = self.path_sampler.sample() if self.path_sampler is not None else None
            self.optimizer.zero_grad(set_to_none=cfg.zero_grad_to_none)
            with autocast(self.precision, self.device):
                output = self.forward(model, images, path)
            loss = classification_loss(output, labels, cfg.label_smoothing, self.aux_weight)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
                for tensor in self.clip_extra:  # not the optimizer's: unscale them for the clip norm by hand
                    if tensor.grad is not None:
                        tensor.grad.div_(self.scaler.get_scale())
            else:
                loss.backward()
            for hook in self.hooks:
                hook.on_after_backward(self, path)
            clipped = [*model.parameters(), *self.clip_extra] if self.clip_extra else model.parameters()
            average_gradients(clipped, self.dist)
            if cfg.grad_clip > 0:
                clipped = [*model.parameters(), *self.clip_extra] if self.clip_extra else model.parameters()
                if cfg.grad_clip_mode == "norm":
                    nn.utils.clip_grad_norm_(clipped, cfg.grad_clip)
                else:
                    nn.utils.clip_grad_value_(clipped, cfg.grad_clip)
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            self.global_step += 1
            logits = output[0] if isinstance(output, tuple) else output
            loss_sum += loss.detach().double() * labels.shape[0]
            correct += (logits.detach().argmax(1) == labels).sum()
            count += labels.shape[0]
            progress.advance(task)
            if stop.requested:
                partial = self._merge(accum, loss_sum, correct, count, time.perf_counter() - started)
                self.save(step + 1, partial)
                raise TrainingInterrupted(
                    f"stopped at epoch {self.epoch + 1}, step {step + 1}; checkpoint saved to {self.checkpoint_path}"
                )
        totals = self._merge(accum, loss_sum, correct, count, time.perf_counter() - started)
        average_buffers(model, self.dist)
        stats = torch.tensor([totals["loss_sum"], totals["correct"], totals["count"]], dtype=torch.float64,
                             device=self.device)
        all_reduce_sum(stats, self.dist)
        seconds = totals["seconds"]
        record: dict[str, Any] = {
            "epoch": self.epoch,
            "loss": float(stats[0] / max(stats[2], 1)),
            "accuracy": float(100.0 * stats[1] / max(stats[2], 1)),
            "lr": lr,
            "images_per_s": float(stats[2]) / seconds if seconds > 0 else math.nan,
            "seconds": seconds,
        }
        if self.evaluate is not None:
            record.update(self.evaluate(model, self.epoch))
            model.train()
        for hook in self.hooks:
            hook.on_epoch_end(self, self.epoch, record)
        self.epoch += 1
        # log first, then checkpoint: a crash between the two replays the epoch and rewrites its record
        logged = append_jsonl(self.log_path, record) if self.dist.is_main else None
        try:
            self.save(0, {})
        except BaseException:
            if logged is not None:  # no checkpoint for this epoch: the log must not list it either
                withdraw_tail(self.log_path, logged)
            raise
        progress.update(task, info=f"epoch {self.epoch} loss {record['loss']:.3f} acc {record['accuracy']:.1f}%")
        return record

    @staticmethod
    def _merge(accum: dict[str, float], loss_sum: torch.Tensor, correct: torch.Tensor, count: int,
               seconds: float) -> dict[str, float]:
        return {
            "loss_sum": accum["loss_sum"] + float(loss_sum),
            "correct": accum["correct"] + float(correct),
            "count": accum["count"] + count,
            "seconds": accum["seconds"] + seconds,
        }


def _default_forward(model: nn.Module, images: torch.Tensor, path: Any) -> Any:
    return model(images) if path is None else model(images, path)


@torch.no_grad()
def evaluate_accuracy(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    device: torch.device,
    *,
    precision: Precision = Precision(None, False),
    path: Any = None,
    dist_info: DistInfo = DistInfo(),
) -> dict[str, float]:
    """Top-1 accuracy (%) and mean loss of `model` (on `path` for a supernet) over `batches`."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.float64, device=device)
    count = torch.zeros((), dtype=torch.float64, device=device)
    for images, labels, _ in batches:
        images, labels = images.to(device), labels.to(device)
        with autocast(precision, device):
            output = _default_forward(model, images, path)
        logits = output[0] if isinstance(output, tuple) else output
        loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum").double()
        correct += (logits.argmax(1) == labels).sum()
        count += labels.shape[0]
    stats = all_reduce_sum(torch.stack([loss_sum, correct, count]), dist_info)
    model.train(was_training)
    total = max(float(stats[2]), 1.0)
    return {"val_loss": float(stats[0]) / total, "val_accuracy": 100.0 * float(stats[1]) / total}
