"""The SPOS/RLNAS evolutionary search (methods/rlnas.md §4.2).

Generation 0 is `population` random legal candidates. Each generation scores its candidates, merges them
into the elitist archive of the best `parents` ever seen, then builds the next population from
`mutation` children (a random parent, each gene redrawn with `mutation_prob`), `crossover` children
(two random parents, may be the same, each gene from either with ½) and random fill. A candidate is
legal only if never generated before and within the constraints, so no architecture is scored twice.
The result is the archive's top-1 after the last generation. With `mutation_fill` the crossover children
are bred first and mutation fills the population up to `population` − (crossover children), as the RLNAS
MobileNet search does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nascli.config import SearchConfig
from nascli.errors import NasInputError
from nascli.spaces.base import Architecture, SearchSpace
from nascli.strategies.base import STRATEGIES, Allowed, GrowingSet, Strategy, sort_key


@STRATEGIES.register("evolution")
class EvolutionStrategy(Strategy):
    """SPOS-style evolution with an elitist parent archive."""

    name = "evolution"

    def __init__(self, space: SearchSpace, cfg: SearchConfig, allowed: Allowed | None = None) -> None:
        super().__init__(space, cfg, allowed)
        evo = cfg.evolution
        if evo.population < 1 or evo.generations < 1 or evo.parents < 1:
            raise NasInputError("evolution needs population, parents and generations ≥ 1")
        if evo.mutation + evo.crossover > evo.population:
            raise NasInputError(f"evolution: mutation ({evo.mutation}) + crossover ({evo.crossover}) children "
                                f"exceed the population ({evo.population}): lower them or raise the population")
        if evo.mutation_ops is not None:
            unknown = [op for op in evo.mutation_ops if op not in space.ops]
            if unknown:
                raise NasInputError(f"evolution.mutation_ops: {unknown[0]!r} is not an op of the {space.name} space "
                                    f"(ops: {', '.join(space.ops)})")
        self.evo = evo
        self.visited = GrowingSet()  # every text generated, legal or not: saved through the journal
        self.parents: list[tuple[Architecture, float]] = []
        self.candidates: list[Architecture] = self._random_fill([], evo.population)

    # --- legality ------------------------------------------------------------------------------
    def _legal(self, arch: Architecture) -> bool:
        key = self.space.format(arch)
        if key in self.visited:
            return False
        self.visited.add(key)
        return bool(self.allowed(arch))

    def _random_fill(self, current: list[Architecture], size: int) -> list[Architecture]:
        tries = 0
        limit = max(size, 1) * 1000
        while len(current) < size and tries < limit:
            tries += 1
            arch = self.space.sample(self.rng)
            if self._legal(arch):
                current.append(arch)
        return current

    def _children(self, wanted: int, make: Callable[[], Architecture]) -> list[Architecture]:
        children: list[Architecture] = []
        tries = 0
        limit = wanted * self.evo.max_tries_factor
        while len(children) < wanted and tries < limit and self.parents:
            tries += 1
            child = make()
            if self._legal(child):
                children.append(child)
        return children

    def _mutant(self) -> Architecture:
        parent = self.parents[int(self.rng.integers(len(self.parents)))][0]
        kwargs: dict[str, Any] = {}
        if self.evo.mutate_cells is not None:
            kwargs["cells"] = tuple(self.evo.mutate_cells)
        return self.space.mutate(parent, self.rng, self.evo.mutation_prob, self.evo.mutation_ops, **kwargs)

    def _crossed(self) -> Architecture:
        a = self.parents[int(self.rng.integers(len(self.parents)))][0]
        b = self.parents[int(self.rng.integers(len(self.parents)))][0]
        return self.space.crossover(a, b, self.rng)

    # --- ask / tell ----------------------------------------------------------------------------
    def ask(self) -> list[Architecture]:
        """This generation's unscored candidates (empty after the last generation)."""
        if self.step >= self.evo.generations:
            return []
        return list(self.candidates)

    def tell(self, archs: Sequence[Architecture], scores: Sequence[float]) -> dict[str, Any]:
        """Update the archive, then breed the next generation."""
        record = super().tell(archs, scores)
        merged = self.parents + list(zip(archs, (float(s) for s in scores), strict=True))
        self.parents = sorted(merged, key=lambda item: sort_key(item[1]), reverse=True)[: self.evo.parents]
        record["parents_mean"] = sum(s for _, s in self.parents) / len(self.parents) if self.parents else None
        if self.step < self.evo.generations:
            if self.evo.mutation_fill:
                crossed = self._children(self.evo.crossover, self._crossed)
                mutants = self._children(self.evo.population - len(crossed), self._mutant)
            else:
                mutants = self._children(self.evo.mutation, self._mutant)
                crossed = self._children(self.evo.crossover, self._crossed)
            self.candidates = self._random_fill(mutants + crossed, self.evo.population)
            record.update(next_mutation=len(mutants), next_crossover=len(crossed))
        else:
            self.candidates = []
        return record

    def best(self) -> tuple[Architecture | None, float]:
        """Top-1 of the parent archive."""
        if not self.parents:
            return super().best()
        return self.parents[0]

    def state_dict(self) -> dict[str, Any]:
        """Base state plus the archive and the next candidates (the visited set is journaled)."""
        state = super().state_dict()
        state.update(
            parents=[[self.space.to_json(a), s] for a, s in self.parents],
            candidates=self._to_json_list(self.candidates),
        )
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict` output."""
        super().load_state_dict(state)
        self.parents = [(self.space.from_json(a), float(s)) for a, s in state["parents"]]
        self.candidates = self._from_json_list(state["candidates"])
        if "visited" in state:  # a state saved before the visited set moved to the journal
            self.visited = GrowingSet(state["visited"])
