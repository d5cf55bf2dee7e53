"""Random operators on the 14-int RLNAS cell codes: `check_cand` repair and the single-path sampler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nascli.spaces.base import PathSampler
from nascli.spaces.darts.encodings import check_code
from nascli.spaces.darts.genotype import (
    CELL_KINDS,
    CONCAT,
    DARTS_OPS_RLNAS,
    EDGE_OFFSETS,
    FINAL_OPS,
    NUM_EDGES,
    NUM_STATES,
    Code,
    DartsGenotype,
)


def repair(code: Sequence[int], rng: np.random.Generator) -> Code:
    """RLNAS `check_cand`: give node j (j+2 edges) exactly j nones, i.e. exactly two non-none inputs.

    Too few nones: pick surplus non-none edges uniformly without replacement and set them to none.
    Too many: pick surplus none edges uniformly without replacement and give each a uniform op in 1..7.
    """
    edges = list(check_code(code, "RLNAS cell code", 0, len(DARTS_OPS_RLNAS) - 1))
    for node in range(NUM_STATES):
        offset = EDGE_OFFSETS[node]
        local = edges[offset : offset + node + 2]
        nones = [k for k, value in enumerate(local) if value == 0]
        if len(nones) < node:
            others = [k for k in range(node + 2) if k not in nones]
            for k in rng.choice(others, size=node - len(nones), replace=False):
                local[int(k)] = 0
        elif len(nones) > node:
            for k in rng.choice(nones, size=len(nones) - node, replace=False):
                local[int(k)] = 1 + int(rng.integers(len(DARTS_OPS_RLNAS) - 1))
        edges[offset : offset + node + 2] = local
    return tuple(edges)


def random_code(rng: np.random.Generator) -> Code:
    """A repaired 14-int code whose edges were each drawn uniformly over the 8 RLNAS ops (RLNAS sampling)."""
    return repair(tuple(int(v) for v in rng.integers(len(DARTS_OPS_RLNAS), size=NUM_EDGES)), rng)


class DartsRepairSampler(PathSampler):
    """RLNAS DARTS path sampler: per step one normal and one reduce code, each edge uniform over 8 ops, repaired.

    The reference reseeds numpy before every edge draw with a running integer counter, so every DDP rank
    draws the same path without communication. nascli draws from one numpy Generator seeded once:
    the distribution is the same, and every rank seeded identically draws the same sequence.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.steps = 0

    def sample(self) -> tuple[Code, Code]:
        """The next (normal code, reduce code) pair."""
        self.steps += 1
        return random_code(self.rng), random_code(self.rng)

    def state_dict(self) -> dict[str, Any]:
        """Seed, step count and the generator state (restores the exact sequence)."""
        return {"seed": self.seed, "steps": self.steps, "bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the sequence saved by `state_dict`."""
        self.seed = int(state["seed"])
        self.steps = int(state["steps"])
        self.rng = np.random.default_rng(self.seed)
        self.rng.bit_generator.state = state["bit_generator"]




def sample_uniform(rng: np.random.Generator) -> DartsGenotype:
    """Per cell and node: two distinct inputs uniformly, each with an op uniform over the non-none ops."""
    cells = []
    for _ in CELL_KINDS:
        pairs: list[tuple[str, int]] = []
        for state in range(2, 6):
            inputs = sorted(int(i) for i in rng.choice(state, size=2, replace=False))
            pairs.extend((FINAL_OPS[int(rng.integers(len(FINAL_OPS)))], i) for i in inputs)
        cells.append(tuple(pairs))
    return DartsGenotype(cells[0], CONCAT, cells[1], CONCAT)


PRIM_OPS = ("skip_connect", "sep_conv_3x3", "sep_conv_5x5")
"""The Prim rule's ops (redundancy paper §3: the primitives important cells are made of)."""

PRIMSKIP_OPS = ("sep_conv_3x3", "sep_conv_5x5")
"""PrimSkip: the ops of the six free slots (skip_connect appears only in the fixed first node)."""

SKIP_FIRST_NODE = (("skip_connect", 0), ("skip_connect", 1))
"""Skip/PrimSkip: state 2 is the residual sum of both cell inputs."""


def _cell_pairs(rng: np.random.Generator, ops: Sequence[str], first_node: Sequence[tuple[str, int]] = (),
                reference_wiring: bool = False) -> tuple[tuple[str, int], ...]:
    """One cell: a fixed first node if given, the other nodes two distinct inputs each, ops uniform over `ops`.

    `reference_wiring` lets state s read only {0..s−2} (the redundancy reference's Skip sampler draws from
    `arange(order)` for order 2..4); otherwise state s reads any of {0..s−1} (the full DAG).
    """
    pairs: list[tuple[str, int]] = list(first_node)
    for state in range(2 + len(first_node) // 2, 6):
        candidates = state - 1 if reference_wiring else state
        inputs = sorted(int(i) for i in rng.choice(candidates, size=2, replace=False))
        pairs.extend((ops[int(rng.integers(len(ops)))], i) for i in inputs)
    return tuple(pairs)


def _genotype(rng: np.random.Generator, **rule: Any) -> DartsGenotype:
    """Normal and reduce cells drawn independently by the same rule (the reference's same_normal_reduce=False)."""
    return DartsGenotype(_cell_pairs(rng, **rule), CONCAT, _cell_pairs(rng, **rule), CONCAT)


def sample_prim(rng: np.random.Generator) -> DartsGenotype:
    """Prim: DARTS-uniform wiring, every slot's op uniform over skip_connect, sep_conv_3x3, sep_conv_5x5."""
    return _genotype(rng, ops=PRIM_OPS)


def sample_skip(rng: np.random.Generator) -> DartsGenotype:
    """Skip: state 2 = skip(0) + skip(1); states 3..5 read two distinct earlier states; ops uniform over the 7."""
    return _genotype(rng, ops=FINAL_OPS, first_node=SKIP_FIRST_NODE)


def sample_primskip(rng: np.random.Generator) -> DartsGenotype:
    """PrimSkip: the Skip wiring with the six free slots uniform over sep_conv_3x3, sep_conv_5x5."""
    return _genotype(rng, ops=PRIMSKIP_OPS, first_node=SKIP_FIRST_NODE)


def sample_skip_reference(rng: np.random.Generator) -> DartsGenotype:
    """Skip with the reference's wiring: state s reads only {0..s−2} (state 3 only the two cell inputs)."""
    return _genotype(rng, ops=FINAL_OPS, first_node=SKIP_FIRST_NODE, reference_wiring=True)


def sample_primskip_reference(rng: np.random.Generator) -> DartsGenotype:
    """PrimSkip with the reference's wiring (see `sample_skip_reference`)."""
    return _genotype(rng, ops=PRIMSKIP_OPS, first_node=SKIP_FIRST_NODE, reference_wiring=True)


def sample_bpe_rs(rng: np.random.Generator) -> DartsGenotype:
    """BPE's random-search generator (`random_darts_generator.py`, bpe.md §3.4): an N(0,1) weight per (edge, op) of
    both cells over the 8 pt.darts ops, parsed by the DARTS rule — `none` ignored, each edge its strongest op, each
    node its 2 strongest edges, strongest first as `torch.topk` lists them."""
    from nascli.spaces.darts.genotype import DARTS_OPS_PT

    return bpe_rs_from_weights(rng.standard_normal((2 * NUM_EDGES, len(DARTS_OPS_PT))))


def bpe_rs_from_weights(weights: np.ndarray) -> DartsGenotype:
    """The DARTS parse of a 28 × 8 weight table (rows: normal then reduce edges; columns: pt.darts ops, none last)."""
    from nascli.spaces.darts.genotype import DARTS_OPS_PT

    weights = np.asarray(weights, dtype=np.float64)
    cells = []
    for c in range(len(CELL_KINDS)):
        pairs: list[tuple[str, int]] = []
        for node in range(NUM_STATES):
            start = c * NUM_EDGES + EDGE_OFFSETS[node]
            rows = weights[start : start + node + 2, :-1]  # the last pt.darts op is none
            strength = rows.max(axis=1)
            for source in np.argsort(-strength, kind="stable")[:2]:
                pairs.append((DARTS_OPS_PT[int(rows[source].argmax())], int(source)))
        cells.append(tuple(pairs))
    return DartsGenotype(cells[0], CONCAT, cells[1], CONCAT)


GENOTYPE_SAMPLERS: dict[str, Any] = {
    "uniform": sample_uniform,
    "bpe-rs": sample_bpe_rs,
    "prim": sample_prim,
    "skip": sample_skip,
    "primskip": sample_primskip,
    "skip-reference": sample_skip_reference,
    "primskip-reference": sample_primskip_reference,
}
