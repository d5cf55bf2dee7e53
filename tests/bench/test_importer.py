"""Importer of the official benchmark files, checked on the official NATS-tss records of archs 0, 11, 284."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nascli.bench.importer import import_official, load_pbz2, records_to_columns, write_table
from nascli.bench.table import COLUMNS, N_ARCHS, BenchTable, official_arch_strs
from nascli.errors import NasInputError
from tests.conftest import require_shared

ARCHS = (0, 11, 284)
DERIVED = ("cifar100_valid", "imagenet16_valid")  # 2·ori-test − x-test in the shipped table
# data README, verification 1: these columns equal the official records exactly (up to float rounding)
EXACT = tuple(name for name in COLUMNS if not name.endswith("_valid") and "valid_ori" not in name)


@pytest.fixture(scope="module")
def official_records() -> dict[int, dict[str, Any]]:
    path = require_shared("nb201/nats_tss_official_samples.json.gz")
    with gzip.open(path, "rt") as handle:
        archs = json.load(handle)["archs"]
    return {int(index): records for index, records in archs.items()}


@pytest.fixture(scope="module")
def table() -> BenchTable:
    return BenchTable.load()


def _assert_row_matches_table(values: dict[str, float], table: BenchTable, index: int) -> None:
    row = table.row(index)
    for name in COLUMNS:
        tolerance = 2e-7 if name in DERIVED else 1e-6
        assert abs(values[name] - row[name]) <= tolerance, (index, name, values[name], row[name])
    for name in EXACT:
        assert abs(values[name] - row[name]) <= 1e-9, (index, name)


@pytest.mark.parametrize("index", ARCHS)
def test_records_to_columns_equal_the_shipped_table(official_records, table, index: int) -> None:
    records = official_records[index]
    assert records["200"]["arch_str"] == official_arch_strs()[index]
    _assert_row_matches_table(records_to_columns(records), table, index)


def test_records_to_columns_averages_seeds_of_the_final_epoch(official_records) -> None:
    records = official_records[11]
    trials = records["200"]["results"]["cifar100"]
    by_hand = sum(trials[seed]["eval_acc1es"]["x-test@199"] for seed in ("777", "888", "999")) / 3
    assert records_to_columns(records)["cifar100_test"] == pytest.approx(by_hand, abs=1e-12)
    twelve = records["12"]["results"]["cifar10-valid"]
    by_hand_12 = sum(twelve[seed]["eval_acc1es"]["x-valid@11"] for seed in twelve) / len(twelve)
    assert len(twelve) == 2
    assert records_to_columns(records)["cifar10_valid_12ep"] == pytest.approx(by_hand_12, abs=1e-12)


def test_records_missing_a_dataset_raise_input_errors(official_records) -> None:
    records = json.loads(json.dumps(official_records[0]))
    del records["200"]["results"]["cifar100"]
    with pytest.raises(NasInputError, match="lacks hp=200 results on cifar100"):
        records_to_columns(records)


# --- official file layouts, written from the fixture in the benchmark's own ArchResults schema ----------
def _archresults_state(record: dict[str, Any]) -> dict[str, Any]:
    """The fixture's per-hp record in the schema of NATS-Bench `ArchResults.state_dict()`."""
    all_results: dict[tuple[str, int], Any] = {}
    dataset_seed: dict[str, list[int]] = {}
    for dataset, by_seed in record["results"].items():
        seeds = sorted(int(seed) for seed in by_seed)
        dataset_seed[dataset] = seeds
        for seed in seeds:
            trial = by_seed[str(seed)]
            all_results[(dataset, seed)] = OrderedDict(
                name=f"{dataset}-{seed}",
                net_state_dict=OrderedDict(weight=torch.ones(2, 2)),
                train_acc1es=trial["train_acc1es"],
                train_losses=trial["train_losses"],
                train_times=trial["train_times"],
                params=np.float64(trial["params"]),
                flop=np.float64(trial["flops"]),
                seed=seed,
                epochs=trial["epochs"],
                latency=trial["latency"],
                eval_names=sorted({key.split("@")[0] for key in trial["eval_acc1es"]}),
                eval_acc1es={key: np.float64(value) for key, value in trial["eval_acc1es"].items()},
                eval_losses=trial["eval_losses"],
                eval_times=trial["eval_times"],
            )
    return {
        "arch_index": record["arch_index"],
        "arch_str": record["arch_str"],
        "all_results": all_results,
        "dataset_seed": dataset_seed,
        "clear_net_done": False,
    }


def _per_hp(records: dict[str, Any], names: tuple[str, str] = ("12", "200")) -> dict[str, Any]:
    return {names[0]: _archresults_state(records["12"]), names[1]: _archresults_state(records["200"])}


def _save_pbz2(obj: Any, path: Path) -> None:
    with bz2.open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=4)


def _check_partial_import(columns: dict[str, np.ndarray], official_records, table) -> None:
    for index in ARCHS:
        _assert_row_matches_table({name: float(columns[name][index]) for name in COLUMNS}, table, index)
    missing = np.setdiff1d(np.arange(N_ARCHS), ARCHS)
    assert all(np.isnan(columns[name][missing]).all() for name in COLUMNS)


@pytest.fixture(scope="module")
def simple_archive(tmp_path_factory, official_records) -> Path:
    directory = tmp_path_factory.mktemp("NATS-tss-v1_0-3ffb9-simple")
    _save_pbz2({"meta_archs": list(official_arch_strs())}, directory / "meta.pickle.pbz2")
    for index in ARCHS:
        _save_pbz2(_per_hp(official_records[index]), directory / f"{index:06d}.pickle.pbz2")
    return directory


def test_import_nats_archive_directory(simple_archive, official_records, table) -> None:
    columns = import_official(simple_archive, allow_partial=True)
    _check_partial_import(columns, official_records, table)


def test_import_nats_meta_file_reads_the_records_beside_it(simple_archive, official_records, table) -> None:
    calls: list[tuple[int, int]] = []
    columns = import_official(
        simple_archive / "meta.pickle.pbz2",
        allow_partial=True,
        progress=lambda done, total: calls.append((done, total)),
    )
    _check_partial_import(columns, official_records, table)
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_partial_import_is_refused_unless_allowed(simple_archive) -> None:
    with pytest.raises(NasInputError, match="records for 3 of 15625 architectures"):
        import_official(simple_archive)


def test_import_nats_full_file(tmp_path, official_records, table) -> None:
    content = {
        "meta_archs": list(official_arch_strs()),
        "arch2infos": {index: _per_hp(official_records[index]) for index in ARCHS},
        "evaluated_indexes": list(ARCHS),
    }
    path = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    _save_pbz2(content, path)
    _check_partial_import(import_official(path, allow_partial=True), official_records, table)


def test_import_nasbench201_pth(tmp_path, official_records, table) -> None:
    content = {
        "meta_archs": list(official_arch_strs()),
        "arch2infos": {index: _per_hp(official_records[index], ("less", "full")) for index in ARCHS},
        "evaluated_indexes": list(ARCHS),
    }
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(content, path)
    _check_partial_import(import_official(path, allow_partial=True), official_records, table)


def test_written_table_loads_back(tmp_path, simple_archive, official_records) -> None:
    out = tmp_path / "imported.npz"
    digest = write_table(import_official(simple_archive, allow_partial=True), out)
    loaded = BenchTable.load(out, expected_sha256=digest)
    assert loaded.row(11)["cifar10_test"] == records_to_columns(official_records[11])["cifar10_test"]
    assert np.isnan(loaded.row(1)["cifar10_test"])


class _Payload:
    def __reduce__(self):
        return (os.getcwd, ())


def test_foreign_objects_in_a_pbz2_are_refused(tmp_path) -> None:
    path = tmp_path / "000000.pickle.pbz2"
    _save_pbz2({"12": _Payload()}, path)
    with pytest.raises(NasInputError, match="posix.getcwd|nt.getcwd"):
        load_pbz2(path)


def test_mismatched_architecture_strings_are_refused(tmp_path, official_records) -> None:
    directory = tmp_path / "archive"
    directory.mkdir()
    _save_pbz2({"meta_archs": list(official_arch_strs())}, directory / "meta.pickle.pbz2")
    # the record of arch 11 stored under the file name of arch 284
    _save_pbz2(_per_hp(official_records[11]), directory / "000284.pickle.pbz2")
    with pytest.raises(NasInputError, match="inconsistent"):
        import_official(directory, allow_partial=True)


def test_unknown_paths_raise_input_errors(tmp_path) -> None:
    with pytest.raises(NasInputError, match="does not exist"):
        import_official(tmp_path / "absent.pth")
    other = tmp_path / "bench.csv"
    other.write_text("x")
    with pytest.raises(NasInputError, match="neither a .pickle.pbz2"):
        import_official(other)
    with pytest.raises(NasInputError, match="no per-architecture records"):
        import_official(tmp_path)
