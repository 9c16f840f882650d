"""Quantitative maps as classic MR derived-image DICOM series (what vendors ship for T1/T2 maps).

Each map becomes a new series in the source study and frame of reference: one MR Image per
slice, ``ImageType DERIVED\\PRIMARY\\<T1|T2|M0|...>\\MAP``, integer pixels and a
``RealWorldValueMappingSequence`` giving the unit (UCUM) and the integer -> value slope. Only the
patient/study tags of :data:`mrfrecon.io.dicom_tags.COPIED_KEYWORDS` are copied from the source;
no private tag, acquisition detail or pixel data of the source reaches the output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from mrfrecon import __version__
from mrfrecon.io.acquisition import SourceImage
from mrfrecon.io.dicom_tags import COPIED_KEYWORDS, MR_IMAGE_STORAGE
from mrfrecon.io.geometry import PlaneGeometry

_UINT16_MAX = 65535
_INT16_MAX = 32767
_SCALED_FULL_RANGE = 30000  # integer range used by maps without a natural integer unit

#: Type 2 attributes that must be present (possibly empty) in every derived image.
_TYPE2_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "PositionReferenceIndicator",
    "PatientPosition",
)


@dataclass(frozen=True)
class DicomMapKind:
    """How one map is stored.

    Attributes
    ----------
    label
        ImageType value 3 and short name, e.g. ``"T1"``.
    description
        Human-readable, used in SeriesDescription (e.g. ``"T1 map"``).
    unit_code, unit_meaning
        UCUM code and meaning, e.g. ``"ms"``, ``"millisecond"``.
    integer_unit
        Values are stored as rounded integers of the unit (slope 1, e.g. ms); otherwise a slope
        is chosen so the largest magnitude uses about 30000 integer steps.
    image_type_4
        ImageType value 4, ``"MAP"`` by default.
    """

    label: str
    description: str
    unit_code: str
    unit_meaning: str
    integer_unit: bool = True
    image_type_4: str = "MAP"


def quantize(values: np.ndarray, *, integer_unit: bool) -> tuple[np.ndarray, float, bool]:
    """Integers for a map and the slope to get the values back.

    Parameters
    ----------
    values
        Map values, any shape; NaN and inf are stored as 0.
    integer_unit
        Slope 1 (values rounded, clipped to the 16-bit range), else a slope such that the
        largest magnitude maps to 30000.

    Returns
    -------
    ints
        uint16 (or int16 if a value is negative), same shape as ``values``.
    slope
        ``value = ints * slope``.
    signed
        Whether ``ints`` is int16.
    """
    finite = np.where(np.isfinite(values), values, 0.0).astype(np.float64)
    signed = bool(finite.min(initial=0.0) < 0)
    if integer_unit:
        slope = 1.0
    else:
        peak = float(np.abs(finite).max(initial=0.0))
        slope = peak / _SCALED_FULL_RANGE if peak > 0 else 1.0
    lo, hi = (-_INT16_MAX - 1, _INT16_MAX) if signed else (0, _UINT16_MAX)
    ints = np.clip(np.rint(finite / slope), lo, hi).astype(np.int16 if signed else np.uint16)
    return ints, slope, signed


def _real_world_value_mapping(kind: DicomMapKind, slope: float, signed: bool) -> pydicom.Dataset:
    item = pydicom.Dataset()
    item.LUTExplanation = kind.description
    item.LUTLabel = kind.label
    unit = pydicom.Dataset()
    unit.CodeValue = kind.unit_code
    unit.CodingSchemeDesignator = "UCUM"
    unit.CodeMeaning = kind.unit_meaning
    item.MeasurementUnitsCodeSequence = DicomSequence([unit])
    vr = "SS" if signed else "US"
    lo, hi = (-_INT16_MAX - 1, _INT16_MAX) if signed else (0, _UINT16_MAX)
    item.add_new(0x00409216, vr, lo)  # RealWorldValueFirstValueMapped
    item.add_new(0x00409211, vr, hi)  # RealWorldValueLastValueMapped
    item.RealWorldValueIntercept = 0.0
    item.RealWorldValueSlope = float(slope)
    return item


def synthesized_tags(entropy: Sequence[str]) -> pydicom.Dataset:
    """Patient/study/frame-of-reference tags for outputs of a non-DICOM input.

    UIDs are derived from ``entropy`` (e.g. the input path and header), so rerunning on the same
    input lands in the same study and frame of reference.
    """
    now = dt.datetime.now()
    tags = pydicom.Dataset()
    tags.SpecificCharacterSet = "ISO_IR 192"
    tags.PatientName = "Anonymous"
    tags.PatientID = "mrfrecon"
    tags.StudyInstanceUID = generate_uid(entropy_srcs=["study", *entropy])
    tags.FrameOfReferenceUID = generate_uid(entropy_srcs=["frame-of-reference", *entropy])
    tags.StudyDate = now.strftime("%Y%m%d")
    tags.StudyTime = now.strftime("%H%M%S")
    tags.StudyID = "1"
    tags.StudyDescription = "mrfrecon maps"
    return tags


def derived_series(
    values: np.ndarray,
    *,
    kind: DicomMapKind,
    geometry: PlaneGeometry,
    tags: pydicom.Dataset,
    source_images: Sequence[SourceImage] = (),
    series_number: int,
    series_description: str,
    derivation: str,
) -> list[pydicom.Dataset]:
    """One classic MR derived image per slice of a map.

    Parameters
    ----------
    values
        Map in the unit of ``kind``, shape ``(nx, ny, nz)`` = (columns, rows, slices).
    geometry
        Plane geometry, ``n_slices == nz``.
    tags
        Source (or synthesized) tags; only :data:`COPIED_KEYWORDS` are used.
    source_images
        Per slice, the source image it was derived from (empty for non-DICOM inputs).
    series_number, series_description
        Of the new series.
    derivation
        DerivationDescription text (e.g. the estimation algorithm).

    Returns
    -------
    list of pydicom.Dataset
        Ready to save (file meta included), length ``nz``.
    """
    nx, ny, nz = values.shape
    if (nx, ny, nz) != (geometry.columns, geometry.rows, geometry.n_slices):
        raise ValueError(
            f"map shape {values.shape} does not match the geometry "
            f"({geometry.columns}, {geometry.rows}, {geometry.n_slices})"
        )
    ints, slope, signed = quantize(values, integer_unit=kind.integer_unit)
    series_uid = generate_uid()
    now = dt.datetime.now()
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S.%f")
    normal = geometry.normal
    finite = ints[ints != 0]
    high = float(np.percentile(finite, 99)) if finite.size else 1.0
    datasets = []
    for k in range(nz):
        ds = pydicom.Dataset()
        for keyword in COPIED_KEYWORDS:
            if keyword in tags:
                setattr(ds, keyword, tags[keyword].value)
        for keyword in _TYPE2_KEYWORDS:
            if keyword not in ds:
                setattr(ds, keyword, "")
        ds.SOPClassUID = MR_IMAGE_STORAGE
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
        ds.Modality = "MR"
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = series_number
        ds.SeriesDescription = series_description[:64]
        ds.SeriesDate, ds.SeriesTime = date, time
        ds.ContentDate, ds.ContentTime = date, time
        ds.Manufacturer = ""
        ds.ManufacturerModelName = "mrfrecon"
        ds.SoftwareVersions = f"mrfrecon {__version__}"
        ds.ImageType = ["DERIVED", "PRIMARY", kind.label, kind.image_type_4]
        ds.DerivationDescription = derivation[:1024]
        if k < len(source_images):
            src = source_images[k]
            ref = pydicom.Dataset()
            ref.ReferencedSOPClassUID = src.sop_class_uid
            ref.ReferencedSOPInstanceUID = src.sop_instance_uid
            if src.frame_number is not None:
                ref.ReferencedFrameNumber = src.frame_number
            ds.SourceImageSequence = DicomSequence([ref])
        ds.InstanceNumber = k + 1
        position = geometry.positions[k]
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.ImageOrientationPatient = [_ds(v) for v in geometry.orientation]
        ds.PixelSpacing = [_ds(v) for v in geometry.pixel_spacing_mm]
        if geometry.slice_thickness_mm:
            ds.SliceThickness = _ds(geometry.slice_thickness_mm)
        ds.SliceLocation = _ds(float(position @ normal))
        ds.ScanningSequence = "RM"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = ""
        ds.EchoTime = ""
        ds.EchoTrainLength = ""
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = ny, nx
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1 if signed else 0
        ds.WindowCenter = _ds(high / 2)
        ds.WindowWidth = _ds(max(high, 1.0))
        ds.RealWorldValueMappingSequence = DicomSequence(
            [_real_world_value_mapping(kind, slope, signed)]
        )
        frame = np.ascontiguousarray(ints[:, :, k].T)  # (rows, columns)
        ds.PixelData = frame.astype(frame.dtype.newbyteorder("<"), copy=False).tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        datasets.append(ds)
    return datasets


def _ds(value: float) -> str:
    """A DS string of at most 16 characters."""
    text = f"{value:.10g}"
    if len(text) > 16:
        text = f"{value:.8g}"
    return text if len(text) <= 16 else f"{value:.6e}"
