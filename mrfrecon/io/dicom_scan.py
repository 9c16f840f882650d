"""Find DICOM MR frames in files and folders and describe each frame (headers only).

A :class:`FrameInfo` is one 2-D image: a classic single-frame MR file, or one frame of an
Enhanced MR multi-frame file. Pixel data are not read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from mrfrecon.errors import InputFileError
from mrfrecon.io.dicom_tags import (
    COMPONENT_CODES,
    MR_IMAGE_STORAGE,
    SUPPORTED_SOP_CLASSES,
    get_float,
    get_int,
    time_of_day_s,
)

# Dimension index pointers that are space or complex component, not time.
_SPATIAL_POINTERS = {0x00209056, 0x00209057, 0x00200032}  # StackID, InStackPosition, IPP
_COMPONENT_POINTER = 0x00089208  # ComplexImageComponent
_TEMPORAL_POSITION_INDEX = 0x00209128


@dataclass
class FrameInfo:
    """Header description of one 2-D frame.

    Attributes
    ----------
    path
        File holding the frame.
    frame_index
        0-based frame number in a multi-frame file, ``None`` for single-frame files.
    component
        ``"magnitude"``, ``"phase"``, ``"real"`` or ``"imaginary"``.
    position
        ImagePositionPatient (LPS mm), shape ``(3,)``.
    orientation
        ImageOrientationPatient, 6 direction cosines.
    pixel_spacing_mm
        (row spacing, column spacing) in mm.
    time_keys
        Candidate keys to order time by, most specific first (missing ones absent).
    """

    path: Path
    frame_index: int | None
    series_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    component: str
    position: np.ndarray
    orientation: tuple[float, ...]
    pixel_spacing_mm: tuple[float, float]
    rows: int
    columns: int
    slope: float
    intercept: float
    slice_thickness_mm: float | None
    time_keys: dict[str, Any] = field(default_factory=dict)
    rescale_type: str = ""  # RescaleType, e.g. "mrad" (Philips phase); "" when absent
    manufacturer: str = ""  # decides ambiguous phase units (see io.phase)


@dataclass
class SeriesInfo:
    """All frames of one SeriesInstanceUID plus the header of its first file."""

    uid: str
    header: pydicom.Dataset
    frames: list[FrameInfo] = field(default_factory=list)
    files: set[Path] = field(default_factory=set)

    def describe(self) -> str:
        number = self.header.get("SeriesNumber", "?")
        description = self.header.get("SeriesDescription", "")
        components = sorted({f.component for f in self.frames})
        return (
            f"{self.uid} (#{number} '{description}', {len(self.frames)} frames, "
            f"{'/'.join(components)})"
        )


def iter_candidate_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under ``paths`` (folders searched recursively, sorted, hidden files skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not child.name.startswith("."):
                    yield child
        elif path.is_file():
            yield path
        else:
            raise InputFileError(f"Input not found: '{path}'")


def scan_series(paths: Iterable[Path]) -> tuple[dict[str, SeriesInfo], int]:
    """Read the headers of every MR image file under ``paths``.

    Returns
    -------
    series
        SeriesInstanceUID -> :class:`SeriesInfo`, in the order first seen.
    n_skipped
        Files that are not DICOM or not MR images (ignored).
    """
    series: dict[str, SeriesInfo] = {}
    n_skipped = 0
    seen: set[tuple[str, int | None]] = set()
    for path in iter_candidate_files(paths):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, EOFError, OSError, ValueError, TypeError):
            n_skipped += 1
            continue
        if str(ds.get("SOPClassUID", "")) not in SUPPORTED_SOP_CLASSES:
            n_skipped += 1
            continue
        uid = str(ds.get("SeriesInstanceUID", ""))
        info = series.setdefault(uid, SeriesInfo(uid=uid, header=ds))
        for frame in describe_frames(path, ds):
            key = (frame.sop_instance_uid, frame.frame_index)
            if key in seen:  # the same image twice (a copied file): keep the first
                continue
            seen.add(key)
            info.frames.append(frame)
            info.files.add(path)
    return series, n_skipped


#: GE's private image type (0043,102F), SS: 0 magnitude, 1 phase, 2 real, 3 imaginary.
_GE_IMAGE_TYPE = 0x0043102F
_GE_COMPONENTS = {0: "magnitude", 1: "phase", 2: "real", 3: "imaginary"}


def _ge_component(ds: pydicom.Dataset) -> str | None:
    """The component from GE's private image type tag (GE writes ImageType value 3 'OTHER')."""
    if "GE" not in str(ds.get("Manufacturer", "")).upper() or _GE_IMAGE_TYPE not in ds:
        return None
    value = ds[_GE_IMAGE_TYPE].value
    if isinstance(value, bytes):  # read without its private dictionary (VR UN)
        value = int.from_bytes(value[:2], "little", signed=True) if len(value) >= 2 else None
    try:
        return _GE_COMPONENTS.get(int(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _component(*items: Any) -> str | None:
    for item in items:
        if item is None:
            continue
        value = str(item.get("ComplexImageComponent", "") or "").upper()
        if value in COMPONENT_CODES:
            return COMPONENT_CODES[value]
        for keyword in ("FrameType", "ImageType"):
            image_type = item.get(keyword)
            if image_type is not None and not isinstance(image_type, str):
                if len(image_type) >= 3 and str(image_type[2]).upper() in COMPONENT_CODES:
                    return COMPONENT_CODES[str(image_type[2]).upper()]
    return None


def _required(path: Path, item: Any, keyword: str) -> Any:
    value = item.get(keyword) if item is not None else None
    if value is None or value == "":
        raise InputFileError(f"'{path}': DICOM attribute {keyword} missing")
    return value


def describe_frames(path: Path, ds: pydicom.Dataset) -> list[FrameInfo]:
    """One :class:`FrameInfo` per frame of ``ds`` (a header read from ``path``)."""
    if str(ds.SOPClassUID) == MR_IMAGE_STORAGE:
        return [_classic_frame(path, ds)]
    return _enhanced_frames(path, ds)


def _classic_frame(path: Path, ds: pydicom.Dataset) -> FrameInfo:
    spacing = _required(path, ds, "PixelSpacing")
    keys: dict[str, Any] = {}
    for keyword in ("TemporalPositionIdentifier", "AcquisitionNumber", "InstanceNumber"):
        value = get_int(ds, keyword)
        if value is not None:
            keys[keyword] = value
    acq_time = time_of_day_s(ds.get("AcquisitionDateTime")) or time_of_day_s(
        ds.get("AcquisitionTime")
    )
    if acq_time is not None:
        keys["AcquisitionTime"] = acq_time
    n_temporal = get_int(ds, "NumberOfTemporalPositions")
    if n_temporal is not None:
        keys["NumberOfTemporalPositions"] = n_temporal
    return FrameInfo(
        path=path,
        frame_index=None,
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        sop_class_uid=str(ds.SOPClassUID),
        sop_instance_uid=str(ds.get("SOPInstanceUID", path)),
        component=_component(ds) or _ge_component(ds) or "magnitude",
        position=np.array([float(v) for v in _required(path, ds, "ImagePositionPatient")]),
        orientation=tuple(float(v) for v in _required(path, ds, "ImageOrientationPatient")),
        pixel_spacing_mm=(float(spacing[0]), float(spacing[1])),
        rows=int(_required(path, ds, "Rows")),
        columns=int(_required(path, ds, "Columns")),
        slope=_first_float((ds,), "RescaleSlope", 1.0),
        intercept=_first_float((ds,), "RescaleIntercept", 0.0),
        slice_thickness_mm=get_float(ds, "SliceThickness"),
        time_keys=keys,
        rescale_type=str(ds.get("RescaleType", "") or ""),
        manufacturer=str(ds.get("Manufacturer", "") or ""),
    )


def _group(per_frame: Any, shared: Any, keyword: str) -> Any:
    """First item of functional group ``keyword`` for a frame (per-frame wins over shared)."""
    for groups in (per_frame, shared):
        if groups is not None and keyword in groups and len(groups[keyword].value) > 0:
            return groups[keyword].value[0]
    return None


def _first_float(items: tuple[Any, ...], keyword: str, default: float) -> float:
    for item in items:
        value = get_float(item, keyword)
        if value is not None:
            return value
    return default


def _rescale_type(*items: Any) -> str:
    for item in items:
        value = item.get("RescaleType") if item is not None else None
        if value:
            return str(value)
    return ""


def _enhanced_frames(path: Path, ds: pydicom.Dataset) -> list[FrameInfo]:
    per_frame_groups = _required(path, ds, "PerFrameFunctionalGroupsSequence")
    shared_seq = ds.get("SharedFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq else None
    n_frames = int(ds.get("NumberOfFrames", 1))
    if len(per_frame_groups) != n_frames:
        raise InputFileError(
            f"'{path}': NumberOfFrames {n_frames} but {len(per_frame_groups)} per-frame groups"
        )
    pointers = [int(item.DimensionIndexPointer) for item in ds.get("DimensionIndexSequence", [])]
    time_dims = [
        i for i, p in enumerate(pointers) if p not in _SPATIAL_POINTERS and p != _COMPONENT_POINTER
    ]
    frames = []
    for index, groups in enumerate(per_frame_groups):
        position = _group(groups, shared, "PlanePositionSequence")
        orientation = _group(groups, shared, "PlaneOrientationSequence")
        measures = _group(groups, shared, "PixelMeasuresSequence")
        transform = _group(groups, shared, "PixelValueTransformationSequence")
        content = _group(groups, shared, "FrameContentSequence")
        frame_type = _group(groups, shared, "MRImageFrameTypeSequence")
        if position is None or orientation is None or measures is None:
            raise InputFileError(
                f"'{path}' frame {index + 1}: plane position, orientation or pixel measures missing"
            )
        spacing = _required(path, measures, "PixelSpacing")
        keys: dict[str, Any] = {}
        tpi = get_int(content, "TemporalPositionIndex")
        if tpi is not None:
            keys["TemporalPositionIndex"] = tpi
        dim_values = content.get("DimensionIndexValues") if content is not None else None
        if dim_values is not None and time_dims:
            values = [dim_values] if isinstance(dim_values, int) else list(dim_values)
            if len(values) == len(pointers):
                keys["DimensionIndexValues"] = tuple(int(values[i]) for i in time_dims)
        frame_time = time_of_day_s(content.get("FrameAcquisitionDateTime")) if content else None
        if frame_time is not None:
            keys["FrameAcquisitionDateTime"] = frame_time
        keys["FrameNumber"] = index
        frames.append(
            FrameInfo(
                path=path,
                frame_index=index,
                series_uid=str(ds.get("SeriesInstanceUID", "")),
                sop_class_uid=str(ds.SOPClassUID),
                sop_instance_uid=str(ds.get("SOPInstanceUID", path)),
                component=_component(frame_type, ds) or "magnitude",
                position=np.array(
                    [float(v) for v in _required(path, position, "ImagePositionPatient")]
                ),
                orientation=tuple(
                    float(v) for v in _required(path, orientation, "ImageOrientationPatient")
                ),
                pixel_spacing_mm=(float(spacing[0]), float(spacing[1])),
                rows=int(_required(path, ds, "Rows")),
                columns=int(_required(path, ds, "Columns")),
                slope=_first_float((transform, ds), "RescaleSlope", 1.0),
                intercept=_first_float((transform, ds), "RescaleIntercept", 0.0),
                slice_thickness_mm=get_float(measures, "SliceThickness"),
                time_keys=keys,
                rescale_type=_rescale_type(transform, ds),
                manufacturer=str(ds.get("Manufacturer", "") or ""),
            )
        )
    return frames


# --- Acquisitions: which series belong together -------------------------------------------------

#: Component pairs that form complex data, and the component that leads each (names the pair).
_PARTNER = {"magnitude": "phase", "real": "imaginary"}
_UID_SHOWN = 8  # characters kept at each end of a shortened UID


def short_uid(uid: str) -> str:
    """``uid`` shortened for messages: ``1.2.826.…98765432`` (full when short)."""
    if len(uid) <= 2 * _UID_SHOWN + 3:
        return uid
    return f"{uid[:_UID_SHOWN]}...{uid[-_UID_SHOWN:]}"


def series_number(info: SeriesInfo) -> int | None:
    """SeriesNumber of ``info`` (``None`` when absent)."""
    try:
        return get_int(info.header, "SeriesNumber")
    except ValueError:
        return None


def series_components(info: SeriesInfo) -> frozenset[str]:
    """The complex components the frames of ``info`` hold (e.g. ``{"magnitude"}``)."""
    return frozenset(f.component for f in info.frames)


def _geometry_key(info: SeriesInfo) -> tuple[Any, ...]:
    """What two series must share to be parts of one image series: matrix, spacing (mm),
    orientation, slice positions (mm, rounded to 0.01 mm) and frames per component."""
    first = info.frames[0]
    positions = sorted({tuple(np.round(f.position, 2).tolist()) for f in info.frames})
    n_components = len(series_components(info))
    return (
        first.rows,
        first.columns,
        tuple(np.round(first.pixel_spacing_mm, 4).tolist()),
        tuple(np.round(first.orientation, 4).tolist()),
        tuple(positions),
        len(info.frames) // max(1, n_components),
    )


def _same_space(a: SeriesInfo, b: SeriesInfo) -> bool:
    for keyword in ("StudyInstanceUID", "FrameOfReferenceUID"):
        if str(a.header.get(keyword, "")) != str(b.header.get(keyword, "")):
            return False
    return _geometry_key(a) == _geometry_key(b)


@dataclass
class SeriesGroup:
    """The series of one MRF acquisition.

    ``series`` holds one series with every component (e.g. an Enhanced MR object with M and P
    frames), a leading series (magnitude or real) and its partner (phase or imaginary), or a
    magnitude series alone (``kind == "magnitude"``).
    """

    series: list[SeriesInfo]

    @property
    def lead(self) -> SeriesInfo:
        return self.series[0]

    @property
    def uids(self) -> tuple[str, ...]:
        return tuple(s.uid for s in self.series)

    @property
    def numbers(self) -> tuple[int | None, ...]:
        return tuple(series_number(s) for s in self.series)

    @property
    def kind(self) -> str:
        """``"complex"`` (magnitude + phase or real + imaginary) or ``"magnitude"``."""
        present = frozenset().union(*(series_components(s) for s in self.series))
        pairs = (c in present and partner in present for c, partner in _PARTNER.items())
        return "complex" if any(pairs) else "magnitude"

    @property
    def n_timepoints(self) -> int:
        """Frames per slice and component of the leading series (headers only)."""
        lead = self.lead
        n_positions = len({tuple(np.round(f.position, 2).tolist()) for f in lead.frames})
        return len(lead.frames) // max(1, n_positions * len(series_components(lead)))

    def matches(self, selector: str) -> bool:
        """``selector`` is the SeriesNumber or SeriesInstanceUID of one of the series."""
        selector = selector.strip()
        if selector.isdigit():
            return int(selector) in self.numbers
        return selector in self.uids

    def describe(self) -> str:
        """E.g. ``series 5 'MRF FISP' (magnitude) + series 6 'MRF FISP' (phase)``."""
        parts = []
        for s in self.series:
            number = series_number(s)
            label = f"series {number if number is not None else '?'}"
            description = str(s.header.get("SeriesDescription", "") or "")
            if description:
                label += f" '{description}'"
            parts.append(f"{label} ({'+'.join(sorted(series_components(s)))})")
        return " + ".join(parts)


def check_one_study(series: dict[str, SeriesInfo], where: str) -> None:
    """Refuse series of several patients or studies (one line naming both).

    Raises
    ------
    InputFileError
        Naming the PatientIDs, or the shortened StudyInstanceUIDs, of the first two found.
    """
    patients: dict[str, str] = {}
    studies: dict[str, str] = {}
    for info in series.values():
        patient = str(info.header.get("PatientID", "") or "")
        study = str(info.header.get("StudyInstanceUID", "") or "")
        patients.setdefault(patient, study)
        studies.setdefault(study, patient)
    if len(patients) > 1:
        (p1, s1), (p2, s2) = list(patients.items())[:2]
        raise InputFileError(
            f"'{where}': images of {len(patients)} patients in one input: PatientID '{p1}' "
            f"(study {short_uid(s1)}) and PatientID '{p2}' (study {short_uid(s2)}); give one "
            "study at a time"
        )
    if len(studies) > 1:
        (s1, p1), (s2, _) = list(studies.items())[:2]
        raise InputFileError(
            f"'{where}': {len(studies)} studies of PatientID '{p1}' in one input: "
            f"StudyInstanceUID {short_uid(s1)} and {short_uid(s2)}; give one study at a time"
        )


def group_series(series: dict[str, SeriesInfo]) -> tuple[list[SeriesGroup], list[SeriesInfo]]:
    """Group series into MRF acquisitions.

    A series holding a component and its partner (magnitude + phase, real + imaginary) is an
    acquisition on its own. A magnitude (real) series is paired with a phase (imaginary)
    series of the same study and frame of reference, the same geometry and number of frames
    whose SeriesNumber differs by at most 1; the phase series after the magnitude one wins
    (the Siemens and GE export order), so ``5 M, 6 P, 7 M, 8 P`` pairs 5+6 and 7+8. A magnitude
    series left without partner is a magnitude-only acquisition.

    Returns
    -------
    groups
        Sorted by SeriesNumber, then SeriesInstanceUID of the leading series.
    leftover
        Series that form no acquisition (phase or imaginary without partner, real alone).
    """
    complete, leads, partners = [], [], []
    for info in series.values():
        components = series_components(info)
        if any(c in components and _PARTNER[c] in components for c in _PARTNER):
            complete.append(SeriesGroup([info]))
        elif len(components) == 1 and next(iter(components)) in _PARTNER:
            leads.append(info)
        elif len(components) == 1:
            partners.append(info)
        else:  # a mix without a pair (e.g. magnitude + imaginary): the reader decides
            complete.append(SeriesGroup([info]))
    candidates = []
    for lead in leads:
        wanted = _PARTNER[next(iter(series_components(lead)))]
        for partner in partners:
            if series_components(partner) != {wanted} or not _same_space(lead, partner):
                continue
            n_lead, n_partner = series_number(lead), series_number(partner)
            if n_lead is None or n_partner is None:
                rank = (2, 0)
            else:
                delta = n_partner - n_lead
                if abs(delta) > 1:
                    continue
                rank = (abs(delta), int(delta < 0))
            candidates.append((rank, lead.uid, partner.uid, lead, partner))
    candidates.sort(key=lambda c: c[:3])
    paired: set[str] = set()
    groups = list(complete)
    for _, _, _, lead, partner in candidates:
        if lead.uid in paired or partner.uid in paired:
            continue
        paired.update((lead.uid, partner.uid))
        groups.append(SeriesGroup([lead, partner]))
    leftover = []
    for info in leads + partners:
        if info.uid in paired:
            continue
        if series_components(info) == {"magnitude"}:
            groups.append(SeriesGroup([info]))
        else:
            leftover.append(info)
    groups.sort(key=lambda g: (series_number(g.lead) is None, series_number(g.lead) or 0,
                               g.lead.uid))
    return groups, leftover
