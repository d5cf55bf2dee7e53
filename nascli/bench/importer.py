"""Convert the official NAS-Bench-201 / NATS-Bench (tss) benchmark files into the compact table's columns.

Accepted inputs (the layouts of D-X-Y/NATS-Bench `nats_bench/api_topology.py` and NAS-Bench-201's
`nas_201_api/api_201.py`):

* NATS-Bench tss, fast-mode archive: a directory `NATS-tss-v1_0-3ffb9-simple/` (or `-full/`) of
  per-architecture records `000000.pickle.pbz2` … plus `meta.pickle.pbz2`; or the path of that meta file.
* NATS-Bench tss, full file: one `NATS-tss-v1_0-3ffb9.pickle.pbz2` holding
  `{meta_archs, arch2infos: {index: {"12": …, "200": …}}, evaluated_indexes}`.
* NAS-Bench-201 v1.0 / v1.1: `NAS-Bench-201-v1_*.pth`, the same dict with hp keys "less" (12 epochs)
  and "full" (200 epochs).

Each architecture's record per hp is an `ArchResults` state: `all_results[(dataset, seed)]` holds one
trial with `eval_acc1es` keyed like `x-valid@199`, `params` and `flop`. The `.pickle.pbz2` files are
read with an unpickler that builds only dicts, lists, numbers and numpy scalars/arrays (trained weights,
when present, are dropped unread).
"""

from __future__ import annotations

import bz2
import importlib
import os
import pickle
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nascli.bench.table import COLUMNS, N_ARCHS, official_arch_strs, save_table
from nascli.errors import NasInputError

PICKLE_SUFFIX = ".pickle.pbz2"
_RECORD_NAME = re.compile(r"^(\d+)\.pickle\.pbz2$")
_HP_ALIASES = {"12": "12", "200": "200", "less": "12", "full": "200"}

# column -> (hp, benchmark dataset, evaluation set); params/flops take the "200" trials of one dataset
_ACCURACY_SOURCES: dict[str, tuple[str, str, str]] = {
    "cifar10_valid": ("200", "cifar10-valid", "x-valid"),
    "cifar10_valid_ori_test": ("200", "cifar10-valid", "ori-test"),
    "cifar10_test": ("200", "cifar10", "ori-test"),
    "cifar100_valid": ("200", "cifar100", "x-valid"),
    "cifar100_test": ("200", "cifar100", "x-test"),
    "imagenet16_valid": ("200", "ImageNet16-120", "x-valid"),
    "imagenet16_test": ("200", "ImageNet16-120", "x-test"),
    "cifar10_valid_12ep": ("12", "cifar10-valid", "x-valid"),
    "cifar10_test_12ep": ("12", "cifar10", "ori-test"),
    "cifar100_valid_12ep": ("12", "cifar100", "x-valid"),
    "cifar100_test_12ep": ("12", "cifar100", "x-test"),
    "imagenet16_valid_12ep": ("12", "ImageNet16-120", "x-valid"),
    "imagenet16_test_12ep": ("12", "ImageNet16-120", "x-test"),
}
_COST_SOURCES: dict[str, tuple[str, str, str]] = {
    f"{kind}_{short}": ("200", dataset, kind)
    for kind in ("params", "flops")
    for short, dataset in (("cifar10", "cifar10"), ("cifar100", "cifar100"), ("imagenet16", "ImageNet16-120"))
}
assert set(_ACCURACY_SOURCES) | set(_COST_SOURCES) == set(COLUMNS)


# --- one architecture's records -> column values -------------------------------------------------------
def _seed_sort_key(seed: Any) -> tuple[int, Any]:
    text = str(seed)
    return (0, int(text)) if text.lstrip("-").isdigit() else (1, text)


def _trials(records: Mapping[str, Any], hp: str, dataset: str) -> list[Mapping[str, Any]]:
    try:
        by_seed = records[hp]["results"][dataset]
    except (KeyError, TypeError):
        raise NasInputError(
            f"the record of {records.get('arch_str', 'an architecture')} lacks hp={hp} results on {dataset}: "
            f"pass a complete NATS-Bench tss / NAS-Bench-201 file"
        ) from None
    if not by_seed:
        raise NasInputError(
            f"the record has no trials for hp={hp} on {dataset}: pass a complete benchmark file"
        )
    return [by_seed[seed] for seed in sorted(by_seed, key=_seed_sort_key)]


def _final_accuracy(trial: Mapping[str, Any], eval_set: str) -> float:
    accuracies = trial["eval_acc1es"]
    epochs = trial.get("epochs")
    if epochs is None:
        epochs = 1 + max(int(key.split("@")[1]) for key in accuracies if key.startswith(f"{eval_set}@"))
    key = f"{eval_set}@{int(epochs) - 1}"
    try:
        return float(accuracies[key])
    except KeyError:
        raise NasInputError(f"a trial lacks the accuracy {key}: pass a complete benchmark file") from None


def records_to_columns(records: Mapping[str, Any]) -> dict[str, float]:
    """Map one architecture's records `{"12": …, "200": …}` to the table's column values.

    Schema per hp (as in the shared `nats_tss_official_samples.json.gz`): `{"arch_index", "arch_str",
    "results": {dataset: {seed: {"epochs", "params", "flops", "eval_acc1es", …}}}}`. Accuracies are
    the final epoch's, averaged over all seeds (the official API's `is_random=False`); params and FLOPs
    are the seed means of the 200-epoch trials.
    """
    records = {_HP_ALIASES.get(str(hp), str(hp)): value for hp, value in records.items()}
    values: dict[str, float] = {}
    for name, (hp, dataset, eval_set) in _ACCURACY_SOURCES.items():
        trials = _trials(records, hp, dataset)
        values[name] = float(np.mean([_final_accuracy(trial, eval_set) for trial in trials]))
    for name, (hp, dataset, kind) in _COST_SOURCES.items():
        trials = _trials(records, hp, dataset)
        # the official trial objects call the FLOPs field "flop"
        keys = ("params",) if kind == "params" else ("flops", "flop")
        numbers = [next(float(trial[key]) for key in keys if key in trial) for trial in trials]
        values[name] = float(np.mean(numbers))
    return {name: values[name] for name in COLUMNS}


def archresults_to_record(state: Mapping[str, Any]) -> dict[str, Any]:
    """Convert an official `ArchResults.state_dict()` into the per-hp schema of `records_to_columns`."""
    try:
        all_results = state["all_results"]
        dataset_seed = state["dataset_seed"]
    except (KeyError, TypeError):
        raise NasInputError(
            "a benchmark record is not an ArchResults state (no all_results/dataset_seed): "
            "pass an official NATS-Bench tss or NAS-Bench-201 file"
        ) from None
    results: dict[str, dict[str, Any]] = {}
    for dataset, seeds in dataset_seed.items():
        results[str(dataset)] = {str(seed): dict(all_results[(dataset, seed)]) for seed in seeds}
    return {
        "arch_index": int(state.get("arch_index", -1)),
        "arch_str": state.get("arch_str"),
        "results": results,
    }


# --- reading the official files ----------------------------------------------------------------------
class _Dropped:
    """Stands in for trained weights inside a record; never built from the pickled bytes."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _Dropped:
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


class _RecordUnpickler(pickle.Unpickler):
    """Unpickler that builds only containers, numbers and numpy values; torch objects become `_Dropped`."""

    _ALLOWED = {
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("builtins", "list"),
        ("builtins", "dict"),
        ("builtins", "tuple"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "str"),
        ("builtins", "bool"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" or module.startswith("torch."):
            return _Dropped
        if module.startswith("numpy.core"):  # files written with numpy 1.x
            module = "numpy._core" + module[len("numpy.core") :]
        if module.startswith("numpy.dtypes") and name.endswith("DType"):
            return getattr(importlib.import_module(module), name)
        if (module, name) not in self._ALLOWED:
            raise NasInputError(
                f"the benchmark file holds a {module}.{name} object, which official records never contain: "
                f"pass an official NATS-Bench tss file"
            )
        return getattr(importlib.import_module(module), name)


def load_pbz2(path: str | os.PathLike[str]) -> Any:
    """Read one bz2-compressed pickle of the NATS-Bench format with the restricted unpickler."""
    try:
        with bz2.open(path, "rb") as handle:
            return _RecordUnpickler(handle).load()
    except (OSError, EOFError, pickle.UnpicklingError) as error:
        raise NasInputError(f"cannot read {path} as a NATS-Bench .pickle.pbz2 file ({error})") from None


def _load_pth(path: Path) -> Any:
    """Load a NAS-Bench-201 .pth file.

    WARNING: this format is a pickle of plain Python objects that `torch.load(..., weights_only=True)`
    refuses, so it is read with `weights_only=False`, which can run code embedded in the file. Only
    import a .pth benchmark you downloaded yourself from the official source.
    """
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many kinds for a file that is not a checkpoint
        raise NasInputError(f"cannot read {path} as a NAS-Bench-201 .pth file ({error})") from None


def _hp_records(per_hp: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        _HP_ALIASES[str(hp)]: archresults_to_record(state)
        for hp, state in per_hp.items()
        if str(hp) in _HP_ALIASES
    }


def _is_per_arch_record(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(str(key) in _HP_ALIASES for key in obj)


class _Collector:
    """Fills the columns row by row, mapping each record to our index by its official string."""

    def __init__(self, meta_archs: list[str] | None, source: Path) -> None:
        self.columns = {name: np.full(N_ARCHS, np.nan) for name in COLUMNS}
        self.seen = np.zeros(N_ARCHS, dtype=bool)
        self.source = source
        self.lookup = {text: index for index, text in enumerate(official_arch_strs())}
        self.meta_archs = list(meta_archs) if meta_archs is not None else None
        if self.meta_archs is not None:
            unknown = [text for text in self.meta_archs if text not in self.lookup]
            if unknown or len(self.meta_archs) != N_ARCHS:
                raise NasInputError(
                    f"{source} lists {len(self.meta_archs)} architectures ({len(unknown)} unknown), not the "
                    f"{N_ARCHS} of NAS-Bench-201: pass a topology (tss) benchmark, not the size (sss) one"
                )

    def add(self, their_index: int, per_hp: Mapping[str, Any]) -> None:
        records = _hp_records(per_hp)
        arch_strs = {record.get("arch_str") for record in records.values()}
        if self.meta_archs is not None:
            arch_strs.add(self.meta_archs[their_index])
        arch_strs.discard(None)
        if len(arch_strs) != 1:
            raise NasInputError(
                f"{self.source}: record {their_index} names architectures {sorted(arch_strs)}: "
                f"the file is inconsistent; download it again"
            )
        text = arch_strs.pop()
        if text not in self.lookup:
            raise NasInputError(f"{self.source}: record {their_index} has an unknown architecture {text!r}")
        index = self.lookup[text]
        for name, value in records_to_columns(records).items():
            self.columns[name][index] = value
        self.seen[index] = True

    def finish(self, allow_partial: bool) -> dict[str, np.ndarray]:
        count = int(self.seen.sum())
        if count < N_ARCHS and not allow_partial:
            raise NasInputError(
                f"{self.source} holds records for {count} of {N_ARCHS} architectures: pass the complete "
                f"benchmark, or allow a partial import (missing rows stay NaN)"
            )
        return self.columns


def _import_archive_dir(
    directory: Path, progress: Callable[[int, int], None] | None, allow_partial: bool
) -> dict[str, np.ndarray]:
    meta_path = directory / f"meta{PICKLE_SUFFIX}"
    meta_archs = None
    if meta_path.is_file():
        meta = load_pbz2(meta_path)
        meta_archs = meta.get("meta_archs") if isinstance(meta, Mapping) else None
    files = sorted(
        (int(match.group(1)), entry)
        for entry in directory.iterdir()
        if (match := _RECORD_NAME.match(entry.name))
    )
    if not files:
        raise NasInputError(
            f"{directory} holds no per-architecture records (000000{PICKLE_SUFFIX} …): "
            f"pass the NATS-tss-v1_0-3ffb9-simple folder"
        )
    collector = _Collector(meta_archs, directory)
    for done, (their_index, file_path) in enumerate(files, start=1):
        per_hp = load_pbz2(file_path)
        if not _is_per_arch_record(per_hp):
            raise NasInputError(f"{file_path} is not a per-architecture NATS-Bench record")
        collector.add(their_index, per_hp)
        if progress is not None:
            progress(done, len(files))
    return collector.finish(allow_partial)


def _import_full_dict(
    content: Mapping[str, Any], source: Path, progress: Callable[[int, int], None] | None, allow_partial: bool
) -> dict[str, np.ndarray]:
    collector = _Collector(content.get("meta_archs"), source)
    infos = content["arch2infos"]
    for done, their_index in enumerate(sorted(infos), start=1):
        collector.add(int(their_index), infos[their_index])
        if progress is not None:
            progress(done, len(infos))
    return collector.finish(allow_partial)


def import_official(
    path: str | os.PathLike[str],
    *,
    allow_partial: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Read an official NB-201 / NATS-Bench tss benchmark (see the module docstring) into table columns.

    Rows follow the official index order; architectures absent from the file stay NaN, which is an
    error unless `allow_partial`. `progress(done, total)` is called after each architecture.
    A `.pth` file is read with `torch.load(weights_only=False)`: import only files you trust.
    """
    source = Path(path)
    if source.is_dir():
        return _import_archive_dir(source, progress, allow_partial)
    if not source.is_file():
        raise NasInputError(
            f"benchmark file {source} does not exist: pass a NATS-Bench tss folder, .pbz2 or .pth"
        )
    if source.name.endswith(".pth"):
        content = _load_pth(source)
    elif source.name.endswith(".pbz2"):
        content = load_pbz2(source)
    else:
        raise NasInputError(
            f"{source} is neither a .pickle.pbz2 (NATS-Bench) nor a .pth (NAS-Bench-201): pass one of those"
        )
    if isinstance(content, Mapping) and "arch2infos" in content:
        return _import_full_dict(content, source, progress, allow_partial)
    if isinstance(content, Mapping) and "meta_archs" in content:
        return _import_archive_dir(source.parent, progress, allow_partial)
    if _is_per_arch_record(content):
        collector = _Collector(None, source)
        match = _RECORD_NAME.match(source.name)
        collector.add(int(match.group(1)) if match else -1, content)
        return collector.finish(allow_partial)
    raise NasInputError(f"{source} is not a NAS-Bench-201 / NATS-Bench tss benchmark file")


def write_table(columns: Mapping[str, np.ndarray], out: str | os.PathLike[str]) -> str:
    """Write imported columns as the compact table file that `BenchTable.load` reads; return its sha256."""
    return save_table(columns, out)
