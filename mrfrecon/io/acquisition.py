"""The in-memory MRF acquisition: a complex 4-D time series plus what is needed to write maps
in the same geometry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from mrfrecon.errors import InputFileError, ModelMismatchError
from mrfrecon.io.geometry import PlaneGeometry

if TYPE_CHECKING:
    import nibabel as nib
    import pydicom

Source = Literal["nifti", "dicom"]


@dataclass(frozen=True)
class SourceImage:
    """One source DICOM image (or frame) that a derived map slice refers to."""

    sop_class_uid: str
    sop_instance_uid: str
    frame_number: int | None = None  # 1-based, for multi-frame images


@dataclass(frozen=True)
class DicomReference:
    """What a DICOM input contributes to derived outputs.

    Attributes
    ----------
    geometry
        Plane geometry of the stack, slices in the order of the data's axis 2.
    tags
        A copy of the patient, study, frame-of-reference and a few series tags of the source
        (a fixed whitelist: no private tags, no pixel data), see
        :data:`mrfrecon.io.dicom_tags.REFERENCE_KEYWORDS`.
    source_images
        Per slice, the first magnitude (or first) frame of that slice, length ``n_slices``.
    series_uids
        SeriesInstanceUID of each source series (magnitude, phase, ...).
    """

    geometry: PlaneGeometry
    tags: pydicom.Dataset
    source_images: tuple[SourceImage, ...]
    series_uids: tuple[str, ...]

    @property
    def study_instance_uid(self) -> str:
        return str(self.tags.StudyInstanceUID)

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.tags.FrameOfReferenceUID)


@dataclass
class Acquisition:
    """A complex MRF image time series.

    Attributes
    ----------
    data
        complex64 image series, shape ``(nx, ny, nz, n_timepoints)``.
    affine
        Voxel ``(i, j, k)`` to RAS+ world mm (nibabel convention), shape ``(4, 4)``.
    source
        ``"nifti"`` or ``"dicom"``.
    paths
        The files read (for DICOM every file that contributed a frame).
    stem
        Output name stem for BIDS-like derivative names (e.g. ``sub-01_acq-mrf``).
    nifti_header
        The input NIfTI header (NIfTI inputs only), reused for NIfTI maps.
    dicom
        Geometry and reference tags (DICOM inputs only).
    components
        Which parts were combined: e.g. ``("magnitude", "phase")``, ``("real", "imaginary")``,
        ``("complex",)`` for complex NIfTI, ``("magnitude",)`` when no phase was given.
    phase_scaling
        How phase was converted to radians: ``"radians"`` (used as is), ``"siemens"``
        ([-4096, 4095] scaled by pi/4096) or ``None`` without a phase image.
    """

    data: np.ndarray
    affine: np.ndarray
    source: Source
    paths: tuple[Path, ...]
    stem: str
    nifti_header: nib.Nifti1Header | None = None
    dicom: DicomReference | None = None
    components: tuple[str, ...] = ("complex",)
    phase_scaling: str | None = None

    @property
    def n_timepoints(self) -> int:
        """Number of time points (frames of the fingerprint)."""
        return int(self.data.shape[3])

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        """``(nx, ny, nz)``."""
        nx, ny, nz = self.data.shape[:3]
        return int(nx), int(ny), int(nz)

    @property
    def voxel_size_mm(self) -> tuple[float, float, float]:
        """Voxel edge lengths in mm from the affine, ``(dx, dy, dz)``."""
        sizes = np.linalg.norm(self.affine[:3, :3], axis=0)
        return float(sizes[0]), float(sizes[1]), float(sizes[2])


def check_timepoints(acq: Acquisition, n_expected: int) -> None:
    """Raise if the acquisition does not have the number of time points a model expects.

    Raises
    ------
    ModelMismatchError
        One line naming both numbers and the input.
    """
    if acq.n_timepoints != n_expected:
        where = acq.paths[0] if len(acq.paths) == 1 else (acq.paths[0].parent if acq.paths else "")
        raise ModelMismatchError(
            f"'{where}': acquisition has {acq.n_timepoints} time points, "
            f"the model expects {n_expected}"
        )


def _is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".nii", ".nii.gz", ".hdr", ".img"))


def read_acquisition(
    path: str | Path | Sequence[str | Path],
    *,
    phase: str | Path | Sequence[str | Path] | None = None,
    series_uid: str | Sequence[str] | None = None,
) -> Acquisition:
    """Read an MRF acquisition from NIfTI or DICOM.

    Parameters
    ----------
    path
        A NIfTI file (``.nii``/``.nii.gz``; complex, or real magnitude), a DICOM file, a folder
        searched recursively for DICOM files (non-DICOM files are ignored), or a list of DICOM
        files/folders.
    phase
        Optional phase image(s) matching ``path``: a NIfTI file (radians, or Siemens
        [-4096, 4095], detected and recorded in :attr:`Acquisition.phase_scaling`) or DICOM
        file(s)/folder(s). Not needed when ``path`` holds the phase frames itself.
    series_uid
        DICOM only: the SeriesInstanceUID(s) to use when a folder holds several series (e.g. the
        magnitude and the phase series).

    Returns
    -------
    Acquisition
        ``data`` complex64 of shape ``(nx, ny, nz, n_timepoints)``.

    Raises
    ------
    InputFileError
        Missing, unreadable, ambiguous or incomplete input; the message names file and value.

    Notes
    -----
    Inputs are only read: nothing is written next to them.
    """
    paths = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
    if not paths:
        raise InputFileError("No input path given")
    for p in paths:
        if not p.exists():
            raise InputFileError(f"Input not found: '{p}'")
    if len(paths) == 1 and paths[0].is_file() and _is_nifti(paths[0]):
        if series_uid is not None:
            raise InputFileError(f"'{paths[0]}': series_uid applies to DICOM input only")
        from mrfrecon.io.nifti import read_nifti_acquisition

        phase_path = None
        if phase is not None:
            if not isinstance(phase, str | Path):
                raise InputFileError(f"'{paths[0]}': give one NIfTI phase file, not a list")
            phase_path = Path(phase)
        return read_nifti_acquisition(paths[0], phase=phase_path)
    if any(p.is_file() and _is_nifti(p) for p in paths):
        raise InputFileError(f"Give one NIfTI file, not a list: '{paths[0]}'")
    from mrfrecon.io.dicom_read import read_dicom_acquisition

    phase_paths = None
    if phase is not None:
        phase_paths = [Path(phase)] if isinstance(phase, str | Path) else [Path(p) for p in phase]
    uids = [series_uid] if isinstance(series_uid, str) else series_uid
    return read_dicom_acquisition(paths, phase=phase_paths, series_uids=uids)
