"""The strategy contract: ask/tell over a space, with JSON-serialisable state so a search resumes."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nascli.config import SearchConfig
from nascli.registry import Registry
from nascli.spaces.base import Architecture, SearchSpace

Allowed = Callable[[Architecture], bool]


def sort_key(score: float) -> float:
    """NaN ranks last."""
    return -math.inf if score is None or math.isnan(score) else score


class Strategy(ABC):
    """Proposes batches of architectures (`ask`) and learns from their scores (`tell`)."""

    name = ""

    def __init__(self, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> None:
        self.space = space
        self.cfg = cfg
        self.allowed = allowed or (lambda arch: True)
        self.rng = np.random.Generator(np.random.PCG64(cfg.seed))
        self.step = 0
        self.evaluated: list[tuple[Architecture, float]] = []

    @abstractmethod
    def ask(self) -> list[Architecture]:
        """The next architectures to score; empty when the search is over."""

    def tell(self, archs: Sequence[Architecture], scores: Sequence[float]) -> dict[str, Any]:
        """Record scores; returns this step's history record."""
        self.evaluated.extend(zip(archs, (float(s) for s in scores), strict=True))
        self.step += 1
        return self.history_record(scores)

    def history_record(self, scores: Sequence[float]) -> dict[str, Any]:
        """Best and mean of this step and the best so far."""
        values = np.array([s for s in scores if not math.isnan(s)], dtype=np.float64)
        best_arch, best_score = self.best()
        return {
            "generation": self.step - 1,
            "evaluated": len(self.evaluated),
            "best": float(values.max()) if values.size else math.nan,
            "mean": float(values.mean()) if values.size else math.nan,
            "best_so_far": best_score,
            "best_arch": self.space.format(best_arch) if best_arch is not None else None,
        }

    def best(self) -> tuple[Architecture | None, float]:
        """The best architecture scored so far and its score."""
        if not self.evaluated:
            return None, math.nan
        arch, score = max(self.evaluated, key=lambda item: sort_key(item[1]))
        return arch, score

    def top(self, k: int) -> list[tuple[Architecture, float]]:
        """The k best scored architectures, best first."""
        return sorted(self.evaluated, key=lambda item: sort_key(item[1]), reverse=True)[:k]

    def final_genotype(self, genotype: dict[str, Any]) -> dict[str, Any]:
        """genotype.json as this strategy reports it: by default the runner's (the best scored architecture);
        BPE's dense-cell searches put their parsed 2-input genotype first and the dense cell beside it."""
        return genotype

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (architectures in their JSON form)."""
        return {
            "name": self.name,
            "step": self.step,
            "rng": self.rng.bit_generator.state,
            "evaluated": [[self.space.to_json(a), s] for a, s in self.evaluated],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output."""
        self.step = int(state["step"])
        self.rng.bit_generator.state = state["rng"]
        self.evaluated = [(self.space.from_json(a), float(s)) for a, s in state["evaluated"]]

    def _to_json_list(self, archs: Sequence[Architecture]) -> list[Any]:
        return [self.space.to_json(a) for a in archs]

    def _from_json_list(self, items: Sequence[Any]) -> list[Architecture]:
        return [self.space.from_json(a) for a in items]


STRATEGIES: Registry[type[Strategy]] = Registry("strategy")


def make_strategy(name: str, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> Strategy:
    """Instantiate the registered strategy `name`."""
    import nascli.strategies  # noqa: F401

    return STRATEGIES.get(name)(space, cfg, allowed)
