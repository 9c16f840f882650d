"""Batch: discovery, failure isolation, resume after a kill, lock, summary."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import mrfrecon.recon.pipeline as pipeline
from mrfrecon.atomic import atomic_write
from mrfrecon.batch import BatchLockedError, batch_lock, find_studies, run_batch
from mrfrecon.cli import app
from mrfrecon.model import save_model
from mrfrecon.phantom import brain_phantom, simulate_series, write_dicom_series
from tests.helpers import add_localizer, as_scanner_export, make_model, save_series

runner = CliRunner()


@pytest.fixture(scope="module")
def tree(tmp_path_factory, short_fisp, short_model):
    root = tmp_path_factory.mktemp("batch")
    model = root / "model.h5"
    save_model(short_model, model)
    inputs = root / "in"
    series = simulate_series(short_fisp, brain_phantom(24), 0.003)
    save_series((inputs / "sub-01").mkdir(parents=True) or inputs / "sub-01" / "sub-01_MRF.nii.gz",
                series)
    save_series((inputs / "sub-02").mkdir() or inputs / "sub-02" / "sub-02_MRF.nii.gz", series)
    # a 3-D image (not a study), a series with too few time points and a broken file
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ones((24, 24, 1), np.float32), np.eye(4)),
             inputs / "sub-01" / "sub-01_T1map.nii.gz")
    save_series(inputs / "sub-02" / "sub-02_MRFshort.nii.gz", series[..., :300])
    (inputs / "sub-03").mkdir()
    (inputs / "sub-03" / "sub-03_MRF.nii.gz").write_bytes(b"not a nifti file")
    write_dicom_series(series, inputs / "sub-04" / "dicom")
    return root, model, inputs


def test_find_studies(tree, tmp_path):
    root, _, inputs = tree
    ids = [s.id for s in find_studies(inputs, tmp_path)]
    assert ids == ["sub-01/sub-01_MRF.nii.gz", "sub-02/sub-02_MRF.nii.gz",
                   "sub-02/sub-02_MRFshort.nii.gz", "sub-03/sub-03_MRF.nii.gz", "sub-04/dicom"]


def test_failures_do_not_stop_others_and_rerun_skips(tree, tmp_path):
    root, model, inputs = tree
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(inputs), "--model", str(model), "--output",
                                 str(out), "--json", "--jobs", "2"])
    assert result.exit_code == 1, result.output  # some studies failed
    payload = json.loads(result.stdout)
    status = {s["study"]: s for s in payload["studies"]}
    assert payload["counts"] == {"done": 3, "failed": 2, "previously done": 0}
    assert "300" in status["sub-02/sub-02_MRFshort.nii.gz"]["error"]
    assert "400" in status["sub-02/sub-02_MRFshort.nii.gz"]["error"]
    assert status["sub-03/sub-03_MRF.nii.gz"]["status"] == "failed"
    assert (out / "sub-01" / "sub-01_T1map.nii.gz").is_file()
    assert list((out / "sub-04" / "dicom" / "dicom").glob("*_T1map/*.dcm"))
    again = runner.invoke(app, ["batch", str(inputs), "--model", str(model), "--output",
                                str(out), "--json"])
    counts = json.loads(again.stdout)["counts"]
    assert counts == {"done": 0, "failed": 2, "previously done": 3}


def test_resume_after_kill_leaves_no_half_written_output(tree, tmp_path, monkeypatch):
    root, model, inputs = tree
    out = tmp_path / "out"
    real = pipeline.write_maps
    calls = []

    def killed_during_second_write(maps, reference, output_dir, **kwargs):
        calls.append(output_dir)
        if len(calls) == 2:  # second study: write two files, leave a temp file, die
            output_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(output_dir / f"{reference.stem}_T1map.nii.gz", b"partial")
            (output_dir / f".{reference.stem}_T2map.nii.gz.abc.tmp").write_bytes(b"half")
            raise KeyboardInterrupt  # like SIGINT/SIGKILL: not a study failure
        return real(maps, reference, output_dir, **kwargs)

    monkeypatch.setattr(pipeline, "write_maps", killed_during_second_write)
    with pytest.raises(KeyboardInterrupt):
        run_batch(inputs, model, out)
    monkeypatch.setattr(pipeline, "write_maps", real)
    first_marker = sorted((out / ".mrfrecon-batch").glob("*.json"))
    assert len(first_marker) == 1
    mtime = first_marker[0].stat().st_mtime_ns
    result = run_batch(inputs, model, out)
    status = {s.study: s.status for s in result.studies}
    assert status["sub-01/sub-01_MRF.nii.gz"] == "previously done"
    assert status["sub-02/sub-02_MRF.nii.gz"] == "done"
    assert first_marker[0].stat().st_mtime_ns == mtime
    assert not list(out.rglob("*.tmp"))
    assert (out / "sub-02" / "sub-02_T1map.nii.gz").read_bytes()[:2] == b"\x1f\x8b"  # redone


def test_lock_refuses_second_run(tree, tmp_path):
    root, model, inputs = tree
    out = tmp_path / "out"
    with batch_lock(out):
        with pytest.raises(BatchLockedError, match="another mrfrecon batch"):
            run_batch(inputs, model, out)
        result = runner.invoke(app, ["batch", str(inputs), "--model", str(model), "--output",
                                     str(out)])
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 1 and len(lines) == 1 and "another mrfrecon batch" in lines[0]
    assert not list(out.glob("sub-*"))


def test_existing_outputs_need_overwrite(tree, tmp_path):
    root, model, inputs = tree
    out = tmp_path / "out"
    (out / "sub-01").mkdir(parents=True)
    (out / "sub-01" / "sub-01_T1map.nii.gz").write_bytes(b"someone else's")
    result = run_batch(inputs, model, out)
    failed = {s.study: s.error for s in result.studies if s.status == "failed"}
    assert "exists" in failed["sub-01/sub-01_MRF.nii.gz"]
    assert (out / "sub-01" / "sub-01_T1map.nii.gz").read_bytes() == b"someone else's"
    assert np.any([s.status == "done" for s in result.studies])


def test_dicom_folder_with_two_acquisitions_gives_two_output_sets(short_fisp, tmp_path):
    sequence = short_fisp.with_timepoints(24)  # few files: this is about pairing and names
    export = tmp_path / "phantom"
    write_dicom_series(simulate_series(sequence, brain_phantom(16), 0.003), export)
    folder = tmp_path / "in" / "sub-05" / "dicom"
    as_scanner_export(export, folder, (5, 6))
    as_scanner_export(export, folder, (7, 8))
    add_localizer(folder / "5_M000_00000.dcm", folder)
    model = tmp_path / "model.h5"
    save_model(make_model(sequence, rank=6), model)
    result = run_batch(tmp_path / "in", model, tmp_path / "out", dicom=False)
    (study,) = result.studies
    assert study.status == "done", study.error
    done = study.summary["acquisitions"]
    assert [a["acquisition"].split(" (")[0] for a in done] == [
        "series 5 'MRF FISP'", "series 7 'MRF FISP'"]
    assert any("series 1 'localizer'" in w for w in done[0]["warnings"])  # skipped, said so
    t1 = sorted(p.name for p in (tmp_path / "out" / "sub-05" / "dicom").glob("*_T1map.nii.gz")
                if "desc-" not in p.name)
    assert t1 == ["sub-MRFPHANTOM_acq-MRFFISP_run-5_T1map.nii.gz",
                  "sub-MRFPHANTOM_acq-MRFFISP_run-7_T1map.nii.gz"]
def _tree(tmp_path, short_fisp, short_model, first: str, second: str):
    """Two inputs with the same output names (``first``, ``second``) and an all-zero series."""
    model = save_model(short_model, tmp_path / "model.h5")
    inputs = tmp_path / "in"
    inputs.mkdir()
    series = simulate_series(short_fisp, brain_phantom(16), 0.003)
    save_series(inputs / first, series)
    save_series(inputs / second, series * 2)
    save_series(inputs / "zero_MRF.nii.gz", np.zeros_like(series))
    return model, inputs


@pytest.fixture
def small_tree(tmp_path, short_fisp, short_model):
    return _tree(tmp_path, short_fisp, short_model, "x.nii", "x.nii.gz")


@pytest.mark.parametrize(("first", "second", "stem"), [
    ("x.nii", "x.nii.gz", "x"),
    ("sub-01_part-mag_MRF.nii.gz", "sub-01_part-phase_MRF.nii.gz", "sub-01"),
], ids=["extensions", "part-entities"])
def test_same_output_names_never_overwrite_each_other(tmp_path, short_fisp, short_model, first,
                                                      second, stem):
    model, inputs = _tree(tmp_path, short_fisp, short_model, first, second)
    out = tmp_path / "out"
    status = {s.study: s for s in run_batch(inputs, model, out).studies}
    assert status[first].status == "done"
    assert status[second].status == "failed"
    assert f"also an output of study '{first}'" in status[second].error
    t1 = (out / f"{stem}_T1map.json").read_bytes()
    again = {s.study: s for s in run_batch(inputs, model, out, overwrite=True).studies}
    assert again[second].status == "failed"  # --overwrite does not let studies collide
    assert (out / f"{stem}_T1map.json").read_bytes() == t1


def test_empty_or_zero_input_is_a_failure(small_tree, tmp_path):
    model, inputs = small_tree
    (inputs / "empty_MRF.nii").write_bytes(b"")
    status = {s.study: s for s in run_batch(inputs, model, tmp_path / "out").studies}
    assert status["zero_MRF.nii.gz"].status == "failed"
    assert "no signal" in status["zero_MRF.nii.gz"].error
    assert status["empty_MRF.nii"].status == "failed"
    assert not list((tmp_path / "out").glob("zero_*"))


def test_rerun_with_other_options_redoes(small_tree, tmp_path):
    model, inputs = small_tree
    out = tmp_path / "out"
    assert {s.status for s in run_batch(inputs, model, out, units="s").studies
            if s.study == "x.nii"} == {"done"}
    same = {s.study: s.status for s in run_batch(inputs, model, out, units="s").studies}
    assert same["x.nii"] == "previously done"
    other = {s.study: s.status for s in run_batch(inputs, model, out, units="ms").studies}
    assert other["x.nii"] == "done"
    assert json.loads((out / "x_T1map.json").read_text())["Units"] == "ms"


def test_failed_study_is_not_resumed_as_interrupted(small_tree, tmp_path):
    """A study failing on someone else's file must not replace that file on the next run."""
    model, inputs = small_tree
    out = tmp_path / "out"
    out.mkdir()
    (out / "x_T1map.nii.gz").write_bytes(b"someone else's")
    for _ in range(2):
        status = {s.study: s for s in run_batch(inputs, model, out).studies}
        assert status["x.nii"].status == "failed" and "exists" in status["x.nii"].error
        assert (out / "x_T1map.nii.gz").read_bytes() == b"someone else's"
    assert not list((out / ".mrfrecon-batch").glob("*.started"))


def test_output_inside_input_is_refused(small_tree):
    model, inputs = small_tree
    result = runner.invoke(app, ["batch", str(inputs), "--model", str(model), "--output",
                                 str(inputs / "maps")])
    assert result.exit_code == 1
    assert "inside" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (inputs / "maps").exists()


def test_process_one_is_picklable(small_tree, tmp_path):
    import pickle

    from mrfrecon.batch import BatchOptions, process_one

    model, inputs = small_tree
    study = next(s for s in find_studies(inputs, tmp_path / "out") if s.id == "x.nii")
    options = BatchOptions(model, pipeline.file_sha256(model), tmp_path / "state")
    (tmp_path / "state").mkdir()
    study, options = pickle.loads(pickle.dumps((study, options)))
    assert process_one(study, options).status == "done"
