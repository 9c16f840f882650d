"""CLI: mrfrecon maps and mrfrecon phantom (exit codes, JSON, outputs, one-line errors)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from mrfrecon.cli import app
from mrfrecon.model import save_model
from tests.helpers import add_localizer, as_scanner_export, save_series

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
    anat = out / "sub-phantom" / "anat"  # bids layout: the input names a subject
    t1 = nib.load(anat / "sub-phantom_T1map.nii.gz")
    truth = nib.load(files["truth_t1"])
    assert_allclose(t1.affine, truth.affine)
    side = json.loads((anat / "sub-phantom_T1map.json").read_text())
    assert side["Units"] == "s" and side["EstimationMethod"] == "matching"
    assert side["InputRepresentation"] == payload["summary"]["input_representation"] == "complex"
    assert len(side["ModelSha256"]) == 64 and len(side["SequenceSha256"]) == 64
    assert side["ModelFile"] == str(model_file)
    assert side["Sources"] == ["bids:input:sub-phantom_MRF.nii"]
    assert side["MRFNumberOfTimepoints"] == 400 and side["RepetitionTimeExcitation"] < 0.1
    assert (anat / "sub-phantom_desc-sd_T1map.nii.gz").is_file()
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
    side = json.loads(next(out.rglob("*_T1map.json")).read_text())
    assert side["Units"] == "ms" and side["EstimationMethod"] == "quantized"
    assert list((out / "dicom").glob("*_T1map/*.dcm"))


def test_outputs_not_overwritten_without_flag(phantom_dir, model_file, tmp_path):
    _, files = phantom_dir
    out = tmp_path / "maps"
    args = ["maps", files["series"], "--model", str(model_file), "--output", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    line = _one_error_line(runner.invoke(app, args))
    assert "exists" in line and "--overwrite" in line
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
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
    fitted_path = out / "sub-phantom" / "anat" / "sub-phantom_desc-fitted_mask.nii.gz"
    fitted = np.asarray(nib.load(fitted_path).dataobj)
    assert np.array_equal(fitted.astype(bool), mask)
    bad = runner.invoke(app, ["maps", files["series"], "--model", str(model_file), "--output",
                              str(out), "--method", "fit"])
    assert bad.exit_code == 2  # a usage error, from typer's choices
    assert "fit" in bad.stderr and "quantized" in bad.stderr and "matching" in bad.stderr


@pytest.fixture(scope="module")
def magnitude_series(phantom_dir, tmp_path_factory):
    """The phantom as a magnitude-only NIfTI (real, non-negative, no phase file)."""
    _, files = phantom_dir
    img = nib.load(files["series"])
    path = tmp_path_factory.mktemp("magnitude") / "sub-phantom_mag.nii.gz"
    nib.save(nib.Nifti1Image(np.abs(np.asarray(img.dataobj)).astype(np.float32), img.affine),
             path)
    return path


def test_magnitude_only_input_uses_the_magnitude_path(phantom_dir, magnitude_series,
                                                      short_fisp, tmp_path):
    from tests.helpers import make_model

    _, files = phantom_dir
    model = save_model(make_model(short_fisp, magnitude=True), tmp_path / "model.h5")
    out = tmp_path / "maps"
    result = runner.invoke(app, ["maps", str(magnitude_series), "--model", str(model),
                                 "--output", str(out), "--method", "matching", "--truth-t1",
                                 files["truth_t1"], "--truth-t2", files["truth_t2"], "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["summary"]["input_representation"] == "magnitude"
    assert payload["metrics"]["t1"]["mape"] < 3 and payload["metrics"]["t2"]["mape"] < 6
    side = json.loads(next(out.rglob("*_T1map.json")).read_text())
    assert side["InputRepresentation"] == "magnitude"


def test_magnitude_only_input_and_an_old_model_one_line(magnitude_series, model_file, tmp_path):
    line = _one_error_line(runner.invoke(app, ["maps", str(magnitude_series), "--model",
                                               str(model_file), "--output", str(tmp_path / "o")]))
    assert "magnitude" in line and "retrain" in line
    assert not (tmp_path / "o").exists()


def test_phantom_refuses_overwrite(phantom_dir):
    folder, _ = phantom_dir
    line = _one_error_line(runner.invoke(app, ["phantom", "--sequence", "fisp_short400",
                                               "--output", str(folder), "--size", "32"]))
    assert "exists" in line


@pytest.mark.slow
def test_scanner_export_two_acquisitions_paired_and_each_reconstructed(
        phantom_dir, model_file, tmp_path):
    _, files = phantom_dir
    folder = tmp_path / "export"
    as_scanner_export(Path(files["dicom"]), folder, (5, 6))
    as_scanner_export(Path(files["dicom"]), folder, (7, 8))  # a repeat
    add_localizer(folder / "5_M000_00000.dcm", folder / "loc")  # exported alongside
    out = tmp_path / "maps"
    common = ["--model", str(model_file), "--method", "matching", "--no-dicom"]
    result = runner.invoke(app, ["maps", str(folder), *common, "--output", str(out),
                                 "--truth-t1", files["truth_t1"], "--truth-t2",
                                 files["truth_t2"], "--json"])
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)["acquisitions"]
    assert [d["acquisition"].split(";")[0] for d in done] == [
        f"series {m} 'MRF FISP' (magnitude) + series {m + 1} 'MRF FISP' (phase)" for m in (5, 7)]
    assert "series 1 'localizer' (magnitude): 3 time points, the model expects 400: not " \
        "reconstructed" in done[0]["summary"]["warnings"]
    for d in done:  # the pairing recovers the complex signal: maps as from the NIfTI
        assert d["metrics"]["t1"]["mape"] < 3 and d["metrics"]["t2"]["mape"] < 6
        assert d["summary"]["noise_method"] == "residual"
    stems = {p.name.split("_T1map")[0] for p in out.rglob("*_T1map.nii.gz")
             if "desc-" not in p.name}
    assert stems == {"sub-MRFPHANTOM_acq-MRFFISP_run-5", "sub-MRFPHANTOM_acq-MRFFISP_run-7"}
    side = json.loads(next(out.rglob("sub-MRFPHANTOM_acq-MRFFISP_run-7_T1map.json")).read_text())
    assert len(side["SourceSeriesInstanceUIDs"]) == 2 and "series 7" in side["InputSeries"]

    picked = tmp_path / "picked"
    result = runner.invoke(app, ["maps", str(folder), *common, "--output", str(picked),
                                 "--series", "8"])  # the phase series' number picks its pair
    assert result.exit_code == 0, result.output
    assert "series 7 'MRF FISP' (magnitude) + series 8" in " ".join(result.stderr.split())
    assert {p.name for p in picked.rglob("*_T1map.nii.gz") if "desc-" not in p.name} == {
        "sub-MRFPHANTOM_acq-MRFFISP_run-7_T1map.nii.gz"}  # the same name as beside series 5
    line = _one_error_line(runner.invoke(app, ["maps", str(folder), *common, "--output",
                                               str(tmp_path / "none"), "--series", "9"]))
    assert "series '9'" in line and "--series NUMBER|UID" in line


def test_series_option_picks_one_acquisition(short_fisp, tmp_path):
    from mrfrecon.phantom import brain_phantom, simulate_series, write_dicom_series
    from tests.helpers import make_model

    sequence = short_fisp.with_timepoints(24)  # few files: this is about the option
    write_dicom_series(simulate_series(sequence, brain_phantom(16), 0.003), tmp_path / "ph")
    folder = tmp_path / "export"
    as_scanner_export(tmp_path / "ph", folder, (5, 6))
    as_scanner_export(tmp_path / "ph", folder, (7, 8))
    model = tmp_path / "model.h5"
    save_model(make_model(sequence, rank=6), model)
    common = ["maps", str(folder), "--model", str(model), "--no-dicom", "--json"]
    both = runner.invoke(app, [*common, "--output", str(tmp_path / "both")])
    assert both.exit_code == 0, both.output
    assert len(json.loads(both.stdout)["acquisitions"]) == 2
    one = runner.invoke(app, [*common, "--output", str(tmp_path / "one"), "--series", "6"])
    assert one.exit_code == 0, one.output
    payload = json.loads(one.stdout)  # one acquisition: the single-result shape
    assert payload["acquisition"].startswith("series 5 'MRF FISP' (magnitude) + series 6")
    assert sorted(p.name for p in (tmp_path / "one").rglob("*_T1map.nii.gz")) == [
        "sub-MRFPHANTOM_acq-MRFFISP_run-5_T1map.nii.gz",
        "sub-MRFPHANTOM_acq-MRFFISP_run-5_desc-sd_T1map.nii.gz"]
    line = _one_error_line(runner.invoke(app, [*common, "--output", str(tmp_path / "x"),
                                               "--series", "1.2.3"]))
    assert "no acquisitions match series '1.2.3'" in line and "--series NUMBER|UID" in line
def test_bids_output_passes_the_bids_validator(phantom_dir, model_file, tmp_path, require_tool):
    tool = require_tool("bids-validator-deno")
    _, files = phantom_dir
    out = tmp_path / "derivatives" / "mrfrecon"
    result = runner.invoke(app, ["maps", files["series"], "--model", str(model_file), "--output",
                                 str(out), "--dicom", "--patient-name", "Phantom^Brain"])
    assert result.exit_code == 0, result.output
    anat = out / "sub-phantom" / "anat"
    assert (anat / "sub-phantom_desc-quality_M0map.nii.gz").is_file()
    t1 = pydicom.dcmread(next((out / "dicom" / "sub-phantom_T1map").glob("*.dcm")))
    assert (t1.PatientID, t1.PatientName) == ("sub-phantom", "Phantom^Brain")
    check = subprocess.run([tool, str(out), "--json"], capture_output=True, text=True)
    issues = json.loads(check.stdout)["issues"]["issues"]
    errors = [(i["code"], i.get("location")) for i in issues if i["severity"] == "error"]
    assert errors == [], errors
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["GeneratedBy"]


def test_flat_layout_and_parametric_maps_from_dicom(phantom_dir, model_file, tmp_path):
    _, files = phantom_dir
    out = tmp_path / "maps"
    result = runner.invoke(app, ["maps", files["dicom"], "--model", str(model_file), "--output",
                                 str(out), "--layout", "flat", "--parametric-map", "--json"])
    assert result.exit_code == 0, result.output
    outputs = json.loads(result.stdout)["outputs"]
    assert any(p.endswith("_T1map.nii.gz") and os.path.dirname(p) == str(out) for p in outputs)
    pmap = pydicom.dcmread(next((out / "dicom").glob("*_desc-sd_T1map_pmap.dcm")))
    assert pmap.SOPClassUID == "1.2.840.10008.5.1.4.1.1.30"
    line = _one_error_line(runner.invoke(app, ["maps", files["dicom"], "--model",
                                               str(model_file), "--output", str(tmp_path / "o"),
                                               "--patient-id", "X"]))
    assert "patient" in line and "NIfTI inputs only" in line


def test_offresonance_fieldmap_and_b1_map_in_another_geometry(ma_bssfp, tmp_path):
    """bSSFP with a df range and a B1 range: maps writes the df field map (Hz) and its SD,
    takes a B1 map in a rotated 1 mm geometry, and says when B1 was assumed 1."""
    from dataclasses import replace

    from scipy.spatial.transform import Rotation

    from mrfrecon.dictionary import build_dictionary, make_grid, save_dictionary
    from mrfrecon.parameters import NetworkParameters
    from mrfrecon.phantom import brain_phantom, nuisance_fields, simulate_series
    from mrfrecon.sequence import ParameterRange
    from tests.helpers import make_model

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
            str(dictionary), "--noise", "0.001", "--json", "--layout", "flat"]

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
    assert not stale.exists() and (out / "sub-01" / "anat" / "sub-01_T1map.nii.gz").is_file()


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
