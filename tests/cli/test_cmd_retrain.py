"""CLI: retrain, evaluate and export end to end on the short schedule."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mrfrecon.cli import app
from mrfrecon.model import load_model
from mrfrecon.training.config import RetrainConfig

runner = CliRunner()
DEFAULTS = RetrainConfig()


def test_retrain_evaluate_export(tmp_path):
    model = tmp_path / "model.h5"
    result = runner.invoke(
        app,
        [
            "retrain",
            "--sequence",
            "fisp_short400",
            "--output",
            str(model),
            "--epochs",
            "2",
            "--samples",
            "3000",
            "--seed",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["quant_widths"] == [2 * summary["rank"], *DEFAULTS.quant_widths, 2]
    assert summary["seed"] == 1 and summary["svd"]["rank"] == summary["rank"]
    assert summary["float_activation"] == "relu"  # FISP: the generic float network
    assert load_model(model).n_timepoints == 400

    again = runner.invoke(
        app,
        [
            "retrain",
            "--sequence",
            "fisp_short400",
            "--output",
            str(model),
            "--epochs",
            "1",
            "--samples",
            "1000",
        ],
    )
    assert again.exit_code == 1 and "exists" in again.stderr

    png = tmp_path / "err.png"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(model),
            "--n",
            "300",
            "--noise",
            "0.03",
            "--plot",
            str(png),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics["methods"]) == {"float", "quantized", "matching"}
    for method in metrics["methods"].values():
        for param in ("t1", "t2"):
            assert set(method[param]) == {"n", "mape", "mpe", "rmse_ms", "rmse_over_crb"}
            assert method[param]["rmse_over_crb"] >= 0.5  # nothing beats the bound by much
    assert metrics["noise"] == 0.03 and metrics["n"] == 300
    assert metrics["representation"] == "complex"
    assert png.read_bytes()[:4] == b"\x89PNG"

    result = runner.invoke(app, ["evaluate", "--model", str(model), "--n", "300", "--noise",
                                 "0.03", "--magnitude", "--json"])
    assert result.exit_code == 0, result.output
    magnitude = json.loads(result.stdout)
    assert magnitude["representation"] == "magnitude"
    assert set(magnitude["methods"]) == {"float", "quantized", "matching"}
    for name, method in magnitude["methods"].items():  # same test set, other estimates
        assert set(method["t1"]) == {"n", "mape", "mpe", "rmse_ms", "rmse_over_crb"}
        assert method["t1"]["mape"] != metrics["methods"][name]["t1"]["mape"]

    onnx_path = tmp_path / "net.onnx"
    result = runner.invoke(app, ["export", str(model), "--qonnx", str(onnx_path)])
    assert result.exit_code == 0, result.output
    assert onnx_path.stat().st_size > 500


def test_retrain_bad_engine_and_device(tmp_path):
    out = tmp_path / "m.h5"
    # Values outside the vocabulary are usage errors (typer's choices, exit 2).
    result = runner.invoke(
        app, ["retrain", "-s", "fisp_short400", "-o", str(out), "--engine", "magic"]
    )
    assert result.exit_code == 2 and "'magic'" in result.stderr
    result = runner.invoke(
        app, ["retrain", "-s", "fisp_short400", "-o", str(out), "--device", "tpu"]
    )
    assert result.exit_code == 2 and "'tpu'" in result.stderr
    # A device of the other engine is the library's one-line error, with the CLI's hint.
    result = runner.invoke(
        app, ["retrain", "-s", "fisp_short400", "-o", str(out), "--device", "emu"]
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1
    assert "unknown device 'emu' for the qat engine" in lines[0]
    assert "--device" in lines[0] and "mrfrecon doctor" in lines[0]
    assert not out.exists()


def test_evaluate_magnitude_needs_magnitude_networks(tmp_path):
    model = tmp_path / "complex-only.h5"
    result = runner.invoke(app, ["retrain", "-s", "fisp_short400", "-o", str(model), "--epochs",
                                 "1", "--samples", "1000", "--no-magnitude", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["representations"] == ["complex"]
    result = runner.invoke(app, ["evaluate", "--model", str(model), "--magnitude", "--n", "50"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "no magnitude networks" in lines[0] and "retrain" in lines[0]


def test_full_output_disk_is_refused_before_training(tmp_path, monkeypatch):
    import mrfrecon.limits as limits

    monkeypatch.setattr(limits, "LIMITS", limits.Limits(min_free_output_bytes=1 << 60))
    result = runner.invoke(app, ["retrain", "-s", "fisp_short400", "-o", str(tmp_path / "m.h5"),
                                 "--epochs", "1"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "min_free_output_bytes" in lines[0] and "Simulating" not in result.output
    assert not (tmp_path / "m.h5").exists()
