"""Assemble DICOM MR frames (classic or Enhanced MR) into a complex (x, y, z, t) series.

Order of work: headers of every file are read (no pixels), the series is chosen, frames are
sorted into slices (position along the slice normal) and time points, completeness is checked
(every slice x time point x component), then pixel data are read one frame at a time into the
preallocated output, so memory stays near the size of the result.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom.pixels

from mrfrecon.errors import AmbiguousInputError, InputFileError
from mrfrecon.io.acquisition import Acquisition, DicomReference, SourceImage
from mrfrecon.io.bids import sanitize_label
from mrfrecon.io.dicom_scan import (
    FrameInfo,
    SeriesGroup,
    SeriesInfo,
    check_one_study,
    group_series,
    scan_series,
    series_components,
    series_number,
)
from mrfrecon.io.dicom_tags import reference_tags
from mrfrecon.io.geometry import PlaneGeometry, check_affine
from mrfrecon.io.phase import TO_RADIANS, declared_phase_unit, detect_phase_scaling
from mrfrecon.limits import check_memory

_ORIENTATION_TOL = 1e-4
_SLICE_TOL_MM = 1e-2
_MAX_LISTED = 3

#: Keys to order time by, most trusted first. "union" keys are comparable across slices (a
#: missing time point can be named); "rank" keys only order frames within one slice.
_TIME_KEYS: tuple[tuple[str, str], ...] = (
    ("TemporalPositionIdentifier", "union"),
    ("TemporalPositionIndex", "union"),
    ("DimensionIndexValues", "union"),
    ("AcquisitionNumber", "union"),
    ("InstanceNumber", "rank"),
    ("AcquisitionTime", "rank"),
    ("FrameAcquisitionDateTime", "rank"),
    ("FrameNumber", "rank"),
)


def _where(paths: Sequence[Path]) -> str:
    return str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} more)"


def _scan(paths: Sequence[Path]) -> dict[str, SeriesInfo]:
    found, n_skipped = scan_series(paths)
    if not found:
        raise InputFileError(
            f"'{_where(paths)}': no DICOM MR images found ({n_skipped} files ignored as non-DICOM "
            "or not MR)"
        )
    return found


def _select_series(paths: Sequence[Path], series_uids: Sequence[str]) -> list[SeriesInfo]:
    found = _scan(paths)
    chosen = [found[uid] for uid in series_uids if uid in found]
    if not chosen:
        listing = "; ".join(s.describe() for s in found.values())
        raise InputFileError(
            f"'{_where(paths)}': none of series {list(series_uids)} found; present: {listing}"
        )
    return chosen


@dataclass
class DicomListing:
    """The MRF acquisitions found under some DICOM paths (headers only).

    Attributes
    ----------
    where
        The input, for messages.
    groups
        One :class:`~mrfrecon.io.dicom_scan.SeriesGroup` per acquisition, by SeriesNumber.
    stems
        Output name stem per group (same order): unique within the input, and the same
        whichever acquisition is read.
    leftover
        Series that belong to no acquisition (e.g. a phase series without magnitude).
    """

    where: str
    groups: list[SeriesGroup]
    stems: list[str]
    leftover: list[SeriesInfo]

    def select(self, series: str | int | None) -> tuple[SeriesGroup, str]:
        """The group (and its stem) chosen by SeriesNumber or SeriesInstanceUID ``series``;
        ``None`` is fine when there is one acquisition."""
        listing = "; ".join(g.describe() for g in self.groups)
        if series is None:
            if len(self.groups) > 1:
                raise AmbiguousInputError(
                    f"'{self.where}': {len(self.groups)} MRF acquisitions found, choose one by "
                    f"SeriesNumber or SeriesInstanceUID: {listing}"
                )
            return self.groups[0], self.stems[0]
        chosen = [i for i, g in enumerate(self.groups) if g.matches(str(series))]
        if len(chosen) != 1:
            what = "no" if not chosen else f"{len(chosen)}"
            raise AmbiguousInputError(
                f"'{self.where}': {what} acquisitions match series '{series}'; present: "
                f"{listing}"
            )
        return self.groups[chosen[0]], self.stems[chosen[0]]

    def notes(self) -> tuple[str, ...]:
        """One line per unused series."""
        return tuple(
            f"series {series_number(s)} ({'/'.join(sorted(series_components(s)))}, "
            f"{s.uid}) pairs with no other series: not used"
            for s in self.leftover
        )


def list_dicom_acquisitions(paths: Sequence[Path]) -> DicomListing:
    """Scan the headers under ``paths`` and group the series into acquisitions.

    Raises
    ------
    InputFileError
        No MR images, images of several patients or studies, or no series that forms an
        acquisition (e.g. phase only).
    """
    where = _where(paths)
    found = _scan(paths)
    check_one_study(found, where)
    groups, leftover = group_series(found)
    if not groups:
        _choose_components(where, [f for s in leftover for f in s.frames])  # raises, naming them
    bases = [_dicom_stem(g.lead.header) for g in groups]
    stems = []
    for group, base in zip(groups, bases, strict=True):
        number = series_number(group.lead)
        if bases.count(base) > 1 and number is not None and "_run-" not in base:
            base = f"{base}_run-{number}"
        stems.append(base)
    for i, group in enumerate(groups):  # still equal (same SeriesNumber): the UID tells apart
        if stems.count(stems[i]) > 1:
            stems[i] += f"_desc-{hashlib.sha256(group.lead.uid.encode()).hexdigest()[:8]}"
    return DicomListing(where, groups, stems, leftover)


def read_dicom_acquisition(
    paths: Sequence[Path],
    *,
    phase: Sequence[Path] | None = None,
    series_uids: Sequence[str] | None = None,
    series: str | int | None = None,
) -> Acquisition:
    """Read a DICOM MR time series (see :func:`mrfrecon.io.read_acquisition`).

    Without ``phase`` and ``series_uids`` the series are grouped into acquisitions
    (:func:`list_dicom_acquisitions`) and ``series`` picks one; otherwise exactly the series
    given (all series under ``paths`` and ``phase``, or those of ``series_uids``) are combined.
    """
    where = _where(list(paths))
    if phase is None and series_uids is None:
        listing = list_dicom_acquisitions(paths)
        group, stem = listing.select(series)
        return _assemble(where, group.series, stem, pairing=group.describe(),
                         notes=listing.notes())
    if series is not None:
        raise InputFileError(f"'{where}': choose an acquisition or name its series, not both")
    chosen = _select_series(paths, series_uids) if series_uids else list(_scan(paths).values())
    if phase is not None:
        phase_series = _select_series(phase, series_uids) if series_uids else list(
            _scan(phase).values()
        )
        known = {s.uid for s in chosen}
        chosen += [s for s in phase_series if s.uid not in known]
    if len(chosen) > 1:
        check_one_study({s.uid: s for s in chosen}, where)
    pairing = SeriesGroup(chosen).describe()
    return _assemble(where, chosen, _dicom_stem(chosen[0].header), pairing=pairing)


def _assemble(
    where: str,
    series: list[SeriesInfo],
    stem: str,
    *,
    pairing: str,
    notes: tuple[str, ...] = (),
) -> Acquisition:
    frames = [f for s in series for f in s.frames]
    components, used = _choose_components(where, frames)
    frames = [f for f in frames if f.component in used]
    geometry, slice_of = _slice_geometry(where, frames)
    time_of, n_time, key_name = _time_points(where, frames, slice_of, geometry.n_slices)
    _check_complete(where, frames, slice_of, time_of, geometry.n_slices, n_time, used, key_name)
    check_affine(where, geometry.affine())  # NaN/degenerate positions: refused before reading
    check_memory(geometry.columns * geometry.rows * geometry.n_slices * n_time * 8 * len(used),
                 f"'{where}': {n_time} frames of {geometry.columns}x{geometry.rows}x"
                 f"{geometry.n_slices}")

    data, scaling = _load_pixels(where, frames, slice_of, time_of, geometry, n_time, used)

    primary = next(s for s in series if any(f.component == used[0] for f in s.frames))
    tags = reference_tags(primary.header)
    first_of_slice: dict[int, FrameInfo] = {}
    for f in sorted(frames, key=lambda f: (time_of[id(f)], used.index(f.component))):
        first_of_slice.setdefault(slice_of[id(f)], f)
    sources = tuple(
        SourceImage(
            sop_class_uid=first_of_slice[k].sop_class_uid,
            sop_instance_uid=first_of_slice[k].sop_instance_uid,
            frame_number=None
            if (frame_index := first_of_slice[k].frame_index) is None
            else frame_index + 1,
        )
        for k in range(geometry.n_slices)
    )
    used_series = [s for s in series if any(f.component in used for f in s.frames)]
    reference = DicomReference(
        geometry=geometry,
        tags=tags,
        source_images=sources,
        series_uids=tuple(s.uid for s in used_series),
    )
    all_files = sorted({f.path for f in frames})
    if scaling is not None:
        pairing = f"{pairing}; phase in {scaling} units"
    return Acquisition(
        data=data,
        affine=geometry.affine(),
        source="dicom",
        paths=tuple(all_files),
        stem=stem,
        dicom=reference,
        components=components,
        phase_scaling=scaling,
        pairing=pairing,
        notes=notes,
    )


def _dicom_stem(header: pydicom.Dataset) -> str:
    subject = sanitize_label(str(header.get("PatientID", "")), default="unknown")
    description = sanitize_label(str(header.get("SeriesDescription", "")), default="")
    if description:
        return f"sub-{subject}_acq-{description}"
    number = sanitize_label(str(header.get("SeriesNumber", "") or ""), default="")
    return f"sub-{subject}_run-{number}" if number else f"sub-{subject}"


def _choose_components(where: str, frames: list[FrameInfo]) -> tuple[tuple[str, ...], list[str]]:
    """Returns the description of the combination and the components to read (in order)."""
    present = {f.component for f in frames}
    if {"real", "imaginary"} <= present:
        return ("real", "imaginary"), ["real", "imaginary"]
    if {"magnitude", "phase"} <= present:
        return ("magnitude", "phase"), ["magnitude", "phase"]
    if "magnitude" in present:
        return ("magnitude",), ["magnitude"]
    raise InputFileError(
        f"'{where}': cannot form complex data from {'/'.join(sorted(present))} frames "
        "(need magnitude [+ phase] or real + imaginary)"
    )


def _slice_geometry(where: str, frames: list[FrameInfo]) -> tuple[PlaneGeometry, dict[int, int]]:
    first = frames[0]
    orientation = np.asarray(first.orientation)
    for f in frames:
        if not np.allclose(f.orientation, orientation, atol=_ORIENTATION_TOL):
            raise InputFileError(
                f"'{f.path}': ImageOrientationPatient {list(f.orientation)} differs from "
                f"{list(first.orientation)} of '{first.path}'"
            )
        if (f.rows, f.columns) != (first.rows, first.columns):
            raise InputFileError(
                f"'{f.path}': matrix {f.rows}x{f.columns} differs from "
                f"{first.rows}x{first.columns} of '{first.path}'"
            )
        if not np.allclose(f.pixel_spacing_mm, first.pixel_spacing_mm, rtol=1e-4):
            raise InputFileError(
                f"'{f.path}': PixelSpacing {list(f.pixel_spacing_mm)} differs from "
                f"{list(first.pixel_spacing_mm)} of '{first.path}'"
            )
    normal = np.cross(orientation[:3], orientation[3:])
    normal /= np.linalg.norm(normal)
    distances = np.array([f.position @ normal for f in frames])
    order = np.argsort(distances, kind="stable")
    levels: list[float] = []
    slice_of: dict[int, int] = {}
    positions: list[np.ndarray] = []
    for i in order:
        if not levels or distances[i] - levels[-1] > _SLICE_TOL_MM:
            levels.append(float(distances[i]))
            positions.append(frames[i].position)
        slice_of[id(frames[i])] = len(levels) - 1
    in_plane_tol = 0.05 * min(first.pixel_spacing_mm)
    for f in frames:
        k = slice_of[id(f)]
        if np.linalg.norm(f.position - positions[k]) > max(in_plane_tol, _SLICE_TOL_MM):
            raise InputFileError(
                f"'{f.path}': ImagePositionPatient {list(f.position)} is off the stack position "
                f"{list(positions[k])} of slice {k + 1} (several stacks are not supported)"
            )
    if len(levels) > 2:
        steps = np.diff(levels)
        if np.ptp(steps) > 1e-2 * abs(float(np.mean(steps))) + 1e-3:
            raise InputFileError(
                f"'{where}': slice spacing is not uniform (steps {np.round(steps, 4).tolist()} mm)"
            )
    thicknesses = [f.slice_thickness_mm for f in frames if f.slice_thickness_mm]
    geometry = PlaneGeometry(
        orientation=tuple(float(v) for v in orientation),
        pixel_spacing_mm=first.pixel_spacing_mm,
        positions=np.stack(positions),
        rows=first.rows,
        columns=first.columns,
        slice_thickness_mm=thicknesses[0] if thicknesses else None,
    )
    return geometry, slice_of


def _time_points(
    where: str, frames: list[FrameInfo], slice_of: dict[int, int], n_slices: int
) -> tuple[dict[int, int], int, str]:
    """Assign each frame a 0-based time index.

    Returns the map ``id(frame) -> time index``, the number of time points and the key used.
    """
    groups: dict[tuple[str, int], list[FrameInfo]] = defaultdict(list)
    for f in frames:
        groups[(f.component, slice_of[id(f)])].append(f)
    for key, mode in _TIME_KEYS:
        if not all(key in f.time_keys for f in frames):
            continue
        if not all(
            len({f.time_keys[key] for f in group}) == len(group) for group in groups.values()
        ):
            continue
        if mode == "union":
            values: list[Any] = sorted({f.time_keys[key] for f in frames})
            if key == "TemporalPositionIdentifier":
                n_declared = max(f.time_keys.get("NumberOfTemporalPositions", 0) for f in frames)
                if n_declared >= len(values) and set(values) <= set(range(1, n_declared + 1)):
                    values = list(range(1, n_declared + 1))
            index = {v: i for i, v in enumerate(values)}
            return {id(f): index[f.time_keys[key]] for f in frames}, len(values), key
        time_of = {}
        for group in groups.values():
            for i, f in enumerate(sorted(group, key=lambda f: f.time_keys[key])):
                time_of[id(f)] = i
        n_time = max(len(g) for g in groups.values())
        return time_of, n_time, key
    raise InputFileError(
        f"'{where}': cannot order frames in time (no TemporalPositionIdentifier, "
        "AcquisitionNumber, InstanceNumber or AcquisitionTime that is unique per slice)"
    )


def _check_complete(
    where: str,
    frames: list[FrameInfo],
    slice_of: dict[int, int],
    time_of: dict[int, int],
    n_slices: int,
    n_time: int,
    components: list[str],
    key_name: str,
) -> None:
    have = {(f.component, slice_of[id(f)], time_of[id(f)]) for f in frames}
    missing = [
        (c, k, t)
        for k in range(n_slices)
        for t in range(n_time)
        for c in components
        if (c, k, t) not in have
    ]
    if not missing:
        return
    total = n_slices * n_time * len(components)
    if key_name in dict(_TIME_KEYS) and dict(_TIME_KEYS)[key_name] == "rank":
        counts: defaultdict[tuple[Any, int], int] = defaultdict(int)
        for c, k, _ in have:
            counts[(c, k)] += 1
        short = [(c, k) for k in range(n_slices) for c in components if counts[(c, k)] < n_time]
        listed = ", ".join(f"slice {k + 1} ({c}) has {counts[(c, k)]}" for c, k in short[:3])
        raise InputFileError(
            f"'{where}': incomplete series: {listed} of {n_time} time points (ordered by "
            f"{key_name}; which ones are missing cannot be told); {len(frames)} of {total} frames"
        )
    listed = ", ".join(
        f"missing time point {t + 1} of slice {k + 1} ({c})" for c, k, t in missing[:_MAX_LISTED]
    )
    more = f" and {len(missing) - _MAX_LISTED} more" if len(missing) > _MAX_LISTED else ""
    raise InputFileError(
        f"'{where}': incomplete series ({n_slices} slices x {n_time} time points x "
        f"{len(components)} components by {key_name}): {listed}{more}"
    )


def _read_frames(path: Path, indices: list[int | None]) -> list[np.ndarray]:
    try:
        if indices == [None]:
            return [pydicom.pixels.pixel_array(path)]
        wanted = sorted(i for i in indices if i is not None)
        arrays = dict(zip(wanted, pydicom.pixels.iter_pixels(path, indices=wanted), strict=True))
        return [arrays[i] for i in indices if i is not None]
    except Exception as exc:  # decoders raise many types (missing plugin, corrupt data)
        raise InputFileError(f"Cannot read pixel data of '{path}': {exc}") from exc


def _load_pixels(
    where: str,
    frames: list[FrameInfo],
    slice_of: dict[int, int],
    time_of: dict[int, int],
    geometry: PlaneGeometry,
    n_time: int,
    components: list[str],
) -> tuple[np.ndarray, str | None]:
    shape = (geometry.columns, geometry.rows, geometry.n_slices, n_time)
    data = np.zeros(shape, dtype=np.complex64)
    phase = np.zeros(shape, dtype=np.float32) if "phase" in components else None
    by_file: dict[Path, list[FrameInfo]] = defaultdict(list)
    for f in frames:
        by_file[f.path].append(f)
    lo, hi = np.inf, -np.inf
    for path, file_frames in by_file.items():
        arrays = _read_frames(path, [f.frame_index for f in file_frames])
        for f, pixels in zip(file_frames, arrays, strict=True):
            if pixels.shape != (geometry.rows, geometry.columns):
                raise InputFileError(
                    f"'{path}': pixel array of shape {pixels.shape}, expected "
                    f"({geometry.rows}, {geometry.columns}) (one sample per pixel)"
                )
            values = pixels.T.astype(np.float32) * np.float32(f.slope) + np.float32(f.intercept)
            k, t = slice_of[id(f)], time_of[id(f)]
            if f.component in ("magnitude", "real"):
                data.real[:, :, k, t] = values
            elif f.component == "imaginary":
                data.imag[:, :, k, t] = values
            else:
                assert phase is not None
                phase[:, :, k, t] = values
                lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
    if phase is None:
        return data, None
    phase_frames = [f for f in frames if f.component == "phase"]
    siemens = all(
        np.isclose(f.slope, 2.0) and np.isclose(f.intercept, -4096.0) for f in phase_frames
    )
    scaling = declared_phase_unit({f.rescale_type for f in phase_frames})
    if scaling is None:
        vendors = {f.manufacturer for f in phase_frames}
        scaling = detect_phase_scaling(
            lo, hi, siemens_rescale=siemens, manufacturer=vendors.pop() if len(vendors) == 1 else ""
        )
    if scaling is None:
        raise InputFileError(
            f"'{where}': phase range [{lo:g}, {hi:g}] is neither radians, milliradians "
            "[-3142, 3142] nor Siemens units [-4096, 4095], and RescaleType declares no unit "
            "(rad, mrad, deg)"
        )
    to_rad = np.float32(TO_RADIANS[scaling])
    for t in range(n_time):  # in place, one volume at a time
        angle = phase[..., t] * to_rad
        data[..., t] = data.real[..., t] * (np.cos(angle) + 1j * np.sin(angle)).astype(np.complex64)
    return data, scaling
