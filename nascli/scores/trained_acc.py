"""`trained-acc` (BPE's estimator, methods/bpe.md §2): each candidate's stand-alone network trained from scratch
with a reduced protocol (`search.trained_acc`) on the engine `nas retrain` uses; the score is an accuracy in [0, 1].

Each candidate trains with a seed derived from the search seed and its canonical text (`candidate_seed`) and keeps
its checkpoint, log and result under `<search run>/candidates/<key>/`, so its score does not depend on when or
where it was scored, a killed search loses at most one epoch of it, and a candidate already scored is not trained
again. Selection: `holdout-last` (nascli) is the last-epoch accuracy on a held-out part of the training set;
`test-max` (the BPE reference) the best test-set accuracy over the epochs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nascli.artifacts import atomic_write_json
from nascli.config import ModelConfig, RetrainConfig, RuntimeConfig, TrainedAccConfig, to_dict
from nascli.data.loader import ImageSource, derive_seed
from nascli.data.pipeline import eval_loader, evaluation_set, train_loader, training_set
from nascli.data.splits import OFFICIAL_SEARCH_SPLITS, select
from nascli.errors import NasInputError
from nascli.scores.base import SCORES, Score, ScoreContext
from nascli.scores.candidates import CANDIDATES_DIR, candidate_dir, candidate_key, candidate_seed
from nascli.spaces.base import Architecture, SearchSpace
from nascli.spaces.flops import count_params
from nascli.train.devices import resolve_precision
from nascli.train.distributed import DistInfo
from nascli.train.engine import evaluate_accuracy
from nascli.train.retrain import build_network, check_settings, loader_image_size, network_trainer

RESULT_FILE = "result.json"
IDENTITY_FILE = "candidate.json"
HOLDOUT_FILE = "holdout.json"
_CANDIDATE_FILES = ("last.pt", "metrics.jsonl", RESULT_FILE)


def canonical_text(space: SearchSpace, arch: Architecture) -> str:
    """The text that names `arch` whatever form it was written in (DARTS: each node's edges sorted by input)."""
    return space.format(space.canonical(space.coerce(arch)))


@dataclass
class HeldOutSplit:
    """The images a candidate trains on and those its score is measured on, and how they were chosen."""

    train: ImageSource
    evaluation: ImageSource
    description: dict[str, Any]


def split_for_selection(settings: TrainedAccConfig, seed: int) -> HeldOutSplit:
    """`test-max`: the whole training set and the test set. `holdout-last`: on NB201's datasets their official
    train / valid parts (CIFAR-100: the training set / the test set's xvalid), else `holdout` of the training set
    drawn by a generator seeded from `seed` (the search seed)."""
    data = settings.data
    images = training_set(data, seed).images
    if settings.selection == "test-max":
        test = evaluation_set(data, seed)
        return HeldOutSplit(images, test, {"selection": "test-max", "train": len(images), "evaluation": len(test),
                                           "evaluation_set": "test"})
    if images.name in OFFICIAL_SEARCH_SPLITS and not data.train_split:
        (file_t, part_t), (file_v, part_v) = OFFICIAL_SEARCH_SPLITS[images.name]
        train, held = select(images, file_t, part_t), select(images, file_v, part_v)
        return HeldOutSplit(train, held, {"selection": "holdout-last", "train": len(train), "evaluation": len(held),
                                          "evaluation_set": f"{file_v}:{part_v}"})
    if images.name == "cifar100" and not data.eval_split:
        held = select(evaluation_set(data, seed), "cifar100_test_split", "xvalid")
        return HeldOutSplit(images, held, {"selection": "holdout-last", "train": len(images), "evaluation": len(held),
                                           "evaluation_set": "cifar100_test_split:xvalid"})
    if not 0.0 < settings.holdout < 1.0:
        raise NasInputError(f"trained_acc.holdout is {settings.holdout}: hold out a fraction strictly between 0 and 1")
    count = len(images)
    held_count = int(round(settings.holdout * count))
    if held_count < 1 or held_count >= count:
        raise NasInputError(f"holding out {settings.holdout} of {count} training images leaves an empty part: use "
                            "more images or another trained_acc.holdout")
    holdout_seed = derive_seed("trained-acc holdout", seed)
    order = torch.randperm(count, generator=torch.Generator().manual_seed(holdout_seed)).numpy()
    held_positions, train_positions = np.sort(order[:held_count]), np.sort(order[held_count:])
    held = images.subset(held_positions)
    official = np.asarray(torch.as_tensor(held.indices).cpu(), dtype=np.int64)
    return HeldOutSplit(images.subset(train_positions), held, {
        "selection": "holdout-last", "train": count - held_count, "evaluation": held_count,
        "evaluation_set": f"random {settings.holdout:g} of the training set", "holdout_seed": holdout_seed,
        "held_out_indices_sha256": hashlib.sha256(official.tobytes()).hexdigest()})


def candidate_retrain_config(settings: TrainedAccConfig, runtime: RuntimeConfig, space: str, text: str, seed: int
                             ) -> RetrainConfig:
    """The retraining settings of one candidate: the `trained_acc` section with the candidate's seed (the auxiliary
    head is built exactly when its loss weight is > 0)."""
    options = dict(settings.model.options)
    if settings.aux_weight > 0:
        options["auxiliary"] = True
    model = ModelConfig(channels=settings.model.channels, layers=settings.model.layers, options=options)
    return RetrainConfig(space=space, genotype=text, seed=seed, data=settings.data, model=model, optim=settings.optim,
                         aux_weight=settings.aux_weight, drop_path_prob=settings.drop_path_prob, runtime=runtime)


@SCORES.register("trained-acc")
class TrainedAccuracyScore(Score):
    """Accuracy (fraction) of each candidate trained from scratch with the reduced protocol `search.trained_acc`."""

    name = "trained-acc"
    expensive = True
    description = "accuracy (0-1) after a short training from scratch (BPE); settings under trained_acc.*"

    def __init__(self, context: ScoreContext) -> None:
        super().__init__(context)
        config = context.config
        self.settings: TrainedAccConfig = config.trained_acc if config is not None else TrainedAccConfig()
        self.runtime: RuntimeConfig = config.runtime if config is not None else RuntimeConfig(device="cpu")
        if context.run_dir is None:
            raise NasInputError("trained-acc keeps each candidate's checkpoints in the search folder: run it through "
                                "`nas search --out FOLDER` (or give ScoreContext.run_dir)")
        settings = self.settings
        space = context.space
        if space.name not in ("darts", "nb201"):
            raise NasInputError(f"trained-acc trains stand-alone DARTS or NB201 networks, not {space.name!r} ones")
        if space.name == "nb201" and (settings.aux_weight > 0 or settings.drop_path_prob > 0):
            raise NasInputError("NB201 networks have no auxiliary head and no drop-path: set trained_acc.aux_weight 0 "
                                "and trained_acc.drop_path_prob 0")
        check_settings(candidate_retrain_config(settings, self.runtime, space.name, "check", 0))
        self.root = Path(context.run_dir) / CANDIDATES_DIR
        self.device = context.device
        self.split = split_for_selection(settings, context.seed)
        self.eval_batches = eval_loader(self.split.evaluation, settings.data, self.device, DistInfo(),
                                        channels_last=self.runtime.channels_last)
        self.settings_digest = hashlib.sha256(json.dumps(
            {"trained_acc": to_dict(settings), "amp": self.runtime.amp, "space": space.name,
             "split": self.split.description}, sort_keys=True, default=str).encode()).hexdigest()
        atomic_write_json(self.root / HOLDOUT_FILE, {"search_seed": context.seed, **self.split.description})

    def score(self, archs: Sequence[Architecture]) -> np.ndarray:
        """The trained accuracy of each architecture (a stored result is read back, a started one resumed)."""
        return np.array([self.candidate(arch)["score"] for arch in archs], dtype=np.float64)

    def candidate(self, arch: Architecture) -> dict[str, Any]:
        """Train one candidate (or resume it, or read its result) and return its result record."""
        space = self.context.space
        text = canonical_text(space, arch)
        folder = candidate_dir(self.context.run_dir, text)  # type: ignore[arg-type]
        seed = candidate_seed(self.context.seed, text)
        identity = {"arch": text, "seed": seed, "search_seed": self.context.seed, "settings": self.settings_digest}
        result_path = folder / RESULT_FILE
        identity_path = folder / IDENTITY_FILE
        if identity_path.exists():
            try:
                known = json.loads(identity_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                known = {}
            if known != identity:  # trained with other settings (an overwritten search): start this one afresh
                for name in _CANDIDATE_FILES:
                    (folder / name).unlink(missing_ok=True)
            elif result_path.exists():
                return json.loads(result_path.read_text(encoding="utf-8"))
        atomic_write_json(identity_path, identity)

        cfg = candidate_retrain_config(self.settings, self.runtime, space.name, text, seed)
        train_batches = train_loader(self.split.train, cfg.data, seed, self.device, DistInfo())
        if train_batches.num_classes != self.eval_batches.num_classes:
            raise NasInputError(f"the training set has {train_batches.num_classes} classes but the evaluation set "
                                f"{self.eval_batches.num_classes}: point trained_acc.data at one dataset")
        model, _ = build_network(space, space.canonical(space.coerce(arch)), cfg, train_batches.num_classes,
                                 loader_image_size(train_batches))
        precision = resolve_precision(cfg.runtime.amp, self.device)
        every_epoch = self.settings.selection == "test-max"

        def evaluate(network: nn.Module, epoch: int) -> dict[str, float]:
            if not every_epoch and epoch + 1 < trainer.end_epoch:
                return {}
            return evaluate_accuracy(network, self.eval_batches.iterate(0), self.device, precision=precision)

        trainer = network_trainer(cfg, model, train_batches, folder, evaluate, device=self.device,
                                  description=f"trained-acc {candidate_key(text)}")
        result = trainer.fit(resume=True)
        tested = [record for record in result.records if "val_accuracy" in record]
        if not tested:
            raise NasInputError(f"candidate {candidate_key(text)} has no evaluated epoch: train at least 1 epoch")
        accuracies = [float(record["val_accuracy"]) / 100.0 for record in tested]
        value = max(accuracies) if every_epoch else accuracies[-1]
        record = {
            "arch": text, "seed": seed, "score": value, "selection": self.settings.selection,
            "accuracies": accuracies, "epochs": result.epochs_done,
            "train_seconds": float(sum(r.get("seconds", 0.0) for r in result.records)),
            "params_m": count_params(trainer.model) / 1e6,
        }
        atomic_write_json(result_path, record)
        return record
