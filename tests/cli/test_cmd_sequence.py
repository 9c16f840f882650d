"""CLI: sequence show (JSON on stdout, plot, one-line errors)."""

from __future__ import annotations

import json

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
