"""The CLI on the MobileNet space: sizes beside the paper's, the lookup file, the registry listing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.helpers import nas


def test_flops_table_prints_the_paper_figures_in_both_conventions(tmp_path: Path) -> None:
    code, output = nas("flops-table", "--genotype", "RLNAS_mobilenet", "--out", str(tmp_path / "size.json"))
    assert code == 0, output
    size = json.loads((tmp_path / "size.json").read_text())
    assert size["space"] == "mobilenet" and size["flops_convention"] == "rlnas-thop"
    assert round(size["flops"], 6) == 473.248184 and round(size["params"], 6) == 5.255648
    assert (size["paper_flops"], size["paper_params"]) == (473, 5.3)
    code, output = nas("flops-table", "--genotype", "2 0 -1 2 2 0 2 4 0 4 4 2 4 2 4 2 0 0 0 2 2", "--convention",
                       "macs")
    assert code == 0 and "471.52" in output
    code, output = nas("flops-table", "--genotype", "RLNAS_mobilenet", "--convention", "thop")
    assert code == 2 and "unknown FLOPs convention" in output


def test_lookup_file_records_its_convention_and_sums_to_the_paper_count(tmp_path: Path) -> None:
    path = tmp_path / "lookup.json"
    code, output = nas("flops-table", "--space", "mobilenet", "--lookup", "--genotype", "RLNAS_mobilenet",
                       "--out", str(path))
    assert code == 0 and "473.25" in output, output
    lookup = json.loads(path.read_text())
    assert (lookup["space"], lookup["flops_convention"], len(lookup["blocks"])) == ("mobilenet", "rlnas-thop", 21)
    code, output = nas("flops-table", "--space", "mobilenet", "--lookup", "--out", str(path))
    assert code == 2 and "--overwrite" in output


def test_list_genotypes_shows_the_mobilenet_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    import nascli.train.retrain

    monkeypatch.setattr(nascli.train.retrain, "registered_genotype_sizes", lambda: [])  # the DARTS rows: tested apart
    monkeypatch.setenv("COLUMNS", "250")
    code, output = nas("retrain", "--list-genotypes")
    assert code == 0, output
    assert "RLNAS_mobilenet" in output and "473.25 (paper 473)" in output and "5.256 (paper 5.3)" in output
