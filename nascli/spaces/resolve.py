"""One way to name an architecture on the command line: genotype.json, text form, index or registered name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nascli.errors import NasInputError
from nascli.spaces.base import Architecture, SearchSpace, get_space


def guess_space(value: str) -> str | None:
    """The space a text names, when it is unambiguous: '|op~0|…' → nb201, 'Genotype(' or a DARTS name → darts,
    21 ints from -1..5 or a MobileNet name (RLNAS_mobilenet) → mobilenet."""
    text = value.strip()
    if text.startswith("|"):
        return "nb201"
    if text.lstrip("+-").isdigit():
        return "nb201"
    if text.startswith("Genotype("):
        return "darts"
    from nascli.spaces.mobilenet.arch import looks_like_arch_text
    from nascli.spaces.mobilenet.genotypes import is_mobilenet_name

    if looks_like_arch_text(text) or is_mobilenet_name(text):
        return "mobilenet"
    try:
        from nascli.spaces.genotypes import GENOTYPES
    except ImportError:  # pragma: no cover - the DARTS space is always installed
        return None
    if text.lower() in {name.lower() for name in GENOTYPES}:
        return "darts"
    return None


def read_genotype_file(path: Path) -> dict[str, Any]:
    """A genotype.json written by `nas search` (or by hand): {space, arch | text, …}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise NasInputError(f"{path} is not valid JSON: pass a genotype.json written by `nas search`") from None
    if not isinstance(data, dict) or ("arch" not in data and "text" not in data):
        raise NasInputError(f"{path} is not a genotype file (it needs 'arch' or 'text'; `nas search` writes one)")
    return data


def resolve_architecture(value: str, space_name: str | None = None, **space_options: Any
                         ) -> tuple[SearchSpace, Architecture]:
    """Resolve a genotype.json path, a canonical text, an NB201 index or a registered DARTS name."""
    path = Path(value)
    try:
        is_file = path.is_file()
    except OSError:  # a genotype text longer than a file name may be (ENAMETOOLONG) is not a file
        is_file = False
    if value.endswith(".json") or is_file:
        if not is_file:
            raise NasInputError(f"genotype file {path} does not exist")
        data = read_genotype_file(path)
        recorded = data.get("space")
        if space_name and recorded and recorded != space_name:
            raise NasInputError(f"{path} holds a {recorded} architecture, not {space_name}: "
                                f"use --space {recorded}")
        options = dict(space_options)
        if isinstance(data.get("arch"), dict) and "bpe_code" in data["arch"]:
            options.setdefault("variant", "dense")  # BPE's dense DARTS cell
        space = get_space(space_name or recorded or "nb201", **options)
        return space, space.from_json(data["arch"]) if "arch" in data else space.parse(data["text"])
    guessed = guess_space(value)
    name = space_name or guessed
    if name is None:
        raise NasInputError(f"cannot tell which architecture {value!r} names: pass a genotype.json, an NB201 text "
                            "or index, a DARTS Genotype(...) text, 21 MobileNet ints or a registered name "
                            "(nas retrain --list-genotypes)")
    if space_name and guessed and guessed != space_name:
        raise NasInputError(f"{value[:60]!r} is a {guessed} architecture, not {space_name}: use --space {guessed}")
    space = get_space(name, **space_options)
    text = value.strip()
    if name == "darts" and not text.startswith("Genotype("):
        from nascli.spaces.genotypes import get_genotype

        return space, get_genotype(text)
    try:
        return space, space.coerce(text)
    except NasInputError:
        if name != "darts" or "variant" in space_options:
            raise
        dense = get_space("darts", variant="dense", **space_options)  # BPE's dense cell: every node reads all
        try:
            return dense, dense.parse(text)
        except NasInputError:
            pass
        raise
