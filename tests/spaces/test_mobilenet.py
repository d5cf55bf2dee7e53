"""The MobileNet space: encodings, identity rule, random operators, networks and counts against the reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.flops import count_flops, count_params
from nascli.spaces.mobilenet import (
    ALLOWED,
    BLOCK_KEYS,
    IDENTITY,
    NO_IDENTITY,
    NUM_BLOCKS,
    MobileNetArch,
    build_mobilenet_lookup,
    cached_mobilenet_lookup,
    cost_from_mobilenet_lookup,
    network_state_from_supernet,
)
from nascli.spaces.resolve import guess_space, resolve_architecture
from tests.spaces.mobilenet_reference import reference_numbers, set_formula_weights

RLNAS_TEXT = "2 0 -1 2 2 0 2 4 0 4 4 2 4 2 4 2 0 0 0 2 2"
IMAGENET = NetworkConfig(num_classes=1000, input_size=224)


@pytest.fixture(scope="module")
def space():
    return get_space("mobilenet")


def test_text_json_round_trip_and_guessing(space) -> None:
    arch = space.parse(RLNAS_TEXT)
    assert space.format(arch) == RLNAS_TEXT
    assert space.from_json(space.to_json(arch)) == arch
    assert space.from_json(list(arch.choices)) == arch
    assert space.parse("[2, 0, -1, 2, 2, 0, 2, 4, 0, 4, 4, 2, 4, 2, 4, 2, 0, 0, 0, 2, 2]") == arch
    assert space.coerce("RLNAS_mobilenet") == arch
    assert guess_space(RLNAS_TEXT) == "mobilenet"
    assert guess_space("rlnas_mobilenet") == "mobilenet"
    resolved, value = resolve_architecture(RLNAS_TEXT)
    assert resolved.name == "mobilenet" and value == arch


@pytest.mark.parametrize("block", NO_IDENTITY)
def test_identity_refused_where_the_reference_forbids_it(space, block: int) -> None:
    choices = list(space.parse(RLNAS_TEXT).choices)
    choices[block] = IDENTITY
    with pytest.raises(NasInputError, match=f"block {block} cannot be identity"):
        MobileNetArch(tuple(choices))


def test_malformed_text_is_refused(space) -> None:
    with pytest.raises(NasInputError, match="21 block choices"):
        space.parse("2 0 1")
    with pytest.raises(NasInputError, match="choice 6"):
        space.parse(RLNAS_TEXT.replace("2 0 -1", "6 0 -1", 1))


def test_allowed_lists_match_the_reference_operations() -> None:
    # train.py: operations[i] = 0..5, plus -1 unless i == 0 or i in stage_last_id = [4, 8, 12, 16, 20]
    for block in range(NUM_BLOCKS):
        expected = list(range(6)) + ([] if block == 0 or block in (4, 8, 12, 16, 20) else [-1])
        assert list(ALLOWED[block]) == expected
    assert get_space("mobilenet").size() == 6**6 * 7**15


def test_sample_mutate_crossover_stay_legal_and_cover_the_choices(space) -> None:
    rng = np.random.default_rng(0)
    seen = [set() for _ in range(NUM_BLOCKS)]
    parent = space.parse(RLNAS_TEXT)
    for _ in range(400):
        arch = space.sample(rng)
        for block, choice in enumerate(arch.choices):
            seen[block].add(choice)
        mutant = space.mutate(arch, rng, 1.0)
        child = space.crossover(arch, parent, rng)
        for block in range(NUM_BLOCKS):
            assert mutant.choices[block] in ALLOWED[block]
            assert child.choices[block] in (arch.choices[block], parent.choices[block])
    assert all(seen[b] == set(ALLOWED[b]) for b in range(NUM_BLOCKS))
    assert space.mutate(parent, rng, 0.0) == parent
    restricted = space.mutate(parent, rng, 1.0, ops=["mobilenet_3x3_ratio_3", "identity"])
    assert all(c == 0 or (c == IDENTITY and b not in NO_IDENTITY) for b, c in enumerate(restricted.choices))


def test_counts_match_the_reference_code(space) -> None:
    ref = reference_numbers()["networks"]
    for name, row in ref.items():
        arch = space.coerce(row["arch"])
        assert space.cost(arch, "flops") * 1e6 == pytest.approx(row["lookup_flops"], abs=0.5), name
        assert space.cost(arch, "params") * 1e6 == pytest.approx(row["params_all"], abs=0.5), name
        if name in ("RLNAS_mobilenet", "largest"):  # the built networks themselves (the lookup test covers the rest)
            net = space.network(arch, IMAGENET)
            flops = count_flops(net, (3, 224, 224), convention="rlnas-thop", meta=False)
            assert flops == int(row["lookup_flops"]), name
            assert abs(flops - row["thop_flops"]) <= 64, name  # thop's float32 sum of the same per-module counts
            assert count_params(net) == row["params_all"], name
    assert round(ref["RLNAS_mobilenet"]["params_all"] / 1e6, 1) == 5.3  # the paper's 5.3M
    assert round(ref["RLNAS_mobilenet"]["lookup_flops"] / 1e6) == 473  # the paper's 473M


def test_lookup_entries_equal_the_reference_table(space) -> None:
    ref = reference_numbers()["lookup"]
    lookup = cached_mobilenet_lookup(IMAGENET, "rlnas-thop")
    assert lookup["pre"]["flops"] == ref["PreProcessing"]
    assert lookup["post"]["flops"] == ref["PostProcessing"]
    for key in BLOCK_KEYS:
        assert [row["entries"][key]["flops"] for row in lookup["blocks"]] == [int(v) for v in ref["blocks"][key]]
    assert [(r["inp"], r["oup"], *r["size"], r["stride"]) for r in lookup["blocks"]] == [
        tuple(row) for row in ref["backbone_info"][1:-1]]


@pytest.mark.parametrize("convention", ["rlnas-thop", "macs"])
def test_lookup_sum_equals_the_built_network(space, convention: str) -> None:
    rng = np.random.default_rng(1)
    for cfg in (NetworkConfig(num_classes=100, input_size=64),
                NetworkConfig(num_classes=10, channels=8, input_size=32)):
        lookup = build_mobilenet_lookup(cfg, convention)
        for _ in range(2):
            arch = space.sample(rng)
            net = space.network(arch, cfg)
            size = (3, cfg.input_size, cfg.input_size)
            flops = count_flops(net, size, convention=convention, meta=False)
            assert cost_from_mobilenet_lookup(lookup, arch, "flops") == flops
            assert cost_from_mobilenet_lookup(lookup, arch, "params") == count_params(net)


def test_conventions_differ_by_the_linear_layer_only(space) -> None:
    net = space.network(space.parse(RLNAS_TEXT), IMAGENET)
    thop = count_flops(net, (3, 224, 224), convention="rlnas-thop", meta=False)
    macs = count_flops(net, (3, 224, 224), meta=False)
    assert thop - macs == (2 * 1728 - 1) * 1000 - (1728 + 1) * 1000


def test_supernet_path_equals_the_stand_alone_network(space) -> None:
    cfg = NetworkConfig(num_classes=10, channels=8, input_size=32)
    torch.manual_seed(0)
    supernet = space.supernet(cfg).eval()
    images = torch.randn(2, 3, 32, 32)
    rng = np.random.default_rng(2)
    for _ in range(3):
        arch = space.sample(rng)
        net = space.network(arch, cfg).eval()
        net.load_state_dict(network_state_from_supernet(supernet, arch))
        with torch.no_grad():
            torch.testing.assert_close(supernet(images, arch), net(images), rtol=0, atol=1e-6)
        assert sum(p.numel() for p in space.path_parameters(supernet, arch)) == count_params(net)


def test_supernet_forward_matches_the_reference_code(space) -> None:
    ref = reference_numbers()["supernet_forward"]
    supernet = space.supernet(IMAGENET).eval()
    set_formula_weights(supernet, 1.0)
    from tests.spaces.mobilenet_reference import formula

    images = formula("input", (2, 3, 224, 224), 0.5).float()
    with torch.no_grad():
        logits = supernet(images, space.parse(RLNAS_TEXT))
        small = supernet(images, space.coerce(reference_numbers()["networks"]["smallest"]["arch"]))
    assert logits[0, :8].tolist() == pytest.approx(ref["RLNAS_first8"], abs=1e-4)
    assert float(logits.double().sum()) == pytest.approx(ref["RLNAS_sum"], abs=1e-2)
    assert small[1, :8].tolist() == pytest.approx(ref["smallest_first8"], abs=1e-4)


def test_stand_alone_network_has_the_retrain_dropout(space) -> None:
    net = space.network(space.parse(RLNAS_TEXT), NetworkConfig(num_classes=10, channels=8, input_size=32))
    assert isinstance(net.classifier[0], torch.nn.Dropout) and net.classifier[0].p == 0.2
    with pytest.raises(NasInputError, match="unknown MobileNet network option"):
        space.network(space.parse(RLNAS_TEXT), NetworkConfig(options={"auxiliary": True}))
