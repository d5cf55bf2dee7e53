"""The packaged NB-201 table: official optima, closed-form costs, lookups, loading and regeneration."""

from __future__ import annotations

import csv
import gzip
import hashlib
from importlib import resources

import numpy as np
import pytest

from nascli.bench.table import (
    COLUMNS,
    N_ARCHS,
    TABLE_ENV_VAR,
    BenchTable,
    build_table,
    column_name,
    main,
    official_arch_strs,
)
from nascli.errors import NasInputError
from tests.conftest import require_shared

ARCH_9930 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
PACKAGE_TABLE = resources.files("nascli").joinpath("resources/nb201/nb201_table.npz")


@pytest.fixture(scope="module")
def table() -> BenchTable:
    return BenchTable.load()


@pytest.mark.parametrize(
    ("dataset", "split", "best_index", "best_value"),
    [
        # data README "Known optima" = the optimum row of the NB-201 / NATS-Bench papers
        ("cifar10", "valid", 6111, 91.61),
        ("cifar10", "test", 6111, 94.37),
        ("cifar100", "valid", 9930, 73.49),
        ("cifar100", "test", 9930, 73.51),
        ("imagenet16-120", "valid", 10676, 46.73),
        ("ImageNet16-120", "test", 857, 47.31),
    ],
)
def test_known_optima(
    table: BenchTable, dataset: str, split: str, best_index: int, best_value: float
) -> None:
    values = table.metric(dataset, split)
    assert values.shape == (N_ARCHS,)
    assert int(np.argmax(values)) == best_index
    assert round(float(values[best_index]), 2) == best_value


def test_index_9930_is_not_the_cifar10_optimum(table: BenchTable) -> None:
    row = table.row(9930)
    assert row["arch_str"] == ARCH_9930
    assert round(row["cifar10_test"], 2) == 94.36
    assert round(row["cifar100_test"], 2) == 73.51
    assert round(row["imagenet16_test"], 2) == 46.34


def test_params_and_flops_follow_the_closed_forms(table: BenchTable) -> None:
    arch_strs = official_arch_strs()
    n3 = np.array([text.count("nor_conv_3x3") for text in arch_strs])
    n1 = np.array([text.count("nor_conv_1x1") for text in arch_strs])
    # data README: FLOPs = base + 9·C²HW·n3 + C²HW·n1 summed over cells; params likewise
    expected = {
        "flops_cifar10": 7.78305 + 35.38944 * n3 + 3.93216 * n1,
        "flops_cifar100": 7.78890 + 35.38944 * n3 + 3.93216 * n1,
        "flops_imagenet16": 1.95340 + 8.84736 * n3 + 0.98304 * n1,
        "params_cifar10": 0.073306 + 0.24304 * n3 + 0.028 * n1,
        "params_cifar100": 0.079156 + 0.24304 * n3 + 0.028 * n1,
        "params_imagenet16": 0.080456 + 0.24304 * n3 + 0.028 * n1,
    }
    for name, values in expected.items():
        np.testing.assert_allclose(table.column(name), values, rtol=0, atol=1e-9, err_msg=name)


def test_dataset_names_and_splits_map_to_the_nb201_settings(table: BenchTable) -> None:
    assert column_name("cifar10", "test") == "cifar10_test"
    assert column_name("cifar10", "valid") == "cifar10_valid"
    assert column_name("cifar10-valid", "valid") == "cifar10_valid"
    assert column_name("cifar10-valid", "test") == "cifar10_valid_ori_test"
    assert column_name("cifar100", "valid", epochs=12) == "cifar100_valid_12ep"
    for alias in ("imagenet16", "ImageNet16-120", "imagenet16-120"):
        assert column_name(alias, "test") == "imagenet16_test"
    assert table.metric("cifar10", "test", epochs=12) is table.column("cifar10_test_12ep")
    assert table.metric("imagenet16", "valid") is table.metric("ImageNet16-120", "valid")


@pytest.mark.parametrize(
    ("dataset", "split", "epochs", "fragment"),
    [
        ("svhn", "test", 200, "cifar10, cifar10-valid, cifar100, imagenet16-120"),
        ("cifar10", "train", 200, "valid, test"),
        ("cifar10", "test", 100, "epochs 12 or 200"),
        ("cifar10-valid", "test", 12, "no 12-epoch test column"),
    ],
)
def test_unknown_names_raise_input_errors(
    table: BenchTable, dataset: str, split: str, epochs: int, fragment: str
) -> None:
    with pytest.raises(NasInputError, match=fragment):
        table.metric(dataset, split, epochs)


def test_query_is_vectorised_by_index(table: BenchTable) -> None:
    indices = np.array([[9930, 6111], [857, 0]])
    result = table.query(indices)
    assert set(result) == {"index", *COLUMNS}
    assert result["cifar10_test"].shape == (2, 2)
    np.testing.assert_array_equal(result["cifar10_test"], table.metric("cifar10")[indices])
    assert result["imagenet16_test"][1, 0] == table.row(857)["imagenet16_test"]
    with pytest.raises(NasInputError, match="out of range"):
        table.query([0, N_ARCHS])
    with pytest.raises(NasInputError, match="integers"):
        table.query([0.5])


def test_indices_of_strings_round_trip_all_official_strings(table: BenchTable) -> None:
    arch_strs = official_arch_strs()
    np.testing.assert_array_equal(table.indices_of_strings(list(arch_strs)), np.arange(N_ARCHS))
    assert table.indices_of_strings(ARCH_9930).tolist() == [9930]
    assert table.arch_str(9930) == ARCH_9930
    with pytest.raises(NasInputError, match="not an NB-201 architecture string"):
        table.indices_of_strings([ARCH_9930, "|conv~0|"])


def test_columns_are_read_only(table: BenchTable) -> None:
    with pytest.raises(ValueError):
        table.metric("cifar10")[0] = 0.0


def test_load_checks_the_sha256(table: BenchTable) -> None:
    digest = hashlib.sha256(PACKAGE_TABLE.read_bytes()).hexdigest()
    assert table.sha256 == digest
    assert BenchTable.load(expected_sha256=digest).sha256 == digest
    with pytest.raises(NasInputError, match=r"expected 0{64}: rebuild it with `nas bench import`"):
        BenchTable.load(expected_sha256="0" * 64)


def test_load_from_env_var_and_explicit_path(tmp_path, monkeypatch) -> None:
    copy = tmp_path / "copy.npz"
    copy.write_bytes(PACKAGE_TABLE.read_bytes())
    monkeypatch.setenv(TABLE_ENV_VAR, str(copy))
    assert BenchTable.load().source == str(copy)
    monkeypatch.delenv(TABLE_ENV_VAR)
    assert BenchTable.load(copy).source == str(copy)
    with pytest.raises(NasInputError, match="cannot read the NB-201 table"):
        BenchTable.load(tmp_path / "absent.npz")
    not_a_table = tmp_path / "other.npz"
    np.savez(not_a_table, cifar10_test=np.zeros(3))
    with pytest.raises(NasInputError, match="not a version-1 nascli-nb201-table"):
        BenchTable.load(not_a_table)


def test_build_reproduces_the_packaged_table(tmp_path, capsys) -> None:
    csv_path = require_shared("nb201/nb201_benchmark.csv.gz")
    out = tmp_path / "table.npz"
    assert main(["build", str(csv_path), str(out)]) == 0
    assert "sha256" in capsys.readouterr().out
    # deterministic bytes: a rebuild from the shared CSV gives exactly the shipped file
    assert out.read_bytes() == PACKAGE_TABLE.read_bytes()
    with gzip.open(csv_path, "rt") as handle:
        first = next(csv.DictReader(handle))
    rebuilt = BenchTable.load(out)
    for name in COLUMNS:
        assert rebuilt.row(0)[name] == float(first[name])


def test_build_rejects_rows_out_of_official_order(tmp_path) -> None:
    csv_path = require_shared("nb201/nb201_benchmark.csv.gz")
    with gzip.open(csv_path, "rt") as handle:
        lines = [next(handle) for _ in range(4)]
    broken = tmp_path / "swapped.csv.gz"
    with gzip.open(broken, "wt") as handle:
        handle.writelines([lines[0], lines[2], lines[1], lines[3]])
    with pytest.raises(NasInputError, match="rows must be 0..15624 in order"):
        build_table(broken, tmp_path / "out.npz")
    truncated = tmp_path / "truncated.csv.gz"
    with gzip.open(truncated, "wt") as handle:
        handle.writelines(lines)
    with pytest.raises(NasInputError, match="has 3 rows instead of 15625"):
        build_table(truncated, tmp_path / "out.npz")
    with pytest.raises(NasInputError, match="does not exist"):
        build_table(tmp_path / "absent.csv.gz", tmp_path / "out.npz")
