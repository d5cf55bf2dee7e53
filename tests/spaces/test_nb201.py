"""NB201 space: against the official arch list, the benchmark's params/FLOPs and the reference cell rules."""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import math
from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces import NetworkConfig, get_space
from nascli.spaces.nb201 import (
    EDGES,
    NB201_OPS,
    NB201Arch,
    NB201CellwiseSampler,
    NB201InferCell,
    NB201Network,
    NB201SearchCell,
    NB201Space,
    NB201Supernet,
    NB201UniformSampler,
    conv_counts,
    nb201_flops,
    nb201_param_count,
    nb201_params,
)
from nascli.spaces.ops import Identity, Pool, ReLUConvBN, ResNetBasicBlock, Zero
from tests.conftest import require_shared

BEST_C100 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
DATASET_COLUMNS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "imagenet16"}
NON_NONE = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return NB201Space()


@pytest.fixture(scope="module")
def official_strings() -> list[str]:
    path = require_shared("nb201/nb201_arch_strs.txt.gz")
    with gzip.open(path, "rt") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]


@pytest.fixture(scope="module")
def benchmark_rows() -> list[dict[str, str]]:
    path = require_shared("nb201/nb201_benchmark.csv.gz")
    with gzip.open(path, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def small_cfg(**options: object) -> NetworkConfig:
    return NetworkConfig(num_classes=10, channels=4, layers=1, options=dict(options))


# --- constants and architecture values ----------------------------------------------------------------


def test_op_and_edge_orders_are_the_official_ones() -> None:
    assert NB201_OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert EDGES == ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
    # the canonical edge order is the sorted order of the reference's "i<-j" edge keys
    assert sorted(f"{i}<-{j}" for i, j in EDGES) == [f"{i}<-{j}" for i, j in EDGES]


def test_arch_rejects_unknown_op_and_wrong_length() -> None:
    with pytest.raises(NasInputError, match="conv_5x5.*none, skip_connect"):
        NB201Arch(("conv_5x5",) + ("none",) * 5)
    with pytest.raises(NasInputError, match="6 edges"):
        NB201Arch(("none",) * 5)
    assert NB201Arch(["none"] * 6) == NB201Arch(("none",) * 6)  # a list is normalised to a tuple
    assert hash(NB201Arch(["none"] * 6)) == hash(NB201Arch(("none",) * 6))


def test_get_space_and_coerce(space: NB201Space) -> None:
    assert isinstance(get_space("nb201"), NB201Space)
    assert space.coerce(9930) == space.parse(BEST_C100)
    assert space.coerce("9930") == space.parse(BEST_C100)
    assert space.coerce({"ops": list(space.parse(BEST_C100).ops)}) == space.parse(BEST_C100)


# --- text forms ---------------------------------------------------------------------------------------


def test_parse_the_official_example(space: NB201Space) -> None:
    arch = space.parse(f"  {BEST_C100}\n")
    # tokens in string order are the edges 1<-0 | 2<-0, 2<-1 | 3<-0, 3<-1, 3<-2
    assert arch.ops == ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_3x3")
    assert space.format(arch) == BEST_C100
    assert space.index(arch) == 9930  # data README: the example string is index 9930
    assert conv_counts(arch) == (0, 5)


def test_round_trip_all_official_strings(space: NB201Space, official_strings: list[str]) -> None:
    assert len(official_strings) == 15625
    for text in official_strings:
        arch = space.parse(text)
        assert space.format(arch) == text
        assert space.from_json(json.loads(json.dumps(space.to_json(arch)))) == arch
    arch = space.parse(official_strings[0])
    assert space.to_json(arch) == {"ops": list(arch.ops)}
    assert space.from_json(list(arch.ops)) == arch


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "2 '\\+'-separated node groups"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", "4 '\\+'-separated node groups"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 .* 1 edges"),
        ("|none~0|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 .* 2 edges"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "source 1.*nodes 0..0"),
        ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "two edges from node 0"),
        ("|none~0|+|none~0|none~x|+|none~0|none~1|none~2|", "op~source"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "op~source"),
        ("|none~0|+|none~0|conv_5x5~1|+|none~0|none~1|none~2|", "unknown NB201 op 'conv_5x5'.*avg_pool_3x3"),
        ("", "1 '\\+'-separated node groups"),
    ],
)
def test_parse_errors_name_the_fault(space: NB201Space, text: str, fault: str) -> None:
    with pytest.raises(NasInputError, match=fault):
        space.parse(text)


def test_from_json_errors(space: NB201Space) -> None:
    with pytest.raises(NasInputError, match="ops"):
        space.from_json({"edges": ["none"] * 6})
    with pytest.raises(NasInputError, match="6 edges"):
        space.from_json(["none"] * 7)
    with pytest.raises(NasInputError, match="unknown NB201 op 'max_pool_3x3'"):
        space.from_json(["max_pool_3x3"] * 6)


# --- enumeration and the official index ----------------------------------------------------------------


def test_enumerate_follows_the_official_index(space: NB201Space, official_strings: list[str]) -> None:
    archs = list(space.enumerate())
    assert space.is_finite() and space.size() == 15625 == 5**6
    assert len(archs) == 15625 and len(set(archs)) == 15625
    assert [space.format(arch) for arch in archs] == official_strings


def test_index_and_arch_at_agree_both_ways(space: NB201Space, official_strings: list[str]) -> None:
    for index, text in enumerate(official_strings):
        arch = space.parse(text)
        assert space.index(arch) == index
        assert space.arch_at(index) == arch
    for bad in (-1, 15625, 1.5, True):
        with pytest.raises(NasInputError, match="0..15624"):
            space.arch_at(bad)  # type: ignore[arg-type]


def test_vectorised_index_helpers(space: NB201Space, official_strings: list[str]) -> None:
    matrix = space.op_index_matrix()
    assert matrix.dtype == np.int8 and matrix.shape == (15625, 6)
    expected = np.array(
        [[NB201_OPS.index(op) for op in space.parse(text).ops] for text in official_strings], dtype=np.int8
    )
    np.testing.assert_array_equal(matrix, expected)
    np.testing.assert_array_equal(space.indices_of(matrix), np.arange(15625))
    picks = [9930, 0, 15624, 6111, 857]
    np.testing.assert_array_equal(space.indices_of([official_strings[i] for i in picks]), picks)
    np.testing.assert_array_equal(space.indices_of([space.arch_at(i) for i in picks]), picks)
    with pytest.raises(NasInputError, match="shape"):
        space.indices_of(np.zeros((3, 5), dtype=np.int64))


# --- random operators ---------------------------------------------------------------------------------


def test_sample_is_uniform_over_ops(space: NB201Space) -> None:
    rng = np.random.default_rng(0)
    draws = np.array([space.sample(rng).op_indices() for _ in range(5000)])
    frequencies = np.stack([(draws == k).mean(axis=0) for k in range(5)])
    assert np.abs(frequencies - 0.2).max() < 0.03
    again = [space.sample(np.random.default_rng(0)) for _ in range(2)]
    assert again[0] == again[1] == NB201Arch.from_indices(draws[0])


def test_mutate(space: NB201Space) -> None:
    rng = np.random.default_rng(1)
    arch = space.parse(BEST_C100)
    assert all(space.mutate(arch, rng, 0.0) == arch for _ in range(100))
    children = [space.mutate(space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), rng, 1.0, NON_NONE)
                for _ in range(500)]
    assert all("none" not in child.ops for child in children)
    assert set().union(*(child.ops for child in children)) == set(NON_NONE)
    assert space.mutate(arch, rng, 1.0, ["avg_pool_3x3"]).ops == ("avg_pool_3x3",) * 6
    # with the default ops a draw may keep the old op: about 1/5 of mutated edges are unchanged
    kept = np.mean([np.mean(np.array(space.mutate(arch, rng, 1.0).ops) == np.array(arch.ops)) for _ in range(2000)])
    assert abs(kept - 0.2) < 0.03
    with pytest.raises(NasInputError, match="unknown NB201 op 'sep_conv_3x3'"):
        space.mutate(arch, rng, 0.5, ["sep_conv_3x3"])
    with pytest.raises(NasInputError, match=r"\[0, 1\]"):
        space.mutate(arch, rng, 1.5)


def test_crossover_takes_each_gene_from_a_parent(space: NB201Space) -> None:
    rng = np.random.default_rng(2)
    a = NB201Arch(("nor_conv_3x3",) * 6)
    b = NB201Arch(("avg_pool_3x3",) * 6)
    from_a = []
    for _ in range(2000):
        child = space.crossover(a, b, rng)
        assert all(op in (x, y) for op, x, y in zip(child.ops, a.ops, b.ops, strict=True))
        from_a.append([op == "nor_conv_3x3" for op in child.ops])
    assert np.abs(np.mean(from_a, axis=0) - 0.5).max() < 0.05


# --- parameter counts and FLOPs against the benchmark ---------------------------------------------------


def test_closed_forms_match_the_benchmark_columns(space: NB201Space, benchmark_rows: list[dict[str, str]]) -> None:
    assert len(benchmark_rows) == 15625
    for row in benchmark_rows:
        arch = space.parse(row["arch_str"])
        assert space.index(arch) == int(row["index"])
        n1, n3 = conv_counts(arch)
        for dataset, column in DATASET_COLUMNS.items():
            assert math.isclose(nb201_params(n1, n3, dataset), float(row[f"params_{column}"]), abs_tol=1e-9)
            assert math.isclose(nb201_flops(n1, n3, dataset), float(row[f"flops_{column}"]), abs_tol=1e-9)
    # the README's literal closed forms
    assert math.isclose(nb201_params(1, 2, "cifar10"), 0.073306 + 2 * 0.24304 + 0.028, abs_tol=1e-12)
    assert math.isclose(nb201_params(0, 0, "cifar100"), 0.079156, abs_tol=1e-12)
    assert math.isclose(nb201_params(0, 0, "imagenet16-120"), 0.080456, abs_tol=1e-12)
    assert math.isclose(nb201_flops(3, 1, "imagenet16-120"), 1.95340 + 8.84736 + 3 * 0.98304, abs_tol=1e-9)
    with pytest.raises(NasInputError, match="n1 \\+ n3"):
        nb201_params(4, 3)
    with pytest.raises(NasInputError, match="unknown NB201 dataset 'mnist'"):
        nb201_flops(0, 0, "mnist")


def test_flops_match_the_official_records() -> None:
    path = require_shared("nb201/nats_tss_official_samples.json.gz")
    with gzip.open(path, "rt") as handle:
        archs = json.load(handle)["archs"]
    names = {"cifar10": "cifar10", "cifar10-valid": "cifar10", "cifar100": "cifar100",
             "ImageNet16-120": "imagenet16-120"}
    checked = 0
    for record in archs.values():
        arch = NB201Space().parse(record["200"]["arch_str"])
        for official_name, results in record["200"]["results"].items():
            for seed_result in results.values():
                dataset = names[official_name]
                assert math.isclose(nb201_flops(*conv_counts(arch), dataset), seed_result["flops"], abs_tol=1e-9)
                assert math.isclose(nb201_params(*conv_counts(arch), dataset), seed_result["params"], abs_tol=1e-9)
                checked += 1
    assert checked >= 12


def test_built_networks_have_the_official_parameter_counts(
    space: NB201Space, benchmark_rows: list[dict[str, str]]
) -> None:
    by_counts: dict[tuple[int, int], dict[str, str]] = {}
    for row in benchmark_rows:
        by_counts.setdefault(conv_counts(space.parse(row["arch_str"])), row)
    assert len(by_counts) == 28
    rng = np.random.default_rng(3)
    rows = list(by_counts.values()) + [benchmark_rows[i] for i in rng.choice(15625, size=50, replace=False)]
    for row in rows:
        arch = space.parse(row["arch_str"])
        for dataset, column in DATASET_COLUMNS.items():
            with torch.device("meta"):  # shapes only: no memory, no init cost
                network = space.network(arch, space.default_config(dataset))
            count = sum(p.numel() for p in network.parameters())
            assert count / 1e6 == pytest.approx(float(row[f"params_{column}"]), abs=1e-9), (row["arch_str"], dataset)


def test_param_count_formula_for_other_sizes(space: NB201Space) -> None:
    arch = space.parse(BEST_C100)
    for options in ({}, {"cell_affine": False}):
        cfg = NetworkConfig(num_classes=7, channels=6, layers=2, options=options)
        network = space.network(arch, cfg)
        expected = nb201_param_count(0, 5, 7, channels=6, layers=2, cell_affine=options == {})
        assert sum(p.numel() for p in network.parameters()) == expected


def test_default_config(space: NB201Space) -> None:
    expected = {"cifar10": (10, 32), "cifar100": (100, 32), "imagenet16-120": (120, 16), "synthetic": (10, 32)}
    for dataset, (classes, size) in expected.items():
        cfg = space.default_config(dataset)
        assert (cfg.num_classes, cfg.input_size, cfg.channels, cfg.layers) == (classes, size, 16, 5)
    assert space.default_config("imagenet") == NetworkConfig()


# --- stand-alone network --------------------------------------------------------------------------------


def test_network_layout_and_stage_outputs(space: NB201Space) -> None:
    torch.manual_seed(0)
    arch = space.parse("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|nor_conv_3x3~1|skip_connect~2|")
    cfg = NetworkConfig(num_classes=5, channels=4, layers=2)
    network = space.network(arch, cfg)
    assert isinstance(network, NB201Network)
    assert isinstance(network.stem[0], nn.Conv2d) and network.stem[0].bias is None
    assert (network.stem[0].in_channels, network.stem[0].out_channels, network.stem[0].padding) == (3, 4, (1, 1))
    assert isinstance(network.stem[1], nn.BatchNorm2d)
    assert len(network.cells) == 3 * 2 + 2
    for index, cell in enumerate(network.cells):
        if index in (2, 5):
            assert isinstance(cell, ResNetBasicBlock)
            continue
        assert isinstance(cell, NB201InferCell) and len(cell.edges) == 6
        kinds = [Pool, ReLUConvBN, Identity, Zero, ReLUConvBN, Identity]
        assert all(isinstance(module, kind) for module, kind in zip(cell.edges, kinds, strict=True))
        assert cell.edges[1].conv.kernel_size == (1, 1) and cell.edges[4].conv.kernel_size == (3, 3)
        assert cell.edges[4].conv.padding == (1, 1) and cell.edges[4].bn.affine
        assert cell.edges[0].bn is None  # the NB201 pool has no BN
    assert isinstance(network.lastact[0], nn.BatchNorm2d) and isinstance(network.lastact[1], nn.ReLU)
    assert (network.classifier.in_features, network.classifier.out_features) == (16, 5)

    x = torch.randn(3, 3, 32, 32)
    network.eval()
    stages = network.stage_outputs(x)
    assert [tuple(s.shape) for s in stages] == [(3, 4, 32, 32), (3, 8, 16, 16), (3, 16, 8, 8)]
    # taps: end of stage 1 = cell N-1, end of stage 2 = cell 2N, then lastact
    out = network.stem(x)
    manual = []
    for index, cell in enumerate(network.cells):
        out = cell(out)
        if index in (1, 4):
            manual.append(out)
    manual.append(network.lastact(out))
    for tap, expected in zip(stages, manual, strict=True):
        torch.testing.assert_close(tap, expected)
    logits = network(x)
    assert logits.shape == (3, 5)
    torch.testing.assert_close(logits, network.classifier(stages[-1].mean(dim=(2, 3))))


def test_network_on_imagenet16_input_size(space: NB201Space) -> None:
    network = space.network(space.arch_at(0), NetworkConfig(num_classes=120, channels=4, layers=1, input_size=16))
    stages = network.stage_outputs(torch.randn(2, 3, 16, 16))
    assert [tuple(s.shape[2:]) for s in stages] == [(16, 16), (8, 8), (4, 4)]
    assert network(torch.randn(2, 3, 16, 16)).shape == (2, 120)


# --- supernet ---------------------------------------------------------------------------------------


def test_supernet_layout(space: NB201Space) -> None:
    supernet = space.supernet(NetworkConfig(num_classes=10, channels=4, layers=2))
    assert isinstance(supernet, NB201Supernet) and len(supernet.cells) == 8
    assert isinstance(supernet.cells[2], ResNetBasicBlock) and isinstance(supernet.cells[5], ResNetBasicBlock)
    cell = supernet.cells[0]
    assert isinstance(cell, NB201SearchCell) and len(cell.edges) == 6
    for edge in cell.edges:
        assert tuple(edge.keys()) == NB201_OPS
        assert isinstance(edge["nor_conv_3x3"].conv, nn.Conv2d)
        assert edge["nor_conv_3x3"].conv.kernel_size == (3, 3)
        for op in ("nor_conv_1x1", "nor_conv_3x3"):
            assert not edge[op].bn.affine and edge[op].bn.track_running_stats
    assert supernet.stem[1].affine and supernet.lastact[0].affine
    assert supernet.cells[2].conv_a.bn.affine


def test_supernet_forward_shared_and_per_cell_paths(space: NB201Space) -> None:
    torch.manual_seed(1)
    supernet = space.supernet(small_cfg())
    x = torch.randn(2, 3, 32, 32)
    shared = space.parse(BEST_C100)
    assert supernet(x, shared).shape == (2, 10)
    assert supernet(x, BEST_C100).shape == (2, 10)
    per_cell = NB201CellwiseSampler(seed=0, num_cells=3).sample()
    assert supernet(x, per_cell).shape == (2, 10)
    assert [tuple(s.shape) for s in supernet.stage_outputs(x, per_cell)] == [(2, 4, 32, 32), (2, 8, 16, 16),
                                                                              (2, 16, 8, 8)]
    supernet.eval()
    # a per-cell path whose cells are all the same arch equals the shared path
    torch.testing.assert_close(supernet(x, [shared] * 3), supernet(x, shared))
    with pytest.raises(NasInputError, match="3 architectures.*num_cells=3"):
        supernet(x, per_cell[:2])
    with pytest.raises(NasInputError, match="path"):
        supernet(x, 5)  # type: ignore[arg-type]


def test_supernet_cell_equals_the_reference_dynamic_forward(space: NB201Space) -> None:
    """Reference `forward_dynamic`: node i = Σ_j edges['i<-j'][op](node j), the Zero op included."""
    torch.manual_seed(2)
    cell = NB201SearchCell(4).eval()
    x = torch.randn(2, 4, 8, 8)
    rng = np.random.default_rng(4)
    for _ in range(20):
        arch = space.sample(rng)
        op = {(i, j): cell.edges[e][arch.ops[e]] for e, (i, j) in enumerate(EDGES)}
        node1 = op[1, 0](x)
        node2 = op[2, 0](x) + op[2, 1](node1)
        node3 = op[3, 0](x) + op[3, 1](node1) + op[3, 2](node2)
        torch.testing.assert_close(cell(x, arch), node3)


def test_supernet_skips_none_edges(space: NB201Space) -> None:
    supernet = space.supernet(small_cfg())
    calls = Counter()
    for module in supernet.modules():
        if isinstance(module, Zero):
            module.register_forward_hook(lambda *_: calls.update(["zero"]))
    x = torch.randn(2, 3, 32, 32)
    all_none = NB201Arch(("none",) * 6)
    logits = supernet(x, all_none)
    assert calls["zero"] == 0
    assert torch.isfinite(logits).all()
    # every searched cell outputs zeros, so only the reduction blocks carry signal into the head
    stage1, stage2, _ = supernet.stage_outputs(x, all_none)
    assert not stage1.any() and not stage2.any()


def _supernet_name(network_name: str, arch: NB201Arch) -> str:
    """Translate a stand-alone network key to the supernet key of the same tensor."""
    parts = network_name.split(".")
    if len(parts) > 3 and parts[0] == "cells" and parts[2] == "edges":
        parts.insert(4, arch.ops[int(parts[3])])
    return ".".join(parts)


def test_path_parameters_reproduce_the_stand_alone_network(space: NB201Space) -> None:
    torch.manual_seed(3)
    cfg = small_cfg()
    supernet = space.supernet(cfg)
    with torch.no_grad():
        for param in supernet.parameters():
            param.add_(0.1 * torch.randn_like(param))
    supernet.train()
    sampler = NB201CellwiseSampler(seed=5, num_cells=3)
    with torch.no_grad():
        for _ in range(10):  # non-trivial running statistics on every op
            supernet(torch.randn(4, 3, 32, 32), sampler.sample())
    supernet.eval()

    sup_params = dict(supernet.named_parameters())
    sup_state = supernet.state_dict()
    x = torch.randn(3, 3, 32, 32)
    for arch in (space.parse(BEST_C100), space.arch_at(0),
                 space.parse("|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|none~0|none~1|avg_pool_3x3~2|")):
        network = space.network(arch, NetworkConfig(num_classes=10, channels=4, layers=1,
                                                    options={"cell_affine": False}))
        net_state = network.state_dict()
        network.load_state_dict({name: sup_state[_supernet_name(name, arch)] for name in net_state})
        network.eval()
        torch.testing.assert_close(network(x), supernet(x, arch), rtol=0, atol=0)

        path = space.path_parameters(supernet, arch)
        expected = [sup_params[_supernet_name(name, arch)] for name, _ in network.named_parameters()]
        assert [id(p) for p in path] == [id(p) for p in expected]
        assert len({id(p) for p in path}) == len(path)
    # a skip/pool-only path takes no cell parameters at all
    no_conv = space.path_parameters(supernet, NB201Arch(("skip_connect", "avg_pool_3x3") * 3))
    cell_ids = {id(p) for cell in supernet.cells if isinstance(cell, NB201SearchCell) for p in cell.parameters()}
    assert not cell_ids & {id(p) for p in no_conv}
    with pytest.raises(NasInputError, match="NB201 supernet"):
        space.path_parameters(nn.Linear(2, 2), space.arch_at(0))


def test_path_parameters_per_cell_path(space: NB201Space) -> None:
    supernet = space.supernet(small_cfg())
    archs = (NB201Arch(("nor_conv_3x3",) + ("none",) * 5), NB201Arch(("none",) * 6),
             NB201Arch(("skip_connect",) + ("nor_conv_1x1",) * 5))
    path = space.path_parameters(supernet, archs)
    # N=1: cells = [searched 0, ResNet block, searched 1, ResNet block, searched 2]
    cells = supernet.cells
    expected = [
        *supernet.stem.parameters(),
        cells[0].edges[0]["nor_conv_3x3"].conv.weight,
        *cells[1].parameters(),
        *cells[3].parameters(),
        *(cells[4].edges[e]["nor_conv_1x1"].conv.weight for e in range(1, 6)),
        *supernet.lastact.parameters(),
        *supernet.classifier.parameters(),
    ]
    assert [id(p) for p in path] == [id(p) for p in expected]


# --- path samplers ----------------------------------------------------------------------------------


def test_cellwise_sampler_follows_the_rlnas_rule(space: NB201Space) -> None:
    sampler = space.path_sampler(seed=0)
    assert isinstance(sampler, NB201CellwiseSampler) and sampler.num_cells == 15
    draws = [sampler.sample() for _ in range(2000)]
    cells = np.array([arch.op_indices() for draw in draws for arch in draw])
    assert all(len(draw) == 15 and all(isinstance(a, NB201Arch) for a in draw) for draw in draws)
    for edges in ((0,), (1, 2), (3, 4, 5)):  # the incoming edges of nodes 1, 2, 3
        assert (cells[:, edges] != 0).any(axis=1).all()
    # rejection of all-none nodes: P(none on an edge) = 0, 1/6, 24/124 for nodes 1, 2, 3
    none_rate = (cells == 0).mean(axis=0)
    np.testing.assert_allclose(none_rate, [0, 1 / 6, 1 / 6, 24 / 124, 24 / 124, 24 / 124], atol=0.01)
    for op in range(1, 5):
        assert abs((cells[:, 0] == op).mean() - 0.25) < 0.01
    # cells draw independently: within one step the 15 cells are not all the same
    assert sum(len(set(draw)) > 1 for draw in draws) == len(draws)


def test_cellwise_sampler_is_reproducible_and_resumes(tmp_path) -> None:
    first = NB201CellwiseSampler(seed=7)
    second = NB201CellwiseSampler(seed=7)
    assert [first.sample() for _ in range(20)] == [second.sample() for _ in range(20)]
    assert NB201CellwiseSampler(seed=8).sample() != NB201CellwiseSampler(seed=7).sample()

    sampler = NB201CellwiseSampler(seed=11)
    for _ in range(37):
        sampler.sample()
    state = sampler.state_dict()
    torch.save(state, tmp_path / "sampler.pt")
    expected = [sampler.sample() for _ in range(50)]
    resumed = NB201CellwiseSampler(seed=999)
    resumed.load_state_dict(torch.load(tmp_path / "sampler.pt", weights_only=True))
    assert [resumed.sample() for _ in range(50)] == expected
    via_json = NB201CellwiseSampler(seed=0)
    via_json.load_state_dict(json.load(io.StringIO(json.dumps(state))))
    assert [via_json.sample() for _ in range(50)] == expected

    with pytest.raises(NasInputError, match="num_cells"):
        NB201CellwiseSampler(seed=0, num_cells=6).load_state_dict(state)
    with pytest.raises(NasInputError, match="nb201-cellwise"):
        NB201UniformSampler(seed=0).load_state_dict(state)


def test_uniform_sampler(space: NB201Space) -> None:
    sampler = NB201UniformSampler(seed=3)
    draws = [sampler.sample() for _ in range(3000)]
    assert all(isinstance(arch, NB201Arch) for arch in draws)
    cells = np.array([arch.op_indices() for arch in draws])
    assert np.abs(np.stack([(cells == k).mean(axis=0) for k in range(5)]) - 0.2).max() < 0.035
    state = sampler.state_dict()
    expected = [sampler.sample() for _ in range(30)]
    resumed = NB201UniformSampler(seed=0)
    resumed.load_state_dict(state)
    assert [resumed.sample() for _ in range(30)] == expected
    fresh = NB201UniformSampler(seed=3)
    assert [fresh.sample() for _ in range(5)] == draws[:5]


def test_sample_many_draws_what_repeated_sample_draws_and_leaves_the_generator_alike() -> None:
    space = get_space("nb201")
    spare_word = np.random.Generator(np.random.PCG64(9))
    spare_word.integers(0, 5, size=1)  # one 32-bit half-word pending: the vectorised form must step aside
    cases = [np.random.Generator(np.random.PCG64(seed)) for seed in (0, 1, 2)] + [
        spare_word, np.random.Generator(np.random.MT19937(3))]
    for rng in cases:
        twin = copy.deepcopy(rng)
        for count in (1, 7, 3000):
            assert space.sample_many(rng, count) == [space.sample(twin) for _ in range(count)]
            state, twin_state = rng.bit_generator.state, twin.bit_generator.state
            if isinstance(rng.bit_generator, np.random.PCG64):  # the saved state, spare half-word included
                assert state == twin_state
            else:
                assert np.array_equal(state["state"]["key"], twin_state["state"]["key"])
                assert state["state"]["pos"] == twin_state["state"]["pos"]
