"""`rmi`: RMI-NAS's one-batch score (methods/rminas.md §2): how closely a candidate trained for a few SGD steps on
one fixed batch matches a teacher's three feature maps, by linear CKA.

The batch: one loader batch of pool_factor·B training images with training augmentation; the teacher's per-sample
cross-entropy; the B images with the lowest loss are kept. The batch, its labels and the teacher's three tap
features are fixed for the whole search and saved in the search run folder (`rmi_batch.pt`), so a resumed search
uses the same ones. Per candidate: a fresh network seeded from the search seed and the architecture's canonical
text (`candidate_seed`), train mode, plain SGD on the batch, loss = β·Σᵢ(1 − CKAᵢ) + (1 − β)·CE; the RMI loss
is the loss of the forward at `observe_step` (after that many SGD steps); a NaN loss counts as +∞.

The score is the NEGATED loss (−RMI loss), so that higher is better as for every nascli score; scores.csv names
its column `neg_rmi_loss`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nascli.artifacts import atomic_torch_save, file_sha256, load_checkpoint
from nascli.config import RmiConfig
from nascli.errors import NasInputError
from nascli.scores.base import SCORES, Score
from nascli.scores.candidates import candidate_seed
from nascli.spaces.base import Architecture, NetworkConfig

BATCH_FILE = "rmi_batch.pt"
BATCH_FORMAT = "nascli-rmi-batch"
SCORE_COLUMN = "neg_rmi_loss"


# --- linear CKA ----------------------------------------------------------------------------------------------
def gram_linear(features: torch.Tensor) -> torch.Tensor:
    """B×B Gram matrix of the linear kernel of B samples (each flattened)."""
    flat = features.reshape(features.shape[0], -1)
    return flat @ flat.T


def center_gram(gram: torch.Tensor) -> torch.Tensor:
    """H K H with H = I − 11ᵀ/B, written as the reference does: subtract column means less half the grand mean,
    from rows and from columns (the column means are taken in float64, as `tensor_center_gram`)."""
    means = gram.mean(dim=0, dtype=torch.float64)
    means = means - means.mean() / 2
    means = means.to(gram.dtype)
    return gram - means[:, None] - means[None, :]


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Linear CKA of two feature batches (same B; any shapes per sample): ⟨K̃, L̃⟩_F / (‖K̃‖_F ‖L̃‖_F)."""
    gram_x = center_gram(gram_linear(x))
    gram_y = center_gram(gram_linear(y))
    return (gram_x * gram_y).sum() / (torch.linalg.norm(gram_x) * torch.linalg.norm(gram_y))


def rmi_loss(student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor]) -> torch.Tensor:
    """Σᵢ (1 − CKA(studentᵢ, teacherᵢ)) over the taps."""
    if len(student) != len(teacher):
        raise NasInputError(f"the student has {len(student)} feature taps but the teacher {len(teacher)}")
    return sum(1 - linear_cka(s, t) for s, t in zip(student, teacher, strict=True))  # type: ignore[return-value]


def taps_and_logits(model: nn.Module, images: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The three feature taps and the logits of one forward: the network's own `taps_and_logits`, or its
    `stage_outputs` followed by its head (global pooling and classifier on the last tap: NB201 and DARTS)."""
    own = getattr(model, "taps_and_logits", None)
    if own is not None:
        return own(images)
    if not hasattr(model, "stage_outputs"):
        raise NasInputError(f"{type(model).__name__} exposes no feature taps (stage_outputs): rmi cannot score it")
    taps = model.stage_outputs(images)
    logits = model.classifier(model.global_pooling(taps[-1]).flatten(1))
    return list(taps), logits


# --- the fixed batch -----------------------------------------------------------------------------------------
@dataclass
class RmiBatch:
    """The B images, labels and teacher tap features every candidate is trained and compared on."""

    images: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    teacher_features: list[torch.Tensor]
    teacher_losses: torch.Tensor
    info: dict[str, Any]

    def to(self, device: torch.device) -> RmiBatch:
        """The same batch on `device`."""
        return RmiBatch(self.images.to(device), self.labels.to(device), self.indices.to(device),
                        [f.to(device) for f in self.teacher_features], self.teacher_losses.to(device), self.info)


def lowest_loss_positions(losses: torch.Tensor, keep: int) -> torch.Tensor:
    """Positions of the `keep` smallest losses, smallest first (the reference's topk of −loss)."""
    if keep > losses.numel():
        raise NasInputError(f"rmi.batch {keep} exceeds the {losses.numel()} images drawn: lower rmi.batch")
    return torch.topk(-losses, keep).indices


@torch.no_grad()
def select_batch(teacher: nn.Module, images: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor, keep: int,
                 info: dict[str, Any]) -> RmiBatch:
    """Keep the `keep` images with the lowest teacher cross-entropy, with the teacher's features on them."""
    teacher.eval()
    losses = F.cross_entropy(teacher(images).float(), labels, reduction="none")
    chosen = lowest_loss_positions(losses, keep)
    kept = images[chosen]
    features = teacher.stage_outputs(kept)
    return RmiBatch(kept.contiguous(), labels[chosen], indices[chosen], [f.float() for f in features],
                    losses[chosen], info)


def draw_pool(cfg: RmiConfig, seed: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """One random training batch of pool_factor·B augmented images: (images, labels, official indices, its step)."""
    from nascli.data.pipeline import train_loader, training_set
    from nascli.train.distributed import DistInfo

    data = cfg.data
    size = cfg.pool_factor * cfg.batch
    loader = train_loader(training_set(data, seed).images, data, seed, device, DistInfo(), batch_size=size)
    if len(loader) == 0:
        raise NasInputError(f"the training set holds fewer than {size} images (rmi.pool_factor × rmi.batch): "
                            "lower rmi.batch or add data")
    step = int(np.random.Generator(np.random.PCG64(seed)).integers(len(loader)))
    images, labels, indices = next(iter(loader.iterate(0, step)))
    return images.contiguous(), labels, indices, step


def batch_fingerprint(cfg: RmiConfig, seed: int, teacher_sha256: str) -> dict[str, Any]:
    """What the saved batch depends on; a saved batch with another fingerprint is rebuilt."""
    return {"seed": int(seed), "batch": cfg.batch, "pool_factor": cfg.pool_factor, "data": asdict(cfg.data),
            "teacher_sha256": teacher_sha256}


def build_batch(cfg: RmiConfig, seed: int, device: torch.device) -> RmiBatch:
    """Load the teacher, draw the pool, keep the lowest-loss B images and compute the teacher's features."""
    from nascli.data.datasets import DATASET_DEFAULTS, canonical_dataset_name
    from nascli.networks.teacher import load_teacher

    if cfg.teacher is None:
        raise NasInputError("the rmi score needs a teacher: pass --teacher RUN_FOLDER|CHECKPOINT "
                            "(train one with nas retrain --recipe recipes/rminas/teacher-resnet20-cifar10.yaml)")
    images, labels, indices, step = draw_pool(cfg, seed, device)
    dataset = canonical_dataset_name(cfg.data.dataset)
    classes = DATASET_DEFAULTS[dataset].num_classes or int(labels.max()) + 1
    if dataset == "imagefolder":
        from nascli.data.pipeline import training_set

        classes = training_set(cfg.data, seed).images.num_classes
    teacher = load_teacher(cfg.teacher, dataset, classes, cfg.teacher_network)
    info = {"format": BATCH_FORMAT, "fingerprint": batch_fingerprint(cfg, seed, teacher.weights_sha256),
            "teacher": str(cfg.teacher), "teacher_network": teacher.network, "num_classes": classes,
            "pool_step": step}
    return select_batch(teacher.model.to(device), images, labels, indices, cfg.batch, info)


def save_batch(batch: RmiBatch, path: Path) -> None:
    """Write the batch atomically (plain tensors and numbers, loadable with weights_only=True)."""
    atomic_torch_save({"images": batch.images.cpu(), "labels": batch.labels.cpu(), "indices": batch.indices.cpu(),
                       "teacher_features": [f.cpu() for f in batch.teacher_features],
                       "teacher_losses": batch.teacher_losses.cpu(), "info": batch.info}, path)


def load_batch(path: Path) -> RmiBatch:
    """Read a batch written by `save_batch`."""
    state = load_checkpoint(path, "rmi batch")
    if state.get("info", {}).get("format") != BATCH_FORMAT:
        raise NasInputError(f"{path} is not an rmi batch: delete it to draw the batch again")
    return RmiBatch(state["images"], state["labels"], state["indices"], list(state["teacher_features"]),
                    state["teacher_losses"], state["info"])


# --- one candidate -------------------------------------------------------------------------------------------
def candidate_loss(model: nn.Module, batch: RmiBatch, cfg: RmiConfig) -> float:
    """Train `model` on the batch with plain SGD and return the loss of the forward at `observe_step` (NaN → +∞)."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                                nesterov=cfg.nesterov and cfg.momentum > 0)
    for step in range(cfg.observe_step + 1):
        optimizer.zero_grad()
        taps, logits = taps_and_logits(model, batch.images)
        loss = cfg.beta * rmi_loss(taps, batch.teacher_features) + (1 - cfg.beta) * F.cross_entropy(
            logits.float(), batch.labels)
        if step == cfg.observe_step:
            value = float(loss.detach())
            return math.inf if math.isnan(value) else value
        loss.backward()
        optimizer.step()
    raise AssertionError("unreachable: the loop returns at observe_step")


@SCORES.register("rmi")
class RmiScore(Score):
    """RMI-NAS: −(β·Σ(1 − CKA) + (1 − β)·CE) after one-batch training against a teacher. Higher is better."""

    name = "rmi"
    column = SCORE_COLUMN
    expensive = True  # seconds to minutes a candidate: under torchrun each rank scores its share of a step
    description = "negated RMI loss of a candidate trained on one fixed batch against a teacher (higher is better)"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        cfg = getattr(context.config, "rmi", None) if context.config is not None else None
        self.cfg: RmiConfig = cfg if cfg is not None else RmiConfig()
        if self.cfg.teacher is None:
            raise NasInputError("the rmi score needs a teacher: pass --teacher RUN_FOLDER|CHECKPOINT (train one "
                                "with nas retrain --recipe recipes/rminas/teacher-resnet20-cifar10.yaml)")
        self._batch: RmiBatch | None = None

    @property
    def batch(self) -> RmiBatch:
        """The fixed batch: read from the run folder when saved there with the same settings, else built and saved."""
        if self._batch is None:
            self._batch = self._load_or_build().to(self.context.device)
        return self._batch

    def _load_or_build(self) -> RmiBatch:
        run_dir = self.context.run_dir
        path = Path(run_dir) / BATCH_FILE if run_dir is not None else None
        if path is not None and path.exists():
            saved = load_batch(path)
            weights = _teacher_weights_path(self.cfg.teacher)
            if weights is not None and weights.is_file() and saved.info.get("fingerprint") == batch_fingerprint(
                    self.cfg, self.context.seed, file_sha256(weights)):
                return saved
        batch = build_batch(self.cfg, self.context.seed, self.context.device)
        if path is not None:
            save_batch(batch, path)
        return batch

    def network_config(self) -> NetworkConfig:
        """The candidates' network size: the space's paper size for the dataset, rmi.model overriding it."""
        space = self.context.space
        net = space.default_config(self.cfg.data.dataset)
        if space.name == "darts":
            net.layers = 8
            net.channels = 16
        if self.cfg.model.channels is not None:
            net.channels = self.cfg.model.channels
        if self.cfg.model.layers is not None:
            net.layers = self.cfg.model.layers
        net.options = {**net.options, **self.cfg.model.options}
        net.num_classes = int(self.batch.info.get("num_classes", net.num_classes))
        return net

    def candidate(self, arch: Architecture) -> nn.Module:
        """The freshly initialised network of `arch`, seeded by the search seed and its canonical text (a DARTS cell
        written with a node's edges swapped is the same candidate)."""
        space = self.context.space
        canonical = space.canonical(space.coerce(arch))
        network_config = self.network_config()  # outside the seeded block: its first call builds the batch
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(candidate_seed(self.context.seed, space.format(canonical)))
            model = space.network(canonical, network_config)
        return model.to(self.context.device)

    def losses(self, archs: Sequence[Architecture]) -> np.ndarray:
        """The RMI loss of each architecture (lower is better)."""
        batch = self.batch
        return np.array([candidate_loss(self.candidate(arch), batch, self.cfg) for arch in archs], dtype=np.float64)

    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        """−RMI loss of each architecture (+∞ loss → −∞ score)."""
        return -self.losses(archs)


def _teacher_weights_path(teacher: str | None) -> Path | None:
    if teacher is None:
        return None
    path = Path(teacher)
    return path / "last.pt" if path.is_dir() else path
