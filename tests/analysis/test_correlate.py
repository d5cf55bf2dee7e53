"""`nas correlate` joins two files on the canonical architecture: BPE's published ρ from its own spreadsheets."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nascli.analysis.correlate import correlate, read_scores
from nascli.cli.main import app
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.darts import DartsGenotype
from tests.conftest import require_shared


def swap_first_node(genotype: DartsGenotype) -> DartsGenotype:
    """The same cells with the first node's two edges of each cell written in the other order."""
    def swap(pairs: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
        return (pairs[1], pairs[0], *pairs[2:])

    return DartsGenotype(swap(genotype.normal), genotype.normal_concat, swap(genotype.reduce), genotype.reduce_concat)


def write_proxy_scores(path: Path, bpe: Path) -> None:
    """The 100 proxy accuracies keyed by the flat text form with swapped edges, rows shuffled, plus one repeated
    architecture (another value, after its first row) and one architecture the ground truth lacks."""
    space = get_space("darts")
    with open(bpe / "ground_truth_100.csv", newline="", encoding="utf-8") as handle:
        genotypes = {row["arch_id"]: row["genotype"] for row in csv.DictReader(handle)}
    with open(bpe / "proxy_accuracies.csv", newline="", encoding="utf-8") as handle:
        proxies = list(csv.DictReader(handle))
    rows = [[space.format(swap_first_node(space.parse(genotypes[row["arch_id"]]))), row["Task5"], row["Task32"]]
            for row in proxies]
    random.Random(0).shuffle(rows)
    rows.append([space.parse(genotypes["3"]).__str__(), "1.0", "1.0"])  # repeated: counts once, the first row wins
    rows.append([space.format(space.coerce("DARTS_V2")), "50.0", "50.0"])  # not in the ground truth
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cell", "Task5", "Task32"])
        writer.writerows(rows)


@pytest.mark.parametrize("task,rho", [("Task5", 0.49679), ("Task32", 0.62454)])
def test_bpe1_and_bpe2_spearman_from_the_reference_sheets_through_nas_correlate(tmp_path: Path, task: str,
                                                                                rho: float) -> None:
    bpe = require_shared("bpe")
    scores = tmp_path / "proxies.csv"
    write_proxy_scores(scores, bpe)
    result = CliRunner().invoke(app, [
        "correlate", "--scores", str(scores), "--arch-column", "cell", "--score", task,
        "--against", str(bpe / "ground_truth_100.csv"), "--against-arch-column", "genotype",
        "--against-score", "gt_acc", "--n-boot", "10", "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "c" / "report.json").read_text())
    assert report["n_used"] == 100
    assert report["spearman"]["value"] == pytest.approx(rho, abs=5e-5)
    matching = report["matching"]
    assert (matching["rows"], matching["duplicates"], matching["unmatched"], matching["against_unmatched"]) == (
        102, 1, 1, 0)
    assert "1 row(s)" in result.output and "not in" in result.output


def test_plain_csvs_need_their_architecture_column_named(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("index,proxy\n9930,1.0\n0,0.0\n", encoding="utf-8")
    with pytest.raises(NasInputError, match="--arch-column"):
        read_scores(plain)
    with pytest.raises(NasInputError, match="no column 'cell'"):
        read_scores(plain, "cell")
    # NB201 indices name architectures too; the ground truth is then the benchmark table
    report = correlate(plain, tmp_path / "c", arch_column="index", score="proxy", n_boot=10, plot=False)
    assert report["n_used"] == 2 and report["space"] == "nb201"
    assert report["kendall_tau_b"]["value"] == pytest.approx(1.0)  # 9930 beats 0 on the table
