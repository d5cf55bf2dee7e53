"""Entry point of the `nas` command."""

from __future__ import annotations

import typer

from nascli import __version__
from nascli.cli import analyze, bench, correlate, flops_table, retrain, search, train_supernet, visualize
from nascli.cli.common import widen_when_piped

app = typer.Typer(
    name="nas",
    # each method or space joins this line when it lands (what the help promises must exist)
    help="Neural architecture search from the command line: RLNAS, BPE (reduced-budget training, RL / EA / RS / "
    "DARTS), DARTS, DrNAS, RMI-NAS and cell redundancy analysis on the NAS-Bench-201, DARTS and MobileNet spaces. "
    "Stages hand off through run folders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nascli {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """nas: one engine for RLNAS, BPE, DrNAS, RMI-NAS and cell redundancy analysis (DARTS, NB201, MobileNet)."""
    widen_when_piped()


train_supernet.register(app)
search.register(app)
retrain.register(app)
correlate.register(app)
visualize.register(app)
bench.register(app)
flops_table.register(app)
analyze.register(app)


if __name__ == "__main__":
    app()
