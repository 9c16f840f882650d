"""``io.load``: which reader opens a path, and the file-type tests batch shares."""

from __future__ import annotations

import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mrfrecon.errors import InputFileError
from mrfrecon.io import read_acquisition
from mrfrecon.io.load import is_dicom_file, is_nifti_path


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.nii", True), ("a.NII.GZ", True), ("sub-01_MRF.nii.gz", True), ("a.hdr", False),
     ("a.img", False), ("a.dcm", False), ("nii", False), ("a.nii.bak", False)],
)
def test_is_nifti_path(name, expected):
    assert is_nifti_path(Path("/x") / name) is expected


def test_is_dicom_file(tmp_path):
    good = tmp_path / "IM0001"
    good.write_bytes(b"\0" * 128 + b"DICM" + b"rest")
    short = tmp_path / "short"
    short.write_bytes(b"\0" * 128 + b"DIC")
    other = tmp_path / "other.dcm"
    other.write_bytes(b"\0" * 128 + b"NOPE")
    assert is_dicom_file(good)
    assert not is_dicom_file(short) and not is_dicom_file(other)
    assert not is_dicom_file(tmp_path)  # a folder: not readable as a file
    assert not is_dicom_file(tmp_path / "missing")


def test_nifti_pair_goes_to_the_nifti_reader(tmp_path):
    img = nib.Nifti1Pair(np.zeros((2, 2, 1, 3), np.float32), np.eye(4))
    nib.save(img, tmp_path / "pair.hdr")
    with pytest.raises(InputFileError, match=r"Not a NIfTI image: '.*pair\.hdr'"):
        read_acquisition(tmp_path / "pair.hdr")


def test_a_list_with_a_nifti_file_is_refused(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 1, 3), np.float32), np.eye(4)), tmp_path / "a.nii")
    with pytest.raises(InputFileError, match="Give one NIfTI file, not a list"):
        read_acquisition([tmp_path / "a.nii", tmp_path])


def test_series_uid_is_for_dicom_only(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 1, 3), np.float32), np.eye(4)), tmp_path / "a.nii")
    for kwargs in ({"series_uid": "1.2.3"}, {"series": "5"}):
        with pytest.raises(InputFileError, match="choosing a series applies to DICOM input only"):
            read_acquisition(tmp_path / "a.nii", **kwargs)


def test_importing_io_loads_no_reader_library():
    import subprocess

    code = ("import sys, mrfrecon.io; "
            "print(','.join(m for m in ('nibabel', 'pydicom') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
