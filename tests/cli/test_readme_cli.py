"""The README and the CLI cannot drift apart: every flag of every README command exists in that command's --help,
every option's help shows its default, and `nas --help` names only methods and spaces that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from nascli.cli.main import app
from tests.e2e.helpers import nas

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands() -> dict[str, Any]:
    """'train-supernet', 'bench query', … → the command object typer builds (its params are the real flags)."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: list[str]) -> None:
        if path:
            found[" ".join(path)] = command
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _flags(command: Any) -> set[str]:
    flags = {"--help", "-h"}
    for param in command.params:
        flags.update(param.opts)
        flags.update(getattr(param, "secondary_opts", []))
    return flags


def readme_commands() -> list[list[str]]:
    """Each `nas …` command of the README's bash blocks and inline code, as argument lists after `nas`."""
    text = README.read_text(encoding="utf-8")
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        lines += block.replace("\\\n", " ").splitlines()
    lines += re.findall(r"`([^`\n]*\bnas [a-z][^`\n]*)`", text)
    commands = []
    for line in lines:
        try:
            words = shlex.split(line.replace("…", ""), comments=True)
        except ValueError:
            continue
        starts = [i for i, word in enumerate(words) if word == "nas" or word.endswith("/nas")]
        if starts:
            commands.append(words[starts[0] + 1:])
    return commands


def test_the_readme_shows_commands_of_every_stage() -> None:
    named = {words[0] for words in readme_commands() if words}
    assert {"train-supernet", "search", "correlate", "retrain", "flops-table", "visualize", "bench"} <= named


@pytest.mark.parametrize("words", readme_commands(), ids=lambda words: " ".join(words)[:60])
def test_every_readme_flag_exists_in_its_commands_help(words: list[str]) -> None:
    commands = _commands()
    name = " ".join(words[:2]) if " ".join(words[:2]) in commands else words[0]
    assert name in commands, f"README runs `nas {name}`, which does not exist"
    unknown = [w.split("=")[0] for w in words if w.startswith("-") and w.split("=")[0] not in _flags(commands[name])]
    assert not unknown, f"README passes {unknown} to `nas {name}`, whose --help has no such option"


def test_every_option_shows_its_default_in_help() -> None:
    missing = []
    for name, command in _commands().items():
        for param in [] if hasattr(command, "commands") else command.params:
            if param.param_type_name != "option" or param.hidden or param.is_flag or param.required:
                continue
            shown_by_typer = param.default not in (None, (), []) and param.show_default is not False
            if not shown_by_typer and "default" not in (param.help or "").lower():
                missing.append(f"nas {name} {param.opts[0]}")
    assert not missing, f"these options do not say their default in --help: {missing}"


def test_top_level_help_names_only_what_exists() -> None:
    import nascli.spaces  # noqa: F401 - registers the built-in spaces
    import nascli.strategies  # noqa: F401 - registers the built-in strategies
    from nascli.spaces.base import SPACES
    from nascli.strategies.base import STRATEGIES

    code, output = nas("--help")
    assert code == 0
    text = " ".join(output.split())
    assert "RLNAS" in text and "DrNAS" in text and "NAS-Bench-201" in text
    for name, exists in (("MobileNet", "mobilenet" in SPACES), ("RMI-NAS", "rf" in STRATEGIES),
                         ("BPE", "trained-acc" in _scores())):
        assert exists or name not in text, f"`nas --help` promises {name}, which is not built"


def _scores() -> Any:
    import nascli.scores  # noqa: F401 - registers the built-in scores
    from nascli.scores.base import SCORES

    return SCORES
