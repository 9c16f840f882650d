"""CLI errors: the hints added to the library's neutral messages, usage errors exit 2, a
command's exit code passes through."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from mrfrecon.cli import app
from mrfrecon.cli._errors import error_line, handle_errors
from mrfrecon.errors import (
    EngineUnavailableError,
    OutputExistsError,
    one_line_message,
)

runner = CliRunner()


def test_library_messages_are_neutral_and_the_cli_adds_hints():
    exists = OutputExistsError("Output exists already: '/o/a.nii.gz'")
    assert "--" not in one_line_message(exists)
    assert error_line(exists) == "Output exists already: '/o/a.nii.gz' (use --overwrite)"
    engine = error_line(EngineUnavailableError("device 'fpga': no Alveo card found"))
    assert engine.startswith("device 'fpga': no Alveo card found (") and "--device" in engine
    assert "mrfrecon doctor" in engine
    assert error_line(RuntimeError("x")).endswith("run with MRFRECON_DEBUG=1 for the traceback")


@pytest.mark.parametrize(
    "args",
    [
        ["maps", "in.nii", "--model", "m.h5", "--output", "out", "--units", "min"],
        ["batch", "in", "--model", "m.h5", "--output", "out", "--units", "h"],
        ["retrain", "-s", "fisp_short400", "-o", "m.h5", "--engine", "magic"],
        ["retrain", "-s", "fisp_short400", "-o", "m.h5", "--device", "tpu"],
    ],
    ids=["maps-units", "batch-units", "retrain-engine", "retrain-device"],
)
def test_values_outside_a_vocabulary_are_usage_errors(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.stderr and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())  # nothing written, nothing started


def test_a_command_exit_code_passes_through(capsys):
    """``typer.Exit`` (batch: some studies failed) is not turned into ``Error: internal ...``."""

    @handle_errors
    def command() -> None:
        raise typer.Exit(3)

    with pytest.raises(typer.Exit) as exit_info:
        command()
    assert exit_info.value.exit_code == 3 and "Error" not in capsys.readouterr().err
