"""NIfTI acquisitions (4-D complex or magnitude + phase), 3-D volumes (masks, truth maps) and
NIfTI map images."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import nibabel as nib
import numpy as np

from mrfrecon.errors import InputFileError
from mrfrecon.io.acquisition import Acquisition
from mrfrecon.io.bids import sidecar_path, stem_from_filename
from mrfrecon.io.geometry import check_affine
from mrfrecon.io.phase import detect_phase_scaling, phase_to_radians, polar_to_complex
from mrfrecon.limits import LimitError, check_memory, check_regular_file

_AFFINE_TOL_MM = 1e-3
#: deflate cannot compress better than about 1032:1: a ``.nii.gz`` declaring more is truncated
_MAX_GZIP_RATIO = 1032


def _load(path: Path, *, in_memory_itemsize: int = 8) -> nib.Nifti1Image:
    """Open a NIfTI header, refusing special files and images larger than the file or than
    the memory (``in_memory_itemsize`` bytes per value once read), before any data is read."""
    if not path.exists():
        raise InputFileError(f"Cannot read NIfTI file '{path}': not found")
    file_bytes = check_regular_file(path, "NIfTI file")
    try:
        img = nib.load(path)
    except Exception as exc:  # nibabel raises many types for unreadable files
        raise InputFileError(f"Cannot read NIfTI file '{path}': {one_line(exc)}") from None
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise InputFileError(f"Not a NIfTI image: '{path}' ({type(img).__name__})")
    shape = tuple(int(n) for n in img.shape)
    if any(n < 0 for n in shape):
        raise InputFileError(f"'{path}': negative image dimension in {shape}")
    n_values = int(np.prod(shape, dtype=object))
    try:
        stored = n_values * img.get_data_dtype().itemsize + int(img.header.get_data_offset())
    except Exception:
        raise InputFileError(f"'{path}': unreadable data type or offset in the header") from None
    capacity = file_bytes * (_MAX_GZIP_RATIO if path.name.lower().endswith(".gz") else 1)
    if stored > capacity:
        raise InputFileError(
            f"'{path}': the header declares {stored:,} bytes of image {shape}, more than the "
            f"file can hold ({file_bytes:,} bytes): truncated or corrupt")
    check_memory(n_values * in_memory_itemsize, f"'{path}': image {shape}")
    return img


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _series_shape(path: Path, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Validate and normalise an image shape to ``(nx, ny, nz, nt)``."""
    if len(shape) > 4 and all(n == 1 for n in shape[4:]):
        shape = shape[:4]
    if len(shape) == 4:
        return shape[0], shape[1], shape[2], shape[3]
    if len(shape) == 3:
        raise InputFileError(
            f"'{path}': 3-D image of shape {shape}; an MRF series must be 4-D (x, y, z, t) "
            "(a NIfTI 3rd axis is space: store a single slice as (x, y, 1, t))"
        )
    raise InputFileError(f"'{path}': image of shape {shape}; expected 4-D (x, y, z, t)")


def _read_array(path: Path, img: nib.Nifti1Image, dtype: type) -> np.ndarray:
    shape = _series_shape(path, img.shape)
    # np.asarray(dataobj) keeps the imaginary part (get_fdata() would drop it) and applies
    # scl_slope/scl_inter; the dtype bounds memory (no float64 copy).
    try:
        data: np.ndarray = np.asarray(img.dataobj, dtype=dtype)
    except MemoryError:
        raise
    except Exception as exc:  # truncated gzip (EOFError), short file (ValueError), zlib...
        raise InputFileError(f"Cannot read the image data of '{path}': {one_line(exc)}"
                             ) from None
    return data.reshape(shape)


def _is_complex_dtype(img: nib.Nifti1Image) -> bool:
    return np.issubdtype(img.get_data_dtype(), np.complexfloating)


def _check_real_dtype(path: Path, img: nib.Nifti1Image) -> None:
    dtype = img.get_data_dtype()
    if dtype.fields is not None or not (
        np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)
    ):
        raise InputFileError(f"'{path}': unsupported NIfTI data type {dtype}")


def read_nifti_acquisition(path: Path, *, phase: Path | None = None) -> Acquisition:
    """Read a 4-D NIfTI MRF series.

    Parameters
    ----------
    path
        complex64/complex128 ``(x, y, z, t)`` series, or a real one: with ``phase``, the
        magnitude; without, magnitude-only data when non-negative, else a real (phase-corrected)
        series; both kept as complex with zero phase. Trailing singleton axes beyond the
        4th are dropped. 2-D and 3-D files are rejected (NIfTI's 3rd axis is space).
    phase
        Optional phase series of the same shape and affine: radians ([-pi, pi) or [0, 2 pi)),
        integer milliradians [-3142, 3142] (GE, Philips) or Siemens units [-4096, 4095] (also
        when the header carries the Siemens scl_slope 2 / scl_inter -4096), detected from the
        value range and the Manufacturer of a dcm2niix JSON sidecar (:mod:`mrfrecon.io.phase`).

    Returns
    -------
    Acquisition
        ``source="nifti"``, ``nifti_header`` a copy of the input header.
    """
    img = _load(path)
    check_affine(path, img.affine)
    if _is_complex_dtype(img):
        if phase is not None:
            raise InputFileError(f"'{path}': complex data already; a phase file is not expected")
        data = _read_array(path, img, np.complex64)
        components: tuple[str, ...] = ("complex",)
        scaling = None
        paths: tuple[Path, ...] = (path,)
    else:
        _check_real_dtype(path, img)
        magnitude = _read_array(path, img, np.float32)
        if phase is None:
            data = magnitude.astype(np.complex64)
            # Magnitude images are non-negative; a signed real series is complex data whose
            # phase was removed (it keeps the sign the magnitude loses).
            kind = "real" if bool(np.any(magnitude < 0)) else "magnitude"
            components, scaling, paths = (kind,), None, (path,)
        else:
            data, scaling = _combine_phase(path, img, magnitude, phase)
            components, paths = ("magnitude", "phase"), (path, phase)
    return Acquisition(
        data=data,
        affine=np.array(img.affine, dtype=float),
        source="nifti",
        paths=paths,
        stem=stem_from_filename(path.name),
        nifti_header=img.header.copy(),
        components=components,
        phase_scaling=scaling,
    )


def _combine_phase(
    path: Path, img: nib.Nifti1Image, magnitude: np.ndarray, phase_path: Path
) -> tuple[np.ndarray, str]:
    if not phase_path.exists():
        raise InputFileError(f"Phase file not found: '{phase_path}'")
    phase_img = _load(phase_path)
    if _is_complex_dtype(phase_img):
        raise InputFileError(f"'{phase_path}': phase image must be real, not complex")
    _check_real_dtype(phase_path, phase_img)
    phase_shape = _series_shape(phase_path, phase_img.shape)
    if phase_shape != magnitude.shape:
        raise InputFileError(
            f"'{phase_path}': phase shape {phase_shape} differs from magnitude "
            f"shape {magnitude.shape} of '{path}'"
        )
    if not np.allclose(phase_img.affine, img.affine, atol=_AFFINE_TOL_MM):
        raise InputFileError(f"'{phase_path}': phase affine differs from that of '{path}'")
    phase = _read_array(phase_path, phase_img, np.float32)
    slope, inter = phase_img.header.get_slope_inter()
    siemens = bool(slope is not None and np.isclose(slope, 2.0)
                   and np.isclose(inter or 0.0, -4096.0))
    lo, hi = float(np.nanmin(phase)), float(np.nanmax(phase))
    scaling = detect_phase_scaling(
        lo, hi, siemens_rescale=siemens, manufacturer=sidecar_manufacturer(phase_path)
    )
    if scaling is None:
        raise InputFileError(
            f"'{phase_path}': phase range [{lo:g}, {hi:g}] is neither radians, milliradians "
            "[-3142, 3142] nor Siemens units [-4096, 4095]"
        )
    return polar_to_complex(magnitude, phase_to_radians(phase, scaling)), scaling


_SIDECAR_MAX_BYTES = 1 << 20


def sidecar_manufacturer(path: Path) -> str:
    """``Manufacturer`` from the JSON sidecar dcm2niix writes beside ``path`` (``""`` if none).

    Only a hint for ambiguous phase units, so an unreadable or odd sidecar is ignored.
    """
    sidecar = sidecar_path(path)
    try:
        if not sidecar.is_file() or sidecar.stat().st_size > _SIDECAR_MAX_BYTES:
            return ""
        value = json.loads(sidecar.read_text(encoding="utf-8")).get("Manufacturer", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def read_volume(
    path: str | Path, shape: tuple[int, ...] | None = None, *, label: str = "volume"
) -> np.ndarray:
    """Read a 3-D NIfTI volume (a mask, a ground-truth map): the one way mrfrecon reads one.

    Parameters
    ----------
    path
        NIfTI file. A 2-D image is one slice, ``(nx, ny, 1)``; trailing axes of length 1 after
        the third are dropped. ``scl_slope``/``scl_inter`` are applied.
    shape
        When given, the volume's shape must be this ``(nx, ny, nz)`` (the acquisition's).
    label
        What the volume is, for messages: ``"mask"``, ``"truth map"``.

    Returns
    -------
    np.ndarray
        float64 values in the file's unit, shape ``(nx, ny, nz)``.

    Raises
    ------
    InputFileError
        Missing or unreadable file, not 2-D/3-D, or another shape than ``shape``.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{label} not found: '{path}'")
    try:
        img = _load(path)
    except LimitError:
        raise
    except InputFileError as err:
        reason = str(err).replace(f"'{path}'", "").replace("Cannot read NIfTI file", "").strip(
            " :")
        raise InputFileError(f"cannot read {label} '{path}': {reason}") from None
    try:
        values = np.asarray(img.dataobj, dtype=np.float64)
    except MemoryError:
        raise
    except Exception as exc:  # nibabel raises many types for unreadable files
        raise InputFileError(f"cannot read {label} '{path}': {one_line(exc)}") from None
    dims = values.shape
    while len(dims) > 3 and dims[-1] == 1:
        dims = dims[:-1]
    if len(dims) == 2:
        dims = (*dims, 1)
    if len(dims) != 3:
        raise InputFileError(f"'{path}': {label} of shape {values.shape} is not 2-D or 3-D")
    values = values.reshape(dims)
    if shape is not None and tuple(values.shape) != tuple(shape):
        raise InputFileError(
            f"'{path}': {label} shape {values.shape} differs from the data's {tuple(shape)}"
        )
    return values


def nifti_shape(path: str | Path) -> tuple[int, ...]:
    """The image shape from a NIfTI header (the data are not read)."""
    return tuple(int(n) for n in _load(Path(path)).shape)


def nifti_map_bytes(
    values: np.ndarray,
    affine: np.ndarray,
    header: nib.Nifti1Header | None,
    *,
    description: str,
    intent: str = "estimate",
    intent_name: str = "",
) -> bytes:
    """A gzipped NIfTI-1 image of a 3-D map in the reference geometry.

    Parameters
    ----------
    values
        Map, shape ``(nx, ny, nz)``; float32 maps or uint8 masks.
    affine
        RAS+ voxel-to-world, shape ``(4, 4)``.
    header
        Input header to keep (sform/qform codes, xyz units); ``None`` for DICOM inputs: both
        codes then say "scanner".
    description
        Short text for the header's ``descrip`` field (at most 80 characters).
    intent
        NIfTI intent code name (``"estimate"`` for maps, ``"none"`` for masks).
    intent_name
        NIfTI intent name (at most 16 characters), e.g. ``"T1"``.
    """
    if header is not None:
        hdr = header.copy()
        hdr.set_data_dtype(values.dtype)
        img = nib.Nifti1Image(values, affine, hdr)
        xyz_unit, _ = hdr.get_xyzt_units()
        img.header.set_xyzt_units(xyz=xyz_unit if xyz_unit != "unknown" else "mm", t="unknown")
    else:
        img = nib.Nifti1Image(values, affine)
        img.set_sform(affine, code="scanner")
        img.set_qform(affine, code="scanner")
        img.header.set_xyzt_units(xyz="mm", t="unknown")
    out_hdr = img.header
    out_hdr.set_slope_inter(1.0, 0.0)
    out_hdr["cal_min"] = 0.0
    out_hdr["cal_max"] = 0.0
    out_hdr["descrip"] = description[:80].encode()
    out_hdr["aux_file"] = b""
    out_hdr["pixdim"][4:] = 1.0
    out_hdr.set_intent(intent, (), name=intent_name[:16])
    return gzip.compress(img.to_bytes(), compresslevel=6, mtime=0)
