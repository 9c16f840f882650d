"""Measured B1 maps (flip-angle scale, unitless, 1 = nominal) on the acquisition's grid.

A B1 map comes in its own geometry (NIfTI or DICOM, any orientation, voxel size and field of
view); :func:`resample_volume` carries it onto the MRF acquisition's voxels through world
coordinates (RAS+ mm): each target voxel centre ``x = A_dst (i, j, k, 1)`` is looked up at the
source voxel ``A_src^-1 x`` and interpolated trilinearly. Target voxels more than half a voxel
outside the source volume get NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mrfrecon.errors import InputFileError
from mrfrecon.io.acquisition import Acquisition

#: A median B1 above this is not a flip-angle scale (maps in percent or degrees x 10 are).
B1_MAX_PLAUSIBLE = 5.0


def source_coordinates(src_affine: np.ndarray, dst_affine: np.ndarray,
                       dst_shape: tuple[int, int, int]) -> np.ndarray:
    """Source voxel coordinates ``(n, 3)`` of every target voxel centre (C order over
    ``dst_shape``); both affines map voxel indices to the same world frame (RAS+ mm)."""
    grid = np.stack(np.meshgrid(*(np.arange(n, dtype=np.float64) for n in dst_shape),
                                indexing="ij"), axis=-1).reshape(-1, 3)
    to_source = np.linalg.inv(np.asarray(src_affine, np.float64)) @ np.asarray(dst_affine,
                                                                                np.float64)
    return grid @ to_source[:3, :3].T + to_source[:3, 3]


def trilinear(values: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of ``values`` (``(nx, ny, nz)``) at voxel coordinates ``ijk``
    (``(n, 3)``); NaN beyond half a voxel outside, edge values within that half voxel."""
    values = np.asarray(values, np.float64)
    shape = np.array(values.shape)
    inside = np.all((ijk >= -0.5) & (ijk <= shape - 0.5), axis=1)
    pos = np.clip(ijk, 0, shape - 1)
    base = np.minimum(np.floor(pos).astype(np.int64), np.maximum(shape - 2, 0))
    frac = np.where(shape > 1, pos - base, 0.0)
    out = np.zeros(ijk.shape[0])
    for corner in np.ndindex(2, 2, 2):
        offset = np.minimum(np.array(corner), shape - 1)  # a 1-voxel axis has one corner
        weight = np.prod(np.where(np.array(corner) == 1, frac, 1 - frac), axis=1)
        if np.any(np.array(corner) > offset):
            continue
        idx = base + offset
        out += weight * values[idx[:, 0], idx[:, 1], idx[:, 2]]
    out[~inside] = np.nan
    return out


def resample_volume(values: np.ndarray, src_affine: np.ndarray, dst_affine: np.ndarray,
                    dst_shape: tuple[int, int, int]) -> np.ndarray:
    """``values`` (``(nx, ny, nz)`` on ``src_affine``) on the target grid, ``dst_shape``,
    trilinear in world coordinates (NaN outside the source, see the module doc)."""
    ijk = source_coordinates(src_affine, dst_affine, dst_shape)
    return trilinear(values, ijk).reshape(dst_shape)


def read_b1_volume(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A B1 map file -> ``(values (nx, ny, nz) float64, affine (4, 4) RAS+ mm)``.

    NIfTI (2-D or 3-D) or DICOM (a file or folder of one series with one time point; the
    magnitude is used).
    """
    from mrfrecon.io.load import is_nifti_path, read_acquisition

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"B1 map not found: '{path}'")
    if is_nifti_path(path):
        import nibabel as nib

        from mrfrecon.io.nifti import read_volume

        values = read_volume(path, label="B1 map")  # checks the file, one-line errors
        img = nib.load(path)
        if not isinstance(img, nib.spatialimages.SpatialImage) or img.affine is None:
            raise InputFileError(f"'{path}': the B1 map has no voxel-to-world affine")
        return values, np.asarray(img.affine, np.float64)
    acq = read_acquisition(path)
    if acq.data.shape[3] != 1:
        raise InputFileError(f"'{path}': a B1 map has one image per slice, this series has "
                             f"{acq.data.shape[3]} time points")
    return np.abs(acq.data[..., 0]).astype(np.float64), np.asarray(acq.affine, np.float64)


def read_b1_map(path: str | Path, reference: Acquisition) -> np.ndarray:
    """The B1 map in ``path`` resampled onto ``reference``'s grid, ``(nx, ny, nz)`` float64.

    NaN where the acquisition lies outside the map. Refuses maps that are not a flip-angle
    scale (median above :data:`B1_MAX_PLAUSIBLE`: percent or degrees) or have no positive value.
    """
    values, affine = read_b1_volume(path)
    good = values[np.isfinite(values) & (values > 0)]
    if good.size == 0:
        raise InputFileError(f"'{path}': the B1 map has no positive value")
    if float(np.median(good)) > B1_MAX_PLAUSIBLE:
        raise InputFileError(f"'{path}': B1 map median {float(np.median(good)):.4g} is not a "
                             "flip-angle scale (1 = nominal); divide a percent map by 100")
    return resample_volume(values, affine, reference.affine, reference.spatial_shape)
