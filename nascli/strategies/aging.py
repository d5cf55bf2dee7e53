"""`aging-evolution`: regularized evolution (Real et al. 2019) as BPE's `run_evolution.py` runs it (bpe.md §3.3).

One architecture per step, as the reference: `population` random architectures (each variable uniform),
then cycles until `evaluations` architectures were scored: a tournament of `sample_size` members drawn with
replacement from the population, the best (the earliest of equals) is the parent, its child differs in
exactly one variable (chosen uniformly) set to a different choice (uniformly); the child joins the
population and the OLDEST member dies, whatever its score.

`workers` k > 1 is the parallel form of Real et al. (their workers evolve one shared population
asynchronously), synchronised per step so that a seed gives one result: each step draws k children, each from
its own tournament on the population as the step began, scores them together (an expensive score spreads them
over the torchrun ranks), then each child, in order, joins and the oldest member dies. The departure from the
one-at-a-time reference: children of one step never see each other (as asynchronous workers do not see the
children still training), and a child may have a parent that the same step removes. The random population
and the dense DARTS sub-cells are also asked k at a time (the last step of a phase asks fewer, never mixing
phases). k = 1 is the reference exactly.

On the dense DARTS space the search then runs BPE's EA parse: `subcells` random 2-input sub-cells of the
best dense cell are scored with the same score, `workers` per step (resumable like every step), and the
best sub-cell is the result (genotype.json holds it beside the dense cell).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from nascli.config import SearchConfig
from nascli.errors import NasInputError
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.base import STRATEGIES, Allowed, Strategy, sort_key
from nascli.strategies.reinforce import categorical_sizes, is_dense_darts


@STRATEGIES.register("aging-evolution")
class AgingEvolutionStrategy(Strategy):
    """Tournament selection, single-variable mutation, removal of the oldest."""

    name = "aging-evolution"

    def __init__(self, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> None:
        super().__init__(space, cfg, allowed)
        settings = cfg.aging_evolution
        if settings.population < 1 or settings.sample_size < 1 or settings.subcells < 0:
            raise NasInputError("aging_evolution needs population ≥ 1, sample_size ≥ 1 and subcells ≥ 0")
        if settings.evaluations < settings.population:
            raise NasInputError(f"aging_evolution.evaluations ({settings.evaluations}) is below the population "
                                f"({settings.population}): raise evaluations")
        self.settings = settings
        self.sizes = categorical_sizes(space, "aging-evolution")
        if any(n < 2 for n in self.sizes):
            raise NasInputError("aging-evolution mutates one variable to another choice: every variable needs ≥ 2")
        self.population: deque[tuple[Architecture, float]] = deque()
        self.subcells: list[Architecture] = []
        self.subcell_scores: list[float] = []
        self.parse_ready = False

    def _parse_active(self) -> bool:
        return is_dense_darts(self.space) and self.settings.subcells > 0

    def _draw(self, make: Any) -> Architecture:
        for _ in range(1000):
            arch = make()
            if self.allowed(arch):
                return arch
        raise NasInputError("aging-evolution drew 1000 architectures outside the constraints in a row: relax them")

    def _random(self) -> Architecture:
        return self.space.from_categorical([int(self.rng.integers(n)) for n in self.sizes])

    def _child(self) -> Architecture:
        members = list(self.population)
        picks = self.rng.integers(len(members), size=self.settings.sample_size)
        tournament = [members[int(i)] for i in picks]
        parent = max(tournament, key=lambda item: sort_key(item[1]))[0]  # max keeps the first of equals
        values = list(self.space.to_categorical(parent))
        dim = int(self.rng.integers(len(values)))
        choices = [c for c in range(self.sizes[dim]) if c != values[dim]]
        values[dim] = choices[int(self.rng.integers(len(choices)))]
        return self.space.from_categorical(values)

    def ask(self) -> list[Architecture]:
        """The next `workers` architectures: random ones, mutated tournament winners, or (dense DARTS) the next
        sub-cells; a step never mixes two phases, so the last step of a phase may ask fewer."""
        workers = self.settings.workers
        if len(self.evaluated) < self.settings.population:
            return [self._draw(self._random) for _ in range(min(workers, self.settings.population
                                                                - len(self.evaluated)))]
        if len(self.evaluated) < self.settings.evaluations:
            # every child's tournament reads the population as the step began: they join it in tell()
            return [self._draw(self._child) for _ in range(min(workers, self.settings.evaluations
                                                               - len(self.evaluated)))]
        if not self._parse_active():
            return []
        if not self.parse_ready:
            from nascli.spaces.darts.dense import ea_subcells

            best, _ = self.best_dense()
            self.subcells = ea_subcells(self.space.dense(best), self.rng, self.settings.subcells)  # type: ignore[attr-defined]
            self.parse_ready = True
        done = len(self.subcell_scores)
        return self.subcells[done : done + workers]

    def tell(self, archs: Sequence[Architecture], scores: Sequence[float]) -> dict[str, Any]:
        """Add each child and remove the oldest member, in order, or record the sub-cells' scores."""
        if self.parse_ready:
            self.subcell_scores.extend(float(s) for s in scores)
            self.step += 1
            record = self.history_record(scores)
            last = len(self.subcell_scores) - 1
            if self.settings.workers == 1:
                record.update(phase="parse", subcell=last)
            else:
                record.update(phase="parse", subcells=list(range(last + 1 - len(scores), last + 1)))
            return record
        record = super().tell(archs, scores)
        for arch, score in zip(archs, scores, strict=True):  # in candidate order: each joins, the oldest dies
            self.population.append((arch, float(score)))
            if len(self.population) > self.settings.population:
                self.population.popleft()
        record.update(phase="population" if len(self.evaluated) <= self.settings.population else "evolution",
                      population_best=max(sort_key(s) for _, s in self.population))
        return record

    def best_dense(self) -> tuple[Architecture | None, float]:
        """The best scored architecture of the evolution (the earliest of equals, as the reference's)."""
        return super().best()

    def final_genotype(self, genotype: dict[str, Any]) -> dict[str, Any]:
        """On the dense DARTS space: the best sub-cell first, the dense cell it came from beside it."""
        if not self.parse_ready or not self.subcell_scores:
            return genotype
        best = int(np.argmax([sort_key(s) for s in self.subcell_scores]))
        dense, dense_score = self.best_dense()
        return {
            **genotype,
            "arch": self.space.to_json(self.subcells[best]),
            "text": self.space.format(self.subcells[best]),
            "scores": {self.cfg.score: self.subcell_scores[best]},
            "dense": {"arch": self.space.to_json(dense), "text": self.space.format(dense),
                      "scores": {self.cfg.score: dense_score}},
            "parse": {"rule": "ea", "subcells": [
                {"text": self.space.format(arch), self.cfg.score: score}
                for arch, score in zip(self.subcells, self.subcell_scores, strict=False)]},
        }

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Base state plus the population (oldest first) and the parse's sub-cells and scores."""
        return {
            **super().state_dict(),
            "population": [[self.space.to_json(a), s] for a, s in self.population],
            "parse_ready": self.parse_ready,
            "subcells": self._to_json_list(self.subcells),
            "subcell_scores": self.subcell_scores,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output."""
        super().load_state_dict(state)
        self.population = deque((self.space.from_json(a), float(s)) for a, s in state["population"])
        self.parse_ready = bool(state["parse_ready"])
        self.subcells = self._from_json_list(state["subcells"])
        self.subcell_scores = [float(s) for s in state["subcell_scores"]]
        if self.subcell_scores and "evaluated" not in state:
            # the runner restored every scores.csv row, the sub-cells' last; the evolution's history holds none
            self.restore_evaluated(self.evaluated[: len(self.evaluated) - len(self.subcell_scores)])
