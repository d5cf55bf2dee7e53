"""The DARTS space against numbers produced by the original code (tests/fixtures/*/README.md says how)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Dirichlet

from nascli.spaces.base import NetworkConfig, get_space
from nascli.spaces.darts import repair
from nascli.spaces.darts.network import build_op
from nascli.spaces.mixed import widen_op

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def default_float64() -> Any:
    """The fixtures were made with float64 as torch's default dtype (weights, θ and inputs drawn in float64)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


class ReplayRng:
    """Answers `repair`'s random calls with the choices RLNAS's `check_cand` made, checking each call matches."""

    def __init__(self, calls: list[list[Any]]) -> None:
        self.calls = list(calls)

    def _next(self, kind: str) -> list[Any]:
        assert self.calls, f"repair made a {kind} call the reference did not make"
        call = self.calls.pop(0)
        assert call[0] == kind, f"the reference made a {call[0]} call here, repair a {kind} call"
        return call

    def choice(self, population: Any, size: int, replace: bool = True) -> list[int]:
        _, expected_population, expected_size, result = self._next("choice")
        assert not replace and [int(v) for v in population] == expected_population and size == expected_size
        return result

    def integers(self, high: int) -> int:
        _, expected_high, result = self._next("integers")
        assert high == expected_high
        return result


@pytest.mark.parametrize("case", load("rlnas/check_cand.json")["cases"],
                         ids=lambda case: "".join(map(str, case["code_in"])))
def test_repair_is_check_cand_given_its_random_choices(case: dict[str, Any]) -> None:
    """RLNAS `utils.check_cand` on 60 of its own random codes: same calls, same repaired code."""
    rng = ReplayRng(case["calls"])
    assert list(repair(case["code_in"], rng)) == case["code_out"]  # type: ignore[arg-type]
    assert not rng.calls, "the reference made more random calls than repair"


def drnas_supernet(**options: Any) -> Any:
    """The tiny DrNAS search network the fixture was made with (C=8, 5 cells, K=2), float64, seed 0."""
    torch.manual_seed(0)
    space = get_space("darts", variant="drnas")
    net = space.supernet(NetworkConfig(num_classes=10, input_size=32, channels=8, layers=5,
                                       options={"affine": False, "partial_channels": 2, **options}))
    return net.double().train()


def test_drnas_mixed_forward_with_pools_matches_the_reference() -> None:
    """DrNAS DARTS-space `Network.forward` (pools as AvgPoolBN/MaxPoolBN) with these weights, θ and Dirichlet draws."""
    expected = load("drnas/mixed_forward.json")
    net = drnas_supernet()
    torch.manual_seed(1)
    theta = {kind: (0.5 * torch.randn(14, 7, dtype=torch.float64)).requires_grad_() for kind in ("normal", "reduce")}
    torch.manual_seed(2)
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    torch.manual_seed(3)
    weights = {kind: Dirichlet(F.elu(theta[kind]) + 1).rsample() for kind in ("normal", "reduce")}
    logits = net(x, weights)
    F.cross_entropy(logits, torch.tensor([3, 7])).backward()
    torch.testing.assert_close(logits, torch.tensor(expected["logits"], dtype=torch.float64), rtol=1e-9, atol=1e-10)
    for kind in ("normal", "reduce"):
        torch.testing.assert_close(theta[kind].grad, torch.tensor(expected[f"grad_{kind}"], dtype=torch.float64),
                                   rtol=1e-7, atol=1e-10)


def test_drnas_imagenet_search_network_has_the_references_3c_stems() -> None:
    """`model_search_imagenet.Network(48, 1000, 14, k=6)`: parameter count and stem / first preprocess shapes."""
    expected = load("drnas/imagenet_search_network.json")
    space = get_space("darts", variant="drnas")
    with torch.device("meta"):
        net = space.supernet(NetworkConfig(num_classes=1000, input_size=224, channels=48, layers=14, options={
            "affine": False, "partial_channels": 6, "imagenet": True, "stem_multiplier": 3}))
    assert sum(p.numel() for p in net.parameters()) == expected["parameters"]
    for name in ("stem0", "stem1"):
        shapes = [list(m.weight.shape) for m in getattr(net, name) if isinstance(m, nn.Conv2d)]
        assert shapes == expected["stem_conv_shapes"][name]
    pre = net.cells[0].preprocess0
    assert [list(pre.conv_1.weight.shape), list(pre.conv_2.weight.shape)] == expected["cell0_preprocess0_conv_shapes"]


@pytest.mark.parametrize("op", ["sep_conv_3x3", "dil_conv_5x5", "max_pool_3x3", "skip_connect"])
def test_widened_ops_match_the_references_wider(op: str) -> None:
    """DrNAS `wider(8, 8)` of an op built for 4 channels, torch seeded 5, against `widen_op` with a generator seeded 5.

    The FactorizedReduce BN's running statistics are the one documented departure: nascli keeps them with the
    channels the convs copied, the reference appends `cat(index1, index2)` after the old channels.
    """
    expected = load("drnas/widened_ops.json")[op]
    torch.manual_seed(4)
    module = build_op(op, 4, 2 if op == "skip_connect" else 1, affine=False, pool_bn=True).double()
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.arange(4, dtype=torch.float64))
                m.running_var.copy_(1 + torch.arange(4, dtype=torch.float64) / 10)
    widen_op(module, 4, 8, torch.Generator().manual_seed(5))
    ours = [(k, v) for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")]
    assert len(ours) == len(expected)
    for (name, value), (ref_name, ref_value) in zip(ours, expected.items(), strict=True):
        reference = torch.tensor(ref_value, dtype=torch.float64)
        if op == "skip_connect" and name.startswith("bn.running"):
            old = reference[:4]
            assert torch.equal(value[:2], old[:2]) and torch.equal(value[4:6], old[2:4])  # old channels kept in place
            continue
        torch.testing.assert_close(value, reference, rtol=0, atol=0, msg=f"{name} vs {ref_name}")
