"""The `nas analyze` library calls: a DARTS importance run resumes after an interruption with the same result."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from nascli.analysis.importance import genotype_key
from nascli.analysis.redundancy import read_genotypes, run_importance_darts, sample_genotypes
from nascli.spaces.darts.genotype import format_genotype


class _Source:
    """Accuracy = a fixed function of the genotype; raises KeyboardInterrupt on the call number `stop_at`."""

    name = "toy"
    percent = True

    def __init__(self, stop_at: int | None = None) -> None:
        self.calls = 0
        self.stop_at = stop_at

    def accuracies(self, genotypes):  # noqa: ANN001, ANN201
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return np.array([90 + zlib.crc32(genotype_key(g).encode()) % 1000 / 500 for g in genotypes])


def test_darts_run_resumes_after_an_interruption(tmp_path: Path) -> None:
    genotypes = sample_genotypes("skip", 3, seed=0)
    straight = tmp_path / "straight"
    run_importance_darts(straight, genotypes, _Source(), cells=("normal",), plot=False, quiet=True)
    crashed = tmp_path / "crashed"
    with pytest.raises(KeyboardInterrupt):
        run_importance_darts(crashed, genotypes, _Source(stop_at=3), cells=("normal",), plot=False, quiet=True)
    assert json.loads((crashed / "manifest.json").read_text())["status"] == "interrupted"
    resumed = _Source()
    run_importance_darts(crashed, genotypes, resumed, cells=("normal",), plot=False, quiet=True, resume=True)
    assert resumed.calls == 1  # only the architecture the crash left
    assert (crashed / "importance.csv").read_bytes() == (straight / "importance.csv").read_bytes()
    assert json.loads((crashed / "manifest.json").read_text())["status"] == "done"


def test_genotype_files_one_per_line_or_a_csv_column(tmp_path: Path) -> None:
    genotypes = sample_genotypes("prim", 2, seed=1)
    plain = tmp_path / "plain.txt"
    plain.write_text("".join(format_genotype(g) + "\n" for g in genotypes), encoding="utf-8")
    table = tmp_path / "table.csv"
    table.write_text("arch_id,genotype,acc\n" + "".join(f'{i},"{format_genotype(g)}",9{i}\n'
                                                        for i, g in enumerate(genotypes)), encoding="utf-8")
    assert read_genotypes(plain) == genotypes == read_genotypes(table)
