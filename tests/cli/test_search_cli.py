"""`nas search` through the CLI: every strategy × score path finishes with exit 0 with and without --quiet."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import TINY_SUPERNET, nas

REPO = Path(__file__).resolve().parents[2]
SMALL_EVOLUTION = ["--population", "6", "--parents", "3", "--mutation", "3", "--crossover", "3",
                   "--generations", "2"]
PATHS = {
    "evolution-angle": ["--strategy", "evolution", "--score", "angle", *SMALL_EVOLUTION],
    "evolution-bench": ["--strategy", "evolution", "--score", "bench", "--dataset", "cifar10", *SMALL_EVOLUTION],
    "random-supernet-acc": ["--strategy", "random", "--score", "supernet-acc", "--samples", "4",
                            "--set", "score_options.bn_batches=1", "--set", "score_options.eval_batches=1"],
    "random-flops": ["--strategy", "random", "--score", "flops", "--samples", "8", "--extra-score", "params"],
    "random-params-darts": ["--space", "darts", "--strategy", "random", "--score", "params", "--samples", "3"],
    "exhaustive-bench": ["--strategy", "exhaustive", "--score", "bench", "--set", "batch=15625"],
    "drnas": ["--recipe", str(REPO / "recipes" / "drnas" / "debug.yaml"), "--device", "cpu",
              "--set", "differentiable.data.synthetic_train=64", "--set", "differentiable.data.batch_size=16",
              "--set", "differentiable.trajectory_samples=5",
              "--set", "differentiable.stages=[{epochs: 1, partial_channels: 4}]"],
}
NEEDS_SUPERNET = {"evolution-angle", "random-supernet-acc"}


@pytest.fixture(scope="module")
def supernet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("search-cli") / "supernet"
    code, output = nas("train-supernet", "--out", str(folder), "--labels", "random", "--epochs", "1",
                       *TINY_SUPERNET)
    assert code == 0, output
    return folder


@pytest.mark.parametrize("quiet", [False, True], ids=["table", "quiet"])
@pytest.mark.parametrize("path", list(PATHS))
def test_every_search_path_finishes_with_and_without_quiet(path: str, quiet: bool, supernet: Path,
                                                          tmp_path: Path) -> None:
    args = ["search", "--out", str(tmp_path / "search"), *PATHS[path], *(["--quiet"] if quiet else [])]
    if path in NEEDS_SUPERNET:
        args += ["--supernet", str(supernet)]
    code, output = nas(*args)
    assert code == 0, output
    assert "Traceback" not in output
    assert (tmp_path / "search" / "genotype.json").is_file()
    if quiet:
        assert "written" not in output
    else:
        assert "written" in output and "genotype.json" in output


def test_bench_sha256_pins_the_table_on_every_command_that_reads_it(tmp_path: Path) -> None:
    wrong = "0" * 64
    commands = {
        "search": ["search", "--strategy", "random", "--score", "bench", "--samples", "2",
                   "--out", str(tmp_path / "search"), "--bench-sha256", wrong, "--quiet"],
        "bench query": ["bench", "query", "6111", "--bench-sha256", wrong],
    }
    for name, args in commands.items():
        code, output = nas(*args)
        assert code == 2, (name, output)
        assert "sha256" in output and "Traceback" not in output, (name, output)
    from nascli.bench.table import BenchTable

    right = BenchTable.load(None).sha256
    code, output = nas("bench", "query", "6111", "--bench-sha256", right)
    assert code == 0 and right in output, output


def test_only_rank_zero_prints_results_under_torchrun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["search", "--strategy", "random", "--score", "flops", "--samples", "4"]
    monkeypatch.setenv("RANK", "1")
    code, output = nas(*args, "--out", str(tmp_path / "rank1"))
    assert code == 0 and output == "", output
    monkeypatch.setenv("RANK", "0")
    code, output = nas(*args, "--out", str(tmp_path / "rank0"))
    assert code == 0 and "top 4 of 4 by flops" in output, output
