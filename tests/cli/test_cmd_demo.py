"""CLI: mrfrecon demo (refusal to overwrite; the full run is marked slow)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mrfrecon.cli import app

runner = CliRunner()


def test_demo_refuses_existing_output(tmp_path):
    (tmp_path / "something").write_text("x")
    result = runner.invoke(app, ["demo", "--output", str(tmp_path)])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and "exists" in lines[0]


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--output", str(out), "--seconds", "3", "--size", "32",
                                 "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload["metrics"]) == {"quantized", "float", "matching"}
    assert payload["metrics"]["matching"]["t1"]["mape"] < 5
    assert (out / "report" / "index.html").is_file()
    assert (out / "maps" / "sub-phantom" / "anat" / "sub-phantom_desc-sd_T1map.nii.gz").is_file()
