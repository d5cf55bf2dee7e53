"""`nas flops-table`: a named genotype's figures, the lookup file, NB201 closed forms, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from nascli.cli.main import app
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.flops import count_flops, count_params
from nascli.spaces.flops_lookup import flops_from_lookup, params_from_lookup, read_lookup
from nascli.spaces.genotypes import get_genotype


def nas(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _built(name: str, cfg: NetworkConfig) -> tuple[int, int]:
    with torch.device("meta"):
        net = get_space("darts").network(get_genotype(name), cfg)
    return count_flops(net, (3, cfg.input_size, cfg.input_size)), count_params(net)


def test_named_genotype_prints_its_flops_and_the_papers() -> None:
    code, output = nas("flops-table", "--genotype", "RLDARTS", "--dataset", "imagenet")
    assert code == 0, output
    flops, params = _built("RLDARTS", NetworkConfig(num_classes=1000, input_size=224))
    assert f"{flops / 1e6:.2f}" in output and f"{params / 1e6:.3f}" in output
    assert "629" in output and "5.7" in output  # RLNAS Table 3: 629M FLOPs, 5.7M params
    code, output = nas("flops-table", "--genotype", "RLDARTS", "--dataset", "imagenet", "--channels", "46")
    assert code == 0 and "581" in output and "5.3" in output  # the RLNAS▼ row: same cell at C=46


def test_nb201_uses_the_benchmark_closed_forms(tmp_path: Path) -> None:
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
    out = tmp_path / "figures.json"
    code, output = nas("flops-table", "--genotype", arch, "--out", str(out))
    assert code == 0, output
    figures = json.loads(out.read_text())
    # NB201 cifar10: 7.78305 + 35.38944·n3 + 3.93216·n1 MFLOPs; 0.073306 + 0.24304·n3 + 0.028·n1 M params
    assert figures["flops"] == pytest.approx(7.78305 + 2 * 35.38944 + 3.93216, abs=1e-5)
    assert figures["params"] == pytest.approx(0.073306 + 2 * 0.24304 + 0.028, abs=1e-5)
    assert figures["kind"] == "flops-table" and figures["space"] == "nb201"


def test_lookup_file_equals_the_built_model(tmp_path: Path) -> None:
    out = tmp_path / "lookup.json"
    code, output = nas("flops-table", "--space", "darts", "--lookup", "--out", str(out), "--channels", "8",
                       "--layers", "5", "--quiet")
    assert code == 0, output
    lookup = read_lookup(out)
    assert (lookup["kind"], lookup["space"], lookup["dataset"]) == ("flops-table", "darts", "cifar10")
    assert (lookup["channels"], lookup["layers"], lookup["input_size"]) == (8, 5, 32)
    for name in ("DARTS_V2", "RLDARTS"):
        flops, params = _built(name, NetworkConfig(num_classes=10, channels=8, layers=5, input_size=32))
        assert flops_from_lookup(lookup, get_genotype(name)) == flops
        assert params_from_lookup(lookup, get_genotype(name)) == params


@pytest.mark.parametrize("args,message", [
    (["--genotype", "NOT_A_GENOTYPE"], "cannot tell which architecture"),
    (["--genotype", "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2, 3, 4, 5], reduce=[], "
                    "reduce_concat=[2, 3, 4, 5])"], "wrong number of edges"),
    (["--genotype", "RLDARTS", "--space", "nb201"], "darts architecture"),
    (["--genotype", "RLDARTS", "--dataset", "mnist"], "mnist"),
    (["--lookup"], "--out"),
    ([], "nothing to count"),
    (["--space", "nb201", "--lookup", "--out", "x.json"], "darts space"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                                         message: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = nas("flops-table", *args)
    assert code == 2, output
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert lines[0].startswith("error:") and message in output.replace("\n", " ")
    assert "Traceback" not in output
    assert not list(tmp_path.iterdir())


def test_existing_file_is_kept_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "lookup.json"
    out.write_text("keep me")
    code, output = nas("flops-table", "--lookup", "--out", str(out), "--channels", "4", "--layers", "3")
    assert code == 2 and "--overwrite" in output and out.read_text() == "keep me"
    code, output = nas("flops-table", "--lookup", "--out", str(out), "--channels", "4", "--layers", "3",
                       "--overwrite", "--genotype", "PDARTS")
    assert code == 0, output
    assert read_lookup(out)["layers"] == 3 and "PDARTS" in output
