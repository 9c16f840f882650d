"""Builders of small synthetic NIfTI/DICOM MRF inputs and image comparison helpers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MR = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
MAG_SLOPE = 0.5


@dataclass
class Stack:
    """LPS geometry of a synthetic slice stack."""

    orientation: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    spacing: tuple[float, float] = (2.0, 1.5)  # (row spacing, column spacing)
    origin: tuple[float, float, float] = (-10.0, -20.0, 30.0)
    slice_step: float = 4.0

    def positions(self, nz: int) -> np.ndarray:
        o = np.asarray(self.orientation)
        normal = np.cross(o[:3], o[3:])
        return np.asarray(self.origin) + np.arange(nz)[:, None] * self.slice_step * normal


OBLIQUE = Stack(
    orientation=tuple(
        np.round(
            np.concatenate(
                [
                    [np.cos(0.3), np.sin(0.3), 0.0],
                    [-np.sin(0.3) * np.cos(0.2), np.cos(0.3) * np.cos(0.2), np.sin(0.2)],
                ]
            ),
            8,
        )
    ),
)


def random_series(shape: tuple[int, int, int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude (multiples of MAG_SLOPE, > 0) and phase (rad, Siemens-quantised) series."""
    rng = np.random.default_rng(seed)
    magnitude = rng.integers(1, 4000, size=shape) * MAG_SLOPE
    stored = rng.integers(0, 4096, size=shape)
    phase = (2.0 * stored - 4096.0) * np.pi / 4096.0
    return magnitude.astype(np.float32), phase.astype(np.float32)


def _base(series_uid: str, study_uid: str, for_uid: str, description: str, number: int):
    ds = pydicom.Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "P123"
    ds.PatientBirthDate = "19800101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20240102"
    ds.StudyTime = "101010"
    ds.StudyID = "7"
    ds.AccessionNumber = "ACC1"
    ds.ReferringPhysicianName = ""
    ds.FrameOfReferenceUID = for_uid
    ds.PositionReferenceIndicator = ""
    ds.Modality = "MR"
    ds.Manufacturer = "SIEMENS"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = number
    ds.SeriesDescription = description
    ds.PatientPosition = "HFS"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.add_new(0x00290010, "LO", "SIEMENS CSA HEADER")  # a private tag that must not leak
    ds.add_new(0x00291010, "OB", b"secret!!")
    return ds


def _save(ds: pydicom.Dataset, path: Path) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def write_classic_series(
    folder: Path,
    magnitude: np.ndarray | None,
    phase: np.ndarray | None = None,
    *,
    stack: Stack = Stack(),
    time_tag: str = "TemporalPositionIdentifier",
    drop: Iterable[tuple[str, int, int]] = (),
    seed: int = 1,
    study_uid: str = "1.2.3.4",
    for_uid: str = "1.2.3.5",
    separate_phase_series: bool = False,
) -> dict[str, str]:
    """Write a classic MR series, one file per (component, slice, time point), shuffled names.

    Magnitude is stored with RescaleSlope 0.5, phase (radians) in Siemens units (slope 2,
    intercept -4096). ``drop`` lists ``(component, slice, time)`` frames (0-based) to leave out.
    Returns the SeriesInstanceUID per component.
    """
    rng = np.random.default_rng(seed)
    parts = {"magnitude": magnitude, "phase": phase}
    parts = {k: v for k, v in parts.items() if v is not None}
    shape = next(iter(parts.values())).shape
    nx, ny, nz, nt = shape
    uids = {"magnitude": generate_uid()}
    uids["phase"] = generate_uid() if separate_phase_series else uids["magnitude"]
    positions = stack.positions(nz)
    dropped = set(drop)
    names = rng.permutation(len(parts) * nz * nt)
    counter = 0
    for c, (component, values) in enumerate(parts.items()):
        for k in range(nz):
            for t in range(nt):
                name = names[counter]
                counter += 1
                if (component, k, t) in dropped:
                    continue
                ds = _base(
                    uids[component],
                    study_uid,
                    for_uid,
                    "MRF FISP",
                    5 + c * int(separate_phase_series),
                )
                ds.SOPClassUID = MR
                ds.SOPInstanceUID = generate_uid()
                ds.ImageType = ["ORIGINAL", "PRIMARY", "M" if component == "magnitude" else "P"]
                ds.InstanceNumber = 1 + k + nz * t
                if time_tag == "TemporalPositionIdentifier":
                    ds.TemporalPositionIdentifier = t + 1
                    ds.NumberOfTemporalPositions = nt
                    ds.AcquisitionNumber = 1
                elif time_tag == "AcquisitionNumber":
                    ds.AcquisitionNumber = t + 1
                elif time_tag == "AcquisitionTime":
                    ds.AcquisitionNumber = 1
                    ds.InstanceNumber = 1
                    ds.AcquisitionTime = f"1200{t:02d}.500000"
                ds.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
                ds.ImageOrientationPatient = [f"{v:.8f}" for v in stack.orientation]
                ds.PixelSpacing = [str(stack.spacing[0]), str(stack.spacing[1])]
                ds.SliceThickness = str(stack.slice_step)
                ds.Rows, ds.Columns = ny, nx
                frame = values[:, :, k, t].T
                if component == "magnitude":
                    ds.RescaleSlope, ds.RescaleIntercept = str(MAG_SLOPE), "0"
                    stored = np.rint(frame / MAG_SLOPE)
                else:
                    ds.RescaleSlope, ds.RescaleIntercept = "2", "-4096"
                    stored = np.rint((frame * 4096.0 / np.pi + 4096.0) / 2.0)
                ds.PixelData = stored.astype("<u2").tobytes()
                _save(ds, folder / f"IM{name:05d}")
    return uids


#: ImageType value 3 of each component.
COMPONENT_CODE = {"magnitude": "M", "phase": "P", "real": "R", "imaginary": "I"}


def write_component_series(
    folder: Path,
    values: np.ndarray,
    component: str,
    *,
    number: int,
    slope: float = MAG_SLOPE,
    intercept: float = 0.0,
    signed: bool = False,
    bits_stored: int = 16,
    stack: Stack = Stack(),
    patient_id: str = "P123",
    study_uid: str = "1.2.3.4",
    for_uid: str = "1.2.3.5",
    description: str = "MRF FISP",
    manufacturer: str = "SIEMENS",
    ge_private_type: bool = False,
    rescale_type: str | None = None,
) -> str:
    """One classic MR series holding one component of ``values`` ``(x, y, z, t)`` (vendor
    layout: magnitude and phase, or real and imaginary, as separate series).

    Stored values are ``rint((values - intercept) / slope)`` (int16 if ``signed``). The
    component is in ImageType value 3, or, with ``ge_private_type``, only in GE's private
    image type (0043,102F) with ImageType ``ORIGINAL\\PRIMARY\\OTHER``. Files are named
    ``<number><M|P|R|I>_<slice>_<time>``. Returns the SeriesInstanceUID.
    """
    uid = generate_uid()
    nx, ny, nz, nt = values.shape
    positions = stack.positions(nz)
    for k in range(nz):
        for t in range(nt):
            ds = _base(uid, study_uid, for_uid, description, number)
            ds.PatientID = patient_id
            ds.Manufacturer = manufacturer
            ds.SOPClassUID = MR
            ds.SOPInstanceUID = generate_uid()
            code = COMPONENT_CODE[component]
            ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER" if ge_private_type else code]
            if ge_private_type:
                block = ds.private_block(0x0043, "GEMS_PARM_01", create=True)
                block.add_new(0x2F, "SS", list(COMPONENT_CODE).index(component))
            ds.InstanceNumber = 1 + k + nz * t
            ds.TemporalPositionIdentifier = t + 1
            ds.NumberOfTemporalPositions = nt
            ds.AcquisitionNumber = 1
            ds.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
            ds.ImageOrientationPatient = [f"{v:.8f}" for v in stack.orientation]
            ds.PixelSpacing = [str(stack.spacing[0]), str(stack.spacing[1])]
            ds.SliceThickness = str(stack.slice_step)
            ds.Rows, ds.Columns = ny, nx
            ds.BitsStored, ds.HighBit = bits_stored, bits_stored - 1
            ds.PixelRepresentation = int(signed)
            ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}", f"{intercept:.10g}"
            if rescale_type is not None:
                ds.RescaleType = rescale_type
            stored = np.rint((values[:, :, k, t].T - intercept) / slope)
            ds.PixelData = stored.astype("<i2" if signed else "<u2").tobytes()
            _save(ds, folder / f"{number}{code}_{k:02d}_{t:04d}")
    return uid


def write_enhanced(
    path: Path,
    real: np.ndarray,
    imag: np.ndarray,
    *,
    stack: Stack = Stack(),
    seed: int = 2,
    components: tuple[str, str] = ("REAL", "IMAGINARY"),
    rescale: tuple[float, float] = (0.25, -1000.0),
) -> None:
    """An Enhanced MR multi-frame file with REAL and IMAGINARY frames in shuffled order
    (``components=("MAGNITUDE", "PHASE")``: ``real`` is the magnitude, ``imag`` the phase).

    Per-frame: FrameContent (TemporalPositionIndex, StackID, InStackPositionNumber,
    DimensionIndexValues over stack, position, time, component), PlanePosition, MR Image Frame
    Type (ComplexImageComponent), PixelValueTransformation (slope 0.25, intercept -1000).
    Shared: PlaneOrientation, PixelMeasures.
    """
    rng = np.random.default_rng(seed)
    nx, ny, nz, nt = real.shape
    positions = stack.positions(nz)
    frames = [(c, k, t) for c in components for k in range(nz) for t in range(nt)]
    frames = [frames[i] for i in rng.permutation(len(frames))]
    ds = _base(generate_uid(), "1.2.3.4", "1.2.3.5", "MRF enhanced", 9)
    ds.SOPClassUID = ENHANCED_MR
    ds.SOPInstanceUID = generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "MIXED", "NONE"]
    ds.ComplexImageComponent = "MIXED"
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns = ny, nx
    ds.BitsStored, ds.HighBit = 16, 15
    ds.NumberOfFrames = len(frames)
    dim_uid = generate_uid()
    dims = []
    for pointer, group in (
        (0x00209056, 0x00209111),
        (0x00209057, 0x00209111),
        (0x00209128, 0x00209111),
        (0x00089208, 0x00189226),
    ):
        item = pydicom.Dataset()
        item.DimensionOrganizationUID = dim_uid
        item.DimensionIndexPointer = pointer
        item.FunctionalGroupPointer = group
        dims.append(item)
    ds.DimensionIndexSequence = DicomSequence(dims)
    shared = pydicom.Dataset()
    orientation = pydicom.Dataset()
    orientation.ImageOrientationPatient = [f"{v:.8f}" for v in stack.orientation]
    measures = pydicom.Dataset()
    measures.PixelSpacing = [str(stack.spacing[0]), str(stack.spacing[1])]
    measures.SliceThickness = str(stack.slice_step)
    shared.PlaneOrientationSequence = DicomSequence([orientation])
    shared.PixelMeasuresSequence = DicomSequence([measures])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    per_frame, pixels = [], []
    for component, k, t in frames:
        item = pydicom.Dataset()
        content = pydicom.Dataset()
        content.StackID = "1"
        content.InStackPositionNumber = k + 1
        content.TemporalPositionIndex = t + 1
        content.DimensionIndexValues = [1, k + 1, t + 1, 1 + components.index(component)]
        item.FrameContentSequence = DicomSequence([content])
        position = pydicom.Dataset()
        position.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
        item.PlanePositionSequence = DicomSequence([position])
        frame_type = pydicom.Dataset()
        frame_type.FrameType = ["ORIGINAL", "PRIMARY", component, "NONE"]
        frame_type.ComplexImageComponent = component
        item.MRImageFrameTypeSequence = DicomSequence([frame_type])
        transform = pydicom.Dataset()
        transform.RescaleSlope = f"{rescale[0]:.10g}"
        transform.RescaleIntercept = f"{rescale[1]:.10g}"
        transform.RescaleType = "US"
        item.PixelValueTransformationSequence = DicomSequence([transform])
        per_frame.append(item)
        values = (real if component == components[0] else imag)[:, :, k, t].T
        pixels.append(np.rint((values - rescale[1]) / rescale[0]).astype("<u2"))
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    ds.PixelData = np.stack(pixels).tobytes()
    _save(ds, path)


def assert_same_world_image(
    data_a: np.ndarray,
    affine_a: np.ndarray,
    data_b: np.ndarray,
    affine_b: np.ndarray,
    *,
    atol: float = 1e-5,
    n_samples: int | None = None,
) -> np.ndarray:
    """Assert two 3-D images hold the same values at the same world positions.

    Their voxel grids must coincide up to an axis permutation/flip. Returns the integer
    voxel-to-voxel matrix ``inv(affine_b) @ affine_a``.
    """
    transform = np.linalg.inv(affine_b) @ affine_a
    rounded = np.rint(transform)
    np.testing.assert_allclose(transform, rounded, atol=1e-2)
    if n_samples is None:
        idx = np.indices(data_a.shape).reshape(3, -1)
    else:
        rng = np.random.default_rng(0)
        idx = np.stack([rng.integers(0, n, n_samples) for n in data_a.shape])
    idx_b = (rounded[:3, :3] @ idx + rounded[:3, 3:]).astype(int)
    for axis in range(3):
        assert idx_b[axis].min() >= 0 and idx_b[axis].max() < data_b.shape[axis]
    np.testing.assert_allclose(data_b[tuple(idx_b)], data_a[tuple(idx)], atol=atol)
    return rounded


def random_maps(shape: tuple[int, int, int], seed: int = 0):
    """A MapSet with every map (SDs of a few ms: their decimals matter), a random mask."""
    from mrfrecon.mapset import MapSet

    rng = np.random.default_rng(seed)
    return MapSet(
        t1_ms=rng.uniform(200, 3000, shape),
        t2_ms=rng.uniform(20, 300, shape),
        m0=(rng.uniform(1, 5, shape) * np.exp(1j * rng.uniform(-3, 3, shape))).astype(np.complex64),
        quality=rng.uniform(0.5, 1.0, shape),
        mask=rng.random(shape) > 0.2,
        t1_sd_ms=rng.uniform(1, 50, shape),
        t2_sd_ms=rng.uniform(0.2, 5, shape),
    )
