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


def test_offresonance_fieldmap_and_b1_map_in_another_geometry(ma_bssfp, tmp_path):
    """bSSFP with a df range and a B1 range: maps writes the df field map (Hz) and its SD,
    takes a B1 map in a rotated 1 mm geometry, and says when B1 was assumed 1."""
    from dataclasses import replace

    from maps_helpers import make_model
    from scipy.spatial.transform import Rotation

    from mrfrecon.dictionary import build_dictionary, make_grid, save_dictionary
    from mrfrecon.parameters import NetworkParameters
    from mrfrecon.phantom import brain_phantom, nuisance_fields, simulate_series
    from mrfrecon.sequence import ParameterRange

    seq = replace(ma_bssfp.with_timepoints(300), b1_range=ParameterRange("0.8:1.2:0.05"))
    model = save_model(make_model(seq, rank=16, parameters=NetworkParameters.from_sequence(seq)),
                       tmp_path / "model.h5")
    dictionary = save_dictionary(build_dictionary(
        seq, make_grid(seq, "300:1400:50", "40:120:10", b1="0.8:1.2:0.05", df_hz="-22:22:2"),
        rank=None, energy=None), tmp_path / "dict.h5")
    phantom = brain_phantom(24)
    b1, df = nuisance_fields(phantom.labels.shape, 0.2, 20.0)
    data = simulate_series(seq, phantom, 0.001, seed=2, b1=b1, df_hz=df)
    affine = np.diag([1.5, 1.5, 4.0, 1.0])
    series = save_series(tmp_path / "sub-01_MRF.nii", data, affine)
    # the B1 map: the same linear field on a 50 x 50 x 3 grid of 1 mm voxels rotated 30 degrees
    # about the acquisition's centre
    b1_affine = np.eye(4)
    b1_affine[:3, :3] = Rotation.from_euler("z", 30, degrees=True).as_matrix()
    b1_affine[:3, 3] = np.array([17.25, 17.25, 0.0]) - b1_affine[:3, :3] @ [24.5, 24.5, 1.0]
    ijk = np.stack(np.meshgrid(np.arange(50.0), np.arange(50.0), np.arange(3.0),
                               indexing="ij"), -1)
    x_mm = (ijk @ b1_affine[:3, :3].T + b1_affine[:3, 3])[..., 0]
    b1_values = 1 + 0.2 * (-1 + 2 * x_mm / (1.5 * 23))  # nuisance_fields' ramp along x
    img = nib.Nifti1Image(b1_values.astype(np.float32), b1_affine)
    img.set_sform(b1_affine, code="scanner")
    nib.save(img, tmp_path / "b1.nii.gz")
    args = ["maps", str(series), "--model", str(model), "--method", "matching", "--dictionary",
            str(dictionary), "--noise", "0.001", "--json"]

    result = runner.invoke(app, [*args, "--output", str(tmp_path / "with"), "--b1-map",
                                 str(tmp_path / "b1.nii.gz"), "--report", str(tmp_path / "qc")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "with"
    df_map = nib.load(out / "sub-01_desc-offres_fieldmap.nii.gz").get_fdata()
    fitted = nib.load(out / "sub-01_desc-fitted_mask.nii.gz").get_fdata() > 0
    keep = fitted & phantom.mask & (phantom.t1_ms < 3000)
    assert keep.sum() > 150
    # the 2 Hz dictionary grid (B1 and T1/T2 off the grid bias a few voxels further)
    assert np.median(np.abs(df_map - df)[keep]) <= 1.0 + 1e-6
    side = json.loads((out / "sub-01_desc-offres_fieldmap.json").read_text())
    assert side["Units"] == "Hz" and side["B1Source"].startswith("B1 map")
    sd = nib.load(out / "sub-01_desc-offressd_fieldmap.nii.gz").get_fdata()
    assert np.all(sd[keep] > 0)
    t2 = nib.load(out / "sub-01_T2map.nii.gz").get_fdata() * 1e3
    t2_mape = 100 * np.mean(np.abs(t2 - phantom.t2_ms)[keep] / phantom.t2_ms[keep])
    assert t2_mape < 6  # the 10 ms T2 grid (WM 65 ms)
    payload = json.loads(result.stdout)
    assert payload["summary"]["df_hz"]["median"] is not None
    assert not any("B1" in w for w in payload["summary"]["warnings"])
    assert "off-resonance (Hz)" in (tmp_path / "qc" / "index.html").read_text()

    result = runner.invoke(app, [*args, "--output", str(tmp_path / "without")])
    assert result.exit_code == 0, result.output
    assert any("B1 assumed 1" in w for w in json.loads(result.stdout)["summary"]["warnings"])
    side = json.loads((tmp_path / "without" / "sub-01_T2map.json").read_text())
    assert side["B1Source"] == "assumed 1 (no B1 map given)"
    t2 = nib.load(tmp_path / "without" / "sub-01_T2map.nii.gz").get_fdata() * 1e3
    assert 100 * np.mean(np.abs(t2 - phantom.t2_ms)[keep] / phantom.t2_ms[keep]) > 1.5 * t2_mape


def test_phantom_writes_b1_and_offresonance_truth(tmp_path):
    from mrfrecon.phantom import nuisance_fields

    result = runner.invoke(app, ["phantom", "--sequence", "bssfp_ma2013", "--output",
                                 str(tmp_path), "--size", "16", "--b1-amplitude", "0.3",
                                 "--df-amplitude", "20", "--json"])
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)
    b1, df = nuisance_fields((16, 16, 1), 0.3, 20.0)
    assert_allclose(nib.load(files["truth_b1"]).get_fdata(), b1, atol=1e-6)
    assert_allclose(nib.load(files["truth_df"]).get_fdata(), df, atol=1e-5)
    assert json.loads((tmp_path / "sub-phantom_desc-truth_fieldmap.json").read_text())[
        "Units"] == "Hz"
    series = nib.load(files["series"]).dataobj
    plain = runner.invoke(app, ["phantom", "--sequence", "bssfp_ma2013", "--output",
                                str(tmp_path / "plain"), "--size", "16", "--json"])
    assert json.loads(plain.stdout)["truth_b1"] is None
    other = nib.load(json.loads(plain.stdout)["series"]).dataobj
    assert not np.allclose(np.asarray(series), np.asarray(other))  # the fields changed the data
