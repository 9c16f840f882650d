"""``mrfrecon export``: the quantised network as QONNX (for FINN and other FPGA flows)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import OverwriteOption, check_output
from ._errors import handle_errors
from ._output import info


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)


@handle_errors
def export_command(
    model: Path = typer.Argument(..., help="Model file."),
    qonnx: Path = typer.Option(..., "--qonnx", help="QONNX file to write (.onnx)."),
    overwrite: bool = OverwriteOption,
) -> None:
    """Export the quantised network (integer weights, power-of-two scales) as QONNX."""
    from ..model import load_model
    from ..training.export import export_qonnx

    check_output(qonnx, overwrite)
    export_qonnx(load_model(model), qonnx, overwrite=overwrite)
    info(f"QONNX written: {qonnx}")
