"""Registry of published DARTS genotypes: values as the papers print them, round trips, published sizes."""

from __future__ import annotations

import pytest

from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.darts import (
    NetworkCIFAR,
    NetworkImageNet,
    from_bpe_codes,
    from_nb301_config,
    from_nested,
    from_rlnas_codes,
    from_rmi_onehot,
    parse_genotype,
    to_bpe_codes,
    to_nb301_config,
    to_nested,
    to_rlnas_codes,
    to_rmi_onehot,
)
from nascli.spaces.flops import count_params
from nascli.spaces.genotypes import GENOTYPES, get_genotype, get_named_genotype

REQUIRED = (
    "DARTS_V1", "DARTS_V2", "PC_DARTS_cifar", "PC_DARTS_image", "PDARTS", "DrNAS_cifar10", "DrNAS_imagenet",
    "RLDARTS", "RLDARTS_imagenet", "RLDARTS_imagenet_600M", "GDAS", "SNAS",
)

# the three genotypes printed in the RLNAS readme (shared/seeds/rlnas-readme.md), node by node
RLNAS_README = {
    "RLDARTS": (
        [("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("dil_conv_3x3", 0), ("sep_conv_5x5", 2),
         ("sep_conv_3x3", 0), ("dil_conv_5x5", 3), ("dil_conv_5x5", 1), ("dil_conv_3x3", 2)],
        [("sep_conv_5x5", 0), ("dil_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 2),
         ("dil_conv_3x3", 1), ("sep_conv_3x3", 3), ("max_pool_3x3", 1), ("sep_conv_5x5", 2)],
    ),
    "RLDARTS_imagenet": (
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2),
         ("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1)],
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 2),
         ("sep_conv_5x5", 0), ("sep_conv_5x5", 2), ("sep_conv_3x3", 2), ("sep_conv_3x3", 4)],
    ),
    "RLDARTS_imagenet_600M": (
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 1), ("sep_conv_3x3", 2),
         ("sep_conv_3x3", 1), ("sep_conv_3x3", 2), ("skip_connect", 0), ("sep_conv_3x3", 4)],
        [("sep_conv_3x3", 0), ("max_pool_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 1),
         ("sep_conv_3x3", 0), ("dil_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1)],
    ),
}

# `cand = [...]` comments in RLNAS .../{cifar10,imagenet}/rlnas/retrain_architecture/genotypes.py
RLNAS_CANDS = {
    "RLDARTS": ([5, 4, 6, 0, 5, 4, 0, 0, 7, 0, 7, 6, 0, 0], [5, 6, 4, 0, 5, 0, 6, 0, 4, 0, 1, 5, 0, 0]),
    "RLDARTS_imagenet": ([4, 4, 0, 4, 4, 4, 5, 0, 0, 4, 4, 0, 0, 0], [4, 4, 5, 0, 4, 5, 0, 5, 0, 0, 0, 4, 0, 4]),
    "RLDARTS_imagenet_600M": (
        [4, 4, 0, 3, 4, 0, 4, 4, 0, 3, 0, 0, 0, 4], [4, 1, 4, 3, 0, 4, 6, 0, 0, 3, 4, 0, 0, 0],
    ),
}

# DrNAS DARTS-space/genotypes.py (methods/drnas.md §3)
DRNAS = {
    "DrNAS_cifar10": (
        [("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2),
         ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2), ("dil_conv_5x5", 3)],
        [("max_pool_3x3", 0), ("sep_conv_5x5", 1), ("dil_conv_5x5", 2), ("sep_conv_5x5", 1),
         ("sep_conv_5x5", 1), ("dil_conv_5x5", 3), ("skip_connect", 4), ("sep_conv_5x5", 1)],
    ),
    "DrNAS_imagenet": (
        [("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
         ("sep_conv_3x3", 0), ("dil_conv_3x3", 3), ("skip_connect", 0), ("sep_conv_3x3", 1)],
        [("max_pool_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2),
         ("sep_conv_3x3", 0), ("sep_conv_3x3", 2), ("sep_conv_3x3", 3), ("sep_conv_3x3", 1)],
    ),
}


def test_registry_holds_the_required_names() -> None:
    assert set(REQUIRED) <= set(GENOTYPES)
    for entry in GENOTYPES.values():
        assert entry.source and "/" in entry.source


@pytest.mark.parametrize("name", sorted({**RLNAS_README, **DRNAS}))
def test_published_genotypes_match_the_printed_pairs(name: str) -> None:
    normal, reduce = {**RLNAS_README, **DRNAS}[name]
    genotype = get_genotype(name)
    assert list(genotype.normal) == normal
    assert list(genotype.reduce) == reduce


@pytest.mark.parametrize("name", sorted(RLNAS_CANDS))
def test_rlnas_codes_equal_the_reference_cands(name: str) -> None:
    codes = to_rlnas_codes(get_genotype(name))
    assert (list(codes[:14]), list(codes[14:])) == RLNAS_CANDS[name]
    assert from_rlnas_codes(RLNAS_CANDS[name]) == get_genotype(name)


@pytest.mark.parametrize("name", sorted(GENOTYPES))
def test_every_entry_round_trips_through_every_form(name: str) -> None:
    space = get_space("darts")
    genotype = get_genotype(name)
    canonical = genotype.canonical()
    assert space.parse(space.format(genotype)) == genotype
    assert space.from_json(space.to_json(genotype)) == genotype
    assert from_nested(to_nested(genotype)) == genotype
    assert from_rlnas_codes(to_rlnas_codes(genotype)) == canonical
    assert from_bpe_codes(to_bpe_codes(genotype)) == canonical
    assert from_rmi_onehot(*to_rmi_onehot(genotype)) == canonical
    assert from_nb301_config(to_nb301_config(genotype)) == canonical


def test_gdas_nested_source_text_parses() -> None:
    # D-X-Y prints GDAS_V1 as nested tuples; flat it reads node by node
    gdas = get_genotype("GDAS")
    assert gdas.normal[:4] == (("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 0), ("sep_conv_5x5", 2))
    assert gdas.reduce[6:] == (("sep_conv_5x5", 0), ("sep_conv_5x5", 1))


def test_lookup_is_case_insensitive_with_aliases_and_clear_errors() -> None:
    assert get_genotype("rldarts") == get_genotype("RLDARTS")
    assert get_genotype("pc_darts") == get_genotype("PC_DARTS_cifar")
    assert get_genotype("darts") == get_genotype("DARTS_V2")
    assert get_named_genotype("drnas_IMAGENET").name == "DrNAS_imagenet"
    with pytest.raises(NasInputError) as error:
        get_genotype("RLDARTS_v9")
    assert "RLDARTS_v9" in str(error.value) and "PDARTS" in str(error.value)


def test_registry_paper_figures_are_the_published_ones() -> None:
    assert GENOTYPES["DARTS_V2"].paper_params == {"cifar10": 3.3, "imagenet": 4.7}
    assert GENOTYPES["DARTS_V2"].paper_flops == {"imagenet": 574}
    assert GENOTYPES["RLDARTS"].paper_flops == {"imagenet": 629, "imagenet_c46": 581}
    assert GENOTYPES["RLDARTS_imagenet_600M"].paper_flops == {"imagenet": 597}
    assert "574M" in GENOTYPES["DARTS_V2"].note


# published CIFAR-10 sizes (C=36, L=20, 10 classes), aux head excluded
CIFAR_PARAMS_M = {"DARTS_V2": 3.3, "PC_DARTS_cifar": 3.6, "PDARTS": 3.4, "DrNAS_cifar10": 4.1, "GDAS": 3.4}
# published ImageNet sizes (C=48, L=14, 1000 classes)
IMAGENET_PARAMS_M = {
    "DARTS_V2": 4.7, "PC_DARTS_image": 5.3, "PC_DARTS_cifar": 5.3, "DrNAS_imagenet": 5.7, "RLDARTS": 5.7,
    "RLDARTS_imagenet_600M": 5.5, "PDARTS": 4.9,
}


@pytest.mark.parametrize("name", sorted(CIFAR_PARAMS_M))
def test_cifar_params_within_2_percent_of_the_papers(name: str) -> None:
    params = count_params(NetworkCIFAR(get_genotype(name), channels=36, num_classes=10, layers=20, auxiliary=True))
    assert params / 1e6 == pytest.approx(CIFAR_PARAMS_M[name], rel=0.02)


@pytest.mark.parametrize("name", sorted(IMAGENET_PARAMS_M))
def test_imagenet_params_within_2_percent_of_the_papers(name: str) -> None:
    net = NetworkImageNet(get_genotype(name), channels=48, num_classes=1000, layers=14, auxiliary=True)
    assert count_params(net) / 1e6 == pytest.approx(IMAGENET_PARAMS_M[name], rel=0.02)


def test_rldarts_at_46_channels_has_the_published_5_3m() -> None:
    net = NetworkImageNet(get_genotype("RLDARTS"), channels=46, num_classes=1000, layers=14, auxiliary=True)
    assert count_params(net) / 1e6 == pytest.approx(5.3, rel=0.02)


def test_entries_are_valid_under_the_parser_they_were_written_for() -> None:
    # the registry text is the canonical form; re-parsing it must not change anything
    for entry in GENOTYPES.values():
        assert parse_genotype(entry.text) == entry.genotype


def test_space_cost_reports_the_paper_size_network_in_millions() -> None:
    space = get_space("darts")
    assert space.cost("RLDARTS", "params", "imagenet") == pytest.approx(5.7, rel=0.02)
    assert space.cost("RLDARTS", "flops", "imagenet") == pytest.approx(629, rel=0.05)
    assert space.cost(get_genotype("DARTS_V2"), "params", "cifar10") == pytest.approx(3.3, rel=0.02)
    with pytest.raises(NasInputError, match="latency"):
        space.cost("RLDARTS", "latency")
