"""The DARTS FLOPs lookup: totals equal the built network's counts; entries match closed forms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.flops import count_flops, count_params
from nascli.spaces.flops_lookup import (
    build_lookup,
    cached_lookup,
    check_lookup,
    flops_from_lookup,
    params_from_lookup,
    read_lookup,
    write_lookup,
)
from nascli.spaces.genotypes import get_genotype

SPACE = get_space("darts")
NAMED = ("DARTS_V2", "RLDARTS", "PDARTS")


def _built_counts(genotype, dataset: str, channels: int | None = None, layers: int | None = None) -> tuple[int, int]:
    cfg = SPACE.default_config(dataset)
    cfg.channels, cfg.layers = channels, layers
    with torch.device("meta"):
        net = SPACE.network(genotype, cfg)
    return count_flops(net, (3, cfg.input_size, cfg.input_size)), count_params(net)


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet"])
def test_named_and_random_genotypes_at_paper_size_equal_the_built_network(dataset: str) -> None:
    lookup = cached_lookup(SPACE, dataset)
    rng = np.random.default_rng(2)
    genotypes = [get_genotype(name) for name in NAMED] + [SPACE.sample(rng) for _ in range(10)]
    for genotype in genotypes:
        flops, params = _built_counts(genotype, dataset)
        assert flops_from_lookup(lookup, genotype) == flops
        assert params_from_lookup(lookup, genotype) == params


@pytest.mark.parametrize("dataset,channels,layers", [("cifar10", 16, 8), ("imagenet", 16, 6), ("cifar100", 8, 3)])
def test_other_sizes_equal_the_built_network(dataset: str, channels: int, layers: int) -> None:
    lookup = build_lookup(SPACE, dataset, channels, layers)
    assert (lookup["channels"], lookup["layers"]) == (channels, layers)
    rng = np.random.default_rng(3)
    for _ in range(4):
        genotype = SPACE.sample(rng)
        flops, params = _built_counts(genotype, dataset, channels, layers)
        assert flops_from_lookup(lookup, genotype) == flops
        assert params_from_lookup(lookup, genotype) == params


def test_entries_match_the_closed_forms_of_the_cifar_network() -> None:
    lookup = cached_lookup(SPACE, "cifar10")
    assert (lookup["channels"], lookup["layers"], lookup["input_size"]) == (36, 20, 32)
    cells = [p["cell"] for p in lookup["positions"]]
    assert [i for i, c in enumerate(cells) if c == "reduce"] == [6, 13]
    c, hw = 36, 32 * 32
    # sep conv 3x3 = two [depthwise 3x3, pointwise 1x1] stacks on C channels at 32x32; params add both BNs
    first = lookup["positions"][0]["entries"]
    assert first["sep_conv_3x3"]["flops"] == [2 * (c * 9 * hw + c * c * hw)] * 5
    assert first["sep_conv_3x3"]["params"] == [2 * (c * 9 + c * c + 2 * c)] * 5
    assert first["dil_conv_5x5"]["flops"] == [c * 25 * hw + c * c * hw] * 5
    assert first["max_pool_3x3"]["flops"] == [0] * 5 and first["skip_connect"]["params"] == [0] * 5
    # the reduce cell at layer 6 has 2C channels; inputs 0 and 1 are strided (16x16 outputs), 2..4 are not
    reduce = lookup["positions"][6]
    c2 = 2 * c
    assert reduce["channels"] == c2 and reduce["size"] == [32, 32]
    sep = reduce["entries"]["sep_conv_3x3"]["flops"]
    strided = c2 * 9 * 256 + c2 * c2 * 256 + c2 * 9 * 256 + c2 * c2 * 256
    assert sep == [strided, strided] + [2 * (c2 * 9 * 256 + c2 * c2 * 256)] * 3
    # FactorizedReduce skip: two 1x1 stride-2 convs C → C/2 at 16x16
    assert reduce["entries"]["skip_connect"]["flops"] == [2 * c2 * (c2 // 2) * 256] * 2 + [0] * 3
    # fixed parts: the stem conv 3→3C at 32x32 and the classifier 4·4C → 10 (+ bias)
    parts = {p["name"]: p for p in lookup["fixed"]["parts"]}
    assert parts["stem"]["flops"] == 27 * 3 * c * hw
    assert parts["classifier"]["flops"] == 10 * (4 * 4 * c + 1)
    assert lookup["fixed"]["flops"] == sum(p["flops"] for p in lookup["fixed"]["parts"])


def test_space_cost_uses_the_lookup_and_is_fast() -> None:
    genotype = get_genotype("RLDARTS")
    assert SPACE.cost(genotype, "flops", "imagenet") == pytest.approx(628.357864, abs=1e-9)
    assert cached_lookup(SPACE, "imagenet") is cached_lookup(SPACE, "imagenet")
    rng = np.random.default_rng(0)
    lookup = cached_lookup(SPACE, "imagenet")
    for genotype in (SPACE.sample(rng) for _ in range(50)):
        assert get_space("darts").cost(genotype, "flops", "imagenet") == flops_from_lookup(lookup, genotype) / 1e6


def test_lookup_is_json_and_round_trips_through_a_file(tmp_path: Path) -> None:
    lookup = build_lookup(SPACE, "cifar10", 8, 5)
    path = write_lookup(lookup, tmp_path / "flops.json")
    loaded = read_lookup(path)
    assert loaded["kind"] == "flops-table" and loaded["space"] == "darts" and loaded["layers"] == 5
    assert "versions" in loaded and "created" in loaded
    genotype = get_genotype("PDARTS")
    assert flops_from_lookup(loaded, genotype) == flops_from_lookup(lookup, genotype)
    assert json.loads(json.dumps(lookup)) == lookup


def test_bad_lookups_and_spaces_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NasInputError, match="not a FLOPs lookup"):
        check_lookup({"kind": "search"})
    with pytest.raises(NasInputError, match="darts space"):
        build_lookup(get_space("nb201"), "cifar10")
    with pytest.raises(NasInputError, match="does not exist"):
        read_lookup(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(NasInputError, match="not valid JSON"):
        read_lookup(broken)
    damaged = dict(build_lookup(SPACE, "cifar10", 4, 3))
    damaged["positions"] = damaged["positions"][:1] + [{"cell": "normal", "entries": {}}]
    with pytest.raises(NasInputError, match="lacks an entry"):
        flops_from_lookup(damaged, get_genotype("DARTS_V2"))
