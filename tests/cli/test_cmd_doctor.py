"""CLI: mrfrecon doctor --json reports the tools and the usable devices."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mrfrecon.cli import app

runner = CliRunner()


def test_doctor_reports_tools():
    import shutil

    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert {"xrt", "devices", "ghdl", "yosys", "cocotb", "devices_usable", "torch"} <= set(found)
    assert "emu" in found["devices_usable"]
    assert (found["ghdl"] is None) == (shutil.which("ghdl") is None)
    assert ("fpga" in found["devices_usable"]) == bool(found["devices"] and found["xclbin_exists"])
