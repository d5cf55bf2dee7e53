"""The compact NAS-Bench-201 ground-truth table: 15,625 rows in official index order, read and written.

Build it from the shared CSV with `python -m nascli.bench.table build CSV OUT`; the package ships the
result as `nascli/resources/nb201/nb201_table.npz` (see ATTRIBUTION.md beside it).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from nascli.errors import NasInputError

N_ARCHS = 15625
TABLE_ENV_VAR = "NASCLI_NB201_TABLE"
TABLE_FORMAT = "nascli-nb201-table"
TABLE_FORMAT_VERSION = 1

ACCURACY_COLUMNS: tuple[str, ...] = (
    "cifar10_valid",
    "cifar10_valid_ori_test",
    "cifar10_test",
    "cifar100_valid",
    "cifar100_test",
    "imagenet16_valid",
    "imagenet16_test",
    "cifar10_valid_12ep",
    "cifar10_test_12ep",
    "cifar100_valid_12ep",
    "cifar100_test_12ep",
    "imagenet16_valid_12ep",
    "imagenet16_test_12ep",
)
COST_COLUMNS: tuple[str, ...] = (
    "params_cifar10",
    "params_cifar100",
    "params_imagenet16",
    "flops_cifar10",
    "flops_cifar100",
    "flops_imagenet16",
)
COLUMNS: tuple[str, ...] = ACCURACY_COLUMNS + COST_COLUMNS
"""Every column of the table, in storage order; all float64 (percent, millions of params, MFLOPs)."""

# dataset name (lower case) -> column prefix; the NB-201 / NATS-Bench names and our short ones
_DATASET_PREFIX: dict[str, str] = {
    "cifar10": "cifar10",
    "cifar10-valid": "cifar10-valid",
    "cifar100": "cifar100",
    "imagenet16-120": "imagenet16",
    "imagenet16": "imagenet16",
}
_DATASET_CHOICES = "cifar10, cifar10-valid, cifar100, imagenet16-120 (aliases imagenet16, ImageNet16-120)"
_SPLITS = ("valid", "test")
_EPOCHS = (12, 200)

_META_KEY = "_meta"
_PACKAGE_TABLE = "resources/nb201/nb201_table.npz"
_PACKAGE_ARCH_STRS = "resources/nb201/arch_strs.txt.gz"


@lru_cache(maxsize=1)
def official_arch_strs() -> tuple[str, ...]:
    """The official NB-201 / NATS-tss architecture strings; position i is index i."""
    data = resources.files("nascli").joinpath(_PACKAGE_ARCH_STRS).read_bytes()
    lines = gzip.decompress(data).decode("ascii").splitlines()
    arch_strs = tuple(line.strip() for line in lines if line.strip())
    if len(arch_strs) != N_ARCHS:
        raise RuntimeError(f"{_PACKAGE_ARCH_STRS} holds {len(arch_strs)} strings instead of {N_ARCHS}")
    return arch_strs


@lru_cache(maxsize=1)
def _arch_index_map() -> dict[str, int]:
    return {arch_str: index for index, arch_str in enumerate(official_arch_strs())}


def _arch_list_sha256() -> str:
    return hashlib.sha256("\n".join(official_arch_strs()).encode("ascii")).hexdigest()


def column_name(dataset: str, split: str = "test", epochs: int = 200) -> str:
    """The table column holding `dataset`/`split` accuracy after `epochs` (NB-201 / NATS-Bench naming)."""
    prefix = _DATASET_PREFIX.get(str(dataset).strip().lower())
    if prefix is None:
        raise NasInputError(f"unknown NB-201 dataset {dataset!r}: choose one of {_DATASET_CHOICES}")
    if split not in _SPLITS:
        raise NasInputError(f"unknown split {split!r} for {dataset}: choose one of {', '.join(_SPLITS)}")
    if epochs not in _EPOCHS:
        raise NasInputError(f"NB-201 has no {epochs}-epoch results: choose epochs 12 or 200")
    if prefix == "cifar10-valid":
        # the cifar10-valid setting trains on 25k images; its "test" is the CIFAR-10 test set (ori-test)
        base = "cifar10_valid" if split == "valid" else "cifar10_valid_ori_test"
    else:
        base = f"{prefix}_{split}"
    name = base if epochs == 200 else f"{base}_12ep"
    if name not in COLUMNS:
        raise NasInputError(
            f"the table has no {epochs}-epoch {split} column for {dataset}: use epochs=200, "
            f"or the cifar10 valid/test columns for 12 epochs"
        )
    return name


def sha256_of_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_table(columns: Mapping[str, np.ndarray], out_path: str | os.PathLike[str]) -> str:
    """Write `columns` (every name in COLUMNS, 15,625 values each) as a deterministic .npz; return its sha256.

    The zip entries carry a fixed timestamp so that the same values always give the same bytes
    (the file is addressed by its hash).
    """
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        raise NasInputError(f"cannot write the table: columns {', '.join(missing)} are missing")
    arrays: dict[str, np.ndarray] = {}
    for name in COLUMNS:
        values = np.asarray(columns[name], dtype=np.float64)
        if values.shape != (N_ARCHS,):
            raise NasInputError(
                f"cannot write the table: column {name} has shape {values.shape}, not ({N_ARCHS},)"
            )
        arrays[name] = values
    meta = {
        "format": TABLE_FORMAT,
        "version": TABLE_FORMAT_VERSION,
        "n_archs": N_ARCHS,
        "arch_strs_sha256": _arch_list_sha256(),
    }
    arrays[_META_KEY] = np.array(json.dumps(meta, sort_keys=True))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, values in arrays.items():
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            payload = io.BytesIO()
            np.lib.format.write_array(payload, values, allow_pickle=False)
            archive.writestr(entry, payload.getvalue(), compresslevel=9)
    data = buffer.getvalue()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return hashlib.sha256(data).hexdigest()


def read_benchmark_csv(csv_gz_path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read the shared `nb201_benchmark.csv.gz` into our columns, checking index order and arch strings."""
    path = Path(csv_gz_path)
    if not path.is_file():
        raise NasInputError(f"benchmark CSV {path} does not exist: pass the path of nb201_benchmark.csv.gz")
    arch_strs = official_arch_strs()
    values: dict[str, list[float]] = {name: [] for name in COLUMNS}
    with gzip.open(path, "rt", newline="") as handle:
        reader = csv.DictReader(handle)
        absent = [name for name in ("index", "arch_str", *COLUMNS) if name not in (reader.fieldnames or [])]
        if absent:
            raise NasInputError(f"{path} lacks the columns {', '.join(absent)}: pass nb201_benchmark.csv.gz")
        for row_number, row in enumerate(reader):
            if int(row["index"]) != row_number:
                raise NasInputError(
                    f"{path}: row {row_number} has index {row['index']}: rows must be 0..15624 in order"
                )
            if row_number >= N_ARCHS or row["arch_str"] != arch_strs[row_number]:
                raise NasInputError(
                    f"{path}: row {row_number} has arch {row['arch_str']!r}, "
                    f"not the official string of that index"
                )
            for name in COLUMNS:
                values[name].append(float(row[name]))
    count = len(values[COLUMNS[0]])
    if count != N_ARCHS:
        raise NasInputError(f"{path} has {count} rows instead of {N_ARCHS}: pass the complete table")
    return {name: np.asarray(column, dtype=np.float64) for name, column in values.items()}


def build_table(csv_gz_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> str:
    """Convert the shared benchmark CSV into the compact .npz table at `out_path`; return its sha256."""
    return save_table(read_benchmark_csv(csv_gz_path), out_path)


def default_table_path() -> str:
    """Where `BenchTable.load()` reads from: $NASCLI_NB201_TABLE if set, else the package's own table."""
    from_env = os.environ.get(TABLE_ENV_VAR)
    if from_env:
        return from_env
    return str(resources.files("nascli").joinpath(_PACKAGE_TABLE))


class BenchTable:
    """All 15,625 NB-201 architectures' accuracies, params and FLOPs; vectorised lookups by index or text."""

    def __init__(
        self, columns: Mapping[str, np.ndarray], *, source: str = "<memory>", sha256: str = ""
    ) -> None:
        self._columns: dict[str, np.ndarray] = {}
        for name in COLUMNS:
            values = np.asarray(columns[name], dtype=np.float64)
            values.setflags(write=False)
            self._columns[name] = values
        self.source = source
        self._sha256 = sha256

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, *, expected_sha256: str | None = None
    ) -> BenchTable:
        """Load `path`, else $NASCLI_NB201_TABLE, else the package table; check its sha256 if given."""
        location = str(path) if path is not None else default_table_path()
        try:
            data = Path(location).read_bytes()
        except OSError as error:
            raise NasInputError(
                f"cannot read the NB-201 table {location} ({error.strerror}): "
                f"pass an existing file or build one with `nas bench import`"
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        if expected_sha256 is not None and digest != expected_sha256.strip().lower():
            raise NasInputError(
                f"table {location} has sha256 {digest}, expected {expected_sha256}: "
                f"rebuild it with `nas bench import` or pass the right file"
            )
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                stored = {name: archive[name] for name in archive.files}
        except (ValueError, OSError, zipfile.BadZipFile) as error:
            raise NasInputError(
                f"{location} is not an NB-201 table ({error}): build one with `nas bench import`"
            ) from None
        cls._check_layout(stored, location)
        return cls(stored, source=location, sha256=digest)

    @staticmethod
    def _check_layout(stored: Mapping[str, np.ndarray], location: str) -> None:
        try:
            meta = json.loads(str(stored[_META_KEY]))
        except (KeyError, ValueError):
            meta = {}
        if meta.get("format") != TABLE_FORMAT or meta.get("version") != TABLE_FORMAT_VERSION:
            raise NasInputError(
                f"{location} is not a version-{TABLE_FORMAT_VERSION} {TABLE_FORMAT} file: "
                f"rebuild it with `nas bench import`"
            )
        if meta.get("arch_strs_sha256") != _arch_list_sha256():
            raise NasInputError(
                f"{location} was built for another architecture order: rebuild it with `nas bench import`"
            )
        bad = [name for name in COLUMNS if name not in stored or stored[name].shape != (N_ARCHS,)]
        if bad:
            raise NasInputError(
                f"{location} lacks complete columns {', '.join(bad)}: rebuild it with `nas bench import`"
            )

    @property
    def sha256(self) -> str:
        """Hex sha256 of the file the table was loaded from ('' for an in-memory table)."""
        return self._sha256

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, in storage order."""
        return COLUMNS

    def __len__(self) -> int:
        return N_ARCHS

    def column(self, name: str) -> np.ndarray:
        """One column by its stored name (read-only array of 15,625 values)."""
        try:
            return self._columns[name]
        except KeyError:
            raise NasInputError(
                f"unknown table column {name!r}: choose one of {', '.join(COLUMNS)}"
            ) from None

    def metric(self, dataset: str, split: str = "test", epochs: int = 200) -> np.ndarray:
        """Mean accuracy (percent) of every architecture on `dataset`/`split` after `epochs`, by index."""
        return self._columns[column_name(dataset, split, epochs)]

    def _checked_indices(self, indices: Any) -> np.ndarray:
        array = np.asarray(indices)
        if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            raise NasInputError(
                f"architecture indices must be integers 0..{N_ARCHS - 1}, got dtype {array.dtype}"
            )
        array = array.astype(np.int64, copy=False)
        if array.size and (array.min() < 0 or array.max() >= N_ARCHS):
            wrong = array[(array < 0) | (array >= N_ARCHS)].flat[0]
            raise NasInputError(
                f"architecture index {wrong} is out of range: NB-201 indices are 0..{N_ARCHS - 1}"
            )
        return array

    def query(self, indices: Iterable[int] | np.ndarray) -> dict[str, np.ndarray]:
        """Every column at `indices` (any integer array shape), plus the indices themselves under 'index'."""
        array = self._checked_indices(indices)
        result = {"index": array}
        result.update({name: values[array] for name, values in self._columns.items()})
        return result

    def indices_of_strings(self, arch_strs: str | Sequence[str] | np.ndarray) -> np.ndarray:
        """Official indices of official architecture strings (`|op~0|+|op~0|op~1|+|…|`), vectorised."""
        if isinstance(arch_strs, str):
            arch_strs = [arch_strs]
        lookup = _arch_index_map()
        try:
            return np.fromiter((lookup[text] for text in arch_strs), dtype=np.int64)
        except KeyError as error:
            raise NasInputError(
                f"{error.args[0]!r} is not an NB-201 architecture string: "
                f"use the official form such as |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|…|"
            ) from None

    def arch_str(self, index: int) -> str:
        """The official string of architecture `index`."""
        return official_arch_strs()[int(self._checked_indices(index))]

    def row(self, index: int) -> dict[str, Any]:
        """One architecture as a plain dict: index, arch_str and every column as a float."""
        position = int(self._checked_indices(index))
        result: dict[str, Any] = {"index": position, "arch_str": official_arch_strs()[position]}
        result.update({name: float(values[position]) for name, values in self._columns.items()})
        return result


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m nascli.bench.table build CSV OUT`: regenerate the packaged table from the shared CSV."""
    parser = argparse.ArgumentParser(prog="python -m nascli.bench.table")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="convert nb201_benchmark.csv.gz into the compact .npz table")
    build.add_argument("csv", help="path of nb201_benchmark.csv.gz")
    build.add_argument("out", help="output .npz path")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    digest = build_table(args.csv, args.out)
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {size} bytes, sha256 {digest} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
