"""`--strategy list`: every accepted text form, CSV columns, duplicates once, resumable, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nascli.config import RuntimeConfig, SearchConfig
from nascli.errors import NasInputError
from nascli.spaces import get_space
from nascli.spaces.darts import format_nested
from nascli.strategies import make_strategy
from nascli.strategies.list import read_architectures
from nascli.strategies.runner import run_search

NB201_9930 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NB201_8124 = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"


def test_nb201_list_reads_strings_and_indices_skips_comments_and_scores_repeats_once(tmp_path: Path) -> None:
    path = tmp_path / "cells.txt"
    path.write_text(f"# three cells\n{NB201_8124}\n\n  9930  \n0\n{NB201_9930}\n", encoding="utf-8")
    space = get_space("nb201")
    listing = read_architectures(space, path)
    assert [space.index(a) for a in listing.archs] == [8124, 9930, 0]
    assert listing.lines == [2, 4, 5] and listing.duplicates == [(6, 4)]
    result = run_search(SearchConfig(strategy="list", score="params", archs=str(path), batch=2,
                                     runtime=RuntimeConfig(quiet=True)), tmp_path / "run")
    rows = (tmp_path / "run" / "scores.csv").read_text().splitlines()
    assert rows[0] == "arch,params,step,index"
    assert [row.split(",")[-2:] for row in rows[1:]] == [["0", "8124"], ["0", "9930"], ["1", "0"]]
    assert result.evaluated == 3


def test_darts_list_reads_flat_nested_and_named_genotypes_and_csv_columns(tmp_path: Path) -> None:
    space = get_space("darts")
    darts_v2 = space.coerce("DARTS_V2")
    rldarts = space.coerce("RLDARTS")
    swapped = format_nested(darts_v2).replace("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)]",
                                              "[('sep_conv_3x3', 1), ('sep_conv_3x3', 0)]", 1)
    text = tmp_path / "cells.txt"
    text.write_text(f"DARTS_V2\n{format_nested(rldarts)}\n{space.format(rldarts)}\n{swapped}\nPDARTS\n",
                    encoding="utf-8")
    listing = read_architectures(space, text)
    assert listing.archs[:2] == [darts_v2, rldarts] and len(listing.archs) == 3
    assert listing.duplicates == [(3, 2), (4, 1)]  # the flat copy, and DARTS_V2 with a node's edges swapped

    scores = tmp_path / "scores.csv"
    scores.write_text(f"arch,angle,step\n\"{space.format(rldarts)}\",0.5,0\n", encoding="utf-8")
    assert read_architectures(space, scores).archs == [rldarts]
    table = tmp_path / "table.csv"
    table.write_text(f"arch_id,genotype\n0,\"{format_nested(darts_v2)}\"\n1,RLDARTS\n", encoding="utf-8")
    assert read_architectures(space, table, "genotype").archs == [darts_v2, rldarts]
    with pytest.raises(NasInputError, match="no column 'arch'.*arch_id, genotype.*--arch-column"):
        read_architectures(space, table)


def test_a_bad_line_names_its_line_and_the_space_it_looks_like(tmp_path: Path) -> None:
    path = tmp_path / "cells.txt"
    path.write_text(f"DARTS_V2\n{NB201_9930}\n", encoding="utf-8")
    with pytest.raises(NasInputError, match=r"line 2: not a darts architecture .*--space nb201"):
        read_architectures(get_space("darts"), path)
    with pytest.raises(NasInputError, match="line 1: not a nb201 architecture .*--space darts"):
        read_architectures(get_space("nb201"), path)
    with pytest.raises(NasInputError, match="pass --archs FILE"):
        make_strategy("list", get_space("nb201"), SearchConfig(strategy="list"))
    with pytest.raises(NasInputError, match="does not exist"):
        read_architectures(get_space("nb201"), tmp_path / "absent.txt")


def test_list_resumes_at_its_position_and_refuses_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "cells.txt"
    path.write_text("1\n2\n3\n4\n5\n", encoding="utf-8")
    cfg = SearchConfig(strategy="list", archs=str(path), batch=2)
    space = get_space("nb201")
    strategy = make_strategy("list", space, cfg)
    first = strategy.ask()
    strategy.tell(first, [0.0, 1.0])
    state = json.loads(json.dumps(strategy.state_dict()))
    resumed = make_strategy("list", space, cfg)
    resumed.load_state_dict(state)
    assert [space.index(a) for a in resumed.ask()] == [3, 4]
    assert [space.index(a) for a in resumed.ask()] == [5] and resumed.ask() == []
    path.write_text("1\n2\n3\n", encoding="utf-8")
    with pytest.raises(NasInputError, match="changed since this search started"):
        make_strategy("list", space, cfg).load_state_dict(state)
