"""CLI: simulate (exit codes, JSON on stdout, refusal to overwrite, one-line errors)."""

from __future__ import annotations

import json

import h5py
from typer.testing import CliRunner

from mrfrecon.cli import app

runner = CliRunner()


def test_simulate_writes_and_refuses_overwrite(tmp_path):
    out = tmp_path / "dict.h5"
    args = [
        "simulate",
        "--sequence",
        "fisp_short400",
        "--t1",
        "100:1000:100",
        "--t2",
        "20:200:20",
        "--rank",
        "8",
        "--output",
        str(out),
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    with h5py.File(out) as f:
        assert f["atoms"].shape == (summary["n_atoms"], 400)
        assert f["basis"].shape == (400, 8)
    before = out.read_bytes()
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "exists" in again.stderr
    assert out.read_bytes() == before


def test_simulate_bad_range():
    result = runner.invoke(app, ["simulate", "--t1", "100:50:10"])
    assert result.exit_code == 1 and "STEP > 0" in result.stderr
