"""Writing maps: NIfTI with the input geometry and sidecars, DICOM derived series."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from mrfrecon import __version__
from mrfrecon.errors import MrfreconError, OutputExistsError
from mrfrecon.io import MapSet, read_acquisition, write_maps
from tests.helpers import (
    OBLIQUE,
    assert_same_world_image,
    random_series,
    write_classic_series,
)

AFFINE = np.array(
    [[-1.5, 0.0, 0.0, 90.0], [0.0, 1.4, 0.3, -100.0], [0.0, 0.0, 3.0, -50.0], [0, 0, 0, 1]]
)
SIDECAR = {
    "EstimationAlgorithm": "MRF neural network (quantised)",
    "ModelHash": "sha256:abc",
    "SequenceHash": "sha256:def",
    "Sources": ["bids::sub-01/anat/sub-01_MRF.nii.gz"],
}


def _maps(shape: tuple[int, int, int], seed: int = 0) -> MapSet:
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) > 0.2
    return MapSet(
        t1_ms=rng.uniform(200, 3000, shape),
        t2_ms=rng.uniform(20, 300, shape),
        m0=(rng.uniform(1, 5, shape) * np.exp(1j * rng.uniform(-3, 3, shape))).astype(np.complex64),
        quality=rng.uniform(0.5, 1.0, shape),
        mask=mask,
        t1_sd_ms=rng.uniform(1, 50, shape),
    )


@pytest.fixture
def nifti_acq(tmp_path: Path):
    data = np.ones((6, 5, 3, 4), np.complex64)
    img = nib.Nifti1Image(data, AFFINE)
    img.set_sform(AFFINE, code="scanner")
    img.set_qform(AFFINE, code="scanner")
    nib.save(img, tmp_path / "sub-01_acq-fisp_MRF.nii.gz")
    return read_acquisition(tmp_path / "sub-01_acq-fisp_MRF.nii.gz")


@pytest.mark.parametrize(("units", "scale"), [("s", 1e-3), ("ms", 1.0)])
def test_nifti_maps_geometry_units_sidecar(tmp_path, nifti_acq, units, scale) -> None:
    maps = _maps((6, 5, 3))
    out = tmp_path / "derivatives"
    written = write_maps(maps, nifti_acq, out, units=units, sidecar=SIDECAR)
    names = sorted(p.relative_to(out).as_posix() for p in written)
    anat = out / "sub-01" / "anat"  # bids layout: the input names a subject
    assert "sub-01/anat/sub-01_acq-fisp_T1map.nii.gz" in names
    assert "sub-01/anat/sub-01_acq-fisp_desc-phase_M0map.nii.gz" in names
    assert "sub-01/anat/sub-01_acq-fisp_desc-sd_T1map.json" in names
    assert "sub-01/anat/sub-01_acq-fisp_desc-fitted_mask.nii.gz" in names
    assert "sub-01/anat/sub-01_acq-fisp_desc-quality_M0map.nii.gz" in names
    assert not any(n.startswith("dicom/") for n in names)  # NIfTI input: no DICOM by default
    assert written.nifti["T1map"] == anat / "sub-01_acq-fisp_T1map.nii.gz"

    t1 = nib.load(anat / "sub-01_acq-fisp_T1map.nii.gz")
    np.testing.assert_allclose(t1.affine, AFFINE, atol=1e-6)
    assert int(t1.header["sform_code"]) == 1 and int(t1.header["qform_code"]) == 1
    assert t1.get_data_dtype() == np.float32
    np.testing.assert_allclose(t1.get_fdata(), maps.t1_ms * scale, rtol=1e-6)
    m0 = nib.load(anat / "sub-01_acq-fisp_M0map.nii.gz").get_fdata()
    np.testing.assert_allclose(m0, np.abs(maps.m0), rtol=1e-6)
    mask = nib.load(anat / "sub-01_acq-fisp_desc-fitted_mask.nii.gz")
    assert mask.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(mask.dataobj), maps.mask)

    side = json.loads((anat / "sub-01_acq-fisp_T1map.json").read_text())
    assert side["Units"] == units
    assert side["EstimationAlgorithm"] == SIDECAR["EstimationAlgorithm"]
    assert side["ModelHash"] == "sha256:abc" and side["SequenceHash"] == "sha256:def"
    assert side["MrfreconVersion"] == __version__
    assert side["Sources"][0] == SIDECAR["Sources"][0]
    assert side["Sources"][1] == "bids:input:sub-01_acq-fisp_MRF.nii.gz"  # a BIDS URI
    assert side["SkullStripped"] is False and "EstimationReference" in side
    assert json.loads((anat / "sub-01_acq-fisp_M0map.json").read_text())["Units"] == "arbitrary"
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative"
    assert description["GeneratedBy"][0]["Name"] == "mrfrecon"
    assert description["DatasetLinks"]["input"] == nifti_acq.paths[0].parent.resolve().as_uri()


def test_no_overwrite_checks_before_writing(tmp_path, nifti_acq) -> None:
    out = tmp_path / "out"
    (out / "sub-01" / "anat").mkdir(parents=True)
    clash = out / "sub-01" / "anat" / "sub-01_acq-fisp_T2map.nii.gz"
    clash.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="sub-01_acq-fisp_T2map.nii.gz"):
        write_maps(_maps((6, 5, 3)), nifti_acq, out, sidecar=SIDECAR)
    assert [p for p in out.rglob("*") if p.is_file()] == [clash]  # nothing else written
    assert clash.read_bytes() == b"keep me"
    write_maps(_maps((6, 5, 3)), nifti_acq, out, sidecar=SIDECAR, overwrite=True)
    assert nib.load(clash).shape == (6, 5, 3)
    assert not [p for p in clash.parent.iterdir() if p.name.startswith(".")]  # no temporary


def test_shape_and_units_checked(tmp_path, nifti_acq) -> None:
    with pytest.raises(MrfreconError, match=r"map t1_ms has shape \(6, 5, 2\)"):
        write_maps(_maps((6, 5, 2)), nifti_acq, tmp_path / "o")
    with pytest.raises(MrfreconError, match="units must be 's' or 'ms'"):
        write_maps(_maps((6, 5, 3)), nifti_acq, tmp_path / "o", units="min")  # type: ignore
    assert not (tmp_path / "o").exists()


def _read_series(folder: Path) -> list[pydicom.Dataset]:
    return sorted(
        (pydicom.dcmread(p) for p in folder.glob("*.dcm")), key=lambda d: int(d.InstanceNumber)
    )


def test_dicom_maps_from_dicom_input(tmp_path: Path) -> None:
    shape = (5, 4, 3, 6)
    magnitude, phase = random_series(shape)
    write_classic_series(tmp_path / "in", magnitude, phase, stack=OBLIQUE)
    acq = read_acquisition(tmp_path / "in")
    maps = _maps(shape[:3])
    out = tmp_path / "out"
    written = write_maps(maps, acq, out, sidecar=SIDECAR)

    t1_dir = out / "dicom" / f"{acq.stem}_T1map"
    series = _read_series(t1_dir)
    assert len(series) == 3
    source = pydicom.dcmread(next((tmp_path / "in").iterdir()))
    uids = set()
    for ds in series:
        assert list(ds.ImageType) == ["DERIVED", "PRIMARY", "T1 MAP", "T1"]
        assert ds.StudyInstanceUID == source.StudyInstanceUID
        assert ds.FrameOfReferenceUID == source.FrameOfReferenceUID
        assert ds.PatientName == source.PatientName and ds.PatientID == "P123"
        assert ds.SeriesInstanceUID != source.SeriesInstanceUID
        assert ds.SOPInstanceUID != source.SOPInstanceUID
        uids.add(ds.SeriesInstanceUID)
        rwvm = ds.RealWorldValueMappingSequence[0]
        unit = rwvm.MeasurementUnitsCodeSequence[0]
        assert (unit.CodeValue, unit.CodingSchemeDesignator) == ("ms", "UCUM")
        assert float(rwvm.RealWorldValueSlope) == 1.0
        assert not any(elem.tag.is_private for elem in ds.iterall())  # nothing leaked
        assert "Manufacturer" not in ds or ds.Manufacturer != "SIEMENS"
        assert ds.SourceImageSequence[0].ReferencedSOPClassUID == source.SOPClassUID
    assert len(uids) == 1

    back = read_acquisition(t1_dir)  # geometry and values survive the round trip
    np.testing.assert_allclose(back.affine, acq.affine, atol=1e-4)
    expected = np.where(maps.mask, np.rint(maps.t1_ms), 0)
    np.testing.assert_array_equal(back.data[..., 0].real, expected)

    m0 = _read_series(out / "dicom" / f"{acq.stem}_M0map")
    slope = float(m0[0].RealWorldValueMappingSequence[0].RealWorldValueSlope)
    stored = np.stack([d.pixel_array.T for d in m0], axis=-1)
    np.testing.assert_allclose(stored * slope, np.where(maps.mask, np.abs(maps.m0), 0), atol=slope)
    t2_uid = _read_series(out / "dicom" / f"{acq.stem}_T2map")[0].SeriesInstanceUID
    assert t2_uid not in uids
    assert not (out / "dicom" / f"{acq.stem}_desc-fitted_mask").exists()
    assert written.dicom_series["T1map"] == sorted(t1_dir.glob("*.dcm"))
    t1_nifti = nib.load(written.nifti["T1map"])
    np.testing.assert_allclose(t1_nifti.affine, acq.affine, atol=1e-6)


def test_dicom_maps_from_nifti_input(tmp_path, nifti_acq) -> None:
    maps = _maps((6, 5, 3))
    out = tmp_path / "out"
    write_maps(maps, nifti_acq, out, dicom=True, sidecar=SIDECAR)
    t2_dir = out / "dicom" / "sub-01_acq-fisp_T2map"
    first = _read_series(t2_dir)
    assert (first[0].PatientID, first[0].PatientName) == ("sub-01", "sub-01")  # the subject
    back = read_acquisition(t2_dir)
    # this affine's k axis points against row x column, so DICOM order reverses the slices:
    # same values at the same world positions
    transform = assert_same_world_image(
        np.where(maps.mask, np.rint(maps.t2_ms), 0),
        AFFINE,
        back.data[..., 0].real,
        back.affine,
        atol=0,
    )
    assert np.array_equal(np.diag(transform)[:3], [1, 1, -1])
    # same input -> same study (UIDs derived from the input), new series each time
    write_maps(maps, nifti_acq, tmp_path / "again", dicom=True, sidecar=SIDECAR)
    second = _read_series(tmp_path / "again" / "dicom" / "sub-01_acq-fisp_T2map")
    assert second[0].StudyInstanceUID == first[0].StudyInstanceUID
    assert second[0].SeriesInstanceUID != first[0].SeriesInstanceUID


def test_parametric_map_read_back_by_plane_position(tmp_path: Path) -> None:
    shape = (5, 4, 3, 2)
    magnitude, _ = random_series(shape)
    write_classic_series(tmp_path / "in", magnitude, stack=OBLIQUE)
    acq = read_acquisition(tmp_path / "in")
    maps = _maps(shape[:3])
    out = tmp_path / "out"
    write_maps(maps, acq, out, parametric_map=True, sidecar=SIDECAR)
    path = out / "dicom" / f"{acq.stem}_T1map_pmap.dcm"
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.30"
    shared = ds.SharedFunctionalGroupsSequence[0]
    assert "PixelMeasuresSequence" in shared and "PlaneOrientationSequence" in shared
    unit = shared.RealWorldValueMappingSequence[0].MeasurementUnitsCodeSequence[0]
    assert unit.CodeValue == "ms"
    assert ds.StudyInstanceUID == acq.dicom.study_instance_uid
    assert not any(elem.tag.is_private for elem in ds.iterall())
    back = read_acquisition(path)  # frames placed by PlanePositionSequence, not frame order
    np.testing.assert_allclose(back.affine, acq.affine, atol=1e-4)
    np.testing.assert_allclose(
        back.data[..., 0].real, np.where(maps.mask, maps.t1_ms, 0), rtol=1e-6
    )


def test_parametric_map_needs_dicom_input(tmp_path, nifti_acq) -> None:
    with pytest.raises(MrfreconError, match="needs a DICOM input"):
        write_maps(_maps((6, 5, 3)), nifti_acq, tmp_path / "o", parametric_map=True)
    assert not (tmp_path / "o").exists()


def test_nifti_inputs_get_their_own_patient(tmp_path) -> None:
    """Each subject its own PatientID (and study); --patient-id/--patient-name override."""
    patients = {}
    for subject in ("01", "02"):
        path = tmp_path / f"sub-{subject}_MRF.nii.gz"
        nib.save(nib.Nifti1Image(np.ones((6, 5, 3, 4), np.complex64), AFFINE), path)
        out = write_maps(_maps((6, 5, 3)), read_acquisition(path), tmp_path / "out", dicom=True)
        ds = pydicom.dcmread(out.dicom_series["T1map"][0])
        patients[subject] = (ds.PatientID, str(ds.PatientName), ds.StudyInstanceUID)
    assert patients["01"][:2] == ("sub-01", "sub-01")
    assert patients["02"][:2] == ("sub-02", "sub-02")
    assert patients["01"][2] != patients["02"][2]
    acq = read_acquisition(tmp_path / "sub-01_MRF.nii.gz")
    out = write_maps(_maps((6, 5, 3)), acq, tmp_path / "named", dicom=True,
                     patient_id="P77", patient_name="Doe^John")
    ds = pydicom.dcmread(out.dicom_series["T2map"][0])
    assert (ds.PatientID, str(ds.PatientName)) == ("P77", "Doe^John")


def test_layout_flat_and_bids_needs_a_subject(tmp_path, nifti_acq) -> None:
    out = write_maps(_maps((6, 5, 3)), nifti_acq, tmp_path / "flat", layout="flat")
    assert out.nifti["T1map"] == tmp_path / "flat" / "sub-01_acq-fisp_T1map.nii.gz"
    with pytest.raises(MrfreconError, match="needs a subject"):
        write_maps(_maps((6, 5, 3)), nifti_acq, tmp_path / "o", stem="scan", layout="bids")


def test_inputs_from_two_folders_keep_distinct_dataset_links(tmp_path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / f"sub-{folder}_MRF.nii.gz"
        nib.save(nib.Nifti1Image(np.ones((6, 5, 3, 4), np.complex64), AFFINE), path)
        write_maps(_maps((6, 5, 3)), read_acquisition(path), tmp_path / "out")
    links = json.loads((tmp_path / "out" / "dataset_description.json").read_text())["DatasetLinks"]
    side = json.loads((tmp_path / "out" / "sub-b" / "anat" / "sub-b_T1map.json").read_text())
    name = side["Sources"][0].split(":")[1]
    assert links[name] == (tmp_path / "b").resolve().as_uri()
    assert links["input"] == (tmp_path / "a").resolve().as_uri()


def test_offresonance_field_maps_pass_the_bids_validator(tmp_path, nifti_acq, require_tool):
    """Field maps (Hz) go to fmap/ with the magnitude image BIDS requires beside each; maps
    without an off-resonance write no fmap/ at all."""
    import subprocess
    from dataclasses import replace

    tool = require_tool("bids-validator-deno")
    shape = nifti_acq.spatial_shape
    rng = np.random.default_rng(4)
    maps = replace(_maps(shape), df_hz=rng.uniform(-40, 40, shape),
                   df_sd_hz=rng.uniform(0.1, 2, shape))
    out = tmp_path / "derivatives" / "mrfrecon"
    written = write_maps(maps, nifti_acq, out)
    fmap = {p.name for p in (out / "sub-01" / "fmap").iterdir()}
    for desc in ("offres", "offressd"):
        assert {f"sub-01_acq-fisp_desc-{desc}_fieldmap.nii.gz",
                f"sub-01_acq-fisp_desc-{desc}_magnitude.nii.gz"} <= fmap
    magnitude = nib.load(out / "sub-01" / "fmap" / "sub-01_acq-fisp_desc-offres_magnitude.nii.gz")
    np.testing.assert_allclose(magnitude.get_fdata(), np.abs(maps.m0), rtol=1e-6)
    assert "desc-offres_magnitude" not in written.dicom_series  # NIfTI only
    check = subprocess.run([tool, str(out), "--json"], capture_output=True, text=True)
    issues = json.loads(check.stdout)["issues"]["issues"]
    errors = [(i["code"], i.get("location")) for i in issues if i["severity"] == "error"]
    assert errors == [], errors
    plain = write_maps(_maps(shape), nifti_acq, tmp_path / "plain")
    assert not any("fmap" in p.parts for p in plain)
