"""Reading DICOM MR series (classic and Enhanced) into complex (x, y, z, t) arrays."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mrfrecon.errors import InputFileError, ModelMismatchError
from mrfrecon.io import check_timepoints, read_acquisition
from mrfrecon.io.geometry import LPS_TO_RAS
from tests.helpers import (
    OBLIQUE,
    Stack,
    assert_same_world_image,
    random_series,
    write_classic_series,
    write_enhanced,
)

SHAPE = (5, 4, 3, 6)  # nx (columns), ny (rows), nz, nt


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "time_tag", ["TemporalPositionIdentifier", "AcquisitionNumber", "InstanceNumber"]
)
def test_classic_magnitude_phase_round_trip(tmp_path: Path, time_tag: str) -> None:
    magnitude, phase = random_series(SHAPE)
    write_classic_series(tmp_path / "in", magnitude, phase, stack=OBLIQUE, time_tag=time_tag)
    (tmp_path / "in" / "notes.txt").write_text("not DICOM")
    (tmp_path / "in" / "sub").mkdir()
    (tmp_path / "in" / "sub" / "garbage.dcm").write_bytes(b"\x00" * 300)
    before = _tree_digest(tmp_path / "in")

    acq = read_acquisition(tmp_path / "in")

    assert acq.data.dtype == np.complex64
    assert acq.data.shape == SHAPE
    assert acq.source == "dicom"
    assert acq.components == ("magnitude", "phase")
    assert acq.phase_scaling == "siemens"
    expected = magnitude * np.exp(1j * phase)
    np.testing.assert_allclose(acq.data, expected, rtol=0, atol=2e-3 * magnitude.max())
    np.testing.assert_allclose(np.abs(acq.data), magnitude, rtol=1e-5)
    assert _tree_digest(tmp_path / "in") == before  # nothing modified or added


def test_classic_geometry_affine(tmp_path: Path) -> None:
    magnitude, _ = random_series(SHAPE)
    write_classic_series(tmp_path, magnitude, stack=OBLIQUE)
    first = sorted(tmp_path.iterdir())[0]
    shutil.copy(first, tmp_path / "copy_of_first")  # the same image twice is read once
    acq = read_acquisition(tmp_path)
    assert len(acq.paths) == np.prod(SHAPE[2:])
    o = np.asarray(OBLIQUE.orientation)
    normal = np.cross(o[:3], o[3:])
    lps = np.eye(4)
    lps[:3, 0] = o[:3] * OBLIQUE.spacing[1]  # along a row: column spacing
    lps[:3, 1] = o[3:] * OBLIQUE.spacing[0]
    lps[:3, 2] = normal * OBLIQUE.slice_step
    lps[:3, 3] = OBLIQUE.origin
    np.testing.assert_allclose(acq.affine, LPS_TO_RAS @ lps, atol=1e-5)
    assert acq.components == ("magnitude",)
    assert acq.phase_scaling is None
    assert acq.stem == "sub-P123_acq-MRFFISP"
    ref = acq.dicom
    assert ref is not None
    assert ref.study_instance_uid == "1.2.3.4"
    assert ref.frame_of_reference_uid == "1.2.3.5"
    assert len(ref.source_images) == SHAPE[2]
    np.testing.assert_allclose(
        ref.geometry.positions[1] - ref.geometry.positions[0],
        normal * OBLIQUE.slice_step,
        atol=1e-5,
    )


def test_slices_sorted_by_position_not_by_name(tmp_path: Path) -> None:
    magnitude, _ = random_series(SHAPE)
    reversed_stack = Stack(slice_step=-4.0)  # slice 0 of the input is the highest position
    write_classic_series(tmp_path, magnitude, stack=reversed_stack)
    acq = read_acquisition(tmp_path)
    np.testing.assert_allclose(acq.data.real, magnitude[:, :, ::-1, :])
    assert acq.affine[2, 2] > 0  # ascending along the normal (+z: superior)


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ([("magnitude", 2, 3)], "missing time point 4 of slice 3 (magnitude)"),
        ([("phase", 0, 0), ("phase", 1, 5)], "missing time point 1 of slice 1 (phase)"),
    ],
    ids=["magnitude", "phase"],
)
def test_missing_frames_named(tmp_path: Path, drop: list, message: str) -> None:
    magnitude, phase = random_series(SHAPE)
    write_classic_series(tmp_path, magnitude, phase, drop=drop)
    with pytest.raises(InputFileError, match="incomplete series") as info:
        read_acquisition(tmp_path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_frame_rank_ordering_names_the_slice(tmp_path: Path) -> None:
    magnitude, _ = random_series(SHAPE)
    write_classic_series(tmp_path, magnitude, time_tag="InstanceNumber", drop=[("magnitude", 1, 2)])
    with pytest.raises(InputFileError, match=r"slice 2 \(magnitude\) has 5 of 6 time points"):
        read_acquisition(tmp_path)


def test_separate_series_paired_or_named_explicitly(tmp_path: Path) -> None:
    magnitude, phase = random_series(SHAPE)
    uids = write_classic_series(tmp_path, magnitude, phase, separate_phase_series=True)
    paired = read_acquisition(tmp_path)
    assert paired.components == ("magnitude", "phase")
    assert paired.dicom is not None and paired.dicom.series_uids == (uids["magnitude"], uids["phase"])
    only_magnitude = read_acquisition(tmp_path, series_uid=uids["magnitude"])
    assert only_magnitude.components == ("magnitude",)
    both = read_acquisition(tmp_path, series_uid=[uids["magnitude"], uids["phase"]])
    np.testing.assert_allclose(
        np.angle(both.data), np.angle(magnitude * np.exp(1j * phase)), atol=2e-3
    )


def test_phase_in_separate_folder(tmp_path: Path) -> None:
    magnitude, phase = random_series(SHAPE)
    write_classic_series(tmp_path / "mag", magnitude)
    write_classic_series(tmp_path / "pha", None, phase)
    acq = read_acquisition(tmp_path / "mag", phase=tmp_path / "pha")
    assert acq.components == ("magnitude", "phase")
    np.testing.assert_allclose(acq.data, magnitude * np.exp(1j * phase), atol=1.0)
    assert len(acq.paths) == 2 * np.prod(SHAPE[2:])


def test_phase_only_rejected(tmp_path: Path) -> None:
    _, phase = random_series(SHAPE)
    write_classic_series(tmp_path, None, phase)
    with pytest.raises(InputFileError, match="cannot form complex data from phase"):
        read_acquisition(tmp_path)


def test_no_dicom_found(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputFileError, match=r"no DICOM MR images found \(1 files ignored"):
        read_acquisition(tmp_path)


def test_check_timepoints(tmp_path: Path) -> None:
    magnitude, _ = random_series(SHAPE)
    write_classic_series(tmp_path, magnitude)
    acq = read_acquisition(tmp_path)
    check_timepoints(acq, SHAPE[3])
    with pytest.raises(ModelMismatchError, match="has 6 time points, the model expects 1000"):
        check_timepoints(acq, 1000)


def test_enhanced_real_imaginary(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    real = rng.integers(-3000, 3000, size=SHAPE) * 0.25
    imag = rng.integers(-3000, 3000, size=SHAPE) * 0.25
    write_enhanced(tmp_path / "enh.dcm", real, imag, stack=OBLIQUE)
    classic = tmp_path / "classic"
    write_classic_series(classic, random_series(SHAPE)[0], stack=OBLIQUE)

    acq = read_acquisition(tmp_path / "enh.dcm")
    assert acq.components == ("real", "imaginary")
    np.testing.assert_allclose(acq.data, real + 1j * imag, atol=1e-3)
    np.testing.assert_allclose(acq.affine, read_acquisition(classic).affine, atol=1e-5)
    assert acq.dicom is not None and acq.dicom.source_images[0].frame_number is not None


def _philips_sample(tmp_path: Path) -> Path:
    sample = Path(nib.__file__).parent / "nicom" / "tests" / "data" / "philips_mprage.dcm.gz"
    if not sample.exists():
        pytest.skip("nibabel's Philips Enhanced MR sample is not installed")
    out = tmp_path / "philips" / "mprage.dcm"
    out.parent.mkdir()
    out.write_bytes(gzip.decompress(sample.read_bytes()))
    return out


def test_philips_enhanced_sample_matches_nibabel(tmp_path: Path) -> None:
    import warnings

    import pydicom

    path = _philips_sample(tmp_path)
    acq = read_acquisition(path.parent)
    assert acq.data.shape == (256, 256, 176, 1)
    assert acq.voxel_size_mm == pytest.approx((1.0, 1.0, 1.0), abs=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nibabel's "experimental reader" warnings
        from nibabel.nicom import dicomwrappers

        wrapper = dicomwrappers.wrapper_from_data(pydicom.dcmread(path))
        expected = wrapper.get_data()
        affine = LPS_TO_RAS @ wrapper.affine
    # nibabel orders (row, column) and may reverse the slices; the world mapping is the same
    assert_same_world_image(
        acq.data[..., 0].real, acq.affine, expected, affine, atol=1e-3, n_samples=20000
    )


@pytest.mark.skipif(shutil.which("dcm2niix") is None, reason="dcm2niix not installed")
def test_matches_dcm2niix(tmp_path: Path) -> None:
    magnitude, _ = random_series((6, 5, 4, 3))
    write_classic_series(tmp_path / "in", magnitude, stack=OBLIQUE, time_tag="AcquisitionNumber")
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run(
        ["dcm2niix", "-z", "n", "-b", "n", "-f", "conv", "-o", str(out), str(tmp_path / "in")],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    converted = nib.load(out / "conv.nii")
    assert converted.shape == (6, 5, 4, 3)
    acq = read_acquisition(tmp_path / "in")
    reference = np.asarray(converted.dataobj, dtype=np.float32)
    for t in range(3):
        transform = assert_same_world_image(
            acq.data[..., t].real, acq.affine, reference[..., t], converted.affine, atol=1e-4
        )
    # documented convention: dcm2niix reverses the row axis (axis 1), nothing else
    assert np.array_equal(np.diag(transform)[:3], [1, -1, 1])


@pytest.mark.parametrize("stack", [Stack(spacing=(0.0, 1.5)), Stack(origin=(np.nan, 0.0, 0.0))],
                         ids=["zero-spacing", "nan-position"])
def test_degenerate_dicom_geometry_is_refused(tmp_path: Path, stack) -> None:
    """Maps in such a geometry (and DICOM maps above all) would carry NaN or zero sizes."""
    import warnings

    magnitude, _ = random_series(SHAPE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns on writing 'nan' as DS
        write_classic_series(tmp_path, magnitude, stack=stack)
    with pytest.raises(InputFileError, match="affine"):
        read_acquisition(tmp_path)
