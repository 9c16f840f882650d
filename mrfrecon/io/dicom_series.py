"""Writing a complex MRF time series as a classic MR magnitude + phase DICOM series.

For simulated inputs (the phantom, tests): the geometry comes from the same RAS+ affine as the
NIfTI copy (:func:`mrfrecon.io.geometry.plane_geometry_from_affine`), so both copies put every
voxel at the same world point. Magnitude is stored in 16 bits with a RescaleSlope, phase in
Siemens units (slope 2, intercept -4096, [-pi, pi)); time points by TemporalPositionIdentifier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrfrecon.atomic import atomic_write
from mrfrecon.io.dicom_tags import MR_IMAGE_STORAGE
from mrfrecon.io.geometry import plane_geometry_from_affine


@dataclass(frozen=True)
class SeriesInfo:
    """Patient and series tags of a written source series."""

    patient_name: str = "Phantom^MRF"
    patient_id: str = "MRFPHANTOM"
    description: str = "MRF phantom"
    study_date: str = "20240101"
    study_time: str = "120000"


def write_mr_series(
    series: np.ndarray,
    affine: np.ndarray,
    folder: Path,
    *,
    info: SeriesInfo = SeriesInfo(),
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write ``series`` (complex, shape ``(nx, ny, nz, n_t)``) with voxel-to-RAS ``affine``
    (4x4, mm) as one MR Image file per slice, time point and component (M, P) in ``folder``.

    Returns the files written, magnitude first.
    """
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    nx, ny, nz, nt = series.shape
    geometry = plane_geometry_from_affine(affine, (nx, ny, nz))
    magnitude = np.abs(series)
    slope = float(magnitude.max()) / 65000.0 or 1.0
    phase = np.angle(series)
    study, frame_of_ref, series_uid = generate_uid(), generate_uid(), generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    total = 2 * nz * nt
    for c, component in enumerate(("M", "P")):
        for k in range(nz):
            for t in range(nt):
                ds = pydicom.Dataset()
                ds.SpecificCharacterSet = "ISO_IR 100"
                ds.PatientName, ds.PatientID = info.patient_name, info.patient_id
                ds.PatientBirthDate, ds.PatientSex = "", "O"
                ds.StudyInstanceUID, ds.StudyDate = study, info.study_date
                ds.StudyTime = info.study_time
                ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = "1", "", ""
                ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = frame_of_ref, ""
                ds.Modality, ds.Manufacturer = "MR", "mrfrecon"
                ds.SeriesInstanceUID, ds.SeriesNumber = series_uid, 1
                ds.SeriesDescription = info.description
                ds.PatientPosition = "HFS"
                ds.SOPClassUID = MR_IMAGE_STORAGE
                ds.SOPInstanceUID = generate_uid()
                ds.ImageType = ["ORIGINAL", "PRIMARY", component]
                ds.InstanceNumber = 1 + k + nz * t + c * nz * nt
                ds.TemporalPositionIdentifier = t + 1
                ds.NumberOfTemporalPositions = nt
                ds.AcquisitionNumber = 1
                ds.ImagePositionPatient = [float(v) for v in geometry.positions[k]]
                ds.ImageOrientationPatient = [float(v) for v in geometry.orientation]
                ds.PixelSpacing = [float(v) for v in geometry.pixel_spacing_mm]
                if geometry.slice_thickness_mm:
                    ds.SliceThickness = float(geometry.slice_thickness_mm)
                ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
                ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
                ds.Rows, ds.Columns = geometry.rows, geometry.columns
                if component == "M":
                    ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}", "0"
                    stored = np.rint(magnitude[:, :, k, t].T / float(ds.RescaleSlope))
                else:
                    ds.RescaleSlope, ds.RescaleIntercept = "2", "-4096"
                    stored = np.rint((phase[:, :, k, t].T * 4096.0 / np.pi + 4096.0) / 2.0)
                    stored = np.clip(stored, 0, 4095)
                # frame rows run along array axis 1 (j), columns along axis 0 (i)
                ds.PixelData = np.clip(stored, 0, 65535).astype("<u2").tobytes()
                meta = FileMetaDataset()
                meta.MediaStorageSOPClassUID = ds.SOPClassUID
                meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                meta.TransferSyntaxUID = ExplicitVRLittleEndian
                ds.file_meta = meta
                path = folder / f"{component}{k:03d}_{t:05d}.dcm"

                def write(fh, ds=ds) -> None:
                    ds.save_as(fh, enforce_file_format=True)

                written.append(atomic_write(path, write, overwrite=overwrite))
                if progress is not None:
                    progress(len(written), total)
    return written
