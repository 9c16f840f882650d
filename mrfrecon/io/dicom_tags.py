"""DICOM attribute lists and small value helpers shared by the reader and the writer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pydicom
from pydicom.valuerep import DT, TM

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
LEGACY_ENHANCED_MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4.4"
PARAMETRIC_MAP_STORAGE = "1.2.840.10008.5.1.4.1.1.30"
SUPPORTED_SOP_CLASSES = {
    MR_IMAGE_STORAGE: "MR Image",
    ENHANCED_MR_IMAGE_STORAGE: "Enhanced MR Image",
    LEGACY_ENHANCED_MR_IMAGE_STORAGE: "Legacy Converted Enhanced MR Image",
    PARAMETRIC_MAP_STORAGE: "Parametric Map",  # read back our own maps
}

#: Patient, study and frame-of-reference attributes copied from a source series to derived
#: series (and nothing else: no private tags, no acquisition details, no pixel data).
COPIED_KEYWORDS: tuple[str, ...] = (
    "SpecificCharacterSet",
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDescription",
    "FrameOfReferenceUID",
    "PositionReferenceIndicator",
    "PatientPosition",
    "BodyPartExamined",
    "MagneticFieldStrength",
)

#: Source series attributes kept for naming and provenance (not copied to derived series).
SERIES_KEYWORDS: tuple[str, ...] = ("SeriesInstanceUID", "SeriesNumber", "SeriesDescription")

#: ImageType value 3 / ComplexImageComponent -> component name.
COMPONENT_CODES: dict[str, str] = {
    "M": "magnitude",
    "MAGNITUDE": "magnitude",
    "P": "phase",
    "PHASE": "phase",
    "R": "real",
    "REAL": "real",
    "I": "imaginary",
    "IMAGINARY": "imaginary",
}


def reference_tags(ds: pydicom.Dataset) -> pydicom.Dataset:
    """A new dataset holding only :data:`COPIED_KEYWORDS` and :data:`SERIES_KEYWORDS` of ``ds``."""
    out = pydicom.Dataset()
    for keyword in COPIED_KEYWORDS + SERIES_KEYWORDS:
        if keyword in ds:
            setattr(out, keyword, ds[keyword].value)
    return out


def get_float(item: Any, keyword: str, default: float | None = None) -> float | None:
    """``float(item.keyword)``, or ``default`` when absent or empty."""
    value = getattr(item, keyword, None) if item is not None else None
    if value is None or value == "":
        return default
    return float(value)


def get_int(item: Any, keyword: str) -> int | None:
    """``int(item.keyword)``, or ``None`` when absent or empty."""
    value = getattr(item, keyword, None) if item is not None else None
    if value is None or value == "":
        return None
    return int(value)


def time_of_day_s(value: Any) -> float | None:
    """DICOM TM ``HHMMSS.ffffff`` to seconds since midnight, or DT ``YYYYMMDDHHMMSS.ffffff``
    (with an optional ``+HHMM`` offset) to seconds since 1970 (naive values read as UTC); only
    differences matter (frame order). Parsed by pydicom's ``valuerep.TM``/``DT``; ``None`` when
    empty or not a valid TM/DT (the callers then order frames by other keys)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, dt.datetime):
            parsed: dt.datetime | dt.time | None = value
        elif isinstance(value, dt.time):
            parsed = value
        else:
            text = str(value).strip()
            # an integer part longer than HHMMSS can only be a DT
            parsed = DT(text) if len(text.split(".")[0].split("+")[0].split("-")[0]) > 6 \
                else TM(text)
    except ValueError:
        return None
    if parsed is None:
        return None
    if isinstance(parsed, dt.datetime):
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    return parsed.hour * 3600 + parsed.minute * 60 + parsed.second + parsed.microsecond * 1e-6
