"""``io.nifti.read_volume``: the one reader of 3-D NIfTI volumes (masks, truth maps)."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mrfrecon.errors import InputFileError
from mrfrecon.io.nifti import nifti_shape, read_volume
from mrfrecon.qc.metrics import read_truth_map
from mrfrecon.recon.pipeline import read_mask

SHAPE = (4, 3, 2)


def _save(values: np.ndarray, path: Path, slope: float | None = None) -> Path:
    img = nib.Nifti1Image(values, np.eye(4))
    if slope is not None:
        img.header.set_slope_inter(slope, 0.0)
    nib.save(img, path)
    return path


@pytest.mark.parametrize(
    ("stored_shape", "expected"),
    [
        pytest.param((4, 3, 2), (4, 3, 2), id="3d"),
        pytest.param((4, 3), (4, 3, 1), id="2d-is-one-slice"),
        pytest.param((4, 3, 2, 1), (4, 3, 2), id="4d-singleton"),
        pytest.param((4, 3, 2, 1, 1), (4, 3, 2), id="5d-singletons"),
    ],
)
def test_shapes(tmp_path, stored_shape, expected):
    values = np.arange(np.prod(stored_shape), dtype=np.int16).reshape(stored_shape)
    out = read_volume(_save(values, tmp_path / "v.nii.gz"), expected)
    assert out.shape == expected and out.dtype == np.float64
    np.testing.assert_array_equal(out.ravel(), values.ravel())


def test_scaling_is_applied(tmp_path):
    values = np.arange(24, dtype=np.int16).reshape(SHAPE)
    out = read_volume(_save(values, tmp_path / "v.nii", slope=0.5))
    np.testing.assert_allclose(out, values * 0.5)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        pytest.param(lambda p: None, r"mask not found: '.*v\.nii\.gz'", id="missing"),
        pytest.param(lambda p: p.write_bytes(b"not gzip"), r"cannot read mask '.*v\.nii\.gz'",
                     id="unreadable"),
        pytest.param(lambda p: _save(np.zeros((4, 3, 2, 5), np.uint8), p), "not 2-D or 3-D",
                     id="time-series"),
        pytest.param(lambda p: _save(np.zeros((4, 3, 5), np.uint8), p),
                     r"mask shape \(4, 3, 5\) differs from the data's \(4, 3, 2\)", id="shape"),
    ],
)
def test_errors_name_label_and_file(tmp_path, make, match):
    path = tmp_path / "v.nii.gz"
    make(path)
    with pytest.raises(InputFileError, match=match):
        read_volume(path, SHAPE, label="mask")


def test_mask_and_truth_map_read_through_it(tmp_path):
    mask = np.zeros(SHAPE, np.float32)
    mask[1, 1, 0] = np.nan  # NaN is not a fitted voxel
    mask[2, 1, 1] = 3.0
    got = read_mask(_save(mask, tmp_path / "mask.nii.gz"), SHAPE)
    assert got.dtype == bool and np.argwhere(got).tolist() == [[2, 1, 1]]

    truth_s = np.full(SHAPE, 1.2, np.float32)
    path = _save(truth_s, tmp_path / "t1.nii.gz")
    np.testing.assert_allclose(read_truth_map(path, SHAPE), 1200.0, rtol=1e-6)  # s -> ms
    (tmp_path / "t1.json").write_text(json.dumps({"Units": "ms"}))
    np.testing.assert_allclose(read_truth_map(path, SHAPE), 1.2, rtol=1e-6)  # sidecar wins
    with pytest.raises(InputFileError, match="truth map shape"):
        read_truth_map(path, (4, 3, 1))


def test_nifti_shape_reads_the_header_only(tmp_path):
    path = _save(np.zeros((4, 3, 2, 7), np.int16), tmp_path / "s.nii.gz")
    assert nifti_shape(path) == (4, 3, 2, 7)
    with pytest.raises(InputFileError, match="Cannot read NIfTI file"):
        nifti_shape(tmp_path / "missing.nii.gz")
