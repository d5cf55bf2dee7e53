"""`nas analyze` end to end: NB201 importance and motifs, the DARTS file-source path, sample, prune, retrain of a
pruned genotype."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from nascli.analysis.importance import darts_slot_neighbours, darts_slots, genotype_key
from nascli.bench.table import BenchTable
from nascli.cli.main import app
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.darts.genotype import format_genotype, parse_genotype
from nascli.spaces.genotypes import get_genotype
from nascli.spaces.nb201 import NB201_OPS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def nas(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "240"}, catch_exceptions=False)
    return result.exit_code, result.output


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_nb201_importance_and_motifs(tmp_path: Path) -> None:
    out = tmp_path / "imp"
    code, output = nas("analyze", "importance", "--dataset", "cifar100", "--fraction", "0.01", "--out", str(out))
    assert code == 0, output
    rows = _rows(out / "importance.csv")
    assert len(rows) == 2 * 156 * 6  # top and bottom 1 % of 15,625, six edges each
    table = BenchTable.load()
    best = int(np.argmax(table.metric("cifar100")))
    first = rows[0]
    assert first["selection"] == "top" and first["arch"] == table.arch_str(best)
    assert float(first["accuracy"]) == pytest.approx(table.metric("cifar100")[best], abs=1e-4)
    summary = _rows(out / "summary.csv")
    assert [r["op"] for r in summary[:5]] == list(NB201_OPS)
    assert sum(int(r["count"]) for r in summary if r["selection"] == "top") == 156 * 6
    assert (out / "importance_distribution.png").stat().st_size > 0 and (out / "cell_importance.png").is_file()

    motifs = tmp_path / "motifs"
    code, output = nas("analyze", "motifs", "--importance", str(out), "--out", str(motifs), "--min-support", "0.1")
    assert code == 0, output
    mined = _rows(motifs / "motifs.csv")
    assert mined and all(int(r["support"]) >= round(0.1 * 156) for r in mined)
    ratios = [float(r["ratio"]) for r in mined if r["zero_reference"] == "false"]
    assert ratios == sorted(ratios, reverse=True)
    assert (motifs / "motifs.png").is_file()
    assert nas("analyze", "importance", "--dataset", "cifar100", "--out", str(out))[0] == 2  # never overwrites


def _fake_accuracy(genotype) -> float:  # noqa: ANN001
    ops = [op for op, _ in genotype.normal]
    return 90.0 + ops.count("sep_conv_3x3") * 0.4 - ops.count("max_pool_3x3") * 0.3 + 0.01 * sum(
        i for _, i in genotype.normal)


def test_darts_file_source_missing_neighbours_prune_and_retrain(tmp_path: Path) -> None:
    darts_v2 = get_genotype("DARTS_V2")
    neighbours = tmp_path / "neighbours.txt"
    code, output = nas("analyze", "importance", "--space", "darts", "--genotype", "DARTS_V2", "--cell", "normal",
                       "--write-neighbours", str(neighbours))
    assert code == 0, output
    texts = neighbours.read_text(encoding="utf-8").splitlines()
    assert len(texts) == 1 + 2 * (6 + 7 + 8 + 9)
    dropped = darts_slot_neighbours(darts_v2, darts_slots(("normal",))[7])[0]
    scores = tmp_path / "scores.csv"
    kept = [t for t in texts if genotype_key(parse_genotype(t)) != genotype_key(dropped)]
    scores.write_text("arch,acc\n" + "".join(f'"{t}",{_fake_accuracy(parse_genotype(t))}\n' for t in kept),
                      encoding="utf-8")
    out = tmp_path / "imp"
    code, output = nas("analyze", "importance", "--space", "darts", "--genotype", "DARTS_V2", "--cell", "normal",
                       "--scores-file", str(scores), "--out", str(out), "--quiet")
    assert code == 0, output
    rows = _rows(out / "importance.csv")
    assert [int(r["slot"]) for r in rows] == list(range(8))
    assert rows[7]["importance"] == ""  # its neighbour is missing: reported, not filled
    missing = _rows(out / "missing.csv")
    assert len(missing) == 1 and genotype_key(parse_genotype(missing[0]["missing_arch"])) == genotype_key(dropped)
    expected0 = np.mean([(_fake_accuracy(darts_v2) - _fake_accuracy(n)) / 100
                         for n in darts_slot_neighbours(darts_v2, darts_slots(("normal",))[0])])
    assert float(rows[0]["importance"]) == pytest.approx(expected0, rel=1e-5)

    # prune refuses a cell with a slot lacking importance; the complete run prunes
    assert nas("analyze", "prune", "--importance", str(out), "--out", str(tmp_path / "p0"))[0] == 2
    scores.write_text("arch,acc\n" + "".join(f'"{t}",{_fake_accuracy(parse_genotype(t))}\n' for t in texts),
                      encoding="utf-8")
    full = tmp_path / "imp_full"
    repeat = tmp_path / "repeat.csv"  # the arch evaluated again: 0.05 points apart -> noise 0.0005
    repeat.write_text(f'genotype,acc\n"{format_genotype(darts_v2)}",{_fake_accuracy(darts_v2) + 0.05}\n',
                      encoding="utf-8")
    assert nas("analyze", "importance", "--space", "darts", "--genotype", "DARTS_V2", "--cell", "normal",
               "--scores-file", str(scores), "--repeat", str(repeat), "--out", str(full), "--quiet")[0] == 0
    flagged = _rows(full / "importance.csv")
    assert [r["below_noise"] for r in flagged] == [str(abs(float(r["importance"])) < 0.0005).lower() for r in flagged]
    assert {r["below_noise"] for r in flagged} == {"true", "false"}
    clear = [r for r in flagged if r["below_noise"] == "false" and float(r["importance"]) > 0.001]
    summary = _rows(full / "summary.csv")
    assert sum(int(r["important_above_noise"]) for r in summary) == len(clear) > 0
    assert "important_above_noise" not in _rows(out / "summary.csv")[0]  # no --repeat, no column
    code, output = nas("analyze", "motifs", "--importance", str(full), "--out", str(tmp_path / "motifs"),
                       "--min-support", "1", "--threshold", "0.0001", "--reference-gspan", "--quiet")
    assert code == 0, output
    mined = _rows(tmp_path / "motifs" / "motifs.csv")
    assert mined and all(r["motif"].split(" ")[0].split("#")[0] in ("input1", "input2", "op") for r in mined)
    pruned = tmp_path / "pruned"
    code, output = nas("analyze", "prune", "--importance", str(full), "--out", str(pruned), "--order", "both")
    assert code == 0, output
    genotypes = (pruned / "genotypes.txt").read_text(encoding="utf-8").splitlines()
    assert len(genotypes) == 2 * 4
    last = parse_genotype(genotypes[3])
    assert sum(op == "none" for op, _ in last.normal) == 4

    # the pruned genotype builds, runs and retrains
    network = get_space("darts").network(last, NetworkConfig(num_classes=10, channels=4, layers=3, input_size=8))
    assert network(torch.randn(2, 3, 8, 8)).shape == (2, 10)
    run = tmp_path / "retrain"
    code, output = nas("retrain", "--recipe", str(REPO / "recipes" / "darts" / "retrain-cifar10.yaml"),
                       "--genotype", format_genotype(last), "--dataset", "synthetic",
                       "--channels", "4", "--layers", "3", "--batch-size", "8", "--epochs", "1", "--device", "cpu",
                       "--set", "data.synthetic_train=16", "--set", "data.synthetic_test=16",
                       "--set", "data.eval_batch_size=16", "--out", str(run))
    assert code == 0, output
    assert json.loads((run / "manifest.json").read_text())["status"] == "done"


def test_sample_writes_genotypes_for_the_list_strategy(tmp_path: Path) -> None:
    path = tmp_path / "prim.txt"
    code, output = nas("analyze", "sample", "--sampler", "primskip", "--wiring", "reference", "--n", "20",
                       "--seed", "4", "--out", str(path))
    assert code == 0, output
    genotypes = [parse_genotype(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(genotypes) == 20
    assert all(g.normal[:2] == (("skip_connect", 0), ("skip_connect", 1)) for g in genotypes)
    assert all({g.normal[2][1], g.normal[3][1]} == {0, 1} for g in genotypes)  # state 3 reads only the inputs
    again = tmp_path / "again.txt"
    assert nas("analyze", "sample", "--sampler", "primskip", "--wiring", "reference", "--n", "20", "--seed", "4",
               "--out", str(again))[0] == 0
    assert again.read_bytes() == path.read_bytes()
    code, output = nas("analyze", "sample", "--sampler", "prim", "--wiring", "reference", "--out", str(path))
    assert code == 2 and "skip and primskip" in output
