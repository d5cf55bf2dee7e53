"""The comparison of a search's outputs with recorded ones forgives last-digit rounding and nothing else."""

from __future__ import annotations

import pytest

from tests.strategies.recorded_outputs import assert_same_csv_rows, assert_same_json_lines


def test_record_comparison_allows_only_last_digit_float_differences() -> None:
    line = '{"reward": 0.16666666666666666, "sample": [1, 2], "probabilities": [[0.2, 0.8]]}'
    assert_same_json_lines(line.replace("0.16666666666666666", "0.16666666666666669"), line)
    for wrong in (line.replace("0.16666666666666666", "0.16666666666"), line.replace("[1, 2]", "[1, 3]"),
                  line.replace("[[0.2, 0.8]]", "[[0.2, 0.8, 0.0]]"), line.replace("[1, 2]", "[1.0, 2]"),
                  f"{line}\n{line}"):
        with pytest.raises(AssertionError):
            assert_same_json_lines(wrong, line)


def test_row_comparison_allows_only_last_digit_differences() -> None:
    header = "arch,angle,step,index\n"
    row = "|none~0|,0.3357981700642491,0,14750\n"
    assert_same_csv_rows(header + row.replace("0.3357981700642491", "0.33579817006424917"), header + row)
    for wrong in (row.replace("0.3357981700642491", "0.33579817"), row.replace(",0,", ",1,"),
                  row.replace("none", "skip_connect"), row + row):
        with pytest.raises(AssertionError):
            assert_same_csv_rows(header + wrong, header + row)
