"""Comparing a search's outputs with files recorded at an earlier commit, up to the CPU's last-digit rounding.

numpy's AVX-512 kernels (CPUs numpy lists as X86_V4) round some exp / arccos results one ulp away from its AVX2
kernels, so a recorded float's last digit depends on the machine that wrote it; everything else must be equal.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

RELATIVE = 1e-12


def same_up_to_rounding(value: object, other: object) -> bool:
    """Equal JSON-like values, floats (and CSV cells holding decimals) within `RELATIVE`; types must match."""
    if isinstance(value, float) and isinstance(other, float):
        return value == pytest.approx(other, rel=RELATIVE, abs=1e-300)
    if isinstance(value, str) and isinstance(other, str) and value != other and "." in other:
        try:
            return same_up_to_rounding(float(value), float(other))
        except ValueError:
            return False
    if isinstance(value, list) and isinstance(other, list):
        return len(value) == len(other) and all(same_up_to_rounding(a, b) for a, b in zip(value, other, strict=True))
    if isinstance(value, dict) and isinstance(other, dict):
        return value.keys() == other.keys() and all(same_up_to_rounding(value[k], other[k]) for k in value)
    return type(value) is type(other) and value == other


def assert_same_json_lines(text: str, expected: str) -> None:
    """Each JSON line equal to the recorded one up to rounding."""
    lines, expected_lines = text.splitlines(), expected.splitlines()
    assert len(lines) == len(expected_lines)
    for number, (line, expected_line) in enumerate(zip(lines, expected_lines, strict=True)):
        assert same_up_to_rounding(json.loads(line), json.loads(expected_line)), f"line {number}: {line}"


def assert_same_csv_rows(text: str, expected: str) -> None:
    """Each CSV row equal to the recorded one up to rounding (the header exactly)."""
    rows, expected_rows = list(csv.reader(io.StringIO(text))), list(csv.reader(io.StringIO(expected)))
    assert len(rows) == len(expected_rows) and rows[0] == expected_rows[0]
    for row, expected_row in zip(rows[1:], expected_rows[1:], strict=True):
        assert same_up_to_rounding(row, expected_row), row
