"""Voxel-to-world geometry shared by the NIfTI and DICOM readers and writers.

Conventions
-----------
- Affines are 4x4, map voxel indices ``(i, j, k)`` to RAS+ world coordinates in mm (nibabel).
- DICOM patient coordinates are LPS+; ``LPS_TO_RAS`` flips the first two axes.
- For a DICOM stack, array axis 0 (``i``) runs along a row (increasing column index, direction
  ``ImageOrientationPatient[:3]``), axis 1 (``j``) down the columns (increasing row index,
  ``ImageOrientationPatient[3:]``), axis 2 (``k``) through the slices in increasing position along
  the slice normal ``row_dir x col_dir``. This is nibabel's ``nicom`` convention (the transposed
  ``pixel_array``). dcm2niix stores the same voxels with axis 1 reversed (and sometimes axis 2);
  both describe the same voxel-to-world mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrfrecon.errors import InputFileError

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class PlaneGeometry:
    """Geometry of a stack of parallel DICOM image planes.

    Attributes
    ----------
    orientation
        ``ImageOrientationPatient``: row direction then column direction, LPS unit vectors,
        shape ``(6,)``.
    pixel_spacing_mm
        ``PixelSpacing``: (spacing between rows, spacing between columns) in mm.
    positions
        ``ImagePositionPatient`` of each slice in LPS mm, shape ``(n_slices, 3)``, in the order
        of array axis 2.
    rows, columns
        Image matrix (``Rows``, ``Columns``), i.e. array shape ``(columns, rows)`` on axes 0, 1.
    slice_thickness_mm
        ``SliceThickness`` in mm, or ``None`` if unknown.
    """

    orientation: tuple[float, ...]
    pixel_spacing_mm: tuple[float, float]
    positions: np.ndarray
    rows: int
    columns: int
    slice_thickness_mm: float | None = None

    @property
    def normal(self) -> np.ndarray:
        """Unit slice normal (LPS), ``row_dir x col_dir``, shape ``(3,)``."""
        o = np.asarray(self.orientation, dtype=float)
        n = np.cross(o[:3], o[3:])
        return n / np.linalg.norm(n)

    @property
    def n_slices(self) -> int:
        return int(self.positions.shape[0])

    def slice_step_mm(self) -> np.ndarray:
        """Vector between consecutive slices in LPS mm, shape ``(3,)``."""
        if self.n_slices > 1:
            return (self.positions[-1] - self.positions[0]) / (self.n_slices - 1)
        thickness = self.slice_thickness_mm if self.slice_thickness_mm else 1.0
        return self.normal * thickness

    def affine_lps(self) -> np.ndarray:
        """Voxel ``(i, j, k)`` to LPS mm, shape ``(4, 4)``."""
        o = np.asarray(self.orientation, dtype=float)
        row_spacing, col_spacing = self.pixel_spacing_mm
        affine = np.eye(4)
        affine[:3, 0] = o[:3] * col_spacing
        affine[:3, 1] = o[3:] * row_spacing
        affine[:3, 2] = self.slice_step_mm()
        affine[:3, 3] = self.positions[0]
        return affine

    def affine(self) -> np.ndarray:
        """Voxel ``(i, j, k)`` to RAS+ mm (nibabel convention), shape ``(4, 4)``."""
        return LPS_TO_RAS @ self.affine_lps()


def plane_geometry_from_affine(
    affine: np.ndarray, shape: tuple[int, int, int], *, tol: float = 1e-4
) -> PlaneGeometry:
    """DICOM plane geometry of a RAS+ ``affine`` for an array of spatial ``shape`` (nx, ny, nz).

    Each slice ``k`` gets ``ImagePositionPatient = affine @ (0, 0, k)`` (in LPS), so any slice
    spacing (even sheared) is kept exactly; the in-plane axes must be orthogonal.

    Raises
    ------
    ValueError
        If the first two affine columns are not orthogonal (not representable in DICOM).
    """
    lps = LPS_TO_RAS @ np.asarray(affine, dtype=float)
    col_vec, row_vec = lps[:3, 0], lps[:3, 1]  # along i (a row), along j (a column)
    col_spacing, row_spacing = float(np.linalg.norm(col_vec)), float(np.linalg.norm(row_vec))
    row_dir, col_dir = col_vec / col_spacing, row_vec / row_spacing
    if abs(float(row_dir @ col_dir)) > tol:
        raise ValueError(f"in-plane axes are not orthogonal (cosine {row_dir @ col_dir:.3g})")
    nx, ny, nz = shape
    positions = np.stack([lps[:3, 3] + k * lps[:3, 2] for k in range(nz)])
    return PlaneGeometry(
        orientation=tuple(float(v) for v in np.concatenate([row_dir, col_dir])),
        pixel_spacing_mm=(row_spacing, col_spacing),
        positions=positions,
        rows=int(ny),
        columns=int(nx),
        slice_thickness_mm=float(abs(lps[:3, 2] @ np.cross(row_dir, col_dir))),
    )


def check_affine(where: str | Path, affine: np.ndarray) -> None:
    """Refuse a voxel-to-world affine that is not finite or whose 3x3 part is singular (maps
    in such a geometry, and DICOM maps in particular, would carry NaN or degenerate positions)."""
    affine = np.asarray(affine, dtype=float)
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        raise InputFileError(f"'{where}': the voxel-to-world affine is not finite")
    scale = np.linalg.norm(affine[:3, :3], axis=0)
    if np.any(scale == 0) or abs(np.linalg.det(affine[:3, :3])) <= 1e-12 * np.prod(scale):
        raise InputFileError(
            f"'{where}': the voxel-to-world affine is singular (a voxel size is 0 or axes are "
            "parallel)")
