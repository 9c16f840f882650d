"""Isochromat Bloch simulation (instantaneous RF, exact relaxation and precession).

Used for bSSFP MRF (balanced gradients: each isochromat keeps its phase, off-resonance matters)
and, by averaging isochromats spread uniformly over a 2 pi dephasing per TR, as an independent
check of the EPG simulation of FISP. Conventions match :mod:`mrfrecon.physics.epg`: right-handed
rotation about ``(cos phase, sin phase, 0)``, precession ``M+ -> M+ exp(i 2 pi df t)``, the signal
is the mean ``M+`` at TE demodulated by the RF phase. Bloch F. Nuclear induction.
Phys Rev 1946;70:460, doi:10.1103/PhysRev.70.460.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .rf import mz_before_first_rf, rf_mixing_table
from .tissue import Tissue


def bloch_isochromats(
    fa_deg: np.ndarray,
    tr_ms: np.ndarray,
    te_ms: np.ndarray,
    tissue: Tissue,
    *,
    phase_deg: np.ndarray | None = None,
    inversion=None,
    n_isochromats: int = 1,
    dephasing_per_tr: bool = False,
    dtype: type = np.float64,
    chunk_size: int = 4096,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Simulate fingerprints as the mean of isochromats.

    fa_deg, tr_ms, te_ms, phase_deg: per-TR flip angle (degrees), TR and TE (ms), RF phase
        (degrees), shape ``(n_t,)``.
    tissue: per-atom T1/T2 (ms), B1 scale, off-resonance (Hz), ``n_atoms`` long.
    n_isochromats: isochromats per atom; with ``dephasing_per_tr`` they get an extra precession
        of ``2 pi j / n_isochromats`` after each readout (an unbalanced, FISP-like gradient).
    Returns complex fingerprints, shape ``(n_atoms, n_t)``, M0 = 1.
    """
    fa = np.deg2rad(np.asarray(fa_deg, np.float64))
    tr = np.asarray(tr_ms, np.float64)
    te = np.asarray(te_ms, np.float64)
    ph = np.zeros_like(fa) if phase_deg is None else np.deg2rad(np.asarray(phase_deg, np.float64))
    cdtype = np.complex64 if np.dtype(dtype) == np.float32 else np.complex128
    out = np.full((tissue.n_atoms, fa.shape[0]), np.nan, cdtype)  # NaN until written
    if dephasing_per_tr:
        dephase = np.exp(2j * np.pi * np.arange(n_isochromats) / n_isochromats)
    else:
        dephase = np.ones(n_isochromats)
    for start in range(0, tissue.n_atoms, chunk_size):
        part = tissue[start : start + chunk_size]
        if n_isochromats == 1:
            _single_isochromat(fa, tr, te, ph, part, inversion, dtype,
                               out[start : start + part.n_atoms])  # fmt: skip
        else:
            out[start : start + part.n_atoms] = _simulate(fa, tr, te, ph, part, inversion, dephase)
        if progress is not None:
            progress(start + part.n_atoms, tissue.n_atoms)
    return out


def _single_isochromat(fa, tr, te, ph, tissue: Tissue, inversion, dtype, out) -> None:
    """The compiled kernel (one isochromat per atom) into ``out``."""
    from .bloch_kernel import single_isochromat_kernel  # numba: on first use, not with physics

    b1_values, b1_index = np.unique(tissue.b1, return_inverse=True)
    rf = rf_mixing_table(np.rad2deg(fa), np.rad2deg(ph), b1_values, out.dtype)
    rdt = np.dtype(dtype)
    single_isochromat_kernel(
        rf, b1_index.astype(np.int64), (1 / tissue.t1_ms).astype(rdt),
        (1 / tissue.t2_ms).astype(rdt), (2e-3 * np.pi * tissue.df_hz).astype(rdt),
        tr.astype(rdt), te.astype(rdt), np.exp(-1j * ph).astype(out.dtype),
        mz_before_first_rf(tissue, inversion).astype(rdt), out,
    )  # fmt: skip


def _simulate(fa, tr, te, ph, tissue: Tissue, inversion, dephase) -> np.ndarray:
    """Plain numpy, any number of isochromats (the reference for the kernel)."""
    n_atoms, n_iso = tissue.n_atoms, dephase.shape[0]
    t1 = tissue.t1_ms[:, None]
    t2 = tissue.t2_ms[:, None]
    omega = 2e-3 * np.pi * tissue.df_hz[:, None]  # rad/ms
    mxy = np.zeros((n_atoms, n_iso), np.complex128)
    mz = np.repeat(mz_before_first_rf(tissue, inversion)[:, None], n_iso, axis=1)
    out = np.empty((n_atoms, fa.shape[0]), np.complex128)
    b1 = tissue.b1[:, None]
    for n in range(fa.shape[0]):
        alpha = fa[n] * b1
        c2, s2 = np.cos(alpha / 2) ** 2, np.sin(alpha / 2) ** 2
        sa, ca = np.sin(alpha), np.cos(alpha)
        ep = np.exp(1j * ph[n])
        m_new = c2 * mxy + ep**2 * s2 * np.conj(mxy) - 1j * ep * sa * mz
        mz = np.real(-0.5j * np.conj(ep) * sa * mxy + 0.5j * ep * sa * np.conj(mxy)) + ca * mz
        mxy = m_new
        # free precession and relaxation to TE, sample, then to TR
        mxy_te = mxy * np.exp(-te[n] / t2 + 1j * omega * te[n])
        out[:, n] = mxy_te.mean(axis=1) * np.conj(ep)
        rest = tr[n] - te[n]
        mxy = mxy_te * np.exp(-rest / t2 + 1j * omega * rest) * dephase[None, :]
        e1 = np.exp(-tr[n] / t1)
        mz = mz * e1 + (1 - e1)
    return out
