"""The two FLOPs conventions: macs, and RLNAS's thop (a Linear counts (2·in − 1)·out); lookups record theirs."""

from __future__ import annotations

import pytest
from torch import nn

from nascli.errors import NasInputError
from nascli.spaces.flops import count_flops
from nascli.spaces.flops_lookup import check_lookup, lookup_convention


def test_linear_and_biased_conv_in_both_conventions() -> None:
    model = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, bias=True), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    conv_outputs = 8 * 6 * 6
    assert count_flops(model, (4, 6, 6), meta=False) == conv_outputs * (4 * 9 + 1) + (8 + 1) * 5
    # thop count_convNd: in · outputs · (k² + bias) // groups; count_linear: (2·in − 1)·out; BN, ReLU, pool 0
    assert count_flops(model, (4, 6, 6), meta=False, convention="rlnas-thop") == 4 * conv_outputs * 10 + 15 * 5
    grouped = nn.Conv2d(6, 6, 3, groups=3, bias=False)
    assert count_flops(grouped, (6, 5, 5), meta=False, convention="rlnas-thop") == 6 * (6 * 9) * 9 // 3
    with pytest.raises(NasInputError, match="unknown FLOPs convention"):
        count_flops(model, (4, 6, 6), convention="thop")


def test_lookups_record_their_convention() -> None:
    base = {"kind": "flops-table", "format_version": 1, "space": "darts", "fixed": {}, "positions": []}
    assert lookup_convention(base) == "macs"  # written before conventions existed
    assert lookup_convention({**base, "flops_convention": "rlnas-thop"}) == "rlnas-thop"
    with pytest.raises(NasInputError, match="unknown FLOPs convention"):
        check_lookup({**base, "flops_convention": "flops"})
    with pytest.raises(NasInputError, match="not mobilenet"):
        check_lookup(base, space="mobilenet")
