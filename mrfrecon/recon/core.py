"""Voxel-wise reconstruction: projection, T1/T2 inference, M0, quality, mask, noise, sqrt(CRB).

Per voxel ``d`` (``(n_t,)`` complex):

1. ``c = project(d)``: coefficients on the model's SVD basis (``(rank,)``), and ``|d|^2``.
2. T1, T2 (ms): the integer network (``nn``, bit-exact with the FPGA datapath), the float
   network (``nn-float``), or SVD-compressed dictionary matching in the same basis (``match``;
   Ma et al. 2013, doi:10.1038/nature11971; McGivney et al. 2014, doi:10.1109/TMI.2014.2337321).
3. ``f`` = the projected M0 = 1 fingerprint at the estimate (interpolated from
   :class:`~mrfrecon.recon.table.SignalTable`; the matched atom for ``match``);
   ``M0 = f^H c / f^H f`` (complex least squares) and
   ``quality = |f^H c| / (|f| |c|)`` (normalised inner product in the subspace, as ``match``).
4. Mask: given, or ``|c| > mask_threshold * percentile_99(|c|)`` (signal energy in the
   subspace, where noise is weakest).
5. Noise sigma per channel (real and imaginary), see :func:`estimate_noise`.
6. ``T1sd, T2sd = sqrt(CRB(T1, T2)) * sigma / |M0|`` from the table.

Memory: pass 1 streams the series in chunks of ``chunk_size`` voxels (a memory-mapped NIfTI is
only paged in chunk by chunk) and keeps ``rank + 1`` numbers per voxel; pass 2 works on those.
Chunks run on ``n_threads`` threads with one BLAS thread each.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import ModelMismatchError, MrfreconError
from ..io.maps import MapSet
from ..model import MrfModel
from ..quantized import IntegerMLP
from ..sequence import sequence_from_dict
from .table import SignalTable, cached_table

ProgressFn = Callable[[int, int], None]
METHODS = ("nn", "nn-float", "match")
NOISE_METHODS = ("auto", "residual", "background")
MIN_NOISE_VOXELS = 32
NOISE_SAMPLE = 32768  # voxels whose |d|^2 feeds the noise estimate
RANGE_LIMIT_RTOL = 1e-6


@dataclass(frozen=True)
class ReconOptions:
    """How to reconstruct.

    method: ``nn`` | ``nn-float`` | ``match``.  chunk_size: voxels per chunk.
    n_threads: worker threads (default: CPU count).  mask_threshold: automatic mask level as a
    fraction of the 99th percentile of the projected signal norm.  noise: ``auto``,
    ``residual``, ``background`` or a fixed sigma (per channel, data units).
    uncertainty: compute the sqrt(CRB) maps.  use_cache: cache the tables on disk.
    """

    method: str = "nn"
    chunk_size: int = 4096
    n_threads: int | None = None
    mask_threshold: float = 0.1
    noise: str | float = "auto"
    uncertainty: bool = True
    use_cache: bool = True


@dataclass
class ReconResult:
    """Maps (``MapSet``, times in ms) and what was estimated on the way.

    noise_sigma: per-channel noise SD in data units (NaN if it could not be estimated).
    noise_method: how it was obtained.  range_ms: the estimator's (T1, T2) range in ms.
    at_range_limit: fraction of fitted voxels with T1 or T2 at that range's limits.
    """

    maps: MapSet
    method: str
    noise_sigma: float
    noise_method: str
    n_fitted: int
    range_ms: dict[str, tuple[float, float]]
    at_range_limit: dict[str, float]
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    quality_deficit: float | None = None


def integer_forward(net: IntegerMLP, x: np.ndarray) -> np.ndarray:
    """:meth:`IntegerMLP.forward`, bit-exact, with float64 BLAS instead of int64 matmuls.

    Every operand is an integer of at most 32 bits and every sum stays far below 2**53, so the
    float64 products and sums are exact whatever the summation order; scaling by powers of two
    is exact and ``np.rint`` rounds half to even like :func:`round_half_even_shift`.
    """
    lo, hi = -(2 ** (net.input_bits - 1)), 2 ** (net.input_bits - 1) - 1
    h = np.clip(np.round(np.asarray(x, np.float64) * 2.0**net.input_frac), lo, hi)
    frac = net.input_frac
    for layer in net.layers:
        acc = h @ layer.weight.astype(np.float64).T + layer.bias.astype(np.float64)
        acc_frac = frac + layer.weight_frac
        if layer.out_frac is None:
            return acc * 2.0**-acc_frac
        h = np.clip(np.rint(acc * 2.0 ** -(acc_frac - layer.out_frac)), 0,
                    2**layer.out_bits - 1)
        frac = layer.out_frac
    raise MrfreconError("integer network has no linear output layer")


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
class _MatchAtoms:
    unit_conj: np.ndarray  # (rank, n_atoms) complex64, conj of unit-norm projected atoms
    norm: np.ndarray  # (n_atoms,) float32
    t1_ms: np.ndarray
    t2_ms: np.ndarray


def _match_atoms(dictionary: Any, model: MrfModel) -> _MatchAtoms:
    if dictionary.n_timepoints != model.n_timepoints:
        raise ModelMismatchError(
            f"the dictionary has {dictionary.n_timepoints} time points but the model's sequence "
            f"has {model.n_timepoints}")
    if dictionary.sequence_sha256 and dictionary.sequence_sha256 != model.sequence_sha256:
        raise ModelMismatchError(
            f"the dictionary was simulated for sequence {dictionary.sequence_sha256[:12]} but "
            f"the model is for {model.sequence_sha256[:12]}")
    atoms = model.features.project(dictionary.atoms)
    norm = np.linalg.norm(atoms, axis=1).astype(np.float32)
    norm[norm == 0] = 1
    return _MatchAtoms((atoms / norm[:, None]).conj().T.astype(np.complex64), norm,
                       dictionary.tissue.t1_ms, dictionary.tissue.t2_ms)


def default_dictionary(model: MrfModel, progress: ProgressFn | None = None):
    """The model sequence's default-grid dictionary (no SVD: matching uses the model's basis)."""
    from ..dictionary import build_dictionary

    return build_dictionary(sequence_from_dict(model.sequence), rank=None, energy=None,
                            progress=progress)


def reconstruct(
    data: np.ndarray,
    model: MrfModel,
    *,
    options: ReconOptions = ReconOptions(),
    mask: np.ndarray | None = None,
    dictionary: Any = None,
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
    mask
        bool ``(nx, ny, nz)``: voxels to fit; default automatic (see the module docstring).
    dictionary
        For ``method="match"``: a :class:`~mrfrecon.dictionary.Dictionary` of the model's
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
    method = options.method
    if method not in METHODS:
        raise MrfreconError(f"unknown method '{method}' (expected one of {', '.join(METHODS)})")
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
    chunk = max(1, int(options.chunk_size))
    seconds: dict[str, float] = {}
    warnings: list[str] = []
    t0 = time.perf_counter()

    sequence = sequence_from_dict(model.sequence)
    t1_range = tuple(map(float, model.scaling.t1_range_ms))
    t2_range = tuple(map(float, model.scaling.t2_range_ms))
    atoms = None
    if method == "match":
        if dictionary is None:
            dictionary = default_dictionary(model)
        atoms = _match_atoms(dictionary, model)
        t1_range = (float(atoms.t1_ms.min()), float(atoms.t1_ms.max()))
        t2_range = (float(atoms.t2_ms.min()), float(atoms.t2_ms.max()))
        table_range = (min(t1_range[0], model.scaling.t1_range_ms[0]),
                       max(t1_range[1], model.scaling.t1_range_ms[1])), \
                      (min(t2_range[0], model.scaling.t2_range_ms[0]),
                       max(t2_range[1], model.scaling.t2_range_ms[1]))
    else:
        table_range = (t1_range, t2_range)
    if table is None and (method != "match" or options.uncertainty):
        table = cached_table(sequence, model.features.basis, model.features.project,
                             table_range[0], table_range[1], use_cache=options.use_cache)
    seconds["setup"] = time.perf_counter() - t0

    # Pass 1: stream the series, keep projections and energies.
    t1_start = time.perf_counter()
    voxels, order = voxel_view(data)
    n_vox = voxels.shape[0]
    rank = model.features.rank
    coef = np.empty((n_vox, rank), np.complex64)
    energy = np.empty(n_vox, np.float64)
    n_mask_est = n_vox if mask is None else int(np.count_nonzero(mask))
    total = n_vox + n_mask_est

    # FeatureMap.project(x) = x @ basis; applied here to whichever layout the data have,
    # so that a chunk is read as contiguous runs (a NIfTI is stored time-frame by time-frame).
    basis_h = np.ascontiguousarray(model.features.basis.T, np.complex64)  # (rank, n_t)
    by_frame = order == "F" and voxels.dtype == np.complex64

    # |d|^2 only serves the noise estimate (medians over many voxels): compute it on at most
    # ~NOISE_SAMPLE voxels, in whole chunks spread evenly over the volume (NaN elsewhere).
    n_chunks = -(-n_vox // chunk)
    sample_every = max(1, n_chunks * chunk // NOISE_SAMPLE)
    energy[:] = np.nan

    def pass1(start: int, stop: int) -> None:
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
        _run_chunks(n_vox, chunk, n_threads, pass1, progress, 0, total)
    coef_energy = np.einsum("ij,ij->i", coef.view(np.float32), coef.view(np.float32),
                            dtype=np.float64)
    seconds["project"] = time.perf_counter() - t1_start

    finite = np.isfinite(coef_energy)
    if mask is None:
        norm = np.sqrt(np.where(finite, coef_energy, 0.0))
        level = np.percentile(norm[finite], 99) if finite.any() else 0.0
        flat_mask = finite & (norm > options.mask_threshold * level) & (norm > 0)
    else:
        flat_mask = np.asarray(mask, bool).reshape(-1, order=order).copy()
        bad = flat_mask & ~finite
        if bad.any():
            warnings.append(f"{int(bad.sum())} masked voxels hold NaN/inf values and were skipped")
            flat_mask &= finite
    index = np.flatnonzero(flat_mask)
    n_fit = int(index.size)

    # Pass 2: inference on the masked voxels' coefficients.
    t2_start = time.perf_counter()
    t1_out = np.zeros(n_fit, np.float64)
    t2_out = np.zeros(n_fit, np.float64)
    m0_out = np.zeros(n_fit, np.complex64)
    q_out = np.zeros(n_fit, np.float32)

    def pass2(start: int, stop: int) -> None:
        c = coef[index[start:stop]]
        c_norm = np.linalg.norm(c, axis=1)
        if atoms is not None:
            ip = c @ atoms.unit_conj
            best = np.argmax(ip.real**2 + ip.imag**2, axis=1)
            best_ip = ip[np.arange(c.shape[0]), best]
            t1_out[start:stop] = atoms.t1_ms[best]
            t2_out[start:stop] = atoms.t2_ms[best]
            m0_out[start:stop] = best_ip / atoms.norm[best]
            q_out[start:stop] = np.abs(best_ip) / np.where(c_norm > 0, c_norm, 1)
            return
        x = model.features.from_coefficients(c)
        y = integer_forward(model.int_net, x) if method == "nn" else model.float_net.forward(x)
        t1, t2 = model.scaling.decode(y)
        f = table.fingerprint_coefficients(t1, t2)
        ip = np.einsum("ij,ij->i", f.conj(), c)
        ff = np.einsum("ij,ij->i", f.view(np.float32), f.view(np.float32))
        t1_out[start:stop] = t1
        t2_out[start:stop] = t2
        m0_out[start:stop] = ip / np.where(ff > 0, ff, 1)
        q_out[start:stop] = np.abs(ip) / np.where(c_norm * np.sqrt(ff) > 0,
                                                  c_norm * np.sqrt(ff), 1)

    with threadpool_limits(limits=1, user_api="blas"):
        _run_chunks(n_fit, chunk, n_threads, pass2, progress, n_vox, n_vox + n_fit)
    seconds["infer"] = time.perf_counter() - t2_start

    sigma, noise_method = (float(options.noise), "given") if not isinstance(options.noise, str) \
        else estimate_noise(energy, coef_energy, flat_mask, n_t, rank, options.noise,
                            magnitude_only)
    if isinstance(options.noise, str) and options.noise not in NOISE_METHODS:
        raise MrfreconError(f"unknown noise estimator '{options.noise}' "
                            f"(expected {', '.join(NOISE_METHODS)} or a number)")
    deficit = None
    if n_fit and np.isfinite(sigma):
        # Quality a perfect fit reaches with this noise: |s|^2 / (|s|^2 + 2 sigma^2 rank).
        expected = np.sqrt(np.clip(1 - 2 * sigma**2 * rank / np.maximum(
            coef_energy[index], 1e-30), 0, 1))
        deficit = float(np.median(expected - q_out))
    sd1 = sd2 = None
    if options.uncertainty and n_fit and np.isfinite(sigma) and table is not None:
        sd1, sd2 = table.crb_sd(t1_out, t2_out, sigma, np.abs(m0_out))
    elif options.uncertainty and not np.isfinite(sigma):
        warnings.append("the noise level could not be estimated: no uncertainty maps")

    def volume(values: np.ndarray, dtype: Any) -> np.ndarray:
        out = np.zeros(n_vox, dtype)
        out[index] = values
        return out.reshape(spatial, order=order)

    maps = MapSet(
        t1_ms=volume(t1_out, np.float64),
        t2_ms=volume(t2_out, np.float64),
        m0=volume(m0_out, np.complex64),
        quality=volume(q_out, np.float32),
        mask=flat_mask.reshape(spatial, order=order),
        t1_sd_ms=None if sd1 is None else volume(sd1, np.float64),
        t2_sd_ms=None if sd2 is None else volume(sd2, np.float64),
    )
    at_limit = {
        "t1": _fraction_at_limits(t1_out, t1_range),
        "t2": _fraction_at_limits(t2_out, t2_range),
    }
    seconds["total"] = time.perf_counter() - t0
    return ReconResult(maps, method, sigma, noise_method, n_fit,
                       {"t1": t1_range, "t2": t2_range}, at_limit, seconds, warnings, deficit)


def _fraction_at_limits(values: np.ndarray, limits: tuple[float, float]) -> float:
    if values.size == 0:
        return 0.0
    lo, hi = limits
    at = (values <= lo * (1 + RANGE_LIMIT_RTOL)) | (values >= hi * (1 - RANGE_LIMIT_RTOL))
    return float(at.mean())
