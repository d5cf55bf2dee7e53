"""Mixed supernets: one-hot weights reproduce single paths, partial channels, pruned ops skipped, widening."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.darts import DARTS_OPS_RLNAS, NUM_EDGES, path_codes, random_code
from nascli.spaces.mixed import MixedEdge, channel_shuffle, widen_edges, widen_op
from nascli.spaces.nb201 import NB201_OPS
from nascli.spaces.ops import FactorizedReduce, Pool, ReLUConvBN, SepConv


def _reference_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    # the DrNAS / PC-DARTS construction
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)


def test_channel_shuffle_interleaves_groups() -> None:
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 3).flatten().tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
    y = torch.randn(2, 12, 3, 3)
    assert torch.equal(channel_shuffle(y, 4), _reference_shuffle(y, 4))


def _nb201_onehot(arch_ops: tuple[str, ...]) -> torch.Tensor:
    weights = torch.zeros(6, 5)
    for edge, op in enumerate(arch_ops):
        weights[edge, NB201_OPS.index(op)] = 1.0
    return weights


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_nb201_mixed_onehot_equals_single_path(mode: str) -> None:
    space = get_space("nb201")
    torch.manual_seed(0)
    net = space.supernet(NetworkConfig(num_classes=5, channels=4, layers=1))
    for module in net.modules():  # non-trivial running statistics for eval mode
        if isinstance(module, nn.BatchNorm2d) and module.running_mean is not None:
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    net.train(mode == "train")
    rng = np.random.default_rng(1)
    x = torch.randn(3, 3, 8, 8)
    for _ in range(4):
        arch = space.sample(rng)
        with torch.no_grad():
            single = net(x, arch)
            mixed = net(x, _nb201_onehot(arch.ops))
        assert torch.equal(single, mixed)


@pytest.mark.parametrize("variant", ["rlnas", "drnas"])
def test_darts_mixed_onehot_equals_single_path(variant: str) -> None:
    space = get_space("darts", variant=variant)
    torch.manual_seed(0)
    net = space.supernet(NetworkConfig(num_classes=5, channels=4, layers=3, options={"affine": False})).eval()
    rng = np.random.default_rng(3)
    x = torch.randn(2, 3, 8, 8)
    for _ in range(3):
        codes = (random_code(rng), random_code(rng))
        weights = {}
        for kind, code in zip(("normal", "reduce"), codes, strict=True):
            matrix = torch.zeros(NUM_EDGES, len(net.ops))
            for edge, value in enumerate(code):
                if value != 0:  # unused edges keep an all-zero row (rlnas: weight on none is the same)
                    matrix[edge, net.ops.index(DARTS_OPS_RLNAS[value])] = 1.0
            weights[kind] = matrix
        with torch.no_grad():
            assert torch.equal(net(x, codes), net(x, weights))
        assert path_codes(codes) == codes


def test_partial_channels_keep_shapes() -> None:
    x = torch.randn(2, 3, 16, 16)
    nb201 = get_space("nb201")
    full = nb201.supernet(NetworkConfig(num_classes=7, channels=8, layers=1))
    partial = nb201.supernet(NetworkConfig(num_classes=7, channels=8, layers=1, options={"partial_channels": 4}))
    weights = torch.softmax(torch.randn(6, 5), dim=-1)
    assert partial(x, weights).shape == full(x, weights).shape == (2, 7)
    assert partial.stage_outputs(x, weights)[0].shape == (2, 8, 16, 16)
    assert partial.cells[0].edges[0]["nor_conv_3x3"].conv.weight.shape == (2, 2, 3, 3)

    darts = get_space("darts", variant="drnas")
    cfg = NetworkConfig(num_classes=7, channels=8, layers=3, options={"affine": False, "partial_channels": 2})
    net = darts.supernet(cfg)
    mixed = {kind: torch.softmax(torch.randn(14, 7), dim=-1) for kind in ("normal", "reduce")}
    assert net(x, mixed).shape == (2, 7)
    reduce_edge = net.cells[1].edges[0]
    assert reduce_edge.stride == 2 and reduce_edge.op_channels == 8
    edge_input = torch.randn(2, 16, 8, 8)
    out = reduce_edge.mixed(edge_input, mixed["reduce"][0], [True] * 7)
    assert out.shape == (2, 16, 4, 4)
    with pytest.raises(NasInputError, match="only mixed"):
        net(x, darts.sample(np.random.default_rng(0)))


def test_partial_channels_bypass_and_shuffle() -> None:
    edge = MixedEdge({"skip_connect": nn.Identity(), "none": nn.Identity()}, channels=4, stride=1, partial_channels=2)
    x = torch.randn(1, 4, 3, 3)
    out = edge.mixed(x, torch.tensor([0.0, 1.0]), [False, True])  # only `none` active: the ops give zeros
    # cat([zeros(2), x2, x3]) shuffled with 2 groups → [0, x2, 0, x3]
    assert torch.equal(out[:, 1], x[:, 2]) and torch.equal(out[:, 3], x[:, 3])
    assert not out[:, 0].any() and not out[:, 2].any()
    out = edge.mixed(x, torch.tensor([0.5, 0.5]), [True, True])
    assert torch.allclose(out[:, 0], 0.5 * x[:, 0]) and torch.allclose(out[:, 2], 0.5 * x[:, 1])
    strided = MixedEdge({"skip_connect": FactorizedReduce(2, 2)}, channels=4, stride=2, partial_channels=2)
    out = strided.mixed(x.expand(2, 4, 3, 3), torch.tensor([1.0]), [True])
    assert out.shape == (2, 4, 2, 2)
    assert torch.equal(out[:, 1], nn.functional.max_pool2d(x[:, 2:], 2, 2, ceil_mode=True)[:, 0].expand(2, 2, 2))


class _Forbidden(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("a pruned op was run")


def test_ops_with_zero_weight_are_never_run() -> None:
    space = get_space("nb201")
    net = space.supernet(NetworkConfig(num_classes=3, channels=4, layers=1))
    for cell in net.cells:
        if hasattr(cell, "edges"):
            for edge in cell.edges:
                edge["nor_conv_3x3"] = _Forbidden()
    weights = torch.softmax(torch.randn(6, 5), dim=-1)
    weights[:, NB201_OPS.index("nor_conv_3x3")] = 0.0
    net(torch.randn(2, 3, 8, 8), weights)


def test_partial_channels_must_divide_the_width() -> None:
    with pytest.raises(NasInputError, match="K=3"):
        get_space("nb201").supernet(NetworkConfig(channels=8, layers=1, options={"partial_channels": 3}))
    with pytest.raises(NasInputError, match="K=4"):
        darts = get_space("darts", variant="drnas")
        darts.supernet(NetworkConfig(channels=6, layers=3, options={"partial_channels": 4}))


def test_widen_relu_conv_bn_copies_channels() -> None:
    torch.manual_seed(0)
    op = ReLUConvBN(2, 2, 3, affine=False)
    op.bn.running_mean.copy_(torch.tensor([1.0, 2.0]))
    old_weight = op.conv.weight.detach().clone()
    widened = widen_op(op, 2, 5, torch.Generator().manual_seed(0))
    weight = op.conv.weight
    assert weight.shape == (5, 5, 3, 3) and op.conv.in_channels == op.conv.out_channels == 5
    assert torch.equal(weight[:2, :2], old_weight)
    old_rows = [old_weight[i] for i in range(2)]
    for row in range(2, 5):  # every new output channel copies an old one (over the widened inputs)
        assert any(torch.equal(weight[row, :2], r) for r in old_rows)
    for column in range(2, 5):  # every new input channel copies an old input channel
        assert any(torch.equal(weight[:2, column], old_weight[:, c]) for c in range(2))
    assert set(op.bn.running_mean.tolist()) <= {1.0, 2.0} and op.bn.num_features == 5
    assert [w.new for w in widened] == [op.conv.weight]
    assert torch.equal(widened[0].expand(old_weight), op.conv.weight.detach())
    op(torch.randn(1, 5, 4, 4))


def test_widen_separable_conv_and_pool_bn() -> None:
    op = SepConv(3, 3, 3, 1, affine=True)
    widened = widen_op(op, 3, 6, torch.Generator().manual_seed(1))
    assert op(torch.randn(2, 6, 5, 5)).shape == (2, 6, 5, 5)
    depthwise, pointwise = op.op[1], op.op[2]
    assert depthwise.groups == 6 and pointwise.weight.shape == (6, 6, 1, 1)
    # the pointwise conv's new inputs copy the same channels as the depthwise conv's new outputs
    new_depthwise = depthwise.weight[3:]
    for k in range(3):
        source = [c for c in range(3) if torch.equal(new_depthwise[k], depthwise.weight[c])]
        assert any(torch.equal(pointwise.weight[:3, 3 + k], pointwise.weight[:3, c]) for c in source)
    assert len(widened) == 4 + 4  # 4 convs, 2 affine BNs with weight and bias
    pool = Pool("avg", 3, 1, bn_after=True, affine=False)
    widen_op(pool, 3, 6, torch.Generator().manual_seed(2))
    assert pool(torch.randn(2, 6, 4, 4)).shape == (2, 6, 4, 4)
    reduce = FactorizedReduce(4, 4, affine=False)
    reduce.bn.running_mean.copy_(torch.arange(4.0))
    widen_op(reduce, 4, 8, torch.Generator().manual_seed(3))
    mean = reduce.bn.running_mean.tolist()  # statistics stay with the half (conv) whose channels they follow
    assert mean[:2] == [0.0, 1.0] and set(mean[2:4]) <= {0.0, 1.0}
    assert mean[4:6] == [2.0, 3.0] and set(mean[6:]) <= {2.0, 3.0}
    assert reduce(torch.randn(2, 8, 6, 6)).shape == (2, 8, 3, 3)


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
def test_widened_supernet_matches_one_built_at_the_new_k(space_name: str) -> None:
    if space_name == "nb201":
        space, base = get_space("nb201"), {"partial_channels": 4}
        cfg = NetworkConfig(num_classes=3, channels=8, layers=1, options=base)
        weights: object = torch.softmax(torch.randn(6, 5), dim=-1)
    else:
        space, base = get_space("darts", variant="drnas"), {"partial_channels": 4, "affine": False}
        cfg = NetworkConfig(num_classes=3, channels=8, layers=3, options=base)
        weights = {kind: torch.softmax(torch.randn(14, 7), dim=-1) for kind in ("normal", "reduce")}
    net = space.supernet(cfg)
    widen_edges(net, 2, torch.Generator().manual_seed(0))
    target = space.supernet(NetworkConfig(**{**cfg.__dict__, "options": {**base, "partial_channels": 2}}))
    assert net.partial_channels == 2
    shapes = {key: tuple(value.shape) for key, value in net.state_dict().items()}
    assert shapes == {key: tuple(value.shape) for key, value in target.state_dict().items()}
    target.load_state_dict(net.state_dict())
    x = torch.randn(2, 3, 8, 8)
    net.eval()
    target.eval()
    assert torch.equal(net(x, weights), target(x, weights))
