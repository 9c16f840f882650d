"""Fingerprint and Cramér-Rao tables on a log (T1, T2) grid, interpolated per voxel.

Simulating the fingerprint at every voxel's estimate with EPG would cost a full simulation per
voxel (65 536 per slice). Instead the fingerprints' projections on the model's SVD basis are
simulated once on a fine grid uniform in ``(ln T1, ln T2)`` and interpolated bilinearly; the
fingerprint is a smooth function of ``ln T`` so the error falls as the square of the grid step.
With the default 96 x 80 grid over the jiang2015 range (T1 50-6000 ms, T2 5-3000 ms) the
interpolated projections differ from exact EPG by < 5e-4 in relative norm (so M0 by < 5e-4) and
the normalised inner product by < 1e-6 (measured on 3000 random points; checked at looser
tolerance in ``tests/recon/test_core.py``), far below the noise. The 32 x 28 CRB grid
interpolates sqrt(CRB) within 0.5 % (T1) and 2 % (T2).

The sqrt(CRB) table (Zhao et al., IEEE TMI 2019;38:2190, doi:10.1109/TMI.2019.2899328, via
:func:`mrfrecon.physics.crb.crb_sd`) is computed for sigma = 1 and |M0| = 1 on a coarser grid
and interpolated in ``ln sd``; for other values ``sd = table * sigma / |M0|`` exactly (the T1/T2
block of the Fisher information scales with ``|M0|^2 / sigma^2``, and the M0 phase is a nuisance
parameter whose span does not depend on the phase).

Tables depend only on the sequence, the basis and the grid; they are cached on disk (``.npz``
in ``$MRFRECON_CACHE_DIR``, default ``$XDG_CACHE_HOME/mrfrecon`` or ``~/.cache/mrfrecon``)
under a key hashed from those, so a model pays the simulation (~2 s for 1000 TRs) once.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..physics import Tissue, simulate_fingerprints
from ..physics.crb import crb_sd
from ..physics.epg import DEFAULT_N_STATES

TABLE_VERSION = 1
DEFAULT_SHAPE = (96, 80)
DEFAULT_CRB_SHAPE = (32, 28)
MARGIN = 1.05  # the grid extends 5 % beyond the requested range


@dataclass(frozen=True)
class SignalTable:
    """Projected fingerprints and sqrt(CRB) on uniform ``(ln T1, ln T2)`` grids.

    Attributes
    ----------
    log_t1, log_t2
        Grid axes, ln(ms), shapes ``(n1,)``, ``(n2,)``, uniformly spaced.
    coef
        Projections of the M0 = 1 fingerprints on the basis, complex64 ``(n1, n2, rank)``.
    crb_log_t1, crb_log_t2
        Axes of the CRB grid, ln(ms).
    log_sd
        ln sqrt(CRB) of (T1, T2) in ms for sigma = 1 and |M0| = 1, float64 ``(m1, m2, 2)``.
    """

    log_t1: np.ndarray
    log_t2: np.ndarray
    coef: np.ndarray
    crb_log_t1: np.ndarray
    crb_log_t2: np.ndarray
    log_sd: np.ndarray

    @property
    def rank(self) -> int:
        return int(self.coef.shape[2])

    def fingerprint_coefficients(self, t1_ms: np.ndarray, t2_ms: np.ndarray) -> np.ndarray:
        """Projected M0 = 1 fingerprints at (T1, T2) in ms, each ``(n,)`` -> ``(n, rank)``."""
        return bilinear(self.log_t1, self.log_t2, self.coef, np.log(t1_ms), np.log(t2_ms))

    def crb_sd(self, t1_ms: np.ndarray, t2_ms: np.ndarray, sigma: float,
               m0_abs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """sqrt(CRB) of T1 and T2 in ms at each estimate, for noise ``sigma`` per channel."""
        log_sd = bilinear(self.crb_log_t1, self.crb_log_t2, self.log_sd, np.log(t1_ms),
                          np.log(t2_ms))
        scale = sigma / np.maximum(np.asarray(m0_abs, np.float64), 1e-30)
        return np.exp(log_sd[:, 0]) * scale, np.exp(log_sd[:, 1]) * scale

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, log_t1=self.log_t1, log_t2=self.log_t2, coef=self.coef,
                 crb_log_t1=self.crb_log_t1, crb_log_t2=self.crb_log_t2, log_sd=self.log_sd)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SignalTable:
        with np.load(io.BytesIO(data)) as f:
            return cls(**{k: f[k] for k in ("log_t1", "log_t2", "coef", "crb_log_t1",
                                             "crb_log_t2", "log_sd")})


def bilinear(x_axis: np.ndarray, y_axis: np.ndarray, values: np.ndarray, x: np.ndarray,
             y: np.ndarray) -> np.ndarray:
    """Bilinear interpolation on uniform axes; points outside are clamped to the edge.

    values: ``(nx, ny, ...)``; x, y: ``(n,)``. Returns ``(n, ...)`` in ``values``' dtype.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    fx = np.clip((x - x_axis[0]) / (x_axis[1] - x_axis[0]), 0, len(x_axis) - 1)
    fy = np.clip((y - y_axis[0]) / (y_axis[1] - y_axis[0]), 0, len(y_axis) - 1)
    ix = np.minimum(fx.astype(np.int64), len(x_axis) - 2)
    iy = np.minimum(fy.astype(np.int64), len(y_axis) - 2)
    wx = (fx - ix).astype(np.float32)
    wy = (fy - iy).astype(np.float32)
    extra = (slice(None),) + (None,) * (values.ndim - 2)
    wx, wy = wx[extra], wy[extra]
    out = (values[ix, iy] * ((1 - wx) * (1 - wy)) + values[ix + 1, iy] * (wx * (1 - wy))
           + values[ix, iy + 1] * ((1 - wx) * wy) + values[ix + 1, iy + 1] * (wx * wy))
    return out.astype(values.dtype, copy=False)


def log_axis(lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` points uniform in ln, from ``lo / MARGIN`` to ``hi * MARGIN`` (ms)."""
    return np.linspace(np.log(lo / MARGIN), np.log(hi * MARGIN), n)


def build_table(
    sequence,
    project: Callable[[np.ndarray], np.ndarray],
    t1_range_ms: tuple[float, float],
    t2_range_ms: tuple[float, float],
    *,
    shape: tuple[int, int] = DEFAULT_SHAPE,
    crb_shape: tuple[int, int] = DEFAULT_CRB_SHAPE,
    n_states: int = DEFAULT_N_STATES,
) -> SignalTable:
    """Simulate the tables of ``sequence`` (a :class:`~mrfrecon.sequence.Sequence`).

    project: fingerprints ``(n, n_t)`` -> coefficients ``(n, rank)`` (the model's projection).
    """
    log_t1 = log_axis(*t1_range_ms, shape[0])
    log_t2 = log_axis(*t2_range_ms, shape[1])
    g1, g2 = np.meshgrid(np.exp(log_t1), np.exp(log_t2), indexing="ij")
    signals = simulate_fingerprints(sequence, Tissue.make(g1.ravel(), g2.ravel()),
                                    n_states=n_states)
    coef = np.asarray(project(signals), np.complex64).reshape(shape[0], shape[1], -1)
    crb_t1 = log_axis(*t1_range_ms, crb_shape[0])
    crb_t2 = log_axis(*t2_range_ms, crb_shape[1])
    c1, c2 = np.meshgrid(np.exp(crb_t1), np.exp(crb_t2), indexing="ij")
    sd1, sd2 = crb_sd(sequence, Tissue.make(c1.ravel(), c2.ravel()), 1.0, 1.0, n_states=n_states)
    sd = np.stack([sd1, sd2], axis=-1)
    # Where the Fisher matrix is (near) singular the bound is huge or NaN: cap it.
    sd = np.where(np.isfinite(sd), sd, 1e12)
    log_sd = np.log(np.clip(sd, 1e-12, 1e12)).reshape(crb_shape[0], crb_shape[1], 2)
    return SignalTable(log_t1, log_t2, coef, crb_t1, crb_t2, log_sd)


def cache_dir() -> Path:
    """Folder of cached tables: mrfrecon's user cache folder (one rule for every cache)."""
    from ..kernel_cache import user_cache_dir

    return user_cache_dir()


def table_key(sequence_sha256: str, basis: np.ndarray, t1_range_ms, t2_range_ms,
              shape: tuple[int, int], crb_shape: tuple[int, int], n_states: int) -> str:
    h = hashlib.sha256()
    h.update(f"v{TABLE_VERSION}|{sequence_sha256}|{tuple(map(float, t1_range_ms))}|"
             f"{tuple(map(float, t2_range_ms))}|{shape}|{crb_shape}|{n_states}".encode())
    h.update(np.ascontiguousarray(basis).tobytes())
    return h.hexdigest()[:32]


def _fits(table: SignalTable, shape: tuple[int, int], crb_shape: tuple[int, int],
          rank: int) -> bool:
    """Whether a cached table has the shapes asked for (the key fixes them) and finite values."""
    return (table.coef.shape == (*shape, rank) and table.log_sd.shape == (*crb_shape, 2)
            and (table.log_t1.size, table.log_t2.size) == tuple(shape)
            and (table.crb_log_t1.size, table.crb_log_t2.size) == tuple(crb_shape)
            and bool(np.isfinite(table.coef).all() and np.isfinite(table.log_sd).all()))


def cached_table(sequence, basis: np.ndarray, project: Callable[[np.ndarray], np.ndarray],
                 t1_range_ms: tuple[float, float], t2_range_ms: tuple[float, float], *,
                 shape: tuple[int, int] = DEFAULT_SHAPE,
                 crb_shape: tuple[int, int] = DEFAULT_CRB_SHAPE,
                 n_states: int = DEFAULT_N_STATES, use_cache: bool = True) -> SignalTable:
    """:func:`build_table`, read from / written to the on-disk cache when possible."""
    key = table_key(sequence.sha256, basis, t1_range_ms, t2_range_ms, shape, crb_shape, n_states)
    path = cache_dir() / f"table-{key}.npz"
    if use_cache and path.is_file():
        try:
            cached = SignalTable.from_bytes(path.read_bytes())
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            cached = None  # a damaged cache entry (truncated, garbage): rebuild it
        if cached is not None and _fits(cached, shape, crb_shape, basis.shape[1]):
            return cached
    table = build_table(sequence, project, t1_range_ms, t2_range_ms, shape=shape,
                        crb_shape=crb_shape, n_states=n_states)
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, table.to_bytes(), overwrite=True)
        except OSError:
            pass  # a read-only cache only costs time
    return table
