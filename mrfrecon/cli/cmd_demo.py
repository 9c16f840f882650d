"""``mrfrecon demo``: the built-in default job on the shipped FISP sequence."""

from __future__ import annotations

import typer

from .cmd_simulate import simulate


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Simulate the shipped FISP dictionary (fisp_jiang2015) and print its summary."""
    simulate(sequence="fisp_jiang2015", output=None, t1=None, t2=None, b1=None, df=None,
             rank=None, n_states=60, as_json=as_json, overwrite=False)
