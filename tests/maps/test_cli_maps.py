"""CLI: mrfrecon maps and mrfrecon phantom (exit codes, JSON, outputs, one-line errors)."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
from maps_helpers import save_series
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from mrfrecon.cli import app
from mrfrecon.model import save_model

runner = CliRunner()


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantom")
    result = runner.invoke(app, ["phantom", "--sequence", "fisp_short400", "--output", str(out),
                                 "--size", "32", "--noise", "0.002", "--dicom", "--json"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, short_model):
    path = tmp_path_factory.mktemp("model") / "model.h5"
    save_model(short_model, path)
    return path


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error:"), \
        result.output
    return lines[0]


def test_phantom_match_recovers_truth_and_reports(phantom_dir, model_file, tmp_path):
    folder, files = phantom_dir
    out, report = tmp_path / "maps", tmp_path / "report"
    result = runner.invoke(app, ["maps", files["series"], "--model", str(model_file), "--output",
                                 str(out), "--method", "matching", "--truth-t1", files["truth_t1"],
                                 "--truth-t2", files["truth_t2"], "--report", str(report),
                                 "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    metrics = payload["metrics"]
    # default grid: T1 steps of 20 ms, T2 of 5-200 ms (CSF 1800 -> 1700/1900)
    assert metrics["t1"]["mape"] < 3 and metrics["t2"]["mape"] < 6
    assert abs(metrics["t1"]["mpe"]) < 2
    assert set(metrics["t1"]) == {"n", "mape", "mpe", "rmse_ms", "rmse_over_crb"}
    assert metrics["t1"]["rmse_over_crb"] > 0  # from the sqrt(CRB) maps
    assert payload["summary"]["quality"]["median"] > 0.99
    assert payload["summary"]["noise_method"] == "residual"
    assert_allclose(payload["summary"]["noise_sigma"], 0.002, rtol=0.1)
    t1 = nib.load(out / "sub-phantom_T1map.nii.gz")
    truth = nib.load(files["truth_t1"])
    assert_allclose(t1.affine, truth.affine)
    side = json.loads((out / "sub-phantom_T1map.json").read_text())
    assert side["Units"] == "s" and side["EstimationMethod"] == "matching"
    assert len(side["ModelSha256"]) == 64 and len(side["SequenceSha256"]) == 64
    assert str(model_file) in side["Sources"] and files["series"] in side["Sources"]
    assert (out / "sub-phantom_desc-sd_T1map.nii.gz").is_file()
    html = (report / "index.html").read_text()
    assert "MAPE" in html and "Bland-Altman" in html and "reference work" in html
    for png in ("maps.png", "histograms.png", "errors.png", "agreement.png"):
        assert (report / png).read_bytes()[:4] == b"\x89PNG"


def test_dicom_input_writes_dicom_maps_in_ms(phantom_dir, model_file, tmp_path):
    folder, files = phantom_dir
    out = tmp_path / "maps"
    result = runner.invoke(app, ["maps", files["dicom"], "--model", str(model_file), "--output",
                                 str(out), "--units", "ms"])
    assert result.exit_code == 0, result.output
    side = json.loads(next(out.glob("*_T1map.json")).read_text())
    assert side["Units"] == "ms" and side["EstimationMethod"] == "quantized"
    assert list((out / "dicom").glob("*_T1map/*.dcm"))


def test_outputs_not_overwritten_without_flag(phantom_dir, model_file, tmp_path):
    _, files = phantom_dir
    out = tmp_path / "maps"
    args = ["maps", files["series"], "--model", str(model_file), "--output", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in out.iterdir()}
    line = _one_error_line(runner.invoke(app, args))
    assert "exists" in line and "--overwrite" in line
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_mismatched_time_points_one_line(model_file, tmp_path):
    path = save_series(tmp_path / "short.nii.gz", np.ones((4, 4, 1, 350), np.complex64))
    line = _one_error_line(runner.invoke(app, ["maps", str(path), "--model", str(model_file),
                                               "--output", str(tmp_path / "o")]))
    assert "350" in line and "400" in line
    assert not (tmp_path / "o").exists()


def test_given_mask_and_unknown_method(phantom_dir, model_file, tmp_path):
    folder, files = phantom_dir
    labels = nib.load(files["labels"])
    mask = np.asarray(labels.dataobj) == 4  # grey matter
    mask_path = tmp_path / "mask.nii.gz"
    nib.save(nib.Nifti1Image(mask.astype(np.uint8), labels.affine), mask_path)
    out = tmp_path / "maps"
    result = runner.invoke(app, ["maps", files["series"], "--model", str(model_file), "--output",
                                 str(out), "--mask", str(mask_path), "--method", "float",
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["n_voxels"] == int(mask.sum())
    fitted = np.asarray(nib.load(out / "sub-phantom_desc-fitted_mask.nii.gz").dataobj)
    assert np.array_equal(fitted.astype(bool), mask)
    bad = runner.invoke(app, ["maps", files["series"], "--model", str(model_file), "--output",
                              str(out), "--method", "fit"])
    assert bad.exit_code == 2  # a usage error, from typer's choices
    assert "fit" in bad.stderr and "quantized" in bad.stderr and "matching" in bad.stderr


def test_phantom_refuses_overwrite(phantom_dir):
    folder, _ = phantom_dir
    line = _one_error_line(runner.invoke(app, ["phantom", "--sequence", "fisp_short400",
                                               "--output", str(folder), "--size", "32"]))
    assert "exists" in line


# --- hostile runs: the output set appears whole or not at all; bad options refused first

def _series_file(folder, short_fisp):
    from mrfrecon.phantom import brain_phantom, simulate_series

    folder.mkdir(parents=True, exist_ok=True)
    return save_series(folder / "sub-01_MRF.nii.gz",
                       simulate_series(short_fisp, brain_phantom(16), 0.003))


def test_stale_staging_of_a_killed_run_is_cleaned(model_file, tmp_path, short_fisp):
    series = _series_file(tmp_path / "in", short_fisp)
    out = tmp_path / "maps"
    stale = tmp_path / ".maps.partial-999999999-abc"  # no such process
    stale.mkdir()
    (stale / "sub-01_T1map.nii.gz").write_bytes(b"half")
    result = runner.invoke(app, ["maps", str(series), "--model", str(model_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and (out / "sub-01_T1map.nii.gz").is_file()


@pytest.mark.parametrize("noise", ["0", "-1", "nan"])
def test_bad_noise_is_refused(model_file, tmp_path, short_fisp, noise):
    series = _series_file(tmp_path / "in", short_fisp)
    result = runner.invoke(app, ["maps", str(series), "--model", str(model_file), "-o",
                                 str(tmp_path / "out"), f"--noise={noise}"])
    assert "noise" in _one_error_line(result)
    assert not (tmp_path / "out").exists()


def test_output_inside_input_folder_is_refused(phantom_dir, model_file):
    folder, _ = phantom_dir
    dicom = next(p for p in folder.rglob("*") if p.is_dir() and any(p.glob("*.dcm")))
    result = runner.invoke(app, ["maps", str(dicom), "--model", str(model_file), "-o",
                                 str(dicom / "maps")])
    assert "inside" in _one_error_line(result)
    assert not (dicom / "maps").exists()


def _broken_models(model):
    from dataclasses import replace

    from mrfrecon.model import OutputScaling
    from mrfrecon.quantized import IntegerMLP

    layers = model.int_net.layers
    yield "nan-range", replace(model, scaling=OutputScaling((np.nan, 4000.0), (10.0, 1500.0)))
    yield "zero-std", replace(model, features=replace(model.features,
                                                      std=np.zeros_like(model.features.std)))
    yield "huge-shift", replace(model, int_net=IntegerMLP(
        model.int_net.input_frac, (replace(layers[0], weight_frac=10**6), *layers[1:]),
        model.int_net.input_bits))
    yield "shapes", replace(model, float_net=replace(model.float_net,
                                                     weights=model.float_net.weights[::-1]))


@pytest.mark.parametrize("case", ["nan-range", "zero-std", "huge-shift", "shapes"])
def test_hostile_model_contents_are_one_line(short_model, tmp_path, short_fisp, case):
    model = dict(_broken_models(short_model))[case]
    path = save_model(model, tmp_path / "m.h5")
    series = _series_file(tmp_path / "in", short_fisp)
    result = runner.invoke(app, ["maps", str(series), "--model", str(path), "-o",
                                 str(tmp_path / "out")])
    assert "m.h5" in _one_error_line(result)
    assert not (tmp_path / "out").exists()


def _disk_full(path) -> None:
    import errno

    raise OSError(errno.ENOSPC, "No space left on device", str(path))


def _sigterm(path) -> None:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize(("fault", "exit_code", "message"),
                         [(_disk_full, 1, "No space left"), (_sigterm, 143, "terminated")],
                         ids=["enospc", "sigterm"])
def test_fault_mid_set_leaves_nothing(model_file, tmp_path, short_fisp, monkeypatch, fault,
                                      exit_code, message):
    import signal

    import mrfrecon.atomic as atomic

    series = _series_file(tmp_path / "in", short_fisp)
    out = tmp_path / "maps"
    real, calls = atomic.atomic_write, []

    def fault_on_fifth(path, content, **kwargs):
        calls.append(path)
        if len(calls) == 5:
            fault(path)
        return real(path, content, **kwargs)

    monkeypatch.setattr("mrfrecon.io.maps.atomic_write", fault_on_fifth)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        result = runner.invoke(app, ["maps", str(series), "--model", str(model_file), "-o",
                                     str(out)])
    finally:
        signal.signal(signal.SIGTERM, previous)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == exit_code and len(lines) == 1 and message in lines[0], \
        result.output
    assert not out.exists() or not any(out.iterdir())
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]  # staging removed


def test_existing_report_refuses_before_work_and_writes_no_maps(model_file, tmp_path, short_fisp):
    series = _series_file(tmp_path / "in", short_fisp)
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "index.html").write_text("theirs")
    result = runner.invoke(app, ["maps", str(series), "--model", str(model_file), "-o",
                                 str(tmp_path / "maps"), "--report", str(tmp_path / "report")])
    assert "index.html" in _one_error_line(result)
    assert not (tmp_path / "maps").exists()
    assert (tmp_path / "report" / "index.html").read_text() == "theirs"


def test_output_in_the_input_files_folder_is_refused(model_file, tmp_path, short_fisp):
    series = _series_file(tmp_path / "in", short_fisp)
    result = runner.invoke(app, ["maps", str(series), "--model", str(model_file), "-o",
                                 str(tmp_path / "in")])
    assert "folder of the input" in _one_error_line(result)
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == [series.name]
