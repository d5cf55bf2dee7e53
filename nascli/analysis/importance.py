"""Operation importance (redundancy paper §1.1): the mean error change when one slot of a cell is changed.

OI(a, e) = mean over the architectures a' that differ from a only at slot e of err(a') − err(a).
NB201: e is one of the 6 edges, a' takes each of the 4 other ops (`none` included), err from the table.
DARTS: e is one of the 8 (op, input) slots of the normal or reduce cell, a' takes each of the 6 other
non-none ops or rewires the slot to another allowed predecessor (6 + k neighbours for node k). An
architecture and all its neighbours are always evaluated by one performance source.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nascli.errors import NasInputError
from nascli.spaces.darts.genotype import CELL_KINDS, FINAL_OPS, DartsGenotype, format_genotype, parse_genotype
from nascli.spaces.nb201 import EDGES as NB201_EDGES
from nascli.spaces.nb201 import NB201_OPS

IMPORTANCE_THRESHOLD = 0.001
"""An op is important when its importance exceeds 0.1 % error (reference notebooks, mine_motifs.py)."""

NB201_DATASETS = ("cifar10", "cifar100", "imagenet16-120")
SELECTIONS = ("top", "bottom", "uniform")
NB201_SPACE_SIZE = len(NB201_OPS) ** len(NB201_EDGES)


# --------------------------------------------------------------------------------------------------
# Which architectures
# --------------------------------------------------------------------------------------------------


def select_by_error(errors: np.ndarray, selection: str, fraction: float = 0.05, n_uniform: int = 1000,
                    seed: int = 0) -> np.ndarray:
    """Indices of the `fraction` lowest-error (top) or highest-error (bottom) archs, or a seeded uniform sample.

    As the reference (test/compute_impt_weights_all_nb201.py): n = round(fraction · N) after an ascending
    sort of the error (ties by index here); uniform = RandomState(seed).choice(N, n_uniform, replace=False).
    """
    errors = np.asarray(errors, dtype=np.float64)
    if selection not in SELECTIONS:
        raise NasInputError(f"unknown selection {selection!r}: choose one of {', '.join(SELECTIONS)}")
    total = len(errors)
    if selection == "uniform":
        if not 1 <= n_uniform <= total:
            raise NasInputError(f"--n {n_uniform} is out of range: sample between 1 and {total} architectures")
        return np.random.RandomState(seed).choice(total, n_uniform, replace=False).astype(np.int64)
    if not 0.0 < fraction <= 0.5:
        raise NasInputError(f"--fraction {fraction} is out of range: give a share in (0, 0.5], e.g. 0.05")
    count = max(1, int(np.round(fraction * total)))
    order = np.argsort(errors, kind="stable")
    return order[:count] if selection == "top" else order[-count:]


# --------------------------------------------------------------------------------------------------
# NB201: exact, from the table
# --------------------------------------------------------------------------------------------------


def nb201_neighbour_ops(op_matrix: np.ndarray) -> np.ndarray:
    """[n, 6, 4, 6] op indices: for each arch and edge, the 4 archs with that edge's op replaced by another op."""
    ops = np.asarray(op_matrix, dtype=np.int64)
    if ops.ndim != 2 or ops.shape[1] != len(NB201_EDGES):
        raise NasInputError(f"an NB201 op matrix has shape [n, {len(NB201_EDGES)}], got {ops.shape}")
    n_ops = len(NB201_OPS)
    n, n_edges = ops.shape
    out = np.broadcast_to(ops[:, None, None, :], (n, n_edges, n_ops - 1, n_edges)).copy()
    shifts = np.arange(1, n_ops)  # op + 1..4 (mod 5) runs through the 4 other ops exactly once
    for edge in range(n_edges):
        out[:, edge, :, edge] = (ops[:, edge, None] + shifts[None, :]) % n_ops
    return out


def nb201_importance(errors: np.ndarray, indices: np.ndarray, op_matrix: np.ndarray,
                     indices_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """[n, 6] importance of every edge of the archs `indices`, from `errors` (15,625, official order).

    `op_matrix` is the space's [15625, 6] op-index matrix and `indices_of` maps [m, 6] op indices to
    official indices (`NB201Space.indices_of`); all look-ups are vectorised.
    """
    errors = np.asarray(errors, dtype=np.float64)
    indices = np.asarray(indices, dtype=np.int64)
    neighbours = nb201_neighbour_ops(np.asarray(op_matrix)[indices])
    n, n_edges, n_alt, _ = neighbours.shape
    neighbour_index = indices_of(neighbours.reshape(-1, n_edges)).reshape(n, n_edges, n_alt)
    return errors[neighbour_index].mean(axis=2) - errors[indices][:, None]


def nb201_errors(table: Any, dataset: str) -> np.ndarray:
    """Test error as a fraction, 1 − accuracy/100, of all 15,625 archs (200 epochs, mean over seeds)."""
    return 1.0 - np.asarray(table.metric(dataset, "test", 200), dtype=np.float64) / 100.0


# --------------------------------------------------------------------------------------------------
# DARTS: neighbours and performance sources
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DartsSlot:
    """One (op, input) slot: cell kind and position 0..7 (pairs 2k, 2k+1 feed state k+2)."""

    cell: str
    position: int

    @property
    def index(self) -> int:
        """The reference's op_idx: 0..7 normal, 8..15 reduce."""
        return self.position + (8 if self.cell == "reduce" else 0)

    @property
    def node(self) -> int:
        """Intermediate node k ∈ {0..3} (state k + 2)."""
        return self.position // 2


def darts_slots(cells: Sequence[str] = CELL_KINDS) -> list[DartsSlot]:
    """The slots of `cells` in the reference's order (normal 0..7, then reduce 0..7)."""
    unknown = [cell for cell in cells if cell not in CELL_KINDS]
    if unknown or not cells:
        raise NasInputError(f"unknown cell kind {unknown[0] if unknown else '(none)'!r}: choose normal and/or reduce")
    return [DartsSlot(cell, position) for cell in CELL_KINDS if cell in cells for position in range(8)]


def with_pair(genotype: DartsGenotype, slot: DartsSlot, pair: tuple[str, int]) -> DartsGenotype:
    """`genotype` with the (op, input) pair at `slot` replaced."""
    pairs = list(genotype.cell(slot.cell))
    pairs[slot.position] = pair
    fields = {cell: genotype.cell(cell) for cell in CELL_KINDS}
    fields[slot.cell] = tuple(pairs)
    return DartsGenotype(fields["normal"], genotype.normal_concat, fields["reduce"], genotype.reduce_concat)


def darts_slot_neighbours(genotype: DartsGenotype, slot: DartsSlot) -> list[DartsGenotype]:
    """The archs differing from `genotype` only at `slot`: the other non-none ops, then every rewiring of its
    input to a state 0..k+1 other than its own and its sibling's (reference `find_node_proximate_archs`)."""
    pairs = genotype.cell(slot.cell)
    op, current = pairs[slot.position]
    sibling = pairs[slot.position ^ 1][1]
    out = [with_pair(genotype, slot, (other, current)) for other in FINAL_OPS if other != op]
    for state in range(slot.node + 2):
        if state not in (current, sibling):
            out.append(with_pair(genotype, slot, (op, state)))
    return out


def genotype_key(genotype: DartsGenotype) -> str:
    """The text that identifies an architecture whatever the order of a node's two pairs."""
    return format_genotype(genotype.canonical())


class PerformanceSource(Protocol):
    """Accuracies of DARTS genotypes from one source; NaN where the source has no value."""

    name: str
    percent: bool
    """True when the accuracies are percentages (error = 1 − acc/100), False for fractions (1 − acc)."""

    def accuracies(self, genotypes: Sequence[DartsGenotype]) -> np.ndarray:
        """One accuracy per genotype, NaN when missing."""


_NOT_VALUES = ("step", "index", "arch_id", "arch_name")


def genotype_column(header: Sequence[str]) -> int | None:
    """Position of the 'arch' or 'genotype' column of a CSV header, None when there is none."""
    for name in ("arch", "genotype"):
        if name in header:
            return list(header).index(name)
    return None


class FileSource:
    """Genotype → accuracy from a CSV (a `nas search` scores.csv, or any file with a genotype and a value column)."""

    def __init__(self, path: str | Path, column: str | None = None, percent: bool | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise NasInputError(f"accuracy file {self.path} does not exist: pass a CSV of genotype, accuracy")
        with open(self.path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None) or []
            rows = [row for row in reader if row]
        g = genotype_column(header)
        if g is None or len(header) < 2:
            raise NasInputError(f"{self.path} needs a header with an 'arch' (or 'genotype') column and a value "
                                "column, e.g. arch,accuracy")
        candidates = [name for k, name in enumerate(header) if k != g and name not in _NOT_VALUES]
        name = column or (candidates[0] if candidates else "")
        if name not in header or header.index(name) == g:
            raise NasInputError(f"{self.path} has no value column {name!r}: choose one of {', '.join(candidates)}")
        j = header.index(name)
        self.column = name
        self.values: dict[str, float] = {}
        for number, row in enumerate(rows, start=2):
            try:
                key = genotype_key(parse_genotype(row[g]))
                value = float(row[j])
            except (NasInputError, ValueError, IndexError) as error:
                raise NasInputError(f"{self.path}, line {number}: not a genotype and a number ({error}): "
                                    "fix or remove the line") from None
            if key in self.values and self.values[key] != value:
                raise NasInputError(f"{self.path}, line {number}: the genotype appears twice with different values "
                                    f"({self.values[key]} and {value}): keep one")
            self.values[key] = value
        self.name = f"file:{self.path.name}:{name}"
        finite = [v for v in self.values.values() if math.isfinite(v)]
        self.percent = bool(finite) and max(finite) > 1.0 if percent is None else percent

    def accuracies(self, genotypes: Sequence[DartsGenotype]) -> np.ndarray:
        """The file's values; NaN for genotypes the file lacks (never filled from elsewhere)."""
        return np.array([self.values.get(genotype_key(g), math.nan) for g in genotypes], dtype=np.float64)


class ScoreSource:
    """A registered score (e.g. trained-acc) evaluating every genotype of a batch; higher = more accurate."""

    def __init__(self, score: Any, percent: bool = False) -> None:
        self.score = score
        self.name = f"score:{score.name}"
        self.percent = percent

    def accuracies(self, genotypes: Sequence[DartsGenotype]) -> np.ndarray:
        """The score of each genotype."""
        return np.asarray(self.score.score(list(genotypes)), dtype=np.float64)


@dataclass
class DartsImportance:
    """Per architecture: its accuracy, each slot's importance (NaN when a neighbour is missing) and what is missing."""

    genotype: DartsGenotype
    accuracy: float
    slots: list[DartsSlot]
    importance: np.ndarray
    n_neighbours: list[int]
    missing: list[tuple[DartsSlot | None, DartsGenotype]] = field(default_factory=list)
    """(slot, neighbour) pairs the source had no value for; slot None = the architecture itself."""


def darts_evaluation_set(genotype: DartsGenotype, slots: Sequence[DartsSlot]) -> list[DartsGenotype]:
    """The architecture itself followed by every slot's neighbours, in slot order."""
    out = [genotype]
    for slot in slots:
        out.extend(darts_slot_neighbours(genotype, slot))
    return out


def darts_importance(genotype: DartsGenotype, source: PerformanceSource,
                     slots: Sequence[DartsSlot] | None = None) -> DartsImportance:
    """Importance of each slot of `genotype`, the arch and all its neighbours evaluated in ONE call to `source`."""
    slots = list(slots or darts_slots())
    neighbours = [darts_slot_neighbours(genotype, slot) for slot in slots]
    batch = [genotype] + [g for group in neighbours for g in group]
    accuracies = np.asarray(source.accuracies(batch), dtype=np.float64)
    if accuracies.shape != (len(batch),):
        raise NasInputError(f"the source {source.name} returned {accuracies.shape} values for {len(batch)} archs")
    scale = 0.01 if source.percent else 1.0
    own = accuracies[0]
    importance = np.full(len(slots), math.nan)
    missing: list[tuple[DartsSlot | None, DartsGenotype]] = []
    if not math.isfinite(own):
        missing.append((None, genotype))  # the architecture itself
    offset = 1
    for s, (slot, group) in enumerate(zip(slots, neighbours, strict=True)):
        values = accuracies[offset: offset + len(group)]
        offset += len(group)
        absent = [g for g, v in zip(group, values, strict=True) if not math.isfinite(v)]
        missing.extend((slot, g) for g in absent)
        if not absent and math.isfinite(own):
            # err = 1 − acc·scale, so err(a') − err(a) = (acc(a) − acc(a'))·scale
            importance[s] = float(np.mean(own - values)) * scale
    return DartsImportance(genotype, float(own), slots, importance, [len(g) for g in neighbours], missing)


def unique_evaluation_set(genotypes: Iterable[DartsGenotype], slots: Sequence[DartsSlot]) -> list[DartsGenotype]:
    """Every architecture and neighbour the analysis of `genotypes` needs, once each, in first-seen order."""
    seen: dict[str, DartsGenotype] = {}
    for genotype in genotypes:
        for g in darts_evaluation_set(genotype, slots):
            seen.setdefault(genotype_key(g), g.canonical())
    return list(seen.values())


# --------------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------------


def summarise_by_op(ops: Sequence[str], importance: np.ndarray, threshold: float = IMPORTANCE_THRESHOLD,
                    op_order: Sequence[str] | None = None, noise: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Per op type: slots with that op, mean and median importance, count and share above `threshold`,
    and the op's share of all important slots; with `noise` (one value per slot, NaN where unmeasured) also how
    many important slots stand at or above their noise."""
    ops = np.asarray(list(ops))
    values = np.asarray(importance, dtype=np.float64)
    finite = np.isfinite(values)
    important = finite & (values > threshold)
    if noise is not None:
        noise = np.asarray(noise, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            clear = important & np.isfinite(noise) & (np.abs(values) >= noise)
    total_important = int(important.sum())
    names = list(op_order) if op_order is not None else sorted(set(ops.tolist()))
    rows = []
    for op in names:
        mask = (ops == op) & finite
        count = int(mask.sum())
        n_important = int((mask & important).sum())
        rows.append({
            "op": op,
            "count": count,
            "mean": float(values[mask].mean()) if count else math.nan,
            "median": float(np.median(values[mask])) if count else math.nan,
            "important": n_important,
            "share_important": n_important / count if count else math.nan,
            "share_of_all_important": n_important / total_important if total_important else math.nan,
        })
        if noise is not None:
            rows[-1]["important_above_noise"] = int((mask & clear).sum())
    return rows
