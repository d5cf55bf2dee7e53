"""The NB201 angle: the vectorised exhaustive form equals the literal reference construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nascli.scores.angle import NB201AngleTables, nb201_angle_literal, nb201_angle_vectors
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.nb201 import NB201Arch


@pytest.fixture(scope="module")
def pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    """A small supernet at 'init' and a perturbed copy standing for 'trained' (BN affine params too)."""
    space = get_space("nb201")
    torch.manual_seed(0)
    initial = space.supernet(NetworkConfig(num_classes=10, channels=4, layers=2))
    trained = space.supernet(NetworkConfig(num_classes=10, channels=4, layers=2))
    trained.load_state_dict(initial.state_dict())
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.3 * torch.randn_like(p)).mul_(0.9)
    return initial, trained


def test_vectorised_equals_literal_on_random_and_edge_cases(pair) -> None:
    initial, trained = pair
    space = get_space("nb201")
    tables = NB201AngleTables.build(initial, trained, space.ops)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(300)]
    archs += [NB201Arch(("none",) * 6), NB201Arch(("skip_connect",) * 6), NB201Arch(("avg_pool_3x3",) * 6),
              NB201Arch(("none", "none", "none", "nor_conv_3x3", "none", "none")),  # only 0→3 live
              NB201Arch(("nor_conv_1x1", "none", "none", "none", "nor_conv_3x3", "none")),  # only 0→1→3 live
              NB201Arch(("nor_conv_3x3", "none", "nor_conv_1x1", "none", "none", "avg_pool_3x3"))]  # only 0→1→2→3
    matrix = np.array([a.op_indices() for a in archs])
    fast = tables.angles(matrix)
    literal = np.array([nb201_angle_literal(a, initial, trained) for a in archs])
    np.testing.assert_allclose(fast, literal, rtol=0, atol=1e-9)
    assert fast[300] == 0.0  # all none: no live path
    assert np.all(fast[:300][(matrix[:300] == 0).all(1)] == 0)


def _flat(*tensors: torch.Tensor) -> torch.Tensor:
    return torch.cat([t.detach().double().reshape(-1) for t in tensors])


def test_literal_vector_matches_a_hand_built_reference_vector(pair) -> None:
    """One arch written out by hand from the reference's rules (methods/rlnas.md §3.1), by state-dict keys."""
    initial, trained = pair
    # edges: 1←0 conv3, 2←0 none, 2←1 avg_pool, 3←0 skip, 3←1 conv1, 3←2 conv3
    arch = NB201Arch(("nor_conv_3x3", "none", "avg_pool_3x3", "skip_connect", "nor_conv_1x1", "nor_conv_3x3"))
    # live paths: 0→3 (skip: no block), 0→1→2→3 (conv3, pool, conv3), 0→1→3 (conv3, conv1); 0→2→3 has none
    for model, vector in zip((initial, trained), nb201_angle_vectors(arch, initial, trained), strict=True):
        sd = model.state_dict()
        searched = [i for i in range(len(model.cells)) if hasattr(model.cells[i], "edges")]
        reductions = [i for i in range(len(model.cells)) if i not in searched]
        blocks = [_flat(sd["stem.0.weight"], sd["stem.1.weight"], sd["stem.1.bias"])]

        def reduction(i: int, sd: dict = sd) -> torch.Tensor:
            p = f"cells.{i}."
            return _flat(*(sd[p + k] for k in ("conv_a.1.weight", "conv_a.2.weight", "conv_a.2.bias",
                                                "conv_b.1.weight", "conv_b.2.weight", "conv_b.2.bias",
                                                "downsample.1.weight")))

        def conv(i: int, edge: int, op: str, sd: dict = sd) -> torch.Tensor:
            return _flat(sd[f"cells.{i}.edges.{edge}.{op}.1.weight"])

        added = set()
        for path in ("0-3", "0-1-2-3", "0-1-3"):  # reference order; 0→2→3 holds none and is dropped
            for i in range(len(model.cells)):
                if i in reductions:
                    if i not in added:
                        blocks.append(reduction(i))
                        added.add(i)
                    continue
                channels = sd[f"cells.{i}.edges.2.nor_conv_3x3.1.weight"].shape[0]
                if path == "0-3":
                    continue  # a live path of one skip edge: reaches the reduction blocks, adds no block
                if path == "0-1-2-3":
                    pool = torch.full((channels, 3, 3), 1 / 9, dtype=torch.float64).reshape(-1)
                    blocks.append(torch.cat([conv(i, 0, "nor_conv_3x3"), pool, conv(i, 5, "nor_conv_3x3")]))
                else:
                    blocks.append(torch.cat([conv(i, 0, "nor_conv_3x3"), conv(i, 4, "nor_conv_1x1")]))
        blocks.append(_flat(sd["lastact.0.weight"], sd["lastact.0.bias"], sd["classifier.weight"],
                            sd["classifier.bias"]))
        expected = torch.cat(blocks)
        assert vector.shape == expected.shape
        assert torch.equal(vector, expected)


def test_angle_is_zero_for_identical_weights_and_grows_with_change(pair) -> None:
    initial, trained = pair
    space = get_space("nb201")
    arch = NB201Arch(("nor_conv_3x3",) * 6)
    assert nb201_angle_literal(arch, initial, initial) == pytest.approx(0.0, abs=1e-6)
    assert 0 < nb201_angle_literal(arch, initial, trained) < math.pi
    tables = NB201AngleTables.build(initial, initial, space.ops)
    assert tables.angles(np.array([arch.op_indices()]))[0] == pytest.approx(0.0, abs=1e-6)
