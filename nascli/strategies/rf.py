"""`rf`: RMI-NAS's random-forest sampler (methods/rminas.md §3; reference `sampler/RF_sampling.py: RF_suggest`).

Warm-up: `rf.warmup` random architectures are scored. The 'good' threshold is the `good_quantile` quantile of
their losses (loss = −score; a NaN score counts as +∞) plus `threshold_margin`, fixed from then on. A scikit-learn
RandomForestClassifier (`trees`, random_state = the search seed) on one-hot encodings predicts P(good); each step
draws `proposals` random candidates, drops those already scored, scores the one with the highest P(good) and
refits the forest on every scored architecture. `proposals_per_step: k > 1` is the forest's parallel form (not the
reference's): k warm-up draws, then the k most likely good untried candidates of one fit, per step. The search
stops after `successes` good architectures found after the warm-up (warm-up goods do not count, as in the
reference) or `max_evaluations` scored in all.

Encodings: NB201 6 edges × 5 ops; DARTS 14 edges × 7 non-none ops of ONE cell, which the reference shares between
normal and reduce cells — so DARTS candidates here have reduce = normal. Random candidates: NB201 distinct
uniform indices; DARTS per node two distinct inputs with uniform ops (the space's sampler, normal cell copied).

The final architecture (reported as the search's best, and scored once more at the end when it was not scored
during the search) is the vote of the `vote_top` lowest-loss good
architectures: summed one-hots, per edge the op with the most votes. DARTS then keeps two edges per node: by default
those whose winning op has the most votes; `darts_edge_rule: largest-op-index` reproduces the reference, which
ranks the edges by the winning op's INDEX (torch.topk on the argmax indices) — a bug the paper recipes set.

State is JSON; the forest is not saved but refitted from the saved scores on resume (same data, same random_state:
the same forest), so `--resume` ends identical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from nascli.config import SearchConfig
from nascli.errors import NasInputError
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.base import STRATEGIES, Allowed, Strategy

DEFAULT_TREES = {"nb201": 30, "darts": 98}


def loss_of(score: float) -> float:
    """The loss a score stands for: −score, NaN → +∞."""
    return math.inf if score is None or math.isnan(score) else -float(score)


def nb201_onehot(space: SearchSpace, arch: Architecture) -> np.ndarray:
    """6×5 one-hot of an NB201 cell (edges 1←0, 2←0, 2←1, 3←0, 3←1, 3←2; ops none, skip, 1×1, 3×3, avg-pool)."""
    matrix = np.zeros((6, 5), dtype=np.float64)
    matrix[np.arange(6), list(arch.op_indices())] = 1.0  # type: ignore[attr-defined]
    return matrix


def darts_onehot(arch: Architecture) -> np.ndarray:
    """14×7 one-hot of the normal cell of a DARTS genotype (unused edges all zero)."""
    from nascli.spaces.darts import to_rmi_onehot

    return to_rmi_onehot(arch)[0].astype(np.float64)  # type: ignore[arg-type]


def vote_nb201(onehots: Sequence[np.ndarray]) -> np.ndarray:
    """Per edge the op with the most votes among the summed 6×5 one-hots (first on ties); returns op indices."""
    return np.argmax(np.sum(onehots, axis=0), axis=1)


def vote_darts(onehots: Sequence[np.ndarray], edge_rule: str) -> np.ndarray:
    """The voted DARTS cell as 14 op indices into the 7 non-none ops, −1 for a dropped edge.

    Per edge the op with the most votes (first on ties); then per node the two kept edges: `most-votes` those whose
    winning op has the most votes (lower edge index first on ties); `largest-op-index` those with the largest
    winning op index, chosen by torch.topk exactly as the reference.
    """
    votes = np.sum(onehots, axis=0)
    winners = np.argmax(votes, axis=1)
    strength = votes[np.arange(votes.shape[0]), winners]
    result = winners.astype(np.int64).copy()
    start = 0
    for inputs in range(2, 6):
        rows = np.arange(start, start + inputs)
        if edge_rule == "largest-op-index":
            kept = torch.topk(torch.from_numpy(winners[rows].astype(np.int64)), 2).indices.numpy()
        elif edge_rule == "most-votes":
            kept = np.argsort(-strength[rows], kind="stable")[:2]
        else:
            raise NasInputError(f"unknown rf.darts_edge_rule {edge_rule!r}: choose most-votes or largest-op-index")
        dropped = [k for k in range(inputs) if k not in set(kept.tolist())]
        result[rows[dropped]] = -1
        start += inputs
    return result


@STRATEGIES.register("rf")
class RandomForestStrategy(Strategy):
    """Warm-up, then the untried candidate the random forest rates most likely 'good', one per step (or the k
    most likely, `rf.proposals_per_step`)."""

    name = "rf"

    def __init__(self, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> None:
        super().__init__(space, cfg, allowed)
        if space.name not in DEFAULT_TREES:
            raise NasInputError(f"the rf strategy encodes NB201 and DARTS architectures, not {space.name}: "
                                "use --space nb201 or darts")
        self.rf_cfg = cfg.rf
        if space.name == "nb201" and self.rf_cfg.proposals > space.size():
            raise NasInputError(f"rf.proposals {self.rf_cfg.proposals} exceeds the {space.size()} NB201 architectures")
        self.trees = self.rf_cfg.trees or DEFAULT_TREES[space.name]
        self.tried: set[str] = set()
        self.threshold: float | None = None
        self.successes = 0
        self.finished = False
        self.voted: str | None = None
        """Canonical text of the voted architecture, fixed when the search stops ("" when there is none)."""
        self.forest: Any = None

    # --- encodings and candidates ----------------------------------------------------------------------------
    def encode(self, arch: Architecture) -> np.ndarray:
        """The one-hot matrix the forest and the vote read."""
        return nb201_onehot(self.space, arch) if self.space.name == "nb201" else darts_onehot(arch)

    def _shared_cell(self, arch: Architecture) -> Architecture:
        from nascli.spaces.darts import CONCAT, DartsGenotype

        return DartsGenotype(arch.normal, CONCAT, arch.normal, CONCAT)  # type: ignore[attr-defined]

    def _random_candidates(self, count: int, distinct: bool) -> list[Architecture]:
        if self.space.name == "nb201":
            indices = self.rng.choice(self.space.size(), size=count, replace=False)
            return [self.space.arch_at(int(i)) for i in indices]
        archs = []
        seen: set[str] = set()
        tries = 0
        while len(archs) < count and tries < count * 1000:
            tries += 1
            arch = self._shared_cell(self.space.sample(self.rng))
            key = self.space.format(arch)
            if distinct and (key in seen or key in self.tried):
                continue
            seen.add(key)
            archs.append(arch)
        return archs

    # --- the loop --------------------------------------------------------------------------------------------
    def ask(self) -> list[Architecture]:
        """One architecture per step: the next warm-up draw, then the forest's pick, at the end the voted architecture
        when it was never scored (the reference only prints it); empty when the search is over."""
        if self.finished:
            return []
        if self.voted is not None or self._should_stop():
            return self._final()
        if len(self.evaluated) < self.rf_cfg.warmup:
            return self._next_warmup()
        if self.threshold is None:
            self._fix_threshold()
        return self._propose()

    def _final(self) -> list[Architecture]:
        if self.voted is None:
            voted = self.voted_architecture()
            self.voted = self.space.format(voted) if voted is not None else ""
            if (voted is not None and self.allowed(voted)
                    and self.voted not in {self.space.format(a) for a, _ in self.evaluated}):
                self.tried.add(self.voted)
                return [voted]
        self.finished = True
        return []

    def _should_stop(self) -> bool:
        return self.successes >= self.rf_cfg.successes or len(self.evaluated) >= self.rf_cfg.max_evaluations

    def _next_warmup(self) -> list[Architecture]:
        wanted = min(self.rf_cfg.proposals_per_step, self.rf_cfg.warmup - len(self.evaluated))
        batch: list[Architecture] = []
        for _ in range(10_000 * wanted):
            if len(batch) == wanted:
                break
            if self.space.name == "nb201":
                arch = self.space.arch_at(int(self.rng.integers(self.space.size())))
            else:
                arch = self._shared_cell(self.space.sample(self.rng))
            key = self.space.format(arch)
            if key not in self.tried and self.allowed(arch):
                self.tried.add(key)
                batch.append(arch)
        if not batch:
            self.finished = True
        return batch

    def _fix_threshold(self) -> None:
        losses = [loss_of(score) for _, score in self.evaluated[: self.rf_cfg.warmup]]
        self.threshold = float(np.quantile(losses, self.rf_cfg.good_quantile)) + self.rf_cfg.threshold_margin
        good = sum(loss < self.threshold for loss in losses)
        if good < 2:
            raise NasInputError(f"only {good} warm-up architecture(s) fall under the good threshold "
                                f"{self.threshold:.6g}: raise rf.warmup or rf.good_quantile")
        self._refit()

    def _refit(self) -> None:
        from sklearn.ensemble import RandomForestClassifier

        features = np.array([self.encode(arch).ravel() for arch, _ in self.evaluated])
        labels = np.array([loss_of(score) < self.threshold for _, score in self.evaluated], dtype=np.float64)
        self.forest = RandomForestClassifier(n_estimators=self.trees, random_state=self.cfg.seed)
        self.forest.fit(features, labels)

    def _propose(self) -> list[Architecture]:
        candidates = [arch for arch in self._random_candidates(self.rf_cfg.proposals, distinct=False)
                      if self.space.format(arch) not in self.tried and self.allowed(arch)]
        if not candidates:
            self.finished = True
            return []
        probabilities = self.forest.predict_proba(np.array([self.encode(a).ravel() for a in candidates]))
        classes = list(self.forest.classes_)
        good = probabilities[:, classes.index(1.0)] if 1.0 in classes else np.zeros(len(candidates))
        chosen: list[Architecture] = []
        for position in np.argsort(-good, kind="stable"):  # the first of equals first, as argmax
            key = self.space.format(candidates[int(position)])
            if key in self.tried:
                continue  # a candidate drawn twice among the proposals
            self.tried.add(key)
            chosen.append(candidates[int(position)])
            if len(chosen) == self.rf_cfg.proposals_per_step:
                break
        return chosen

    def tell(self, archs: Sequence[Architecture], scores: Sequence[float]) -> dict[str, Any]:
        """Record the scores; after the warm-up count successes and refit the forest."""
        warm = len(self.evaluated) >= self.rf_cfg.warmup
        phase = "final" if self.voted else "rf" if warm else "warmup"
        self.evaluated.extend(zip(archs, (float(s) for s in scores), strict=True))
        self.step += 1
        if phase == "rf" and self.threshold is not None:
            self.successes += sum(loss_of(float(s)) < self.threshold for s in scores)
            self._refit()
        record = self.history_record(scores)
        record.update({"phase": phase, "threshold_loss": self.threshold, "successes": self.successes})
        return record

    # --- the result ------------------------------------------------------------------------------------------
    def good_architectures(self) -> list[tuple[Architecture, float]]:
        """Scored architectures under the threshold, lowest loss first."""
        if self.threshold is None:
            return []
        good = [(arch, score) for arch, score in self.evaluated if loss_of(score) < self.threshold]
        return sorted(good, key=lambda item: loss_of(item[1]))

    def voted_architecture(self) -> Architecture | None:
        """The vote of the `vote_top` best good architectures (None before the threshold exists)."""
        top = self.good_architectures()[: self.rf_cfg.vote_top]
        if not top:
            return None
        onehots = [self.encode(arch) for arch, _ in top]
        if self.space.name == "nb201":
            from nascli.spaces.nb201 import NB201Arch

            return NB201Arch.from_indices(vote_nb201(onehots))
        from nascli.spaces.darts import CONCAT, DARTS_OPS_DRNAS, DartsGenotype, from_rmi_onehot

        cell = vote_darts(onehots, self.rf_cfg.darts_edge_rule)
        matrix = np.zeros((14, len(DARTS_OPS_DRNAS)), dtype=np.int64)
        for edge, op in enumerate(cell):
            if op >= 0:
                matrix[edge, op] = 1
        normal = from_rmi_onehot(matrix, matrix).normal
        return DartsGenotype(normal, CONCAT, normal, CONCAT)

    def best(self) -> tuple[Architecture | None, float]:
        """After the search: the voted architecture and its score; during the search: the best scored one."""
        if not self.finished or not self.voted:
            return super().best()
        scored = [(arch, score) for arch, score in self.evaluated if self.space.format(arch) == self.voted]
        return scored[0] if scored else (self.space.parse(self.voted), math.nan)

    # --- state -----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Base state plus the tried set, threshold, success count and whether the search ended."""
        return {**super().state_dict(), "tried": sorted(self.tried), "threshold": self.threshold,
                "successes": self.successes, "finished": self.finished, "voted": self.voted}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output and refit the forest from the saved scores."""
        super().load_state_dict(state)
        self.tried = set(state["tried"])
        self.threshold = None if state["threshold"] is None else float(state["threshold"])
        self.successes = int(state["successes"])
        self.finished = bool(state["finished"])
        self.voted = state.get("voted")
        if self.threshold is not None:
            self._refit()
