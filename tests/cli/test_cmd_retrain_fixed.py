"""`retrain --engine fixed`: the software emulator and the GHDL simulation give one model."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from mrfrecon.cli import app
from mrfrecon.model import load_model

runner = CliRunner()
ARGS = [
    "retrain",
    "--sequence",
    "fisp_short400",
    "--engine",
    "fixed",
    "--epochs",
    "1",
    "--samples",
    "1000",
    "--fixed-samples",
    "48",
    "--fixed-epochs",
    "1",
    "--seed",
    "5",
]


def _train(tmp_path, device: str):
    out = tmp_path / f"{device}.h5"
    result = runner.invoke(app, [*ARGS, "--device", device, "--output", str(out)])
    assert result.exit_code == 0, result.output
    return load_model(out)


def test_fixed_engine_emu_runs(tmp_path):
    model = _train(tmp_path, "emu")
    assert model.provenance["engine"] == "fixed" and model.provenance["device"] == "emu"


@pytest.mark.hdl
@pytest.mark.skipif(shutil.which("ghdl") is None, reason="GHDL not installed")
def test_fixed_engine_hdl_equals_emu(tmp_path):
    emu, hdl = _train(tmp_path, "emu"), _train(tmp_path, "hdl")
    for a, b in zip(emu.int_net.layers, hdl.int_net.layers, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
    assert hdl.provenance["device"] == "hdl"


def test_fixed_engine_fpga_without_card_is_one_line(tmp_path):
    result = runner.invoke(app, [*ARGS, "--device", "fpga", "--output", str(tmp_path / "f.h5")])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:")
    assert not (tmp_path / "f.h5").exists()
