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
    SequenceError,
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


def _message_strings() -> list[tuple[str, str]]:
    """(file, text) of every string a user can see in an error or warning: raised messages,
    the CLI's hints, warnings and problem lists."""
    import ast
    from pathlib import Path

    import mrfrecon

    found = []
    for path in sorted(Path(mrfrecon.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text())
        roots: list[ast.AST] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None:
                roots.append(node.exc)
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and any(
                    isinstance(t, ast.Name) and t.id == "HINTS"
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
                roots.append(node.value)
            elif isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                receiver = getattr(func, "value", None)
                owner = getattr(receiver, "id", "") or getattr(receiver, "attr", "")
                if name in ("warn", "error_line") or (
                        name == "append" and ("warning" in owner or "problem" in owner)):
                    roots.append(node)
        for root in roots:
            for sub in ast.walk(root):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    found.append((path.name, sub.value))
    return found


def _cli_options() -> set[str]:
    import click

    options: set[str] = set()

    def visit(command: click.Command) -> None:
        for param in command.params:
            options.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
        for sub in getattr(command, "commands", {}).values():
            visit(sub)

    visit(typer.main.get_command(app))
    return options


def test_every_flag_named_in_a_message_is_a_cli_option():
    import re

    messages = _message_strings()
    assert any("--overwrite" in text for _, text in messages)  # the scan sees the hints
    assert any("--series" in text for _, text in messages)
    options = _cli_options()
    named = {(where, flag) for where, text in messages
             for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text)}
    assert len(named) >= 5
    missing = sorted(f"{flag} ({where})" for where, flag in named if flag not in options)
    assert not missing, f"messages name options the CLI does not have: {missing}"
    # nor a Python keyword the CLI does not offer (was: "choose with series_uid")
    import inspect

    from mrfrecon.batch import run_batch
    from mrfrecon.io import read_acquisition
    from mrfrecon.recon import run_maps

    keywords = {p for f in (read_acquisition, run_maps, run_batch)
                for p in inspect.signature(f).parameters if "_" in p}
    leaked = sorted({f"{k} ({where})" for where, text in messages for k in keywords
                     if re.search(rf"(?<![\w.]){k}\b", text)})  # not a config key a.b
    assert not leaked, f"messages name Python keywords, not CLI options: {leaked}"


def test_several_acquisitions_hint_names_the_series_option():
    from mrfrecon.errors import AmbiguousInputError

    line = error_line(AmbiguousInputError("'/in': 2 MRF acquisitions found, choose one by "
                                          "SeriesNumber or SeriesInstanceUID: ..."))
    assert line.endswith("(choose one with --series NUMBER|UID)")
    assert "--series" in _cli_options()


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


def test_epochs_and_seconds_together_both_apply():
    from mrfrecon.training import RetrainConfig

    config = RetrainConfig.from_options(epochs=2, seconds=5.0)
    assert config.max_epochs == (2, 2, 2) and config.seconds == 5.0  # length, and its cap
    assert RetrainConfig.from_options().seconds is None  # no clock by default


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
