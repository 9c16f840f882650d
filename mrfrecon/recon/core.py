"""Voxel-wise reconstruction: projection, T1/T2 inference, M0, quality, mask, noise, sqrt(CRB).

Per voxel ``d`` (``(n_t,)`` complex):

1. ``c = project(d)``: coefficients on the model's SVD basis (``(rank,)``), and ``|d|^2``
   (:func:`project_series`).
2. Mask: given, or ``|c| > mask_threshold * percentile_99(|c|)`` (signal energy in the
   subspace, where noise is weakest; :func:`fit_mask`).
3. T1, T2 (ms): the integer network (``quantized``, bit-exact with the FPGA datapath), the float
   network (``float``), or SVD-compressed dictionary matching in the same basis (``matching``;
   Ma et al. 2013, doi:10.1038/nature11971; McGivney et al. 2014, doi:10.1109/TMI.2014.2337321).
   ``f`` = the projected M0 = 1 fingerprint at the estimate (interpolated from
   :class:`~mrfrecon.recon.table.SignalTable`; the matched atom for ``matching``);
   ``M0 = f^H c / f^H f`` (complex least squares) and
   ``quality = |f^H c| / (|f| |c|)`` (normalised inner product in the subspace, as matching).
4. Noise sigma per channel (real and imaginary), see :func:`estimate_noise`;
   ``T1sd, T2sd = sqrt(CRB(T1, T2)) * sigma / |M0|`` from the table.

Memory: pass 1 streams the series in chunks of ``chunk_size`` voxels (a memory-mapped NIfTI is
only paged in chunk by chunk) and keeps ``rank + 1`` numbers per voxel; pass 2 works on those.
Chunks run on ``n_threads`` threads with one BLAS thread each.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..dictionary import Dictionary, MatchAtoms, build_dictionary
from ..errors import ModelMismatchError, MrfreconError
from ..mapset import MapSet
from ..method import Method
from ..model import MrfModel
from .table import SignalTable, cached_table

ProgressFn = Callable[[int, int], None]
METHODS = tuple(Method)
NOISE_METHODS = ("auto", "residual", "background")
MIN_NOISE_VOXELS = 32
NOISE_SAMPLE = 32768  # voxels whose |d|^2 feeds the noise estimate
RANGE_LIMIT_RTOL = 1e-6


@dataclass(frozen=True)
class ReconOptions:
    """How to reconstruct; checked when made, before any work.

    method: a :class:`~mrfrecon.method.Method` (or its value).  chunk_size: voxels per chunk.
    n_threads: worker threads (default: CPU count).  mask_threshold: automatic mask level as a
    fraction of the 99th percentile of the projected signal norm.  noise: ``auto``,
    ``residual``, ``background`` or a fixed sigma >= 0 (per channel, data units).
    uncertainty: compute the sqrt(CRB) maps.  use_cache: cache the tables on disk.
    """

    method: Method = Method.QUANTIZED
    chunk_size: int = 4096
    n_threads: int | None = None
    mask_threshold: float = 0.1
    noise: str | float = "auto"
    uncertainty: bool = True
    use_cache: bool = True

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "method", Method(self.method))
        except ValueError:
            raise MrfreconError(f"unknown method '{self.method}' (expected one of "
                                f"{', '.join(m.value for m in Method)})") from None
        if isinstance(self.noise, str):
            if self.noise not in NOISE_METHODS:
                raise MrfreconError(f"unknown noise estimator '{self.noise}' "
                                    f"(expected {', '.join(NOISE_METHODS)} or a number)")
        elif not (math.isfinite(self.noise) and self.noise > 0):
            raise MrfreconError(f"the noise sigma must be a finite number > 0, got {self.noise}")
        if self.chunk_size < 1:
            raise MrfreconError(f"chunk_size must be >= 1, got {self.chunk_size}")


@dataclass
class ReconResult:
    """Maps (``MapSet``, times in ms) and what was estimated on the way.

    noise_sigma: per-channel noise SD in data units (NaN if it could not be estimated).
    noise_method: how it was obtained.  range_ms: the estimator's (T1, T2) range in ms.
    at_range_limit: fraction of fitted voxels with T1 or T2 at that range's limits.
    """

    maps: MapSet
    method: Method
    noise_sigma: float
    noise_method: str
    n_fitted: int
    range_ms: dict[str, tuple[float, float]]
    at_range_limit: dict[str, float]
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    quality_deficit: float | None = None


def voxel_view(data: np.ndarray) -> tuple[np.ndarray, str]:
    """``(nx, ny, nz, n_t)`` -> ``(n_voxels, n_t)`` without copying, and the voxel order."""
    n_t = data.shape[-1]
    if data.flags.f_contiguous and not data.flags.c_contiguous:
        return data.reshape(-1, n_t, order="F"), "F"
    return data.reshape(-1, n_t), "C"


def _chi2_median(k: float) -> float:
    """Median of a chi-square with ``k`` degrees of freedom (Wilson-Hilferty, < 1e-4 rel.)."""
    return k * (1 - 2 / (9 * k)) ** 3


def estimate_noise(energy: np.ndarray, coef_energy: np.ndarray, mask: np.ndarray, n_t: int,
                   rank: int, method: str = "auto", magnitude_only: bool = False
                   ) -> tuple[float, str]:
    """Noise SD per channel from the data (complex Gaussian noise, sigma in each of Re, Im).

    ``background``: voxels outside the mask with non-zero signal hold noise only;
    ``|d|^2 = sigma^2 chi2(2 n_t)`` (also for magnitude data: the Rayleigh second moment is
    ``2 sigma^2``, which is the Rician correction in the background), so
    ``sigma^2 = median(|d|^2) / median(chi2(2 n_t))``.
    ``residual``: inside the mask the energy outside the model's subspace is noise only (the
    fingerprints keep > 99.99 % of their energy inside), ``|d|^2 - |c|^2 = sigma^2
    chi2(2 (n_t - rank))``. Medians make both robust to a few tissue voxels in the background or
    artefacts in the object.  ``auto``: residual, unless the data are magnitude only (not in the
    subspace) or ``n_t - rank < 32``; either falls back to the other with too few voxels.

    energy, coef_energy: ``|d|^2`` and ``|c|^2`` per voxel, ``(n_voxels,)`` (NaN energy: voxel
    not sampled); mask ``(n_voxels,)``.
    Returns ``(sigma, method used)``; sigma is NaN when neither applies.
    """
    background = ~mask & np.isfinite(energy) & (energy > 0)
    dof_resid = 2 * (n_t - rank)
    order = ["residual", "background"]
    if method == "background" or (method == "auto" and (magnitude_only or n_t - rank < 32)):
        order = ["background", "residual"]
    for name in order:
        if name == "background" and background.sum() >= MIN_NOISE_VOXELS:
            return float(np.sqrt(np.median(energy[background]) / _chi2_median(2 * n_t))), name
        sampled = mask & np.isfinite(energy)
        if name == "residual" and dof_resid > 0 and sampled.sum() >= MIN_NOISE_VOXELS:
            resid = np.clip(energy[sampled] - coef_energy[sampled], 0, None)
            return float(np.sqrt(np.median(resid) / _chi2_median(dof_resid))), name
    return float("nan"), "none"


def _run_chunks(n: int, chunk_size: int, n_threads: int, work: Callable[[int, int], None],
                progress: ProgressFn | None, offset: int, total: int) -> None:
    lock = threading.Lock()
    done = [0]

    def task(start: int) -> None:
        stop = min(start + chunk_size, n)
        work(start, stop)
        if progress is not None:
            with lock:
                done[0] += stop - start
                progress(offset + done[0], total)

    starts = range(0, n, chunk_size)
    if n_threads <= 1 or n <= chunk_size:
        for s in starts:
            task(s)
        return
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        for future in [pool.submit(task, s) for s in starts]:
            future.result()


@dataclass(frozen=True)
class Projection:
    """Pass 1's output: per voxel (in the data's memory order ``order``, ``C`` or ``F``).

    coef: complex64 ``(n_voxels, rank)``; energy: ``|d|^2`` float64 ``(n_voxels,)``, NaN where
    not sampled; coef_energy: ``|c|^2`` float64 ``(n_voxels,)``.
    """

    coef: np.ndarray
    energy: np.ndarray
    coef_energy: np.ndarray
    order: str


def project_series(data: np.ndarray, basis: np.ndarray, *, chunk: int, n_threads: int,
                   progress: ProgressFn | None = None, total: int | None = None) -> Projection:
    """Project every voxel of ``data`` (``(nx, ny, nz, n_t)``) onto ``basis`` (``(n_t, rank)``).

    ``|d|^2`` only serves the noise estimate (medians over many voxels): it is computed on at
    most ~``NOISE_SAMPLE`` voxels, in whole chunks spread evenly over the volume.
    """
    voxels, order = voxel_view(data)
    n_vox = voxels.shape[0]
    coef = np.empty((n_vox, basis.shape[1]), np.complex64)
    energy = np.full(n_vox, np.nan, np.float64)
    # FeatureMap.project(x) = x @ basis; applied here to whichever layout the data have,
    # so that a chunk is read as contiguous runs (a NIfTI is stored time-frame by time-frame).
    basis_h = np.ascontiguousarray(basis.T, np.complex64)  # (rank, n_t)
    by_frame = order == "F" and voxels.dtype == np.complex64
    n_chunks = -(-n_vox // chunk)
    sample_every = max(1, n_chunks * chunk // NOISE_SAMPLE)

    def work(start: int, stop: int) -> None:
        with_energy = (start // chunk) % sample_every == 0
        if by_frame:
            frames = voxels.T[:, start:stop]  # (n_t, n): each row contiguous
            coef[start:stop] = (basis_h @ frames).T
            if with_energy:
                flat = frames.view(np.float32)  # (n_t, 2n)
                energy[start:stop] = np.einsum("ti,ti->i", flat, flat,
                                               dtype=np.float64).reshape(-1, 2).sum(axis=1)
            return
        block = np.ascontiguousarray(voxels[start:stop], dtype=np.complex64)
        coef[start:stop] = block @ basis_h.T
        if with_energy:
            flat = block.view(np.float32)
            energy[start:stop] = np.einsum("ij,ij->i", flat, flat, dtype=np.float64)

    with threadpool_limits(limits=1, user_api="blas"):
        _run_chunks(n_vox, chunk, n_threads, work, progress, 0, total or n_vox)
    coef_energy = np.einsum("ij,ij->i", coef.view(np.float32), coef.view(np.float32),
                            dtype=np.float64)
    return Projection(coef, energy, coef_energy, order)


def fit_mask(coef_energy: np.ndarray, order: str, threshold: float,
             mask: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """The voxels to fit, flat in memory ``order``, and warnings.

    Given ``mask`` (bool ``(nx, ny, nz)``): those of its voxels whose data are finite.
    Otherwise ``|c| > threshold * percentile_99(|c|)`` over the finite voxels.
    """
    finite = np.isfinite(coef_energy)
    if mask is None:
        norm = np.sqrt(np.where(finite, coef_energy, 0.0))
        level = np.percentile(norm[finite], 99) if finite.any() else 0.0
        return finite & (norm > threshold * level) & (norm > 0), []
    flat_mask = np.asarray(mask, bool).reshape(-1, order=order).copy()
    bad = flat_mask & ~finite
    if not bad.any():
        return flat_mask, []
    return flat_mask & finite, [f"{int(bad.sum())} masked voxels hold NaN/inf values and were "
                                "skipped"]


@dataclass(frozen=True)
class _Estimator:
    """T1/T2 (ms), M0 and quality from coefficients, by one method."""

    model: MrfModel
    method: Method
    atoms: MatchAtoms | None
    table: SignalTable | None
    range_ms: dict[str, tuple[float, float]]

    def __call__(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``c``: complex64 ``(n, rank)`` -> T1, T2 (ms), M0 (complex), quality, each ``(n,)``."""
        if self.atoms is not None:
            best, m0, quality = self.atoms.match_block(c)
            return self.atoms.tissue.t1_ms[best], self.atoms.tissue.t2_ms[best], m0, quality
        t1, t2 = self.model.predict_features(self.model.features.from_coefficients(c),
                                             self.method)
        f = self.table.fingerprint_coefficients(t1, t2)
        ip = np.einsum("ij,ij->i", f.conj(), c)
        ff = np.einsum("ij,ij->i", f.view(np.float32), f.view(np.float32))
        scale = np.linalg.norm(c, axis=1) * np.sqrt(ff)
        return t1, t2, ip / np.where(ff > 0, ff, 1), np.abs(ip) / np.where(scale > 0, scale, 1)


def _match_atoms(dictionary: Dictionary, model: MrfModel) -> MatchAtoms:
    if dictionary.n_timepoints != model.n_timepoints:
        raise ModelMismatchError(
            f"the dictionary has {dictionary.n_timepoints} time points but the model's sequence "
            f"has {model.n_timepoints}")
    if dictionary.sequence_sha256 and dictionary.sequence_sha256 != model.sequence_sha256:
        raise ModelMismatchError(
            f"the dictionary was simulated for sequence {dictionary.sequence_sha256[:12]} but "
            f"the model is for {model.sequence_sha256[:12]}")
    return MatchAtoms.from_atoms(model.features.project(dictionary.atoms), dictionary.tissue)


def default_dictionary(model: MrfModel, progress: ProgressFn | None = None) -> Dictionary:
    """The model sequence's default-grid dictionary (no SVD: matching uses the model's basis)."""
    return build_dictionary(model.sequence, rank=None, energy=None, progress=progress)


def _estimator(model: MrfModel, options: ReconOptions, dictionary: Dictionary | None,
               table: SignalTable | None) -> _Estimator:
    """The method's estimator, and the signal table it (or the uncertainty maps) need."""
    t1_range = tuple(map(float, model.scaling.t1_range_ms))
    t2_range = tuple(map(float, model.scaling.t2_range_ms))
    atoms = None
    table_range = (t1_range, t2_range)
    if options.method is Method.MATCHING:
        atoms = _match_atoms(dictionary if dictionary is not None else
                             default_dictionary(model), model)
        t1_range = (float(atoms.tissue.t1_ms.min()), float(atoms.tissue.t1_ms.max()))
        t2_range = (float(atoms.tissue.t2_ms.min()), float(atoms.tissue.t2_ms.max()))
        table_range = tuple((min(a[0], b[0]), max(a[1], b[1])) for a, b in
                            ((t1_range, model.scaling.t1_range_ms),
                             (t2_range, model.scaling.t2_range_ms)))
    if table is None and (atoms is None or options.uncertainty):
        table = cached_table(model.sequence, model.features.basis, model.features.project,
                             table_range[0], table_range[1], use_cache=options.use_cache)
    return _Estimator(model, options.method, atoms, table, {"t1": t1_range, "t2": t2_range})


def _quality_deficit(coef_energy: np.ndarray, quality: np.ndarray, sigma: float,
                     rank: int) -> float | None:
    """Median of (the quality a perfect fit reaches with this noise) - (the quality seen).

    A perfect fit reaches ``|s|^2 / (|s|^2 + 2 sigma^2 rank)``; coef_energy and quality are the
    fitted voxels', ``(n_fit,)``.
    """
    if quality.size == 0 or not np.isfinite(sigma):
        return None
    expected = np.sqrt(np.clip(1 - 2 * sigma**2 * rank / np.maximum(coef_energy, 1e-30), 0, 1))
    return float(np.median(expected - quality))


def reconstruct(
    data: np.ndarray,
    model: MrfModel,
    *,
    options: ReconOptions = ReconOptions(),
    mask: np.ndarray | None = None,
    dictionary: Dictionary | None = None,
    table: SignalTable | None = None,
    magnitude_only: bool = False,
    progress: ProgressFn | None = None,
) -> ReconResult:
    """Reconstruct T1/T2/M0/quality (and sqrt(CRB)) maps from an MRF series.

    Parameters
    ----------
    data
        complex series ``(nx, ny, nz, n_t)`` (may be memory-mapped).
    model
        The trained model: basis, networks and the sequence.
    options
        The method and how to run it (:class:`ReconOptions`).
    mask
        bool ``(nx, ny, nz)``: voxels to fit; default automatic (see the module docstring).
    dictionary
        For ``Method.MATCHING``: a :class:`~mrfrecon.dictionary.Dictionary` of the model's
        sequence (default: simulated on the sequence's grid).
    table
        Precomputed :class:`SignalTable` (default: cached per model).
    magnitude_only
        The data carry no phase (changes the noise estimator, see :func:`estimate_noise`).
    progress
        ``progress(done, total)`` over both passes.

    Returns
    -------
    ReconResult
        Maps in ms, zero outside the mask.

    Raises
    ------
    ModelMismatchError
        The series' time points differ from the model's (both numbers named).
    """
    if data.ndim != 4:
        raise MrfreconError(f"expected a 4-D series (x, y, z, t), got shape {data.shape}")
    n_t = data.shape[3]
    if n_t != model.n_timepoints:
        raise ModelMismatchError(
            f"the data have {n_t} time points but the model expects {model.n_timepoints}")
    spatial = data.shape[:3]
    if mask is not None and tuple(mask.shape) != tuple(spatial):
        raise MrfreconError(f"the mask has shape {tuple(mask.shape)}, the data {tuple(spatial)}")
    n_threads = max(1, options.n_threads or os.cpu_count() or 1)
    chunk = int(options.chunk_size)
    rank = model.features.rank
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    estimator = _estimator(model, options, dictionary, table)
    seconds["setup"] = time.perf_counter() - t0

    t_step = time.perf_counter()
    n_vox = math.prod(spatial)
    n_mask_est = n_vox if mask is None else int(np.count_nonzero(mask))
    proj = project_series(data, model.features.basis, chunk=chunk, n_threads=n_threads,
                          progress=progress, total=n_vox + n_mask_est)
    seconds["project"] = time.perf_counter() - t_step

    flat_mask, warnings = fit_mask(proj.coef_energy, proj.order, options.mask_threshold, mask)
    index = np.flatnonzero(flat_mask)
    n_fit = int(index.size)

    t_step = time.perf_counter()
    t1_out = np.zeros(n_fit, np.float64)
    t2_out = np.zeros(n_fit, np.float64)
    m0_out = np.zeros(n_fit, np.complex64)
    q_out = np.zeros(n_fit, np.float32)

    def infer(start: int, stop: int) -> None:
        t1_out[start:stop], t2_out[start:stop], m0_out[start:stop], q_out[start:stop] = \
            estimator(proj.coef[index[start:stop]])

    with threadpool_limits(limits=1, user_api="blas"):
        _run_chunks(n_fit, chunk, n_threads, infer, progress, n_vox, n_vox + n_fit)
    seconds["infer"] = time.perf_counter() - t_step

    if isinstance(options.noise, str):
        sigma, noise_method = estimate_noise(proj.energy, proj.coef_energy, flat_mask, n_t, rank,
                                             options.noise, magnitude_only)
    else:
        sigma, noise_method = float(options.noise), "given"
    sd1 = sd2 = None
    if options.uncertainty and not np.isfinite(sigma):
        warnings.append("the noise level could not be estimated: no uncertainty maps")
    elif options.uncertainty and n_fit and estimator.table is not None:
        sd1, sd2 = estimator.table.crb_sd(t1_out, t2_out, sigma, np.abs(m0_out))

    def volume(values: np.ndarray, dtype: Any) -> np.ndarray:
        out = np.zeros(n_vox, dtype)
        out[index] = values
        return out.reshape(spatial, order=proj.order)

    maps = MapSet(
        t1_ms=volume(t1_out, np.float64),
        t2_ms=volume(t2_out, np.float64),
        m0=volume(m0_out, np.complex64),
        quality=volume(q_out, np.float32),
        mask=flat_mask.reshape(spatial, order=proj.order),
        t1_sd_ms=None if sd1 is None else volume(sd1, np.float64),
        t2_sd_ms=None if sd2 is None else volume(sd2, np.float64),
    )
    at_limit = {
        "t1": _fraction_at_limits(t1_out, estimator.range_ms["t1"]),
        "t2": _fraction_at_limits(t2_out, estimator.range_ms["t2"]),
    }
    seconds["total"] = time.perf_counter() - t0
    return ReconResult(maps, options.method, sigma, noise_method, n_fit, estimator.range_ms,
                       at_limit, seconds, warnings,
                       _quality_deficit(proj.coef_energy[index], q_out, sigma, rank))


def _fraction_at_limits(values: np.ndarray, limits: tuple[float, float]) -> float:
    if values.size == 0:
        return 0.0
    lo, hi = limits
    at = (values <= lo * (1 + RANGE_LIMIT_RTOL)) | (values >= hi * (1 - RANGE_LIMIT_RTOL))
    return float(at.mean())
