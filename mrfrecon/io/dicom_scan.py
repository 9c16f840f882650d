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
        component=_component(ds) or "magnitude",
        position=np.array([float(v) for v in _required(path, ds, "ImagePositionPatient")]),
        orientation=tuple(float(v) for v in _required(path, ds, "ImageOrientationPatient")),
        pixel_spacing_mm=(float(spacing[0]), float(spacing[1])),
        rows=int(_required(path, ds, "Rows")),
        columns=int(_required(path, ds, "Columns")),
        slope=_first_float((ds,), "RescaleSlope", 1.0),
        intercept=_first_float((ds,), "RescaleIntercept", 0.0),
        slice_thickness_mm=get_float(ds, "SliceThickness"),
        time_keys=keys,
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
            )
        )
    return frames
