"""Errors: one shared one-line message (library), the CLI's hints, usage errors exit 2."""

from __future__ import annotations

import errno

import pytest
import typer
from typer.testing import CliRunner

from mrfrecon.cli import app
from mrfrecon.cli._errors import error_line, handle_errors
from mrfrecon.errors import (
    EngineUnavailableError,
    OutputExistsError,
    SequenceError,
    one_line_message,
)

runner = CliRunner()


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (SequenceError("fa_deg (200)\n  must be <= 180"), "fa_deg (200) must be <= 180"),
        (FileNotFoundError(errno.ENOENT, "No such file", "/x/y.h5"),
         "[Errno 2] No such file: '/x/y.h5'"),
        (ValueError(""), "ValueError"),
        (RuntimeError("boom\nagain"), "internal error (RuntimeError: boom again)"),
    ],
    ids=["collapsed", "oserror-file", "empty", "bug"],
)
def test_one_line_message(err, expected):
    assert one_line_message(err) == expected


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


@pytest.mark.parametrize("err", [MemoryError(), EOFError("Compressed file ended"),
                                 RecursionError("maximum recursion depth")],
                         ids=["memory", "eof", "recursion"])
def test_resource_failures_are_said_in_words(err):
    assert "internal error" not in one_line_message(err)


def test_library_warnings_do_not_precede_the_error():
    import warnings

    @handle_errors
    def noisy() -> None:
        warnings.warn("invalid value encountered in divide", RuntimeWarning, stacklevel=1)
        raise SequenceError("bad schedule")

    sub = typer.Typer()
    sub.command()(noisy)
    result = runner.invoke(sub, [])
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        "Error: bad schedule"]


def test_epochs_and_seconds_together_are_refused(tmp_path):
    result = runner.invoke(app, ["retrain", "-s", "fisp_short400", "-o", str(tmp_path / "m.h5"),
                                 "--epochs", "2", "--seconds", "5"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and "--epochs" in lines[0]
    assert not (tmp_path / "m.h5").exists()


@pytest.mark.parametrize(
    ("args", "limit"),
    [
        (["simulate", "-s", "fisp_short400", "--states", "100000"], "max_states"),
        (["simulate", "-s", "fisp_short400", "--t1", "1:100000:0.01"], "max_range_values"),
        (["phantom", "-s", "fisp_short400", "-o", "{tmp}/p", "--size", "1000000"],
         "memory_fraction"),
        (["retrain", "-s", "fisp_short400", "-o", "{tmp}/m.h5", "--samples", "10000000000"],
         "memory_fraction"),
        (["retrain", "-s", "fisp_short400", "-o", "{tmp}/m.h5", "--seed", str(2**70)],
         "--seed must be in"),
        (["phantom", "-s", "fisp_short400", "-o", "{tmp}/p", "--seed", "-1"], "--seed must be in"),
    ],
    ids=["states", "grid", "phantom-size", "samples", "seed-overflow", "seed-negative"],
)
def test_option_bombs_are_refused_before_work(tmp_path, args, limit):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(app, args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and limit in lines[0], result.output
    assert not any(tmp_path.iterdir())
