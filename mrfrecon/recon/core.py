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

Nuisance parameters (:class:`~mrfrecon.parameters.NetworkParameters`): a model that estimates
the off-resonance (bSSFP) also gives a df map (Hz) and its sqrt(CRB) with df as a third unknown;
a model (or a matching dictionary) that spans B1 takes the measured B1 per voxel (``b1``, from
``maps --b1-map``; assumed 1, with a warning, without one) and matching searches the B1 slice
nearest it. Then the fingerprint at the estimate and the CRB are simulated per voxel
(:mod:`mrfrecon.recon.nuisance`) instead of read from the B1 = 1, df = 0 tables.

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
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from ..dictionary import Dictionary, MatchAtoms, build_dictionary
from ..errors import ModelMismatchError, MrfreconError
from ..features import Representation
from ..mapset import MapSet
from ..method import Method
from ..model import MrfModel
from .nuisance import crb_maps, fingerprint_coefficients, voxel_tissue
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
    representation: the input representation whose networks (and dictionary) were used.
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
    b1_source: str = "not used"  # "map", "assumed 1" or "not used" (the estimator has no B1)
    representation: Representation = Representation.COMPLEX


MemoryOrder = Literal["C", "F"]


def voxel_view(data: np.ndarray) -> tuple[np.ndarray, MemoryOrder]:
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
    order: MemoryOrder


def project_series(data: np.ndarray, basis: np.ndarray, *, chunk: int, n_threads: int,
                   progress: ProgressFn | None = None, total: int | None = None,
                   magnitude: bool = False) -> Projection:
    """Project every voxel of ``data`` (``(nx, ny, nz, n_t)``) onto ``basis`` (``(n_t, rank)``).

    ``magnitude``: project ``|data|`` (the magnitude path's real basis; a no-op on magnitude
    data, which arrive as complex with zero phase).

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
            if magnitude:
                frames = np.abs(frames).astype(np.complex64)
            coef[start:stop] = (basis_h @ frames).T
            if with_energy:
                flat = frames.view(np.float32)  # (n_t, 2n)
                energy[start:stop] = np.einsum("ti,ti->i", flat, flat,
                                               dtype=np.float64).reshape(-1, 2).sum(axis=1)
            return
        block = np.ascontiguousarray(voxels[start:stop], dtype=np.complex64)
        if magnitude:
            block = np.abs(block).astype(np.complex64)
        coef[start:stop] = block @ basis_h.T
        if with_energy:
            flat = block.view(np.float32)
            energy[start:stop] = np.einsum("ij,ij->i", flat, flat, dtype=np.float64)

    with threadpool_limits(limits=1, user_api="blas"):
        _run_chunks(n_vox, chunk, n_threads, work, progress, 0, total or n_vox)
    coef_energy = np.einsum("ij,ij->i", coef.view(np.float32), coef.view(np.float32),
                            dtype=np.float64)
    return Projection(coef, energy, coef_energy, order)


def fit_mask(coef_energy: np.ndarray, order: MemoryOrder, threshold: float,
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

    @property
    def uses_b1(self) -> bool:
        """The estimate depends on B1: a B1-input network or a dictionary spanning B1."""
        if self.atoms is not None:
            return bool(np.ptp(self.atoms.tissue.b1) > 0)
        return self.model.parameters.takes_b1

    @property
    def estimates_df(self) -> bool:
        if self.atoms is not None:
            return bool(np.ptp(self.atoms.tissue.df_hz) > 0)
        return self.model.parameters.estimates_df

    def __call__(self, c: np.ndarray, b1: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """``c``: complex64 ``(n, rank)``, measured ``b1`` ``(n,)`` or None (1) -> T1, T2 (ms),
        M0 (complex), quality, each ``(n,)``, and df (Hz) or None."""
        if self.atoms is not None:
            if b1 is None and self.uses_b1:
                b1 = np.ones(c.shape[0])
            best, m0, quality = self.atoms.match_block(c, b1 if self.uses_b1 else None)
            tissue = self.atoms.tissue
            return (tissue.t1_ms[best], tissue.t2_ms[best], m0, quality,
                    tissue.df_hz[best] if self.estimates_df else None)
        est = self.model.estimate_features(self.model.features.from_coefficients(c),
                                           self.method, b1)
        t1, t2, df = est.t1_ms, est.t2_ms, est.df_hz
        if df is None and b1 is None:
            assert self.table is not None  # _estimator builds it unless simulating per voxel
            f = self.table.fingerprint_coefficients(t1, t2)
        else:
            f = fingerprint_coefficients(self.model.sequence, self.model.features.project,
                                         voxel_tissue(t1, t2, b1, df))
        ip = np.einsum("ij,ij->i", f.conj(), c)
        ff = np.einsum("ij,ij->i", f.view(np.float32), f.view(np.float32))
        scale = np.linalg.norm(c, axis=1) * np.sqrt(ff)
        return (t1, t2, ip / np.where(ff > 0, ff, 1), np.abs(ip) / np.where(scale > 0, scale, 1),
                df)


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


def _span(lo: float, hi: float) -> tuple[float, float]:
    """A (min, max) range in ms as plain floats."""
    return float(lo), float(hi)


def _estimator(model: MrfModel, options: ReconOptions, dictionary: Dictionary | None,
               table: SignalTable | None, b1_given: bool = False) -> _Estimator:
    """The method's estimator, and the signal table it (or the uncertainty maps) need: none
    when fingerprints and bounds are simulated per voxel (estimated df, a measured B1)."""
    t1_range = _span(*model.scaling.t1_range_ms)
    t2_range = _span(*model.scaling.t2_range_ms)
    atoms = None
    table_range = (t1_range, t2_range)
    if options.method is Method.MATCHING:
        atoms = _match_atoms(dictionary if dictionary is not None else
                             default_dictionary(model), model)
        t1_range = _span(atoms.tissue.t1_ms.min(), atoms.tissue.t1_ms.max())
        t2_range = _span(atoms.tissue.t2_ms.min(), atoms.tissue.t2_ms.max())
        table_range = (_span(min(t1_range[0], model.scaling.t1_range_ms[0]),
                             max(t1_range[1], model.scaling.t1_range_ms[1])),
                       _span(min(t2_range[0], model.scaling.t2_range_ms[0]),
                             max(t2_range[1], model.scaling.t2_range_ms[1])))
    estimator = _Estimator(model, options.method, atoms, table,
                           {"t1": t1_range, "t2": t2_range})
    per_voxel = estimator.estimates_df or (estimator.uses_b1 and b1_given)
    if table is None and not per_voxel and (atoms is None or options.uncertainty):
        table = cached_table(model.sequence, model.features.basis, model.features.project,
                             table_range[0], table_range[1], use_cache=options.use_cache)
        estimator = replace(estimator, table=table)
    return estimator


def _quality_deficit(coef_energy: np.ndarray, quality: np.ndarray, sigma: float,
                     rank: int, n_channels: int = 2) -> float | None:
    """Median of (the quality a perfect fit reaches with this noise) - (the quality seen).

    A perfect fit reaches ``|s|^2 / (|s|^2 + n_channels sigma^2 rank)``; coef_energy and quality
    are the fitted voxels', ``(n_fit,)``. ``n_channels``: 2 for complex coefficients, 1 for
    magnitude ones (at high SNR only the noise in phase with the signal reaches the magnitude).
    """
    if quality.size == 0 or not np.isfinite(sigma):
        return None
    expected = np.sqrt(np.clip(
        1 - n_channels * sigma**2 * rank / np.maximum(coef_energy, 1e-30), 0, 1))
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
    b1: np.ndarray | None = None,
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
        The data carry no phase: the model's magnitude networks (and a magnitude dictionary)
        are used, and the noise estimator changes (see :func:`estimate_noise`).
    b1
        Measured B1 (flip-angle scale, 1 = nominal) on the data's grid, float ``(nx, ny, nz)``;
        NaN voxels (outside the B1 map) are taken as 1. Used when the model or the matching
        dictionary spans B1; otherwise B1 is assumed 1 (with a warning if it matters).
    progress
        ``progress(done, total)`` over both passes.

    Returns
    -------
    ReconResult
        Maps in ms, zero outside the mask.

    Raises
    ------
    ModelMismatchError
        The series' time points differ from the model's (both numbers named); magnitude-only
        data and a model file without magnitude networks.
    """
    if magnitude_only:
        model = model.for_representation(Representation.MAGNITUDE)
    magnitude = model.representation is Representation.MAGNITUDE
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
    estimator = _estimator(model, options, dictionary, table, b1 is not None)
    seconds["setup"] = time.perf_counter() - t0

    t_step = time.perf_counter()
    n_vox = math.prod(spatial)
    n_mask_est = n_vox if mask is None else int(np.count_nonzero(mask))
    proj = project_series(data, model.features.basis, chunk=chunk, n_threads=n_threads,
                          progress=progress, total=n_vox + n_mask_est, magnitude=magnitude)
    seconds["project"] = time.perf_counter() - t_step

    flat_mask, warnings = fit_mask(proj.coef_energy, proj.order, options.mask_threshold, mask)
    index = np.flatnonzero(flat_mask)
    n_fit = int(index.size)
    b1_fit, b1_source = _voxel_b1(b1, spatial, proj.order, index, estimator.uses_b1, warnings)

    t_step = time.perf_counter()
    t1_out = np.zeros(n_fit, np.float64)
    t2_out = np.zeros(n_fit, np.float64)
    m0_out = np.zeros(n_fit, np.complex64)
    q_out = np.zeros(n_fit, np.float32)
    df_out = np.zeros(n_fit, np.float64) if estimator.estimates_df else None

    def infer(start: int, stop: int) -> None:
        part_b1 = None if b1_fit is None else b1_fit[start:stop]
        t1_out[start:stop], t2_out[start:stop], m0_out[start:stop], q_out[start:stop], df = \
            estimator(proj.coef[index[start:stop]], part_b1)
        if df_out is not None:
            df_out[start:stop] = df

    with threadpool_limits(limits=1, user_api="blas"):
        _run_chunks(n_fit, chunk, n_threads, infer, progress, n_vox, n_vox + n_fit)
    seconds["infer"] = time.perf_counter() - t_step

    if isinstance(options.noise, str):
        sigma, noise_method = estimate_noise(proj.energy, proj.coef_energy, flat_mask, n_t, rank,
                                             options.noise, magnitude)
    else:
        sigma, noise_method = float(options.noise), "given"
    sd1 = sd2 = sd_df = None
    if options.uncertainty and not np.isfinite(sigma):
        warnings.append("the noise level could not be estimated: no uncertainty maps")
    elif options.uncertainty and n_fit and (df_out is not None or b1_fit is not None):
        sd1, sd2, sd_df = _nuisance_crb(model, t1_out, t2_out, b1_fit, df_out, sigma,
                                        np.abs(m0_out), chunk, n_threads)
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
        df_hz=None if df_out is None else volume(df_out, np.float64),
        df_sd_hz=None if sd_df is None else volume(sd_df, np.float64),
    )
    at_limit = {
        "t1": _fraction_at_limits(t1_out, estimator.range_ms["t1"]),
        "t2": _fraction_at_limits(t2_out, estimator.range_ms["t2"]),
    }
    seconds["total"] = time.perf_counter() - t0
    return ReconResult(maps, options.method, sigma, noise_method, n_fit, estimator.range_ms,
                       at_limit, seconds, warnings,
                       _quality_deficit(proj.coef_energy[index], q_out, sigma, rank,
                                        1 if magnitude else 2),
                       b1_source, model.representation)


def _voxel_b1(b1: np.ndarray | None, spatial: tuple[int, ...], order: MemoryOrder,
              index: np.ndarray, uses_b1: bool, warnings: list[str]) -> tuple[np.ndarray | None, str]:
    """The measured B1 of the fitted voxels ``(n_fit,)`` (None: assumed 1) and its source."""
    if not uses_b1:
        if b1 is not None:
            warnings.append("the B1 map was not used: neither the model nor the dictionary "
                            "spans B1")
        return None, "not used"
    if b1 is None:
        warnings.append("no B1 map given: B1 assumed 1 (nominal flip angles) in every voxel")
        return None, "assumed 1"
    if tuple(b1.shape) != tuple(spatial):
        raise MrfreconError(f"the B1 map has shape {tuple(b1.shape)}, the data {tuple(spatial)}")
    values = np.asarray(b1, np.float64).reshape(-1, order=order)[index]
    outside = ~np.isfinite(values)
    if outside.any():
        warnings.append(f"{int(outside.sum())} fitted voxels lie outside the B1 map: B1 "
                        "assumed 1 there")
    return np.where(outside, 1.0, values), "map"


CRB_CHUNK = 512  # voxels per direct CRB simulation (7 fingerprints each, complex128)


def _nuisance_crb(model: MrfModel, t1: np.ndarray, t2: np.ndarray, b1: np.ndarray | None,
                  df: np.ndarray | None, sigma: float, m0_abs: np.ndarray, chunk: int,
                  n_threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """sqrt(CRB) of T1, T2 (ms) [and df, Hz] simulated at each voxel's estimate."""
    n = t1.shape[0]
    sd = {k: np.zeros(n) for k in ("t1_ms", "t2_ms", "df_hz")}

    def work(start: int, stop: int) -> None:
        part = voxel_tissue(t1[start:stop], t2[start:stop],
                            None if b1 is None else b1[start:stop],
                            None if df is None else df[start:stop])
        for key, values in crb_maps(model.sequence, part, sigma, m0_abs[start:stop],
                                    estimate_df=df is not None).items():
            sd[key][start:stop] = values

    with threadpool_limits(limits=1, user_api="blas"):
        _run_chunks(n, min(chunk, CRB_CHUNK), n_threads, work, None, 0, n)
    return sd["t1_ms"], sd["t2_ms"], None if df is None else sd["df_hz"]


def _fraction_at_limits(values: np.ndarray, limits: tuple[float, float]) -> float:
    if values.size == 0:
        return 0.0
    lo, hi = limits
    at = (values <= lo * (1 + RANGE_LIMIT_RTOL)) | (values >= hi * (1 - RANGE_LIMIT_RTOL))
    return float(at.mean())
