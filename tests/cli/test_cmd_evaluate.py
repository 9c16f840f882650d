"""CLI: mrfrecon evaluate (a missing model is a one-line error)."""

from __future__ import annotations

from typer.testing import CliRunner

from mrfrecon.cli import app

runner = CliRunner()


def test_evaluate_missing_model(tmp_path):
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "none.h5")])
    assert result.exit_code == 1 and "model file not found" in result.stderr
