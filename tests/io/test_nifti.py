"""Reading NIfTI MRF series: complex, magnitude + phase, shape checks."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mrfrecon.errors import InputFileError
from mrfrecon.io import read_acquisition
from mrfrecon.io.nifti import sidecar_manufacturer

AFFINE = np.array(
    [[-1.5, 0.1, 0.0, 90.0], [0.0, 1.4, 0.3, -100.0], [0.0, -0.2, 3.0, -50.0], [0, 0, 0, 1]]
)


def _complex_series(shape=(6, 5, 3, 10), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def _save(data: np.ndarray, path: Path, affine: np.ndarray = AFFINE) -> Path:
    img = nib.Nifti1Image(data, affine)
    img.set_sform(affine, code="scanner")
    img.set_qform(affine, code="aligned")
    nib.save(img, path)
    return path


@pytest.mark.parametrize("name", ["sub-01_acq-fisp_MRF.nii.gz", "series.nii"])
def test_complex_round_trip(tmp_path: Path, name: str) -> None:
    data = _complex_series()
    path = _save(data, tmp_path / name)
    acq = read_acquisition(path)
    assert acq.data.dtype == np.complex64
    np.testing.assert_array_equal(acq.data, data)  # imaginary part kept (not get_fdata)
    np.testing.assert_allclose(acq.affine, AFFINE, atol=1e-6)
    assert acq.source == "nifti" and acq.components == ("complex",)
    assert acq.kind == "complex"
    assert acq.n_timepoints == 10
    assert acq.nifti_header is not None and int(acq.nifti_header["sform_code"]) == 1
    assert acq.stem == ("sub-01_acq-fisp" if name.startswith("sub") else "series")


def test_single_slice_4d(tmp_path: Path) -> None:
    data = _complex_series((6, 5, 1, 7))
    acq = read_acquisition(_save(data, tmp_path / "s.nii.gz"))
    assert acq.data.shape == (6, 5, 1, 7)


@pytest.mark.parametrize(
    ("shape", "match"),
    [((6, 5, 7), "3-D image of shape"), ((6, 5), "expected 4-D"), ((6, 5, 2, 3, 2), "expected")],
    ids=["3d", "2d", "5d"],
)
def test_ambiguous_shapes_rejected(tmp_path: Path, shape: tuple, match: str) -> None:
    path = _save(np.zeros(shape, np.float32), tmp_path / "x.nii.gz")
    with pytest.raises(InputFileError, match=match) as info:
        read_acquisition(path)
    assert str(path) in str(info.value)


def test_trailing_singleton_dropped(tmp_path: Path) -> None:
    acq = read_acquisition(_save(np.ones((4, 3, 2, 5, 1), np.float32), tmp_path / "x.nii"))
    assert acq.data.shape == (4, 3, 2, 5)


@pytest.mark.parametrize("convention", ["radians", "radians_0_2pi", "siemens", "siemens_scl"])
def test_magnitude_phase(tmp_path: Path, convention: str) -> None:
    rng = np.random.default_rng(1)
    shape = (4, 3, 2, 8)
    magnitude = rng.uniform(1, 100, shape).astype(np.float32)
    stored = rng.integers(0, 4096, shape)
    phase_rad = ((2.0 * stored - 4096) * np.pi / 4096).astype(np.float32)
    if convention == "radians":
        phase_file = phase_rad
    elif convention == "radians_0_2pi":
        phase_file = np.mod(phase_rad, 2 * np.pi).astype(np.float32)
    elif convention == "siemens":
        phase_file = (2.0 * stored - 4096).astype(np.float32)
    else:  # dcm2niix style: raw integers with scl_slope 2, scl_inter -4096
        phase_file = stored.astype(np.int16)
    _save(magnitude, tmp_path / "mag.nii.gz")
    phase_img = nib.Nifti1Image(phase_file, AFFINE)
    if convention == "siemens_scl":
        phase_img.header.set_slope_inter(2.0, -4096.0)
    nib.save(phase_img, tmp_path / "pha.nii.gz")

    acq = read_acquisition(tmp_path / "mag.nii.gz", phase=tmp_path / "pha.nii.gz")

    expected_scaling = "radians" if convention.startswith("radians") else "siemens"
    assert acq.phase_scaling == expected_scaling
    assert acq.components == ("magnitude", "phase") and acq.kind == "complex"
    np.testing.assert_allclose(acq.data, magnitude * np.exp(1j * phase_rad), atol=1e-3)


@pytest.mark.parametrize(
    ("sidecar", "expected"),
    [(None, "milliradians"), ("GE MEDICAL SYSTEMS", "milliradians"), ("Siemens", "siemens")],
    ids=["no-sidecar", "ge-sidecar", "siemens-sidecar"],
)
def test_integer_phase_within_3142_follows_the_vendor(tmp_path, sidecar, expected) -> None:
    """GE/Philips integer milliradians and Siemens units overlap within +-3142: the
    dcm2niix sidecar's Manufacturer decides, milliradians without one."""
    rng = np.random.default_rng(2)
    shape = (4, 3, 2, 8)
    magnitude = rng.uniform(1, 100, shape).astype(np.float32)
    stored = rng.integers(-3142, 3142, shape).astype(np.int16)
    _save(magnitude, tmp_path / "mag.nii.gz")
    nib.save(nib.Nifti1Image(stored, AFFINE), tmp_path / "pha.nii.gz")
    if sidecar is not None:
        (tmp_path / "pha.json").write_text(json.dumps({"Manufacturer": sidecar}))

    acq = read_acquisition(tmp_path / "mag.nii.gz", phase=tmp_path / "pha.nii.gz")

    assert acq.phase_scaling == expected
    to_rad = 1e-3 if expected == "milliradians" else np.pi / 4096
    np.testing.assert_allclose(acq.data, magnitude * np.exp(1j * stored * to_rad), atol=1e-3)


def test_odd_sidecar_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("{not json")
    assert sidecar_manufacturer(tmp_path / "p.nii.gz") == ""
    (tmp_path / "q.json").write_text(json.dumps({"Manufacturer": 7}))
    assert sidecar_manufacturer(tmp_path / "q.nii") == ""


def test_phase_out_of_range(tmp_path: Path) -> None:
    _save(np.ones((2, 2, 1, 3), np.float32), tmp_path / "m.nii")
    _save(np.full((2, 2, 1, 3), 5000, np.float32), tmp_path / "p.nii")
    with pytest.raises(InputFileError, match=r"phase range \[5000, 5000\] is neither"):
        read_acquisition(tmp_path / "m.nii", phase=tmp_path / "p.nii")


def test_phase_shape_mismatch(tmp_path: Path) -> None:
    _save(np.ones((2, 2, 1, 3), np.float32), tmp_path / "m.nii")
    _save(np.zeros((2, 2, 1, 4), np.float32), tmp_path / "p.nii")
    with pytest.raises(InputFileError, match=r"phase shape \(2, 2, 1, 4\) differs"):
        read_acquisition(tmp_path / "m.nii", phase=tmp_path / "p.nii")


def test_missing_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="Input not found"):
        read_acquisition(tmp_path / "nope.nii.gz")
    (tmp_path / "bad.nii.gz").write_bytes(b"not gzip")
    with pytest.raises(InputFileError, match="Cannot read NIfTI file"):
        read_acquisition(tmp_path / "bad.nii.gz")


def test_reading_writes_nothing(tmp_path: Path) -> None:
    _save(_complex_series(), tmp_path / "a.nii.gz")
    before = sorted(tmp_path.iterdir())
    read_acquisition(tmp_path / "a.nii.gz")
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(("offset", "components", "kind"), [
    pytest.param(0.0, ("magnitude",), "magnitude", id="non-negative-is-magnitude"),
    pytest.param(-0.5, ("real",), "complex", id="signed-is-phase-corrected-real"),
])
def test_real_series_without_phase(tmp_path: Path, offset, components, kind) -> None:
    values = np.random.default_rng(3).uniform(0, 1, (4, 4, 2, 10)).astype(np.float32) + offset
    acq = read_acquisition(_save(values, tmp_path / "real.nii.gz"))
    assert acq.components == components and acq.kind == kind
    np.testing.assert_array_equal(acq.data, values.astype(np.complex64))


# --- hostile NIfTI files: refused from the header, one line naming the file

def test_small_gz_declaring_a_huge_image_is_refused_before_reading(tmp_path):
    import gzip

    path = _save(_complex_series((4, 4, 1, 10)), tmp_path / "bomb.nii.gz")
    raw = bytearray(gzip.decompress(path.read_bytes()))
    header = nib.Nifti1Header.from_fileobj(__import__("io").BytesIO(bytes(raw[:352])))
    header.set_data_shape((4096, 4096, 512, 1000))
    raw[:348] = header.binaryblock
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(InputFileError, match="bomb.nii.gz.*declares.*more than the file"):
        read_acquisition(path)


def test_image_larger_than_memory_is_refused(tmp_path, monkeypatch):
    import mrfrecon.limits as limits

    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 1000)
    path = _save(_complex_series(), tmp_path / "big.nii")
    with pytest.raises(limits.LimitError, match="big.nii.*memory_fraction"):
        read_acquisition(path)


def test_truncated_gz_is_one_input_error(tmp_path):
    path = _save(_complex_series((16, 16, 2, 40)), tmp_path / "cut.nii.gz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="cut.nii.gz"):
        read_acquisition(path)


@pytest.mark.parametrize("row", [[0.0, 0.0, 0.0, 0.0], [np.nan, 0.0, 0.0, 0.0]],
                         ids=["zero", "nan"])
def test_degenerate_affines_are_refused(tmp_path, row):
    path = _save(_complex_series(), tmp_path / "a.nii")
    raw = bytearray(path.read_bytes())
    header = nib.Nifti1Header.from_fileobj(__import__("io").BytesIO(bytes(raw[:352])))
    header["qform_code"], header["sform_code"] = 0, 1
    header["srow_x"] = row  # the sform nibabel uses for the affine
    raw[:348] = header.binaryblock
    path.write_bytes(bytes(raw))
    with pytest.raises(InputFileError, match="a.nii.*affine"):
        read_acquisition(path)


def test_fifo_input_is_refused_without_blocking(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.nii")
    with pytest.raises(InputFileError, match="not a regular file"):
        read_acquisition(tmp_path / "pipe.nii")
