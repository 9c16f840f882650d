"""Quantitative maps as classic MR derived-image DICOM series (what vendors ship for T1/T2 maps).

Each map becomes a new series in the source study and frame of reference: one MR Image per
slice, ``ImageType DERIVED\\PRIMARY\\<T1 MAP|T2 MAP|DENSITY MAP|OTHER>\\<label>`` (value 3 from
the standard's defined terms, value 4 our label: ``T1``, ``T1_SD``...), 16-bit integer pixels, a
RescaleSlope and a ``RealWorldValueMappingSequence`` giving the unit (UCUM), the same slope and
the coded quantity (SD maps: the quantity with Derivation = Standard Deviation). Only the
patient/study tags of :data:`mrfrecon.io.dicom_tags.COPIED_KEYWORDS` are copied from the source;
no private tag, acquisition detail or pixel data of the source reaches the output.

The datasets are built with pydicom by hand: highdicom creates Parametric Maps, segmentations
and legacy-converted enhanced images, but no classic (single-frame) MR Image; the real-world
value mapping and its coded quantity come from highdicom.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import format_number_as_ds as _ds  # DS text, at most 16 characters

from mrfrecon import __version__
from mrfrecon.io.acquisition import SourceImage
from mrfrecon.io.dicom_tags import COPIED_KEYWORDS, MR_IMAGE_STORAGE
from mrfrecon.io.geometry import PlaneGeometry

if TYPE_CHECKING:
    import highdicom as hd

_UINT16_MAX = 65535
_INT16_MAX = 32767
_SCALED_FULL_RANGE = 30000  # integer range used by maps without a natural resolution

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
    """How one map is stored and coded.

    Attributes
    ----------
    label
        Short name, the real-world value mapping's LUT label (at most 16 characters), e.g.
        ``"T1"``, ``"T1_SD"``.
    description
        Human-readable, used in SeriesDescription and LUT explanation (e.g. ``"T1 map"``).
    unit
        UCUM unit code, e.g. ``codes.UCUM.Millisecond``.
    image_type_3
        MR ImageType value 3, one of the standard's defined terms (``"T1 MAP"``, ``"T2 MAP"``,
        ``"DENSITY MAP"``, ``"PHASE MAP"``, ``"OTHER"``).
    quantity
        Coded quantity (``codes.DCM.T1``), or None.
    statistic
        Coded derivation of the quantity (``codes.SCT.StandardDeviation`` for an SD map), or
        None for the quantity itself.
    resolution
        Finest step kept, in ``unit`` (e.g. 1 ms for T1, 0.01 ms for an SD); the stored slope is
        the smallest power-of-ten multiple of it that fits the 16-bit range. None: a slope such
        that the largest magnitude uses about 30000 integer steps.
    """

    label: str
    description: str
    unit: Code
    image_type_3: str = "OTHER"
    quantity: Code | None = None
    statistic: Code | None = None
    resolution: float | None = 1.0


def quantize(values: np.ndarray, *, resolution: float | None) -> tuple[np.ndarray, float, bool]:
    """Integers for a map and the slope to get the values back.

    Parameters
    ----------
    values
        Map values, any shape; NaN and inf are stored as 0.
    resolution
        Finest step to keep: the slope is ``resolution * 10**k`` for the smallest ``k >= 0``
        whose integers fit 16 bits (so an SD of 0.01 ms steps keeps its decimals, an
        unexpectedly large one is not clipped). None: the largest magnitude maps to 30000.

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
    lo, hi = (-_INT16_MAX - 1, _INT16_MAX) if signed else (0, _UINT16_MAX)
    peak = float(np.abs(finite).max(initial=0.0))
    if resolution is None:
        slope = peak / _SCALED_FULL_RANGE if peak > 0 else 1.0
    else:
        slope = float(resolution)
        while peak / slope > hi:
            slope = float(f"{slope * 10:.6g}")  # stays a short decimal (DS)
    ints = np.clip(np.rint(finite / slope), lo, hi).astype(np.int16 if signed else np.uint16)
    return ints, slope, signed


def real_world_value_mapping(
    kind: DicomMapKind, slope: float, value_range: tuple[int, int] | tuple[float, float]
) -> hd.pm.RealWorldValueMapping:
    """The RealWorldValueMapping item of a map: unit, slope and the coded quantity.

    An SD map is coded as quantity T1 (or T2) modified by Derivation = Standard Deviation
    (TID 1419 measurement modifiers), so no reader takes it for a T1 map.
    """
    import highdicom as hd

    mapping = hd.pm.RealWorldValueMapping(
        lut_label=kind.label[:16],
        lut_explanation=kind.description[:64],
        unit=kind.unit,
        value_range=value_range,
        slope=float(slope),
        intercept=0.0,
        quantity_definition=kind.quantity,
    )
    if kind.statistic is not None:
        modifier = hd.sr.CodeContentItem(
            name=codes.DCM.Derivation, value=kind.statistic  # no RelationshipType: not in
        )  # the Quantity Definition macro (dciodvfy warns)
        if "QuantityDefinitionSequence" in mapping:
            mapping.QuantityDefinitionSequence.append(modifier)
        else:
            mapping.QuantityDefinitionSequence = [modifier]  # pydicom makes it a Sequence
    return mapping


def display_window(values: np.ndarray) -> tuple[float, float, str | None]:
    """Window ``(center, width, VOILUTFunction)`` showing 0 to the 99th percentile of the
    non-zero ``values`` (in the map's unit). Widths below 1 (quality maps, small M0) are only
    valid with ``LINEAR_EXACT``; ``None`` means the default (LINEAR)."""
    finite = values[np.isfinite(values) & (values != 0)]
    high = float(np.percentile(finite, 99)) if finite.size else 1.0
    if high <= 0:
        high = 1.0
    return high / 2, high, ("LINEAR_EXACT" if high < 1 else None)


@dataclass(frozen=True)
class PatientIdentity:
    """Patient of the DICOM outputs of a non-DICOM input: ``PatientID`` (at most 64
    characters) and ``PatientName`` (DICOM PN, e.g. ``Doe^Jane``)."""

    patient_id: str
    patient_name: str


def synthesized_tags(entropy: Sequence[str], patient: PatientIdentity) -> pydicom.Dataset:
    """Patient/study/frame-of-reference tags for outputs of a non-DICOM input.

    UIDs are derived from ``entropy`` (e.g. the input path and header) and the patient, so
    rerunning on the same input lands in the same study and frame of reference.
    """
    now = dt.datetime.now()
    tags = pydicom.Dataset()
    tags.SpecificCharacterSet = "ISO_IR 192"
    tags.PatientName = patient.patient_name[:64]
    tags.PatientID = patient.patient_id[:64]
    seed = [patient.patient_id, *entropy]
    tags.StudyInstanceUID = generate_uid(entropy_srcs=["study", *seed])
    tags.FrameOfReferenceUID = generate_uid(entropy_srcs=["frame-of-reference", *seed])
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
    ints, slope, signed = quantize(values, resolution=kind.resolution)
    series_uid = generate_uid()
    now = dt.datetime.now()
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S.%f")
    normal = geometry.normal
    center, width, voi_function = display_window(ints.astype(np.float64) * slope)
    lo, hi = (-_INT16_MAX - 1, _INT16_MAX) if signed else (0, _UINT16_MAX)
    mapping = real_world_value_mapping(kind, slope, (lo, hi))
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
        ds.Laterality = ""  # type 2C: the map covers whatever the source covered
        ds.SeriesDate, ds.SeriesTime = date, time
        ds.ContentDate, ds.ContentTime = date, time
        ds.Manufacturer = ""
        ds.ManufacturerModelName = "mrfrecon"
        ds.SoftwareVersions = f"mrfrecon {__version__}"
        ds.ImageType = ["DERIVED", "PRIMARY", kind.image_type_3, kind.label]
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
        ds.EchoTime = ""  # type 2: MRF varies TE/TR over the series; none applies to a map
        ds.RepetitionTime = ""
        ds.EchoTrainLength = ""
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = ny, nx
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1 if signed else 0
        if slope != 1.0:
            # the real-world value mapping's slope again, for readers that only know the
            # Modality LUT (dcm2niix, viewers); the window is in rescaled units
            ds.RescaleIntercept, ds.RescaleSlope = "0", _ds(slope)
        ds.WindowCenter, ds.WindowWidth = _ds(center), _ds(width)  # in the map's unit
        if voi_function is not None:
            ds.VOILUTFunction = voi_function
        ds.RealWorldValueMappingSequence = DicomSequence([mapping])
        frame = np.ascontiguousarray(ints[:, :, k].T)  # (rows, columns)
        ds.PixelData = frame.astype(frame.dtype.newbyteorder("<"), copy=False).tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        datasets.append(ds)
    return datasets
