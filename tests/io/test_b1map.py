"""B1 maps in any geometry, resampled onto the acquisition grid through world coordinates."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mrfrecon.errors import InputFileError
from mrfrecon.io import read_acquisition
from mrfrecon.io.b1map import read_b1_map, read_b1_volume, resample_volume, source_coordinates
from tests.helpers import OBLIQUE, write_classic_series

GRADIENT = np.array([0.004, -0.003, 0.002])  # B1 change per mm along x, y, z (RAS)


def b1_field(world_mm: np.ndarray) -> np.ndarray:
    """An analytic linear B1 field (trilinear interpolation reproduces it exactly)."""
    return 1.0 + world_mm @ GRADIENT


def world(affine: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    ijk = np.stack(np.meshgrid(*(np.arange(n, dtype=float) for n in shape), indexing="ij"), -1)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def oblique_affine(angles_deg, spacing_mm, centre_mm, shape) -> np.ndarray:
    """A rotated, anisotropic grid whose centre voxel lies at ``centre_mm``."""
    affine = np.eye(4)
    affine[:3, :3] = Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix() @ np.diag(
        spacing_mm)
    affine[:3, 3] = np.asarray(centre_mm) - affine[:3, :3] @ ((np.array(shape) - 1) / 2)
    return affine


TARGET = np.diag([1.5, 1.5, 5.0, 1.0])
TARGET[:3, 3] = [-20.0, -20.0, -10.0]
TARGET_SHAPE = (24, 24, 4)
SOURCE_SHAPE = (30, 34, 28)
SOURCE = oblique_affine([20, -35, 50], [2.5, 2.0, 3.0], [-1.0, -3.0, -2.0], SOURCE_SHAPE)


def test_target_lies_inside_the_rotated_source():
    ijk = source_coordinates(SOURCE, TARGET, TARGET_SHAPE)
    assert np.all(ijk >= 0) and np.all(ijk <= np.array(SOURCE_SHAPE) - 1)


def test_linear_field_is_reproduced_exactly_after_rotation_shift_and_resampling():
    values = b1_field(world(SOURCE, SOURCE_SHAPE))
    out = resample_volume(values, SOURCE, TARGET, TARGET_SHAPE)
    np.testing.assert_allclose(out, b1_field(world(TARGET, TARGET_SHAPE)), atol=1e-12)


def test_voxels_outside_the_source_are_nan():
    small = (8, 8, 4)  # a source that covers only part of the target
    src = np.diag([1.5, 1.5, 5.0, 1.0])
    src[:3, 3] = [-20.0, -20.0, -10.0]
    out = resample_volume(np.ones(small), src, TARGET, TARGET_SHAPE)
    assert np.all(out[:8, :8] == 1.0)
    assert np.all(np.isnan(out[9:, :])) and np.all(np.isnan(out[:, 9:]))


def test_single_slice_source_is_constant_through_its_thickness():
    src = np.diag([1.0, 1.0, 10.0, 1.0])
    values = np.arange(4.0)[:, None, None] * np.ones((4, 4, 1))
    dst = np.diag([1.0, 1.0, 1.0, 1.0])
    dst[2, 3] = -4.0  # slices at z = -4..4 mm: within the source's half thickness (5 mm)
    out = resample_volume(values, src, dst, (4, 4, 9))
    np.testing.assert_allclose(out, np.broadcast_to(values, (4, 4, 9)))


def _acquisition(tmp_path):
    series = np.ones((*TARGET_SHAPE, 3), np.complex64)
    img = nib.Nifti1Image(series, TARGET)
    img.set_sform(TARGET, code="scanner")
    img.set_qform(TARGET, code="scanner")
    nib.save(img, tmp_path / "mrf.nii")
    return read_acquisition(tmp_path / "mrf.nii")


def test_nifti_b1_map_in_another_geometry(tmp_path):
    acq = _acquisition(tmp_path)
    img = nib.Nifti1Image(b1_field(world(SOURCE, SOURCE_SHAPE)).astype(np.float32), SOURCE)
    img.set_sform(SOURCE, code="scanner")
    nib.save(img, tmp_path / "b1.nii.gz")
    out = read_b1_map(tmp_path / "b1.nii.gz", acq)
    np.testing.assert_allclose(out, b1_field(world(TARGET, TARGET_SHAPE)), atol=1e-5)


def test_dicom_b1_map_geometry_and_percent_maps_refused(tmp_path):
    """An oblique DICOM B1 map (in percent, as scanners often store it): its geometry is read,
    and a map that is not a flip-angle scale is refused with a one-line hint."""
    acq = _acquisition(tmp_path)
    shape = (16, 12, 3)
    folder = tmp_path / "b1dicom"
    folder.mkdir()
    write_classic_series(folder, np.full((*shape, 1), 100.0), stack=OBLIQUE)
    values, affine = read_b1_volume(folder)
    assert values.shape == shape
    np.testing.assert_allclose(values, 100.0)
    lps = np.asarray(OBLIQUE.orientation)
    np.testing.assert_allclose(affine[:3, 0] / np.linalg.norm(affine[:3, 0]),
                               lps[:3] * [-1, -1, 1], atol=1e-6)
    with pytest.raises(InputFileError, match="not a flip-angle scale"):
        read_b1_map(folder, acq)


def test_missing_b1_map_is_one_line_error(tmp_path):
    with pytest.raises(InputFileError, match="B1 map not found"):
        read_b1_map(tmp_path / "nope.nii.gz", None)
