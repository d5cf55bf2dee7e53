"""DARTS space: genotype texts, encodings, random operators, sampler, networks and the RLNAS supernet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nascli.errors import NasInputError
from nascli.spaces import NetworkConfig, get_space
from nascli.spaces.darts import (
    DARTS_OPS_DRNAS,
    DARTS_OPS_RLNAS,
    DartsGenotype,
    DartsRepairSampler,
    DartsSupernet,
    NetworkCIFAR,
    NetworkImageNet,
    drop_path,
    edge_index,
    format_genotype,
    format_nested,
    from_bpe_codes,
    from_nb301_config,
    from_nested,
    from_rlnas_codes,
    from_rmi_onehot,
    network_state_from_supernet,
    parse_genotype,
    repair,
    supernet_path_parameters,
    to_bpe_codes,
    to_nb301_config,
    to_nested,
    to_rlnas_codes,
    to_rmi_onehot,
)
from nascli.spaces.flops import count_params
from nascli.spaces.ops import FactorizedReduce, ReLUConvBN

# DARTS_V2 exactly as xiangning-chen/DrNAS DARTS-space/genotypes.py and quark0/darts print it
DARTS_V2_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
    "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
    "reduce_concat=[2, 3, 4, 5])"
)
DARTS_V2_NORMAL = (
    ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2),
)
DARTS_V2_REDUCE = (
    ("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
    ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1),
)

# RLDARTS as the RLNAS readme prints it (HTML <br> removed): double spaces, newlines, `('sep_conv_5x5', 2,)`
RLDARTS_README = """RLDARTS = Genotype(
          normal=[
             ('sep_conv_5x5', 0), ('sep_conv_3x3', 1),
             ('dil_conv_3x3', 0), ('sep_conv_5x5', 2),
             ('sep_conv_3x3', 0), ('dil_conv_5x5', 3),
             ('dil_conv_5x5', 1), ('dil_conv_3x3', 2)],
          normal_concat=[2, 3, 4, 5],
          reduce=[
             ('sep_conv_5x5', 0), ('dil_conv_3x3', 1),
             ('sep_conv_3x3', 0), ('sep_conv_5x5', 2),
             ('dil_conv_3x3', 1), ('sep_conv_3x3', 3),
             ('max_pool_3x3', 1), ('sep_conv_5x5', 2,)],
          reduce_concat=[2, 3, 4, 5])"""
RLDARTS_NORMAL = (
    ("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("dil_conv_3x3", 0), ("sep_conv_5x5", 2),
    ("sep_conv_3x3", 0), ("dil_conv_5x5", 3), ("dil_conv_5x5", 1), ("dil_conv_3x3", 2),
)
RLDARTS_REDUCE = (
    ("sep_conv_5x5", 0), ("dil_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 2),
    ("dil_conv_3x3", 1), ("sep_conv_3x3", 3), ("max_pool_3x3", 1), ("sep_conv_5x5", 2),
)
# the `cand` comment above RLDARTS in RLNAS .../cifar10/rlnas/retrain_architecture/genotypes.py
RLDARTS_CAND = ([5, 4, 6, 0, 5, 4, 0, 0, 7, 0, 7, 6, 0, 0], [5, 6, 4, 0, 5, 0, 6, 0, 4, 0, 1, 5, 0, 0])


def darts_v2() -> DartsGenotype:
    return DartsGenotype(DARTS_V2_NORMAL, (2, 3, 4, 5), DARTS_V2_REDUCE, (2, 3, 4, 5))


def rldarts() -> DartsGenotype:
    return DartsGenotype(RLDARTS_NORMAL, (2, 3, 4, 5), RLDARTS_REDUCE, (2, 3, 4, 5))


def non_none_per_node(code: tuple[int, ...]) -> list[int]:
    offsets = (0, 2, 5, 9)
    return [sum(1 for v in code[offsets[j] : offsets[j] + j + 2] if v != 0) for j in range(4)]


# --- edge numbering and op orders ------------------------------------------------------------------


def test_edge_index_is_node_major_with_offsets_0_2_5_9() -> None:
    assert [edge_index(0, s) for s in range(2, 6)] == [0, 2, 5, 9]
    assert edge_index(4, 5) == 13
    assert DARTS_OPS_RLNAS[0] == "none" and DARTS_OPS_RLNAS[4] == "sep_conv_3x3"
    assert DARTS_OPS_DRNAS == DARTS_OPS_RLNAS[1:]


# --- parsing and formatting ------------------------------------------------------------------------


def test_parse_paper_text_gives_the_printed_pairs() -> None:
    genotype = parse_genotype(DARTS_V2_TEXT)
    assert genotype.normal == DARTS_V2_NORMAL
    assert genotype.reduce == DARTS_V2_REDUCE
    assert genotype.normal_concat == (2, 3, 4, 5) and genotype.reduce_concat == (2, 3, 4, 5)


def test_format_prints_exactly_the_papers_form() -> None:
    assert format_genotype(darts_v2()) == DARTS_V2_TEXT
    assert str(darts_v2()) == DARTS_V2_TEXT


def test_parse_readme_layout_with_assignment_trailing_commas_and_newlines() -> None:
    assert parse_genotype(RLDARTS_README) == rldarts()


def test_parse_range_concat_double_quotes_and_trailing_comma() -> None:
    text = (
        'Genotype(normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), '
        '("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2),], '
        "normal_concat=range(2, 6), "
        'reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1), '
        '("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)], '
        "reduce_concat=range(2, 6),)"
    )
    assert parse_genotype(text) == darts_v2()


def test_parse_pt_darts_nested_form() -> None:
    text = (
        "Genotype(normal=[[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], [('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], "
        "[('sep_conv_3x3', 1), ('skip_connect', 0)], [('skip_connect', 0), ('dil_conv_3x3', 2)]], "
        "normal_concat=range(2, 6), "
        "reduce=[[('max_pool_3x3', 0), ('max_pool_3x3', 1)], [('skip_connect', 2), ('max_pool_3x3', 1)], "
        "[('max_pool_3x3', 0), ('skip_connect', 2)], [('skip_connect', 2), ('max_pool_3x3', 1)]], "
        "reduce_concat=range(2, 6))"
    )
    assert parse_genotype(text) == darts_v2()
    assert parse_genotype(format_nested(darts_v2())) == darts_v2()
    assert from_nested(to_nested(darts_v2())) == darts_v2()
    assert to_nested(darts_v2())["normal"][3] == [("skip_connect", 0), ("dil_conv_3x3", 2)]


def test_parse_weighted_triples_as_nas_projects_prints_them() -> None:
    text = DARTS_V2_TEXT.replace(", 0)", ", 0, 0.13)").replace(", 1)", ", 1, 0.12)")
    assert parse_genotype(text) == darts_v2()


def test_round_trips_text_and_json() -> None:
    space = get_space("darts")
    for genotype in (darts_v2(), rldarts()):
        assert space.parse(space.format(genotype)) == genotype
        assert space.from_json(space.to_json(genotype)) == genotype
    assert space.to_json(darts_v2())["normal"][7] == ["dil_conv_3x3", 2]


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (DARTS_V2_TEXT.replace("'dil_conv_3x3', 2", "'conv_9x9', 2"), ["conv_9x9", "node 5", "sep_conv_3x3"]),
        (DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), ["input index 5", "node 5"]),
        (DARTS_V2_TEXT.replace(", ('dil_conv_3x3', 2)", ""), ["wrong number of edges", "7"]),
        (DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 0)"), ["node 5", "twice"]),
        (DARTS_V2_TEXT.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[3, 4, 5]"), ["reduce_concat"]),
        (DARTS_V2_TEXT.replace(", reduce_concat=[2, 3, 4, 5]", ""), ["lacks reduce_concat"]),
        (DARTS_V2_TEXT[:-1], ["cannot parse"]),
        ("Genotype(normal=__import__('os').getcwd(), normal_concat=[2], reduce=[], reduce_concat=[2])",
         ["not a literal"]),
        ("Genotypes(normal=[])", ["not Genotype"]),
    ],
)
def test_parse_errors_name_the_fault(text: str, fragments: list[str]) -> None:
    with pytest.raises(NasInputError) as error:
        parse_genotype(text)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_nested_node_with_three_inputs_is_rejected() -> None:
    text = format_nested(darts_v2()).replace("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)]",
                                             "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0)]", 1)
    with pytest.raises(NasInputError, match="node 2 .* 3 inputs"):
        parse_genotype(text)


def test_canonical_sorts_each_node_by_input() -> None:
    # DARTS_V1 lists node 2 as (1, 0); the codes cannot keep that order
    genotype = DartsGenotype(
        (("sep_conv_3x3", 1), ("sep_conv_3x3", 0), *DARTS_V2_NORMAL[2:]), (2, 3, 4, 5), DARTS_V2_REDUCE, (2, 3, 4, 5)
    )
    canonical = genotype.canonical()
    assert canonical.normal[:2] == (("sep_conv_3x3", 0), ("sep_conv_3x3", 1))
    assert canonical.normal[4:6] == (("skip_connect", 0), ("sep_conv_3x3", 1))
    assert from_rlnas_codes(to_rlnas_codes(genotype)) == canonical


# --- encodings -------------------------------------------------------------------------------------


def test_rlnas_codes_of_rldarts_equal_the_reference_cand() -> None:
    codes = to_rlnas_codes(rldarts())
    assert list(codes[:14]) == RLDARTS_CAND[0]
    assert list(codes[14:]) == RLDARTS_CAND[1]
    assert from_rlnas_codes(RLDARTS_CAND) == rldarts()
    assert from_rlnas_codes(RLDARTS_CAND[0] + RLDARTS_CAND[1]) == rldarts()


def test_bpe_codes_use_pt_darts_order_with_7_for_none() -> None:
    # pt.darts order: max 0, avg 1, skip 2, sep3 3, sep5 4, dil3 5, dil5 6, none 7
    expected_normal = [4, 3, 5, 7, 4, 3, 7, 7, 6, 7, 6, 5, 7, 7]
    codes = to_bpe_codes(rldarts())
    assert list(codes[:14]) == expected_normal
    assert codes[14 + 12] == 7 and codes[14 + 10] == 0  # reduce: max_pool from state 1 into state 5
    assert from_bpe_codes(codes) == rldarts()


def test_rmi_onehot_rows_are_edges_and_columns_the_seven_ops() -> None:
    normal, reduce = to_rmi_onehot(rldarts())
    assert normal.shape == (14, 7) and reduce.shape == (14, 7)
    assert normal[0].tolist() == [0, 0, 0, 0, 1, 0, 0]  # sep_conv_5x5 on edge 0
    assert reduce[10].tolist() == [1, 0, 0, 0, 0, 0, 0]  # max_pool_3x3 from state 1 into state 5
    assert normal[2:5].sum(axis=1).tolist() == [1, 0, 1]
    assert int(normal.sum()) == 8 and int(reduce.sum()) == 8
    assert from_rmi_onehot(normal, reduce) == rldarts()


def test_nb301_config_keys_as_nb301_writes_them() -> None:
    config = to_nb301_config(darts_v2())
    prefix = "NetworkSelectorDatasetInfo:darts:"
    assert len(config) == 2 * (8 + 3)
    assert config[prefix + "edge_normal_0"] == "sep_conv_3x3"
    assert config[prefix + "edge_normal_5"] == "skip_connect"  # (skip, 0) into state 4
    assert config[prefix + "edge_normal_6"] == "sep_conv_3x3"  # (sep3, 1) into state 4
    assert config[prefix + "edge_normal_11"] == "dil_conv_3x3"  # (dil3, 2) into state 5
    assert config[prefix + "inputs_node_normal_4"] == "0_1"
    assert config[prefix + "inputs_node_normal_5"] == "0_2"
    assert config[prefix + "inputs_node_reduce_3"] == "1_2"
    assert prefix + "inputs_node_normal_2" not in config
    extra = {**config, "CreateImageDataLoader:batch_size": 96, "NetworkSelectorDatasetInfo:network": "darts"}
    assert from_nb301_config(extra) == darts_v2().canonical()


def test_nb301_inconsistent_inputs_are_rejected() -> None:
    config = to_nb301_config(darts_v2())
    config["NetworkSelectorDatasetInfo:darts:inputs_node_normal_5"] = "1_2"
    with pytest.raises(NasInputError, match="inputs_node_normal_5"):
        from_nb301_config(config)


def test_codes_with_a_wrong_node_are_rejected() -> None:
    bad = list(RLDARTS_CAND[0])
    bad[3] = 4  # node 3 (edges 2..4) now has three inputs
    with pytest.raises(NasInputError, match="node 3 .* 3 non-none"):
        from_rlnas_codes((bad, RLDARTS_CAND[1]))
    with pytest.raises(NasInputError, match="28"):
        from_rlnas_codes(RLDARTS_CAND[0])


# --- random operators ------------------------------------------------------------------------------


def test_repair_always_leaves_exactly_two_non_none_inputs_per_node() -> None:
    rng = np.random.default_rng(0)
    for _ in range(2000):
        code = tuple(int(v) for v in rng.integers(8, size=14))
        fixed = repair(code, rng)
        assert non_none_per_node(fixed) == [2, 2, 2, 2]
        assert all(0 <= v <= 7 for v in fixed)
        for e, (before, after) in enumerate(zip(code, fixed, strict=True)):
            # an edge only changes by being set to none, or by a none edge getting a non-none op
            assert before == after or after == 0 or (before == 0 and after != 0), e


def test_repair_keeps_a_valid_code_unchanged() -> None:
    rng = np.random.default_rng(1)
    assert list(repair(RLDARTS_CAND[0], rng)) == RLDARTS_CAND[0]


def test_sample_is_a_valid_genotype_with_distinct_inputs_and_all_ops() -> None:
    space = get_space("darts")
    rng = np.random.default_rng(2)
    seen = set()
    for _ in range(200):
        genotype = space.sample(rng)
        for cell in ("normal", "reduce"):
            pairs = genotype.cell(cell)
            for node in range(4):
                assert pairs[2 * node][1] != pairs[2 * node + 1][1]
            seen.update(op for op, _ in pairs)
    assert seen == set(DARTS_OPS_DRNAS)


def test_mutate_respects_probability_ops_and_cells() -> None:
    space = get_space("darts")
    rng = np.random.default_rng(3)
    genotype = rldarts()
    assert space.mutate(genotype, rng, prob=0.0) == genotype
    mutated = space.mutate(genotype, rng, prob=1.0, ops=["sep_conv_3x3"])
    assert {op for op, _ in mutated.normal + mutated.reduce} == {"sep_conv_3x3"}
    normal_only = space.mutate(genotype, rng, prob=1.0, ops=["skip_connect"], cells=("normal",))
    assert normal_only.reduce == genotype.reduce
    assert {op for op, _ in normal_only.normal} == {"skip_connect"}
    with pytest.raises(NasInputError, match="conv_9x9"):
        space.mutate(genotype, rng, prob=0.5, ops=["conv_9x9"])


def test_crossover_takes_each_gene_from_a_parent_then_repairs() -> None:
    space = get_space("darts")
    rng = np.random.default_rng(4)
    a, b = rldarts(), darts_v2()
    assert space.crossover(a, a, rng) == a
    codes_a, codes_b = to_rlnas_codes(a), to_rlnas_codes(b)
    for _ in range(50):
        child = to_rlnas_codes(space.crossover(a, b, rng))
        assert non_none_per_node(child[:14]) == [2, 2, 2, 2] and non_none_per_node(child[14:]) == [2, 2, 2, 2]
        for x, y, z in zip(codes_a, codes_b, child, strict=True):
            assert z in (x, y) or z == 0 or (0 in (x, y))


def test_sampler_is_reproducible_and_resumable() -> None:
    first, second = DartsRepairSampler(7), DartsRepairSampler(7)
    draws = [first.sample() for _ in range(20)]
    assert draws == [second.sample() for _ in range(20)]
    assert draws != [DartsRepairSampler(8).sample() for _ in range(20)]
    for normal, reduce in draws:
        assert non_none_per_node(normal) == [2, 2, 2, 2] and non_none_per_node(reduce) == [2, 2, 2, 2]
    state = first.state_dict()
    continued = [first.sample() for _ in range(5)]
    resumed = DartsRepairSampler(0)
    resumed.load_state_dict(state)
    assert [resumed.sample() for _ in range(5)] == continued
    assert resumed.steps == 25


def test_sampler_edges_are_roughly_uniform_before_repair() -> None:
    sampler = get_space("darts").path_sampler(0)
    counts = np.zeros(8)
    for _ in range(300):
        normal, reduce = sampler.sample()
        for v in normal + reduce:
            counts[v] += 1
    non_none = counts[1:] / counts[1:].sum()
    assert np.all(np.abs(non_none - 1 / 7) < 0.03)
    assert counts[0] / counts.sum() == pytest.approx(6 / 14)  # 8 of 14 edges carry an op per cell


# --- networks --------------------------------------------------------------------------------------


def test_cifar_network_shapes_aux_and_stage_outputs() -> None:
    torch.manual_seed(0)
    net = NetworkCIFAR(rldarts(), channels=8, num_classes=10, layers=5, auxiliary=True, drop_path_prob=0.2)
    x = torch.randn(2, 3, 32, 32)
    net.train()
    logits, aux = net.forward_with_aux(x)
    assert logits.shape == (2, 10) and aux is not None and aux.shape == (2, 10)
    (logits.sum() + 0.4 * aux.sum()).backward()
    assert net.stem[0].weight.grad is not None and net.auxiliary_head.classifier.weight.grad is not None
    net.eval()
    assert net.forward_with_aux(x)[1] is None
    assert net(x).shape == (2, 10)
    shapes = [tuple(t.shape) for t in net.stage_outputs(x)]
    assert shapes == [(2, 32, 32, 32), (2, 64, 16, 16), (2, 128, 8, 8)]
    reductions = [i for i, cell in enumerate(net.cells) if cell.reduction]
    assert reductions == [1, 3]


def test_imagenet_network_shapes_at_224() -> None:
    torch.manual_seed(0)
    net = NetworkImageNet(darts_v2(), channels=8, num_classes=10, layers=5, auxiliary=True).eval()
    x = torch.randn(1, 3, 224, 224)
    assert net(x).shape == (1, 10)
    shapes = [tuple(t.shape) for t in net.stage_outputs(x)]
    assert shapes == [(1, 32, 28, 28), (1, 64, 14, 14), (1, 128, 7, 7)]
    assert isinstance(net.cells[0].preprocess0, FactorizedReduce)  # the stems halve: reduction_prev for cell 0
    assert isinstance(net.cells[1].preprocess0, ReLUConvBN)
    assert isinstance(net.cells[2].preprocess0, FactorizedReduce)


def test_auxiliary_head_is_excluded_from_params() -> None:
    with_aux = NetworkCIFAR(darts_v2(), channels=8, layers=5, auxiliary=True)
    without = NetworkCIFAR(darts_v2(), channels=8, layers=5, auxiliary=False)
    assert count_params(with_aux) == count_params(without)
    assert count_params(with_aux, exclude=()) > count_params(without, exclude=())


def test_drop_path_zeroes_whole_samples_and_rescales() -> None:
    torch.manual_seed(0)
    out = drop_path(torch.ones(64, 2, 3, 3), 0.5)
    per_sample = out.flatten(1)
    assert set(per_sample.unique().tolist()) <= {0.0, 2.0}
    assert (per_sample.min(dim=1).values == per_sample.max(dim=1).values).all()
    assert drop_path(torch.ones(2, 1, 1, 1), 0.0).eq(1).all()


def test_drop_path_only_acts_in_training() -> None:
    torch.manual_seed(0)
    net = NetworkCIFAR(darts_v2(), channels=8, layers=5, drop_path_prob=0.5).eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(net(x), net(x))


def test_auxiliary_head_needs_a_large_enough_map() -> None:
    with pytest.raises(NasInputError, match="auxiliary head"):
        NetworkCIFAR(darts_v2(), channels=8, layers=5, auxiliary=True, input_size=16)


# --- supernet ----------------------------------------------------------------------------------------


def _randomise_bn(module: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
                m.bias.data.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


@pytest.mark.parametrize("genotype_fn", [rldarts, darts_v2])
def test_supernet_path_equals_standalone_network_with_same_weights(genotype_fn) -> None:
    torch.manual_seed(0)
    genotype = genotype_fn()
    supernet = DartsSupernet(channels=8, num_classes=10, layers=5)
    _randomise_bn(supernet, 1)
    supernet.eval()
    network = NetworkCIFAR(genotype, channels=8, num_classes=10, layers=5, pool_bn=True).eval()
    network.load_state_dict(network_state_from_supernet(supernet, genotype), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = network(x)
        assert torch.allclose(supernet(x, genotype), expected, atol=1e-5)
        codes = to_rlnas_codes(genotype)
        assert torch.allclose(supernet(x, (codes[:14], codes[14:])), expected, atol=1e-5)
        assert torch.allclose(supernet(x, list(codes)), expected, atol=1e-5)
    params = supernet_path_parameters(supernet, genotype)
    assert len({id(p) for p in params}) == len(params)
    assert sum(p.numel() for p in params) == count_params(network)
    supernet.train()
    supernet(x, genotype).sum().backward()
    on_path = {id(p) for p in params}
    for p in supernet.parameters():
        assert (p.grad is not None) == (id(p) in on_path)


def test_imagenet_supernet_path_equals_standalone_network() -> None:
    torch.manual_seed(0)
    genotype = rldarts()
    supernet = DartsSupernet(channels=4, num_classes=5, layers=3, imagenet=True)
    _randomise_bn(supernet, 2)
    supernet.eval()
    network = NetworkImageNet(genotype, channels=4, num_classes=5, layers=3, input_size=64, pool_bn=True).eval()
    network.load_state_dict(network_state_from_supernet(supernet, genotype), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(supernet(x, genotype), network(x), atol=1e-5)


def test_supernet_layout_and_rlnas_pool_bn() -> None:
    space = get_space("darts")
    supernet = space.supernet(NetworkConfig(num_classes=10))
    assert len(supernet.cells) == 8
    assert supernet.stem[0].out_channels == 48
    cell = supernet.cells[0]
    assert len(cell.edges) == 14 and set(cell.edges[0].keys()) == set(DARTS_OPS_RLNAS)
    pool = cell.edges[0]["max_pool_3x3"]
    assert pool.bn is not None and pool.bn.affine
    assert [i for i, c in enumerate(supernet.cells) if c.reduction] == [2, 5]
    assert set(get_space("darts", variant="drnas").supernet(NetworkConfig()).cells[0].edges[0].keys()) == set(
        DARTS_OPS_DRNAS
    )


def test_supernet_path_parameters_pick_only_the_chosen_ops() -> None:
    space = get_space("darts")
    supernet = DartsSupernet(channels=4, layers=3)
    params = space.path_parameters(supernet, RLDARTS_CAND)
    chosen = {id(p) for p in supernet.cells[0].edges[0]["sep_conv_5x5"].parameters()}
    unused = {id(p) for p in supernet.cells[0].edges[0]["sep_conv_3x3"].parameters()}
    ids = {id(p) for p in params}
    assert chosen <= ids and not unused & ids
    assert {id(p) for p in supernet.stem.parameters()} <= ids
    assert {id(p) for p in supernet.classifier.parameters()} <= ids


# --- the space object ------------------------------------------------------------------------------


def test_space_variants_configs_and_coerce() -> None:
    assert get_space("darts").ops == DARTS_OPS_RLNAS
    assert get_space("darts", variant="drnas").ops == DARTS_OPS_DRNAS
    with pytest.raises(NasInputError, match="variant"):
        get_space("darts", variant="nb201")
    space = get_space("darts")
    assert space.default_config("cifar100").num_classes == 100
    assert space.default_config("imagenet").input_size == 224
    with pytest.raises(NasInputError, match="dataset"):
        space.default_config("mnist")
    assert space.coerce("rldarts") == rldarts()
    assert space.coerce(DARTS_V2_TEXT) == darts_v2()
    assert space.coerce(RLDARTS_CAND[0] + RLDARTS_CAND[1]) == rldarts()
    net = space.network(darts_v2(), NetworkConfig(num_classes=10, channels=8, layers=5, options={"auxiliary": True}))
    assert isinstance(net, NetworkCIFAR) and net.auxiliary_head is not None
    big = space.network(darts_v2(), NetworkConfig(num_classes=10, channels=8, layers=5, input_size=224))
    assert isinstance(big, NetworkImageNet)
    with pytest.raises(NasInputError, match="auxilary"):
        space.network(darts_v2(), NetworkConfig(options={"auxilary": True}))


def test_auxiliary_head_refuses_input_sizes_it_cannot_read() -> None:
    """The head's 5×5 pool, 2×2 conv and Linear(768) need exactly a 2×2 pooled map (CIFAR 29..40 px)."""
    from nascli.errors import NasInputError
    from nascli.spaces.darts import NetworkCIFAR
    from nascli.spaces.genotypes import get_genotype

    genotype = get_genotype("DARTS_V2")
    for size in (29, 40):
        model = NetworkCIFAR(genotype, channels=4, layers=5, auxiliary=True, input_size=size).train()
        assert model.forward_with_aux(torch.randn(2, 3, size, size))[1].shape == (2, 10)
    for size in (24, 41):
        with pytest.raises(NasInputError, match=r"input size in 29\.\.40"):
            NetworkCIFAR(genotype, channels=4, layers=5, auxiliary=True, input_size=size)


def test_adaptive_auxiliary_head_pools_the_4x4_map_of_16_px_images_to_2x2() -> None:
    # BPE's pt.darts AuxiliaryHead: input_size // 4 = 4 is not 7 or 8, so AdaptiveAvgPool2d((2, 2)) replaces
    # AvgPool2d(5, stride 3); the 2×2 conv then leaves 1×1 × 768 features
    space = get_space("darts")
    cfg = NetworkConfig(num_classes=10, channels=8, layers=6, input_size=16,
                        options={"auxiliary": True, "aux_pool": "adaptive"})
    torch.manual_seed(0)
    net = space.network(darts_v2(), cfg).train()
    pooling = net.auxiliary_head.features[1]
    assert isinstance(pooling, torch.nn.AdaptiveAvgPool2d) and pooling.output_size == (2, 2)
    x = torch.randn(4, 3, 16, 16)
    captured = {}
    net.cells[2 * 6 // 3].register_forward_hook(lambda module, args, output: captured.setdefault("map", output))
    _, aux = net.forward_with_aux(x)
    feature_map = captured["map"]
    assert feature_map.shape[-2:] == (4, 4)
    pooled = torch.relu(feature_map).reshape(4, -1, 2, 2, 2, 2).mean(dim=(3, 5))  # mean of each 2×2 block
    head = net.auxiliary_head
    expected = head.classifier(head.features[2:](pooled).flatten(1))
    assert torch.allclose(aux, expected, atol=1e-5)
    # 32 px (8×8) and 28 px (7×7) keep the 5×5 average pool, with stride input//4 − 5, as the reference
    for size, stride in ((32, 3), (28, 2)):
        other = space.network(darts_v2(), NetworkConfig(channels=8, layers=6, input_size=size,
                                                        options={"auxiliary": True, "aux_pool": "adaptive"}))
        assert isinstance(other.auxiliary_head.features[1], torch.nn.AvgPool2d)
        assert other.auxiliary_head.features[1].stride == stride
        assert other.forward_with_aux(torch.randn(2, 3, size, size))[1].shape == (2, 10)
    with pytest.raises(NasInputError, match="aux_pool: adaptive"):
        space.network(darts_v2(), NetworkConfig(channels=8, layers=6, input_size=16, options={"auxiliary": True}))
    with pytest.raises(NasInputError, match="auxiliary pooling"):
        space.network(darts_v2(), NetworkConfig(channels=8, layers=6, input_size=16,
                                                options={"auxiliary": True, "aux_pool": "max"}))
