"""The phantom's NIfTI and DICOM copies (written through io.dicom_series) share one world."""

from __future__ import annotations

import numpy as np

from mrfrecon.io import read_acquisition
from mrfrecon.io.dicom_series import write_mr_series
from mrfrecon.phantom import write_phantom
from tests.helpers import OBLIQUE, assert_same_world_image


def test_phantom_nifti_and_dicom_hold_the_same_voxels_at_the_same_world_points(
    tmp_path, short_fisp
) -> None:
    files = write_phantom(short_fisp.with_timepoints(3), tmp_path, size=16, noise_sigma=0.0,
                          dicom=True)
    nifti = read_acquisition(files.series)
    dicom = read_acquisition(files.dicom)
    assert dicom.spatial_shape == nifti.spatial_shape
    peak = float(np.abs(nifti.data).max())
    for t in range(3):  # complex values: the phase ramp is not mirror-symmetric
        for part in (np.real, np.imag):
            assert_same_world_image(part(nifti.data[..., t]), nifti.affine,
                                    part(dicom.data[..., t]), dicom.affine, atol=3e-3 * peak)


def test_oblique_affine_round_trips_through_dicom(tmp_path) -> None:
    rng = np.random.default_rng(1)
    series = (rng.uniform(1, 2, (5, 4, 3, 2)) * np.exp(1j * rng.uniform(-3, 3, (5, 4, 3, 2))))
    o = np.asarray(OBLIQUE.orientation)
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1] = o[:3] * 1.5, o[3:] * 2.0
    lps[:3, 2], lps[:3, 3] = np.cross(o[:3], o[3:]) * 4.0, (-10.0, -20.0, 30.0)
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps  # RAS+
    write_mr_series(series.astype(np.complex64), affine, tmp_path / "dcm")
    back = read_acquisition(tmp_path / "dcm")
    np.testing.assert_allclose(back.affine, affine, atol=1e-4)
    np.testing.assert_allclose(np.abs(back.data), np.abs(series), rtol=1e-3, atol=1e-3)
