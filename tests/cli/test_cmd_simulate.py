"""CLI: sequence show and simulate (exit codes, JSON on stdout, one-line errors)."""

from __future__ import annotations

import json

import h5py
from typer.testing import CliRunner

from mrfrecon.cli import app

runner = CliRunner()


def test_sequence_show_json(tmp_path):
    png = tmp_path / "seq.png"
    result = runner.invoke(app, ["sequence", "show", "fisp_short400", "--json", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {
        "kind",
        "fa_deg",
        "tr_ms",
        "te_ms",
        "phase_deg",
        "inversion",
        "n_timepoints",
        "sha256",
    }
    assert payload["n_timepoints"] == len(payload["fa_deg"]) == 400
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sequence_show_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: fisp\nfa_deg: [10, 200]\ntr_ms: 12\n")
    result = runner.invoke(app, ["sequence", "show", str(bad)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "fa_deg" in lines[0]
    assert "Traceback" not in result.output


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


def test_doctor_reports_tools():
    import shutil

    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert {"xrt", "devices", "ghdl", "yosys", "cocotb", "devices_usable", "torch"} <= set(found)
    assert "emu" in found["devices_usable"]
    assert (found["ghdl"] is None) == (shutil.which("ghdl") is None)
    assert ("fpga" in found["devices_usable"]) == bool(found["devices"] and found["xclbin_exists"])
