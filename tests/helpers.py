"""Shared test helpers (fixtures live in conftest.py).

- Synthetic NIfTI/DICOM MRF inputs and image comparison (io tests).
- Small models, dictionaries, noise and NIfTI series for the reconstruction tests.
- Packaging: build the wheel from a copy of this source tree, make a fresh venv and install it
  there (not editable), run commands with the working directory outside the clone.

Packaging is offline and fast: the wheel is built without build isolation, the venv is created
without pip and sees the test interpreter's dependencies through a ``.pth`` file (the
dependencies' site folder is appended after the venv's own, so the installed ``mrfrecon`` wins;
``.pth`` files in that folder, such as an editable install's finder, are not processed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from mrfrecon.dictionary import build_dictionary, make_grid, svd_basis
from mrfrecon.features import (
    FeatureMap,
    MagnitudeFeatureMap,
    fit_standardisation,
    unit_real,
    unit_realimag,
)
from mrfrecon.mapset import MapSet
from mrfrecon.method import Method
from mrfrecon.model import FloatMLPWeights, MagnitudePath, MrfModel, OutputScaling
from mrfrecon.parameters import NetworkParameters
from mrfrecon.physics import Tissue, simulate_fingerprints
from mrfrecon.quantized import IntegerLayer, IntegerMLP
from mrfrecon.recon.core import ReconResult
from mrfrecon.sequence import Sequence

ROOT = Path(__file__).resolve().parents[1]

# --- synthetic NIfTI/DICOM MRF inputs ---------------------------------------------------------

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
# --- reconstruction: small models, dictionaries, series -----------------------------------

T1_RANGE = (100.0, 4000.0)
T2_RANGE = (10.0, 1500.0)


def make_model(sequence: Sequence, *, rank: int = 10, hidden: int = 16, seed: int = 0,
               parameters: NetworkParameters = NetworkParameters(),
               magnitude: bool = False) -> MrfModel:
    """A model with the real feature map of ``sequence`` and arbitrary small networks.

    The networks' outputs are meaningless: use it for plumbing, or ``method="matching"``.
    ``parameters``: the networks' extra outputs (df) and inputs (B1).
    ``magnitude``: also a magnitude path (real magnitude basis of rank ``2 * rank``).
    """
    rng = np.random.default_rng(seed)
    t1 = np.exp(rng.uniform(np.log(T1_RANGE[0]), np.log(T1_RANGE[1]), 600))
    t2 = np.minimum(np.exp(rng.uniform(np.log(T2_RANGE[0]), np.log(T2_RANGE[1]), 600)), t1)
    b1 = 1.0 if parameters.b1_range is None else rng.uniform(*parameters.b1_range, 600)
    df = 0.0 if parameters.df_range_hz is None else rng.uniform(*parameters.df_range_hz, 600)
    atoms = simulate_fingerprints(sequence, Tissue.make(t1, t2, b1, df))
    basis, _ = svd_basis(atoms, rank=rank)
    coef = atoms.astype(np.complex64) @ basis
    mean, std = fit_standardisation(unit_realimag(coef))
    features = FeatureMap(basis, mean, std)
    n_in, n_out = 2 * rank + parameters.n_extra_inputs, parameters.n_outputs
    float_net, int_net = _random_networks(rng, n_in, hidden, n_out)
    magnitude_path = None
    if magnitude:
        from mrfrecon.training.magnitude import magnitude_basis

        mag_basis = magnitude_basis(np.abs(atoms), 2 * rank)
        mean, std = fit_standardisation(unit_real(np.abs(atoms) @ mag_basis))
        magnitude_path = MagnitudePath(MagnitudeFeatureMap(mag_basis, mean, std),
                                       *_random_networks(rng, n_in, hidden, n_out))
    return MrfModel(sequence=sequence, features=features,
                    scaling=OutputScaling(T1_RANGE, T2_RANGE), float_net=float_net,
                    int_net=int_net, metrics={}, provenance={"test": True},
                    parameters=parameters, magnitude=magnitude_path)


def _random_networks(rng: np.random.Generator, n_in: int, hidden: int, n_out: int
                     ) -> tuple[FloatMLPWeights, IntegerMLP]:
    w1 = rng.normal(0, 1 / np.sqrt(n_in), (hidden, n_in)).astype(np.float32)
    w2 = rng.normal(0, 1 / np.sqrt(hidden), (n_out, hidden)).astype(np.float32)
    float_net = FloatMLPWeights((w1, w2), (np.zeros(hidden, np.float32),
                                           np.full(n_out, 0.5, np.float32)))
    int_net = IntegerMLP(5, (
        IntegerLayer(rng.integers(-60, 60, (hidden, n_in)), rng.integers(-500, 500, hidden),
                     weight_frac=6, out_frac=4),
        IntegerLayer(rng.integers(-60, 60, (n_out, hidden)), np.full(n_out, 2**9),
                     weight_frac=6, out_frac=None),
    ))
    return float_net, int_net


def make_recon_result(with_sd: bool) -> ReconResult:
    """A 4 x 5 x 1 FLOAT result, 10 voxels in the mask, quality 0.5, 20 % of T1 at the range
    limits, one given warning; sqrt(CRB) maps 2 % of T1 with ``with_sd``."""
    shape = (4, 5, 1)
    mask = np.zeros(shape, bool)
    mask[1:3] = True  # 10 voxels
    t1 = np.where(mask, np.linspace(500, 1500, 20).reshape(shape), 0.0)
    sd = np.where(mask, 0.02 * t1, 0.0) if with_sd else None
    maps = MapSet(t1, t1 / 10, np.where(mask, 1 + 0j, 0), np.where(mask, 0.5, 0).astype(
        np.float32), mask, sd, sd)
    return ReconResult(maps, Method.FLOAT, 0.01, "residual", 10, {"t1": (100.0, 4000.0),
                       "t2": (10.0, 1500.0)}, {"t1": 0.2, "t2": 0.0}, warnings=["given"])


def small_dictionary(sequence: Sequence, t1: str = "100:2000:20,2300:4000:300",
                     t2: str = "10:100:2,105:300:5,320:1500:40"):
    return build_dictionary(sequence, make_grid(sequence, t1, t2), rank=None, energy=None)


def rel_max(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the largest magnitude of the reference ``b``."""
    return float(np.abs(a - b).max() / np.abs(b).max())


def complex_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    return (sigma * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))).astype(
        np.complex64)


def save_series(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Write a complex 4-D series as NIfTI."""
    affine = np.diag([1.5, 1.5, 4.0, 1.0]) if affine is None else affine
    img = nib.Nifti1Image(np.asarray(data, np.complex64), affine)
    img.set_sform(affine, code="scanner")
    img.set_qform(affine, code="scanner")
    nib.save(img, path)
    return path


# --- packaging: wheel, venv, commands ------------------------------------------------------

# never copied into the build tree: outputs, caches and a stale build/ whose files would leak
# into the wheel
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
    ".mypy_cache", "sim_build*", "mrfrecon-demo", "out", "demo_out", "*.whl",
)


def run(cmd: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; fail the test with its output when it exits non-zero."""
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} -> {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def clean_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an installed command: no PYTHONPATH (it would put the clone first),
    no inherited numba cache, mrfrecon's caches in ``cache_dir``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR", "MRFRECON_CACHE_DIR")}
    env["MRFRECON_CACHE_DIR"] = str(cache_dir)
    env.update(extra)
    return env


def make_venv(path: Path) -> Path:
    """A fresh venv (no pip) that sees this interpreter's dependencies; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "_mrfrecon_test_deps.pth").write_text("".join(f"{d}\n" for d in deps))
    return python


def pip_install(python: Path, wheel_file: Path) -> None:
    """Install ``wheel_file`` (no dependencies, offline) into the venv of ``python``.

    ``--ignore-installed``: the test environment's own (editable) mrfrecon is visible through
    the ``.pth`` file; pip must neither skip the install for it nor touch it.
    """
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", "--ignore-installed", wheel_file], cwd=wheel_file.parent)




def build_wheel(dest: Path) -> Path:
    """``mrfrecon-*.whl`` built offline from a copy of this source tree, in ``dest``."""
    src = dest / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=COPY_IGNORE)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", ".", "-w", dest / "dist"], cwd=src)
    (found,) = (dest / "dist").glob("mrfrecon-*.whl")
    return found


def as_scanner_export(source: Path, folder: Path, numbers: tuple[int, int]) -> None:
    """The phantom's DICOM (magnitude and phase frames in one series) as Siemens exports it:
    magnitude as series ``numbers[0]``, phase as series ``numbers[1]``, new UIDs."""
    uids = {"M": generate_uid(), "P": generate_uid()}
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.dcm")):
        ds = pydicom.dcmread(path)
        code = ds.ImageType[2]
        ds.SeriesInstanceUID, ds.SeriesNumber = uids[code], numbers[code == "P"]
        ds.SeriesDescription = "MRF FISP"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(folder / f"{numbers[0]}_{path.name}", enforce_file_format=True)


def add_localizer(template: Path, folder: Path) -> None:
    """A 3-frame magnitude series 1 'localizer' made from one MRF file (files ``loc*.dcm``)."""
    folder.mkdir(parents=True, exist_ok=True)
    uid = generate_uid()
    for t in range(3):
        ds = pydicom.dcmread(template)
        ds.SeriesInstanceUID, ds.SeriesNumber, ds.SeriesDescription = uid, 1, "localizer"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.TemporalPositionIdentifier, ds.NumberOfTemporalPositions = t + 1, 3
        ds.save_as(folder / f"loc{t}.dcm", enforce_file_format=True)
