"""The ``mrfrecon`` command line: one module per command on top of the Python API."""

from __future__ import annotations

import typer

from .. import __version__
from . import cmd_demo, cmd_sequence, cmd_simulate

app = typer.Typer(
    name="mrfrecon",
    help="MR fingerprinting reconstruction: simulate sequences, retrain the quantised network "
    "(CPU/GPU/FPGA) and reconstruct quantitative T1/T2/M0 maps (times in ms).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mrfrecon {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """MR fingerprinting reconstruction."""


app.add_typer(cmd_sequence.app, name="sequence")
cmd_simulate.register(app)
cmd_demo.register(app)


def main() -> None:
    app()
