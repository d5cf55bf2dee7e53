"""`reinforce`: REINFORCE over independent categorical variables (BPE `run_rl.py`, methods/bpe.md §3.2).

One architecture per step, as the reference: every variable is sampled from softmax(logits), logits start
at 0; the reward is the score (a fraction); the baseline is an exponential moving average of the rewards
with bias correction (numerator and denominator averages, TF's `ExponentialMovingAverage` of the reference);
the objective (reward − baseline) · Σ log p(sample) is ascended with plain gradient steps of size `lr`, whose
gradient on variable i's logits is (reward − baseline) · (onehot(sample_i) − softmax(logits_i)).

`samples_per_update` k > 1 is REINFORCE's usual batched form, not the reference: each step draws k
architectures from the same policy, scores them together (an expensive score spreads them over the torchrun
ranks), and moves the logits once by the mean of the k terms lr · (reward_j − b) · (onehot(sample_j) −
softmax(logits)), all at the logits before the update. The baseline b is one value per step: the moving
average takes in the mean of the step's k rewards once (so `momentum` still counts updates, and the k
exchangeable samples weigh alike); `baseline` decides as for k = 1 whether b is the average before or after
that. Rewards at or below `resample_at_or_below` are left out of both means; a step with none left samples
again. k = 1 is the reference exactly.

The reference's quirks are named settings (`ReinforceConfig`): the average takes the reward in before the
advantage is computed (so the first step moves nothing), rewards ≤ 0.001 are resampled, and its RL parse on
the dense DARTS space drops the first reward. On that space the search ends with the RL parse (`rl_parse`)
into a 2-input genotype, written to genotype.json beside the dense cell it came from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nascli.config import SearchConfig
from nascli.errors import NasInputError
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.base import STRATEGIES, Allowed, Strategy, sort_key


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax of one logit vector."""
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


class MovingAverage:
    """Bias-corrected exponential moving average: (Σ m^k (1−m) r) / (Σ m^k (1−m)), as the reference's."""

    def __init__(self, momentum: float) -> None:
        self.momentum = float(momentum)
        self.numerator = 0.0
        self.denominator = 0.0

    def update(self, value: float) -> None:
        """Take one value in."""
        self.numerator = self.momentum * self.numerator + (1 - self.momentum) * value
        self.denominator = self.momentum * self.denominator + (1 - self.momentum)

    def value(self) -> float:
        """The current average (NaN before the first value)."""
        return self.numerator / self.denominator if self.denominator > 0 else math.nan


def categorical_sizes(space: SearchSpace, strategy: str) -> tuple[int, ...]:
    """The space's categorical variables, or a clear error for spaces that are not such a product."""
    try:
        return tuple(int(n) for n in space.categorical_sizes())
    except NasInputError as exc:
        raise NasInputError(f"{strategy}: {exc}") from None


def is_dense_darts(space: SearchSpace) -> bool:
    """Whether `space` is BPE's dense DARTS cell (whose result a parse rule turns into a 2-input genotype)."""
    return space.name == "darts" and getattr(space, "variant", None) == "dense"


@STRATEGIES.register("reinforce")
class ReinforceStrategy(Strategy):
    """REINFORCE with a moving-average baseline over the space's categorical variables."""

    name = "reinforce"

    def __init__(self, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> None:
        super().__init__(space, cfg, allowed)
        settings = cfg.reinforce
        if settings.iterations < 1:
            raise NasInputError("reinforce.iterations must be ≥ 1")
        if not 0.0 <= settings.momentum < 1.0:
            raise NasInputError(f"reinforce.momentum must lie in [0, 1), got {settings.momentum}")
        self.settings = settings
        self.sizes = categorical_sizes(space, "reinforce")
        self.logits = [np.zeros(n, dtype=np.float64) for n in self.sizes]
        self.baseline = MovingAverage(settings.momentum)
        self.updates = 0
        self.trace: list[list[list[float]]] = []
        """Probabilities after each update (the reference's `optim_prob`)."""
        self.update_of: list[int] = []
        """Per scored architecture, the update its reward belongs to (resampled rewards: the step's update)."""

    def probabilities(self) -> list[np.ndarray]:
        """softmax(logits) of every variable."""
        return [softmax(logits) for logits in self.logits]

    def ask(self) -> list[Architecture]:
        """`samples_per_update` architectures sampled from the policy (none after the last update)."""
        if self.updates >= self.settings.iterations:
            return []
        return [self._sample() for _ in range(self.settings.samples_per_update)]

    def _sample(self) -> Architecture:
        for _ in range(1000):
            uniforms = self.rng.random(len(self.sizes))
            values = [min(int(np.searchsorted(np.cumsum(p), u, side="right")), len(p) - 1)
                      for p, u in zip(self.probabilities(), uniforms, strict=True)]
            arch = self.space.from_categorical(values)
            if self.allowed(arch):
                return arch
        raise NasInputError("reinforce drew 1000 architectures outside the constraints in a row: relax them")

    def tell(self, archs: Sequence[Architecture], scores: Sequence[float]) -> dict[str, Any]:
        """One policy update from the step's scored architectures, those with a reward at or below the bound left
        out (all left out: no update, the next step samples again)."""
        record = super().tell(archs, scores)
        single = self.settings.samples_per_update == 1
        rewards = [self.settings.reward_scale * float(score) for score in scores]
        samples = [list(self.space.to_categorical(arch)) for arch in archs]
        self.update_of.extend([self.updates] * len(archs))
        bound = self.settings.resample_at_or_below
        left_out = [math.isnan(r) or (bound is not None and r <= bound) for r in rewards]
        if single:
            record.update(reward=rewards[0], sample=samples[0])
        else:
            record.update(rewards=rewards, samples=samples)
        if all(left_out):
            record.update(resampled=True if single else left_out, update=self.updates)
            return record
        used = [(reward, sample) for reward, sample, out in zip(rewards, samples, left_out, strict=True) if not out]
        previous = self.baseline.value()
        self.baseline.update(sum(reward for reward, _ in used) / len(used))
        if self.settings.baseline == "before-advantage":
            baseline = self.baseline.value()
            advantages = [reward - baseline for reward, _ in used]
        else:
            advantages = [0.0 if math.isnan(previous) else reward - previous for reward, _ in used]
        for i, (logits, probs) in enumerate(zip(self.logits, self.probabilities(), strict=True)):
            total = None
            for advantage, (_, sample) in zip(advantages, used, strict=True):
                gradient = -probs
                gradient[sample[i]] += 1.0
                term = self.settings.lr * advantage * gradient
                total = term if total is None else total + term
            logits += total / len(used)  # the mean of the REINFORCE terms (exactly the term when one was used)
        self.updates += 1
        probabilities = [p.tolist() for p in self.probabilities()]
        self.trace.append(probabilities)
        if single:
            record.update(resampled=False, update=self.updates - 1, baseline=self.baseline.value(),
                          advantage=advantages[0], probabilities=probabilities)
        else:
            used_advantages = iter(advantages)
            record.update(resampled=left_out, update=self.updates - 1, baseline=self.baseline.value(),
                          advantages=[None if out else next(used_advantages) for out in left_out],
                          probabilities=probabilities)
        return record

    # --- the dense DARTS result ------------------------------------------------------------------
    def parse_index(self) -> int | None:
        """The scored architecture the RL parse starts from: the best reward, the first one counting as 0 when
        `first_reward_zero` (ties: the earliest, as `list.index(max(...))`)."""
        if not self.evaluated:
            return None
        values = [sort_key(score) for _, score in self.evaluated]
        if self.settings.first_reward_zero:
            values[0] = 0.0
        return int(np.argmax(values))

    def final_genotype(self, genotype: dict[str, Any]) -> dict[str, Any]:
        """On the dense DARTS space: the RL parse's 2-input genotype first, the dense cell it came from beside it."""
        index = self.parse_index()
        if not is_dense_darts(self.space) or index is None or not self.trace:
            return genotype
        from nascli.spaces.darts.dense import rl_parse

        dense, score = self.evaluated[index]
        step = min(self.update_of[index], len(self.trace) - 1)
        parsed = rl_parse(self.space.dense(dense), self.trace[step])  # type: ignore[attr-defined]
        return {
            **genotype,
            "arch": self.space.to_json(parsed),
            "text": self.space.format(parsed),
            "scores": {},
            "dense": {"arch": self.space.to_json(dense), "text": self.space.format(dense),
                      "scores": {self.cfg.score: score}, "evaluation": index, "update": step},
            "parse": {"rule": "rl", "first_reward_zero": self.settings.first_reward_zero},
        }

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Base state plus logits, baseline averages, the probability trace and the update of each reward."""
        return {
            **super().state_dict(),
            "logits": [logits.tolist() for logits in self.logits],
            "baseline": [self.baseline.numerator, self.baseline.denominator],
            "updates": self.updates,
            "trace": self.trace,
            "update_of": self.update_of,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output."""
        super().load_state_dict(state)
        self.logits = [np.asarray(logits, dtype=np.float64) for logits in state["logits"]]
        if [len(logits) for logits in self.logits] != list(self.sizes):
            raise NasInputError("the saved reinforce state belongs to another space: use a new --out")
        self.baseline.numerator, self.baseline.denominator = (float(v) for v in state["baseline"])
        self.updates = int(state["updates"])
        self.trace = state["trace"]
        self.update_of = [int(v) for v in state["update_of"]]
