"""``benchmarks/engine.py --json``: the keys, the projection arithmetic and the clock sources."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "engine.py"
QUICK = ["--json", "--samples", "2048", "--batches", "16,256", "--seconds", "0.02", "--repeats", "2",
         "--threads", "1"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engine", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_json_has_the_projection_and_the_cpu_best(bench, capsys):
    assert bench.main([*QUICK, "--cycles-per-sample", "12", "--clock-mhz", "300"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"fpga_projected_samples_per_s", "cpu_best_samples_per_s", "cycles_per_sample",
            "clock_mhz"} <= set(result)
    assert result["fpga_projected_samples_per_s"] == pytest.approx(25e6)
    assert result["fpga_vs_reference"] == pytest.approx(20.0)
    rows = result["cpu_torch_samples_per_s"]
    assert {(r["threads"], r["batch"]) for r in rows} == {(1, 16), (1, 256)}
    assert all(r["samples_per_s"] > 0 for r in rows)
    assert result["cpu_best_samples_per_s"] == max(r["samples_per_s"] for r in rows)
    assert result["fpga_vs_cpu_best"] == pytest.approx(25e6 / result["cpu_best_samples_per_s"])
    assert result["emu_samples_per_s"] > 0 and "not timing-closed" in result["clock_source"]


def test_clock_from_estimate_json(bench, capsys, tmp_path):
    estimate = tmp_path / "estimate.json"
    estimate.write_text(json.dumps({"lut": 1, "fmax_mhz": 250.0}))
    assert bench.main([*QUICK, "--cycles-per-sample", "10", "--estimate-json", str(estimate)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["clock_mhz"] == 250.0 and result["fpga_projected_samples_per_s"] == 25e6


def test_default_clock_is_the_saved_estimate(bench, capsys):
    """Without --clock-mhz the clock is the saved full-size estimate's delay-model clock."""
    saved = json.loads(bench.SAVED_ESTIMATE.read_text())
    assert saved["replicas"] >= 1 and saved["path_ns_model"] > 0
    assert saved["clock_mhz"] == pytest.approx(min(saved["target_clock_mhz"],
                                                   1000.0 / saved["path_ns_model"]))
    assert bench.main([*QUICK, "--cycles-per-sample", "10"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["clock_mhz"] == saved["clock_mhz"]
    assert bench.SAVED_ESTIMATE.name in result["clock_source"]


def test_bad_figures_are_one_line_errors(bench, capsys, tmp_path):
    assert bench.main([*QUICK, "--cycles-per-sample", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and "\n" not in err
    empty = tmp_path / "estimate.json"
    empty.write_text("{}")
    assert bench.main([*QUICK, "--cycles-per-sample", "10", "--estimate-json", str(empty)]) == 1
    assert "clock_mhz" in capsys.readouterr().err
