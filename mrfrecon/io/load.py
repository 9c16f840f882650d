"""``read_acquisition``: which per-format reader opens a path (as nibabel's ``loadsave``).

The per-format modules (:mod:`mrfrecon.io.nifti`, :mod:`mrfrecon.io.dicom_read`) build an
:class:`~mrfrecon.io.acquisition.Acquisition` and import nothing from here; this module is the
only one that knows both. Readers are imported when used, so that ``import mrfrecon.io`` does
not load nibabel or pydicom. The file-type tests (:func:`is_nifti_path`, :func:`is_dicom_file`)
are also what :mod:`mrfrecon.batch` uses to find studies.

Any path that is not a NIfTI name goes to the DICOM reader, which reads every file under it
and skips what is not a DICOM MR image (files without the preamble included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mrfrecon.errors import InputFileError
from mrfrecon.io.acquisition import Acquisition
from mrfrecon.limits import check_regular_file, is_regular_file

#: Single-file NIfTI-1/2 images: what :func:`mrfrecon.io.nifti.read_nifti_acquisition` reads.
NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: Header/image pairs: sent to the NIfTI reader too, which refuses them with a message naming
#: the file (rather than a "no DICOM files" one).
NIFTI_PAIR_SUFFIXES = (".hdr", ".img")


def is_nifti_path(path: str | Path) -> bool:
    """True for a ``.nii``/``.nii.gz`` name (the name only; the file is not opened)."""
    return Path(path).name.lower().endswith(NIFTI_SUFFIXES)


def is_dicom_file(path: str | Path) -> bool:
    """True for a file with the DICOM preamble (128 bytes, then ``DICM``); reads 132 bytes."""
    if not is_regular_file(path):  # never open a FIFO or a device
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _routes_to_nifti(path: Path) -> bool:
    return is_nifti_path(path) or path.name.lower().endswith(NIFTI_PAIR_SUFFIXES)


def read_acquisition(
    path: str | Path | Sequence[str | Path],
    *,
    phase: str | Path | Sequence[str | Path] | None = None,
    series_uid: str | Sequence[str] | None = None,
    series: str | int | None = None,
) -> Acquisition:
    """Read an MRF acquisition from NIfTI or DICOM.

    Parameters
    ----------
    path
        A NIfTI file (``.nii``/``.nii.gz``; complex, or real magnitude), a DICOM file, a folder
        searched recursively for DICOM files (non-DICOM files are ignored), or a list of DICOM
        files/folders.
    phase
        Optional phase image(s) matching ``path``: a NIfTI file (radians, milliradians
        [-3142, 3142] or Siemens [-4096, 4095], detected and recorded in
        :attr:`Acquisition.phase_scaling`) or DICOM
        file(s)/folder(s). Not needed when ``path`` holds the phase frames itself.
    series_uid
        DICOM only: exactly the SeriesInstanceUID(s) to combine (e.g. a magnitude and a phase
        series), bypassing the automatic pairing.
    series
        DICOM only: which acquisition to read when the input holds several (see
        :func:`list_acquisitions`), by the SeriesNumber or SeriesInstanceUID of one of its
        series. Without ``phase`` and ``series_uid``, the series are paired automatically:
        magnitude + phase (or real + imaginary) series of the same study, frame of reference,
        geometry and number of frames with adjacent SeriesNumbers form one acquisition; a
        magnitude series without phase is read as magnitude-only (``kind == "magnitude"``).

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
    paths = _paths(path)
    if len(paths) == 1 and paths[0].is_file() and _routes_to_nifti(paths[0]):
        if series_uid is not None or series is not None:
            raise InputFileError(f"'{paths[0]}': choosing a series applies to DICOM input only")
        from mrfrecon.io.nifti import read_nifti_acquisition

        phase_path = None
        if phase is not None:
            if not isinstance(phase, str | Path):
                raise InputFileError(f"'{paths[0]}': give one NIfTI phase file, not a list")
            phase_path = Path(phase)
        return read_nifti_acquisition(paths[0], phase=phase_path)
    if any(p.is_file() and _routes_to_nifti(p) for p in paths):
        raise InputFileError(f"Give one NIfTI file, not a list: '{paths[0]}'")
    from mrfrecon.io.dicom_read import read_dicom_acquisition

    phase_paths = None
    if phase is not None:
        phase_paths = [Path(phase)] if isinstance(phase, str | Path) else [Path(p) for p in phase]
    uids = [series_uid] if isinstance(series_uid, str) else series_uid
    return read_dicom_acquisition(paths, phase=phase_paths, series_uids=uids, series=series)


@dataclass(frozen=True)
class AcquisitionEntry:
    """One acquisition of an input (see :func:`list_acquisitions`).

    ``series``: what selects it in :func:`read_acquisition` (the SeriesInstanceUID of its
    leading series; ``None`` for a NIfTI file); ``stem``: its output name stem; ``label``:
    which series form it, for people; ``n_timepoints``: frames per slice (DICOM, from the
    headers; ``None`` for NIfTI).
    """

    series: str | None
    stem: str | None
    label: str
    n_timepoints: int | None = None


def list_acquisitions(path: str | Path | Sequence[str | Path]) -> list[AcquisitionEntry]:
    """The acquisitions in ``path`` (headers only): one for a NIfTI file, one per MRF
    acquisition for DICOM (e.g. two slices acquired separately, or a repeat).

    Raises
    ------
    InputFileError
        As :func:`read_acquisition` for missing input, no images, or several patients/studies.
    """
    paths = _paths(path)
    if len(paths) == 1 and paths[0].is_file() and _routes_to_nifti(paths[0]):
        return [AcquisitionEntry(None, None, str(paths[0]))]
    from mrfrecon.io.dicom_read import list_dicom_acquisitions

    listing = list_dicom_acquisitions(paths)
    return [
        AcquisitionEntry(group.lead.uid, stem, group.describe(), group.n_timepoints)
        for group, stem in zip(listing.groups, listing.stems, strict=True)
    ]


def _paths(path: str | Path | Sequence[str | Path]) -> list[Path]:
    paths = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
    if not paths:
        raise InputFileError("No input path given")
    for p in paths:
        if not p.exists() and not p.is_fifo():
            raise InputFileError(f"Input not found: '{p}'")
        if not p.is_dir():
            check_regular_file(p, "input")  # FIFOs block, devices never end, /proc lies
    return paths
