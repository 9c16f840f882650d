"""A numerical brain-like MRF phantom: tissue classes on the Shepp-Logan geometry.

Geometry: the regions of phantominator's MR Shepp-Logan phantom (Gach et al., "2D & 3D
Shepp-Logan phantom standards for MRI", ICSEng 2008, doi:10.1109/ICSEng.2008.15), one slice.
Each region gets a tissue class with literature values at 1.5 T:

- white and grey matter: in-vivo FISP-MRF (Jiang et al., MRM 2015;74:1621, doi:10.1002/mrm.25559)
  WM T1 781 ms / T2 65 ms, GM T1 1193 ms / T2 109 ms;
- CSF: T1 4000 ms, T2 1800 ms (literature ~ 4000 / 2000 ms; T2 kept inside the default
  dictionary/training range, whose top is 1900 ms);
- subcutaneous fat (scalp): T1 350 ms, T2 80 ms (a single-peak approximation, no chemical shift);
- skull / marrow: T1 590 ms, T2 50 ms, low proton density.

Relative proton densities M0: WM 0.69, GM 0.8, CSF 1.0, fat 0.9, skull 0.12.
The series is ``M0 * exp(i phi(x, y)) * fingerprint(T1, T2) + noise``, with a smooth phase ``phi``
(a linear ramp of up to 1 rad) and complex Gaussian noise of SD ``noise_sigma`` per channel in
units where M0 = 1 (each class is simulated once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_write, check_outputs_free
from .errors import MrfreconError
from .physics import Tissue, simulate_fingerprints
from .sequence import Sequence

#: name -> (T1 ms, T2 ms, M0)
TISSUES: dict[str, tuple[float, float, float]] = {
    "skull": (590.0, 50.0, 0.12),
    "fat": (350.0, 80.0, 0.9),
    "white_matter": (781.0, 65.0, 0.69),
    "grey_matter": (1193.0, 109.0, 0.8),
    "csf": (4000.0, 1800.0, 1.0),
}
# phantominator's region (its T1 in s, rounded) -> our class
_REGIONS = {0.587: "skull", 0.377: "fat", 0.767: "white_matter", 0.887: "white_matter",
            1.295: "grey_matter", 1.175: "grey_matter", 3.792: "csf", 4.2: "csf"}
DEFAULT_NOISE = 0.005
DEFAULT_SIZE = 128
VOXEL_MM = (1.5, 1.5, 5.0)


@dataclass(frozen=True)
class Phantom:
    """Truth maps, each ``(n, n, 1)``: T1, T2 in ms (0 outside), M0, labels (0 = background,
    ``k`` = ``names[k - 1]``)."""

    t1_ms: np.ndarray
    t2_ms: np.ndarray
    m0: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]

    @property
    def mask(self) -> np.ndarray:
        return self.labels > 0


def brain_phantom(n: int = DEFAULT_SIZE) -> Phantom:
    """The phantom on an ``n x n`` grid (one slice)."""
    from phantominator import shepp_logan

    if n < 16:
        raise MrfreconError(f"phantom size must be >= 16, got {n}")
    _, t1_s, _ = shepp_logan((n, n, 1), MR=True, zlims=(-0.25, -0.25))
    names = tuple(TISSUES)
    labels = np.zeros((n, n, 1), np.int16)
    keys = np.round(t1_s, 3)
    for value, name in _REGIONS.items():
        labels[np.isclose(keys, value)] = names.index(name) + 1
    table = np.array([(0.0, 0.0, 0.0)] + [TISSUES[k] for k in names])
    return Phantom(table[labels, 0], table[labels, 1], table[labels, 2], labels, names)


def nuisance_fields(shape: tuple[int, int, int], b1_amplitude: float = 0.0,
                    df_amplitude_hz: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Smooth B1 and off-resonance fields over the phantom grid, each ``shape`` float64.

    B1 (flip-angle scale) ``1 + b1_amplitude * u`` and off-resonance (Hz)
    ``df_amplitude_hz * v``, with ``u`` running linearly from -1 to 1 along x and ``v`` along
    y (so a 0.3 amplitude is a +-30 % B1 field).
    """
    nx, ny, nz = shape
    u = np.broadcast_to(np.linspace(-1, 1, nx)[:, None, None], shape)
    v = np.broadcast_to(np.linspace(-1, 1, ny)[None, :, None], shape)
    return 1.0 + b1_amplitude * u, df_amplitude_hz * v


def simulate_series(sequence: Sequence, phantom: Phantom, noise_sigma: float = DEFAULT_NOISE,
                    *, seed: int = 0, phase_rad: float = 1.0, b1: np.ndarray | None = None,
                    df_hz: np.ndarray | None = None) -> np.ndarray:
    """Complex series ``(n, n, 1, n_t)`` complex64 of the phantom under ``sequence``.

    b1, df_hz: optional per-voxel B1 scale and off-resonance (Hz) fields, ``(n, n, 1)`` (see
    :func:`nuisance_fields`); with them every tissue voxel is simulated on its own.
    """
    nx, ny, nz = phantom.labels.shape
    if b1 is None and df_hz is None:
        table = np.array([TISSUES[k] for k in phantom.names])
        fingerprints = simulate_fingerprints(sequence, Tissue.make(table[:, 0], table[:, 1]))
        lookup = np.concatenate([np.zeros((1, sequence.n_timepoints), np.complex64),
                                 fingerprints.astype(np.complex64)])
        series = lookup[phantom.labels]
    else:
        inside = phantom.mask
        tissue = Tissue.make(phantom.t1_ms[inside], phantom.t2_ms[inside],
                             1.0 if b1 is None else np.asarray(b1)[inside],
                             0.0 if df_hz is None else np.asarray(df_hz)[inside])
        series = np.zeros((nx, ny, nz, sequence.n_timepoints), np.complex64)
        series[inside] = simulate_fingerprints(sequence, tissue)
    x = np.linspace(-0.5, 0.5, nx)[:, None, None]
    y = np.linspace(-0.5, 0.5, ny)[None, :, None]
    weight = (phantom.m0 * np.exp(1j * phase_rad * (x + 0.5 * y))).astype(np.complex64)
    series = series * weight[..., None]
    if noise_sigma > 0:
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((*series.shape, 2), dtype=np.float32) * np.float32(noise_sigma)
        series += noise.view(np.complex64)[..., 0]
    return series


@dataclass
class PhantomFiles:
    """Paths written by :func:`write_phantom`."""

    series: Path
    truth_t1: Path
    truth_t2: Path
    truth_m0: Path
    labels: Path
    description: Path
    dicom: Path | None
    files: list[Path]
    truth_b1: Path | None = None  # B1 field (flip-angle scale), when one was simulated
    truth_df: Path | None = None  # off-resonance field (Hz), when one was simulated

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in {
            "series": self.series, "truth_t1": self.truth_t1, "truth_t2": self.truth_t2,
            "truth_m0": self.truth_m0, "labels": self.labels, "description": self.description,
            "dicom": self.dicom, "truth_b1": self.truth_b1, "truth_df": self.truth_df}.items()
            } | {"n_files": len(self.files)}


def write_phantom(sequence: Sequence, output_dir: str | Path, *, noise_sigma: float = DEFAULT_NOISE,
                  size: int = DEFAULT_SIZE, dicom: bool = False, seed: int = 0,
                  overwrite: bool = False, stem: str = "sub-phantom",
                  b1_amplitude: float = 0.0, df_amplitude_hz: float = 0.0,
                  progress: Callable[[int, int], None] | None = None) -> PhantomFiles:
    """Simulate the phantom and write it: the series (uncompressed NIfTI, complex64), truth maps
    (NIfTI in BIDS seconds with sidecars; M0; tissue labels), ``phantom.json`` and, with
    ``dicom``, a classic MR magnitude + phase DICOM series under ``dicom/``.
    ``b1_amplitude``, ``df_amplitude_hz``: smooth B1 and off-resonance fields
    (:func:`nuisance_fields`), written as ``desc-truth_TB1map`` (flip-angle scale, usable as
    ``maps --b1-map``) and ``desc-truth_fieldmap`` (Hz) when non-zero.

    Nothing is written if an output exists and ``overwrite`` is false.
    """
    import nibabel as nib

    from .io.bids import json_bytes, sidecar_path
    from .io.nifti import nifti_map_bytes

    if noise_sigma < 0:
        raise MrfreconError(f"noise sigma must be >= 0, got {noise_sigma}")
    output_dir = Path(output_dir)
    phantom = brain_phantom(size)
    affine = phantom_affine(size)
    series_path = output_dir / f"{stem}_MRF.nii"
    truth = {"t1": output_dir / f"{stem}_desc-truth_T1map.nii.gz",
             "t2": output_dir / f"{stem}_desc-truth_T2map.nii.gz",
             "m0": output_dir / f"{stem}_desc-truth_M0map.nii.gz",
             "labels": output_dir / f"{stem}_desc-tissue_dseg.nii.gz"}
    b1_field, df_field = nuisance_fields(phantom.labels.shape, b1_amplitude, df_amplitude_hz)
    if b1_amplitude:
        truth["b1"] = output_dir / f"{stem}_desc-truth_TB1map.nii.gz"
    if df_amplitude_hz:
        truth["df"] = output_dir / f"{stem}_desc-truth_fieldmap.nii.gz"
    description = output_dir / "phantom.json"
    dicom_dir = output_dir / "dicom" if dicom else None
    planned = [series_path, description, *truth.values(),
               *(sidecar_path(p) for p in truth.values())]
    check_outputs_free(planned + ([dicom_dir] if dicom_dir else []), overwrite=overwrite)
    output_dir.mkdir(parents=True, exist_ok=True)
    series = simulate_series(sequence, phantom, noise_sigma, seed=seed,
                             b1=b1_field if b1_amplitude else None,
                             df_hz=df_field if df_amplitude_hz else None)

    img = nib.Nifti1Image(series, affine)
    img.set_sform(affine, code="scanner")
    img.set_qform(affine, code="scanner")
    img.header.set_xyzt_units(xyz="mm", t="unknown")
    files = [atomic_write(series_path, img.to_bytes(), overwrite=overwrite)]
    maps = {"t1": (phantom.t1_ms * 1e-3, "s", "T1"), "t2": (phantom.t2_ms * 1e-3, "s", "T2"),
            "m0": (phantom.m0, "arbitrary", "M0"), "labels": (phantom.labels, "1", "LABEL"),
            "b1": (b1_field, "1", "B1"), "df": (df_field, "Hz", "OFFRES")}
    maps = {k: v for k, v in maps.items() if k in truth}
    for key, (values, unit, label) in maps.items():
        data = values.astype(np.uint8 if key == "labels" else np.float32)
        files.append(atomic_write(truth[key], nifti_map_bytes(
            data, affine, img.header, description=f"mrfrecon phantom truth {label} [{unit}]",
            intent="none" if key == "labels" else "estimate", intent_name=label),
            overwrite=overwrite))
        side: dict[str, object] = {"Units": unit,
                                   "Description": f"phantom ground truth {label}",
                                   "SequenceSha256": sequence.sha256}
        if key == "labels":
            side["Labels"] = {str(i + 1): name for i, name in enumerate(phantom.names)}
        files.append(atomic_write(sidecar_path(truth[key]), json_bytes(side), overwrite=overwrite))
    info = {"tissues": {k: {"t1_ms": v[0], "t2_ms": v[1], "m0": v[2]} for k, v in TISSUES.items()},
            "noise_sigma": noise_sigma, "size": size, "seed": seed, "voxel_mm": list(VOXEL_MM),
            "sequence": sequence.name, "sequence_sha256": sequence.sha256,
            "n_timepoints": sequence.n_timepoints, "b1_amplitude": b1_amplitude,
            "df_amplitude_hz": df_amplitude_hz}
    files.append(atomic_write(description, json_bytes(info), overwrite=overwrite))
    if dicom_dir is not None:
        files += write_dicom_series(series, dicom_dir, overwrite=overwrite, affine=affine,
                                    progress=progress)
    return PhantomFiles(series_path, truth["t1"], truth["t2"], truth["m0"], truth["labels"],
                        description, dicom_dir, files, truth.get("b1"), truth.get("df"))


def phantom_affine(size: int) -> np.ndarray:
    """Voxel-to-RAS affine (mm) of the phantom's NIfTI and DICOM copies: VOXEL_MM voxels,
    centred in-plane, shape ``(4, 4)``."""
    affine = np.diag([*VOXEL_MM, 1.0])
    affine[:3, 3] = [-VOXEL_MM[0] * size / 2, -VOXEL_MM[1] * size / 2, 0.0]
    return affine


def write_dicom_series(series: np.ndarray, folder: Path, *, overwrite: bool = False,
                       description: str = "MRF phantom", affine: np.ndarray | None = None,
                       progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """A classic MR magnitude + phase series of ``series`` (``(n, n, nz, n_t)``), one file per
    slice, time point and component, in the world geometry of the NIfTI copy (``affine``,
    default :func:`phantom_affine`); written by :func:`mrfrecon.io.dicom_series.write_mr_series`.
    """
    from .io.dicom_series import SeriesInfo, write_mr_series

    if affine is None:
        affine = phantom_affine(series.shape[0])
    return write_mr_series(series, affine, folder, info=SeriesInfo(description=description),
                           overwrite=overwrite, progress=progress)
