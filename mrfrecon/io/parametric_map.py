"""Quantitative maps as a DICOM Parametric Map (one multi-frame float instance per map).

Built with highdicom (``hd.pm.ParametricMap``): pixel measures and plane orientation go in the
*shared* functional groups, plane positions per frame. highdicom stores frames in its own
order, so readers must place frames by ``PlanePositionSequence`` (as
:func:`mrfrecon.io.read_acquisition` does), never by frame number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pydicom

from mrfrecon import __version__
from mrfrecon.io.acquisition import SourceImage
from mrfrecon.io.dicom_tags import COPIED_KEYWORDS
from mrfrecon.io.dicom_write import DicomMapKind, display_window, real_world_value_mapping
from mrfrecon.io.geometry import PlaneGeometry


def _source_datasets(
    tags: pydicom.Dataset,
    geometry: PlaneGeometry,
    source_images: Sequence[SourceImage],
    thickness_mm: float,
) -> list[pydicom.Dataset]:
    """Header-only stand-ins for the source images (highdicom copies patient/study from them)."""
    out = []
    for k, src in enumerate(source_images):
        ds = pydicom.Dataset()
        for keyword in COPIED_KEYWORDS:
            if keyword in tags:
                setattr(ds, keyword, tags[keyword].value)
        for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"):
            if keyword not in ds:
                setattr(ds, keyword, "")
        for keyword in ("StudyDate", "StudyTime", "StudyID", "AccessionNumber"):
            if keyword not in ds:
                setattr(ds, keyword, "")
        if "ReferringPhysicianName" not in ds:
            ds.ReferringPhysicianName = ""
        ds.SOPClassUID = src.sop_class_uid
        ds.SOPInstanceUID = src.sop_instance_uid
        ds.SeriesInstanceUID = str(tags.get("SeriesInstanceUID", ""))
        ds.Modality = "MR"
        ds.Rows, ds.Columns = geometry.rows, geometry.columns
        ds.ImageOrientationPatient = list(geometry.orientation)
        ds.ImagePositionPatient = list(geometry.positions[k])
        ds.PixelSpacing = list(geometry.pixel_spacing_mm)
        ds.SliceThickness = thickness_mm
        out.append(ds)
    return out


def parametric_map(
    values: np.ndarray,
    *,
    kind: DicomMapKind,
    geometry: PlaneGeometry,
    tags: pydicom.Dataset,
    source_images: Sequence[SourceImage],
    series_number: int,
    series_description: str,
) -> pydicom.Dataset:
    """A float32 Parametric Map instance of a map.

    Parameters
    ----------
    values
        Map in ``kind.unit``, shape ``(nx, ny, nz)`` = (columns, rows, slices);
        NaN/inf are stored as 0.
    kind
        Label, unit and coded quantity (an SD map is coded as the SD of its quantity).
    geometry, tags, source_images
        Of the source DICOM series (see :class:`mrfrecon.io.DicomReference`).
    series_number, series_description
        Of the new series.
    """
    import highdicom as hd

    values = np.where(np.isfinite(values), values, 0.0).astype(np.float32)
    frames = np.ascontiguousarray(np.transpose(values, (2, 1, 0)))  # (slices, rows, columns)
    mapping = real_world_value_mapping(
        kind, 1.0, (float(values.min(initial=0.0)), float(values.max(initial=0.0)))
    )
    row_spacing, col_spacing = geometry.pixel_spacing_mm
    step_mm = float(np.linalg.norm(geometry.slice_step_mm()))
    thickness = geometry.slice_thickness_mm or step_mm
    center, width, voi_function = display_window(values)
    ds = hd.pm.ParametricMap(
        source_images=_source_datasets(tags, geometry, source_images, thickness),
        pixel_array=frames,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="mrfrecon",
        manufacturer_model_name="mrfrecon",
        software_versions=f"mrfrecon {__version__}",
        device_serial_number="0",
        contains_recognizable_visual_features=False,
        real_world_value_mappings=[mapping],
        voi_lut_transformations=[
            hd.VOILUTTransformation(window_center=center, window_width=width,
                                    voi_lut_function=voi_function)
        ],
        content_description=kind.description[:64],
        content_label=kind.label.upper()[:16],
        pixel_measures=hd.PixelMeasuresSequence(
            pixel_spacing=(row_spacing, col_spacing),
            slice_thickness=thickness,
            # readers (dcm2niix) take the slice spacing from here, not from the positions
            spacing_between_slices=step_mm if geometry.n_slices > 1 else thickness,
        ),
        plane_orientation=hd.PlaneOrientationSequence(
            coordinate_system="PATIENT", image_orientation=list(geometry.orientation)
        ),
        plane_positions=[
            hd.PlanePositionSequence(coordinate_system="PATIENT", image_position=list(p))
            for p in geometry.positions
        ],
    )
    ds.SeriesDescription = series_description[:64]
    ds.Laterality = ""  # type 2C (General Series): the map covers what the source covered
    return ds
