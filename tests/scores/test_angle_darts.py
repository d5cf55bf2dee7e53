"""The DARTS angle: the reference's 30 paths, a hand-built reference vector, and batched = literal."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from nascli.artifacts import RunFolder, atomic_torch_save
from nascli.errors import NasInputError
from nascli.scores import ScoreContext, make_score
from nascli.scores.angle import angle_of_vectors
from nascli.scores.angle_darts import (
    DARTS_PATH_EDGES,
    DARTS_PATHS,
    DartsAngleTables,
    arch_codes,
    darts_angle_literal,
    darts_angle_vectors,
)
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.darts import DartsGenotype, from_rlnas_codes, to_rlnas_codes

# RLNAS darts_search_space/cifar10/rlnas/evolution_search/config.py: paths, copied as data
REFERENCE_PATHS = [
    [0, 2, 3, 4, 5], [0, 2, 3, 5], [0, 2, 4, 5], [0, 2, 5], [0, 3, 4, 5], [0, 3, 5], [0, 4, 5], [0, 5],
    [1, 2, 3, 4, 5], [1, 2, 3, 5], [1, 2, 4, 5], [1, 2, 5], [1, 3, 4, 5], [1, 3, 5], [1, 4, 5], [1, 5],
    [0, 2, 3, 4], [0, 2, 4], [0, 3, 4], [0, 4],
    [1, 2, 3, 4], [1, 2, 4], [1, 3, 4], [1, 4],
    [0, 2, 3], [0, 3],
    [1, 2, 3], [1, 3],
    [0, 2],
    [1, 2],
]

SPACE = get_space("darts")


def _perturbed_pair(cfg: NetworkConfig, seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A small supernet at 'init' and a perturbed copy standing for 'trained' (BN affine params too)."""
    torch.manual_seed(seed)
    initial = SPACE.supernet(cfg)
    trained = SPACE.supernet(cfg)
    trained.load_state_dict(initial.state_dict())
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.3 * torch.randn_like(p)).mul_(0.9)
    initial.eval()
    trained.eval()
    return initial, trained


@pytest.fixture(scope="module")
def cifar_pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    return _perturbed_pair(NetworkConfig(num_classes=10, channels=4, layers=5))


@pytest.fixture(scope="module")
def imagenet_pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    return _perturbed_pair(NetworkConfig(num_classes=7, channels=4, layers=3, input_size=64), seed=1)


def test_the_30_paths_are_the_reference_list_in_its_order() -> None:
    assert len(DARTS_PATHS) == 30
    assert [list(p) for p in DARTS_PATHS] == REFERENCE_PATHS
    # edge index k + Σ_{t=2}^{j-1} t, as get_arch_vector computes it
    assert DARTS_PATH_EDGES[0] == (0, 4, 8, 13) and DARTS_PATH_EDGES[-1] == (1,)
    assert DARTS_PATH_EDGES[7] == (9,) and DARTS_PATH_EDGES[15] == (10,)


# One genotype worked out by hand. Edges used: e0 (0→2 sep3), e1 (1→2 skip), e2 (0→3 avg_pool), e4 (2→3 dil3),
# e6 (1→4 sep5), e8 (3→4 skip), e11 (2→5 max_pool), e13 (4→5 dil5).
HAND = DartsGenotype(
    (("sep_conv_3x3", 0), ("skip_connect", 1), ("avg_pool_3x3", 0), ("dil_conv_3x3", 2),
     ("sep_conv_5x5", 1), ("skip_connect", 3), ("max_pool_3x3", 2), ("dil_conv_5x5", 4)),
    (2, 3, 4, 5),
    (("sep_conv_3x3", 0), ("skip_connect", 1), ("avg_pool_3x3", 0), ("dil_conv_3x3", 2),
     ("sep_conv_5x5", 1), ("skip_connect", 3), ("max_pool_3x3", 2), ("dil_conv_5x5", 4)),
    (2, 3, 4, 5),
)
# The reference's list filtered by hand to the paths crossing no none edge, in its order, as (from, to) hops.
HAND_LIVE_PATHS = [
    [(0, 2), (2, 3), (3, 4), (4, 5)], [(0, 2), (2, 5)], [(0, 3), (3, 4), (4, 5)],
    [(1, 2), (2, 3), (3, 4), (4, 5)], [(1, 2), (2, 5)], [(1, 4), (4, 5)],
    [(0, 2), (2, 3), (3, 4)], [(0, 3), (3, 4)], [(1, 2), (2, 3), (3, 4)], [(1, 4)],
    [(0, 2), (2, 3)], [(0, 3)], [(1, 2), (2, 3)],
    [(0, 2)], [(1, 2)],
]
HAND_OPS = {(0, 2): ("sep_conv_3x3", 0), (1, 2): ("skip_connect", 1), (0, 3): ("avg_pool_3x3", 2),
            (2, 3): ("dil_conv_3x3", 4), (1, 4): ("sep_conv_5x5", 6), (3, 4): ("skip_connect", 8),
            (2, 5): ("max_pool_3x3", 11), (4, 5): ("dil_conv_5x5", 13)}


def _flat(*tensors: torch.Tensor) -> torch.Tensor:
    return torch.cat([t.detach().double().reshape(-1) for t in tensors])


def _hand_vector(model: torch.nn.Module, compat: str) -> torch.Tensor:
    """get_arch_vector written out from rlnas.md §3.2 by state-dict keys."""
    sd = model.state_dict()
    layers = len(model.cells)

    def hop(c: int, k: int, j: int) -> torch.Tensor:
        op, e = HAND_OPS[(k, j)]
        p = f"cells.{c}.edges.{e}.{op}."
        sep3 = f"cells.{c}.edges.{e}.sep_conv_3x3.op."
        strided = c in (layers // 3, 2 * layers // 3) and k < 2
        if op.endswith("pool_3x3"):
            channels = sd[sep3 + "1.weight"].shape[0]
            return _flat(torch.full((channels, 3, 3), 1 / 9), sd[p + "bn.weight"], sd[p + "bn.bias"])
        if op == "skip_connect" and strided:
            return _flat(sd[p + "conv_1.weight"], sd[p + "conv_2.weight"], sd[p + "bn.weight"], sd[p + "bn.bias"])
        if op == "skip_connect":
            return _flat(torch.eye(sd[sep3 + "6.weight"].shape[0]))
        if op.startswith("sep_conv"):
            return _flat(sd[p + "op.1.weight"], sd[p + "op.2.weight"], sd[p + "op.5.weight"], sd[p + "op.6.weight"],
                         sd[p + "op.3.weight"], sd[p + "op.3.bias"], sd[p + "op.7.weight"], sd[p + "op.7.bias"])
        second = sd[p + "op.3.weight"] if compat == "rlnas" else sd[p + "op.3.bias"]
        return _flat(sd[p + "op.1.weight"], sd[p + "op.2.weight"], sd[p + "op.3.weight"], second)

    blocks = []
    for c in range(layers):
        blocks.append(torch.cat([torch.cat([hop(c, k, j) for k, j in path]) for path in HAND_LIVE_PATHS]))
    extra = [_flat(sd["stem.0.weight"], sd["stem.1.weight"], sd["stem.1.bias"])]
    for c in range(layers):
        pre0 = f"cells.{c}.preprocess0."
        if pre0 + "conv_1.weight" in sd:
            extra.append(_flat(sd[pre0 + "conv_1.weight"], sd[pre0 + "conv_2.weight"], sd[pre0 + "bn.weight"],
                               sd[pre0 + "bn.bias"]))
        else:
            extra.append(_flat(sd[pre0 + "1.weight"], sd[pre0 + "2.weight"], sd[pre0 + "2.bias"]))
        pre1 = f"cells.{c}.preprocess1."
        extra.append(_flat(sd[pre1 + "1.weight"], sd[pre1 + "2.weight"], sd[pre1 + "2.bias"]))
    extra.append(_flat(sd["classifier.weight"]))
    return torch.cat(blocks + extra)


@pytest.mark.parametrize("compat", ["rlnas", "fixed"])
def test_literal_vector_equals_the_hand_built_reference_vector(cifar_pair, compat: str) -> None:
    initial, trained = cifar_pair
    for model, vector in zip((initial, trained), darts_angle_vectors(HAND, initial, trained, compat), strict=True):
        assert torch.equal(vector, _hand_vector(model, compat))


def test_dil_conv_compat_switch_changes_only_dil_conv_archs(cifar_pair) -> None:
    initial, trained = cifar_pair
    assert darts_angle_literal(HAND, initial, trained, "rlnas") != darts_angle_literal(HAND, initial, trained, "fixed")
    no_dil = SPACE.parse(str(HAND).replace("dil_conv_3x3", "sep_conv_3x3").replace("dil_conv_5x5", "sep_conv_5x5"))
    assert darts_angle_literal(no_dil, initial, trained, "rlnas") == darts_angle_literal(no_dil, initial, trained,
                                                                                         "fixed")
    with pytest.raises(NasInputError, match="angle_compat"):
        darts_angle_literal(HAND, initial, trained, "v2")


def _edge_case_codes() -> list[list[int]]:
    """Raw 28-int codes (not all repaired) that stress the path filter."""
    only_node2 = [4, 3] + [0] * 12  # nodes 3..5 read nothing: only paths ending at 2 live
    chain = [0, 5, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 0, 1]  # 1→2→3→4→5 only
    all_skip = [3] * 14
    all_pool = [1, 2] * 7
    return [only_node2 + chain, chain + only_node2, [0] * 14 + chain, all_skip + all_pool, all_pool + all_skip,
            [6, 7] * 7 + [7, 6] * 7]


@pytest.mark.parametrize("compat", ["rlnas", "fixed"])
def test_batched_equals_literal_on_random_genotypes_and_edge_cases(cifar_pair, compat: str) -> None:
    initial, trained = cifar_pair
    rng = np.random.default_rng(0)
    archs: list = [SPACE.sample(rng) for _ in range(40)]
    archs += [SPACE.mutate(archs[i], rng, 0.5, ops=("none", "skip_connect", "max_pool_3x3")) for i in range(10)]
    archs += [HAND, SPACE.coerce("RLDARTS"), SPACE.coerce("DARTS_V2")]
    edge_cases = _edge_case_codes()
    tables = DartsAngleTables.build(initial, trained, compat)
    fast = tables.angles(np.vstack([arch_codes(SPACE, archs), np.array(edge_cases)]))
    literal = np.array([darts_angle_literal(a, initial, trained, compat) for a in archs + edge_cases])
    np.testing.assert_allclose(fast, literal, rtol=0, atol=1e-9)
    assert np.unique(np.round(fast, 12)).size > 40  # distinct architectures, distinct angles


def test_batched_equals_literal_on_the_imagenet_supernet(imagenet_pair) -> None:
    initial, trained = imagenet_pair
    assert initial.imagenet
    rng = np.random.default_rng(1)
    archs = [SPACE.sample(rng) for _ in range(12)] + [HAND]
    fast = DartsAngleTables.build(initial, trained).angles(arch_codes(SPACE, archs))
    literal = np.array([darts_angle_literal(a, initial, trained) for a in archs])
    np.testing.assert_allclose(fast, literal, rtol=0, atol=1e-9)
    # ImageNet extras: stem0 (two convs + two BNs), stem1 (conv + BN) and the classifier's bias join the vector
    v0, _ = darts_angle_vectors(HAND, initial, trained)
    sd = initial.state_dict()
    tail = _flat(sd["classifier.weight"], sd["classifier.bias"])
    assert torch.equal(v0[-tail.numel():], tail)
    stems = _flat(*(sd[k] for k in ("stem0.0.weight", "stem0.1.weight", "stem0.1.bias", "stem0.3.weight",
                                    "stem0.4.weight", "stem0.4.bias", "stem1.1.weight", "stem1.2.weight",
                                    "stem1.2.bias")))
    preprocess = sum(p.numel() for cell in initial.cells
                     for p in [*cell.preprocess0.parameters(), *cell.preprocess1.parameters()])
    start = v0.numel() - tail.numel() - preprocess - stems.numel()  # extras follow all layer blocks
    assert torch.equal(v0[start:start + stems.numel()], stems)


def test_codes_and_genotypes_score_the_same(cifar_pair) -> None:
    initial, trained = cifar_pair
    codes = to_rlnas_codes(HAND)
    assert from_rlnas_codes(codes) == HAND
    assert darts_angle_literal(list(codes), initial, trained) == darts_angle_literal(HAND, initial, trained)


def test_non_affine_supernet_is_refused() -> None:
    cfg = NetworkConfig(num_classes=10, channels=4, layers=3, options={"affine": False})
    model = SPACE.supernet(cfg)
    with pytest.raises(NasInputError, match="affine"):
        DartsAngleTables.build(model, model)


def test_angle_score_reads_a_supernet_folder(tmp_path: Path, cifar_pair) -> None:
    initial, trained = cifar_pair
    folder = tmp_path / "sn"
    cfg = NetworkConfig(num_classes=10, channels=4, layers=5)
    run = RunFolder(folder)
    run.start(kind="supernet", space="darts", dataset="synthetic", config={}, seed=0,
              extra={"network": dataclasses.asdict(cfg)})
    atomic_torch_save({"model": initial.state_dict()}, folder / "init.pt")
    atomic_torch_save({"model": trained.state_dict()}, folder / "last.pt")
    run.finish("done")
    archs = [HAND, SPACE.coerce("RLDARTS"), SPACE.coerce("PDARTS")]
    for compat in ("rlnas", "fixed"):
        context = ScoreContext(space=SPACE, supernet_dir=folder, options={"angle_compat": compat})
        scores = make_score("angle", context).score(archs)
        expected = [angle_of_vectors(*darts_angle_vectors(a, initial, trained, compat)) for a in archs]
        np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9)
    default = make_score("angle", ScoreContext(space=SPACE, supernet_dir=folder)).score([HAND])
    assert default[0] == pytest.approx(darts_angle_literal(HAND, initial, trained, "rlnas"), abs=1e-12)
    with pytest.raises(NasInputError, match="angle_compat"):
        make_score("angle", ScoreContext(space=SPACE, supernet_dir=folder, options={"angle_compat": "new"}))
