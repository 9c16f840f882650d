"""The in-memory MRF acquisition: a complex 4-D time series plus what is needed to write maps
in the same geometry.

Only the types live here; the readers (:mod:`mrfrecon.io.nifti`, :mod:`mrfrecon.io.dicom_read`)
build them, and :func:`mrfrecon.io.load.read_acquisition` picks the reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from mrfrecon.errors import ModelMismatchError
from mrfrecon.features import Representation
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
        ``("complex",)`` for complex NIfTI, ``("magnitude",)`` when no phase was given,
        ``("real",)`` for a real NIfTI with negative values (phase-corrected real data).
        :attr:`kind` follows from it.
    phase_scaling
        How phase was converted to radians: ``"radians"`` (used as is), ``"siemens"``
        ([-4096, 4095] scaled by pi/4096) or ``None`` without a phase image.
    pairing
        Which images were combined, for people (DICOM: e.g. ``series 5 'MRF' (magnitude) +
        series 6 'MRF' (phase); phase in siemens units``), ``None`` if not recorded.
    notes
        Remarks about the input for the summary (e.g. a series that was not used).
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
    pairing: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def kind(self) -> Representation:
        """``magnitude`` for magnitude-only data (no phase; ``data`` then holds the magnitude
        with zero phase), else ``complex``; selects the model's networks."""
        if self.components == ("magnitude",):
            return Representation.MAGNITUDE
        return Representation.COMPLEX

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
