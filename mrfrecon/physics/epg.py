"""Extended phase graphs for FISP (unbalanced, gradient-spoiled) MRF.

Weigel, "Extended phase graphs: dephasing, RF pulses, and echoes - pure and simple",
J Magn Reson Imaging 2015;41:266-295, doi:10.1002/jmri.24619.

Per TR: RF (flip ``b1 * fa``, phase ``phase``) -> signal ``F0+`` at TE -> relaxation over TR ->
one unit of dephasing (shift). Relaxation over TE then TR - TE equals relaxation over TR, so only
the sampled ``F0+`` is relaxed to TE separately. The receiver phase follows the RF phase
(the signal is demodulated by ``exp(-i phase)``). Off-resonance precesses every state by
``2 pi df t`` (F+ forwards, F- backwards). With a constant TR that precession is absorbed by the
2 pi dephasing and only ``exp(i 2 pi df TE)`` remains; with a varying TR it changes the signal.

When every RF phase is a multiple of 180°, ``F+- = i f+-`` and ``Z`` stay real (phase 180° is a
negative flip angle), so a real-valued kernel does a quarter of the complex work; it is compiled
with numba and runs over atoms in parallel. The general complex path is plain numpy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from .rf import mz_before_first_rf, rf_mixing_table
from .tissue import Tissue

ProgressFn = Callable[[int, int], None]

DEFAULT_N_STATES = 300  # <= 1e-4 from an 800-state reference for T2 up to 1900 ms


def _rf_coefficients(alpha_rad: np.ndarray) -> np.ndarray:
    """Real RF-mixing coefficients ``(cos^2(a/2), sin^2(a/2), sin a, cos a)``, shape ``(..., 4)``."""
    return np.stack(
        [
            np.cos(alpha_rad / 2) ** 2,
            np.sin(alpha_rad / 2) ** 2,
            np.sin(alpha_rad),
            np.cos(alpha_rad),
        ],
        axis=-1,
    )


def epg_fisp(
    fa_deg: np.ndarray,
    tr_ms: np.ndarray,
    te_ms: np.ndarray,
    tissue: Tissue,
    *,
    phase_deg: np.ndarray | None = None,
    inversion=None,
    n_states: int = DEFAULT_N_STATES,
    dtype: DTypeLike = np.float32,
    chunk_size: int = 16384,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Simulate FISP fingerprints with EPG.

    fa_deg, tr_ms, te_ms, phase_deg: per-TR flip angle (degrees), TR and TE (ms), RF phase
        (degrees), shape ``(n_t,)``.
    tissue: per-atom T1/T2 (ms), B1 scale and off-resonance (Hz), ``n_atoms`` long.
    inversion: :class:`mrfrecon.sequence.Inversion` or None.
    n_states: number of retained dephasing orders (F+/F-/Z states 0..n_states).
    dtype: np.float32 (default) or np.float64 working precision.
    Returns complex fingerprints, shape ``(n_atoms, n_t)`` (complex64 or complex128), M0 = 1.
    """
    fa = np.asarray(fa_deg, np.float64)
    tr = np.asarray(tr_ms, np.float64)
    te = np.asarray(te_ms, np.float64)
    phase = np.zeros_like(fa) if phase_deg is None else np.asarray(phase_deg, np.float64)
    dtype = np.dtype(dtype)
    cdtype = np.complex64 if dtype == np.float32 else np.complex128
    n_t = fa.shape[0]
    # NaN until a kernel writes it: an atom a compiled kernel skipped (a failed allocation in
    # a parallel block) cannot pass for a fingerprint (simulate_fingerprints checks)
    out = np.full((tissue.n_atoms, n_t), np.nan, dtype=cdtype)
    real = bool(np.all(np.isclose(np.mod(phase + 1e-9, 180.0), 0.0, atol=1e-6)))
    precession_matters = bool(np.any(tissue.df_hz != 0) and np.ptp(tr) > 0)
    real = real and not precession_matters
    done = 0
    for start in range(0, tissue.n_atoms, chunk_size):
        part = tissue[start : start + chunk_size]
        if real:
            _epg_real(fa, tr, te, phase, part, inversion, n_states, dtype,
                      out[start : start + part.n_atoms])  # fmt: skip
        else:
            _epg_complex_fast(fa, tr, te, phase, part, inversion, n_states, dtype,
                              out[start : start + part.n_atoms])  # fmt: skip
        done += part.n_atoms
        if progress is not None:
            progress(done, tissue.n_atoms)
    if real and np.any(tissue.df_hz != 0):
        out *= np.exp(2j * np.pi * np.outer(tissue.df_hz, te) * 1e-3).astype(cdtype)
    return out


def _epg_real(fa, tr, te, phase, tissue: Tissue, inversion, n_states, dtype, out) -> None:
    """Real-valued kernel into ``out`` (complex, ``(n_atoms, n_t)``, C-contiguous rows)."""
    from .epg_kernels import real_kernel  # numba: imported on first simulation, not with physics

    # Phase 180° = negative flip angle: sin changes sign, cos^2(a/2), sin^2(a/2), cos a do not.
    sign = np.where(np.isclose(np.mod(phase + 1e-9, 360.0), 180.0, atol=1e-6), -1.0, 1.0)
    b1_values, b1_index = np.unique(tissue.b1, return_inverse=True)
    alpha = np.deg2rad(fa)[None, :] * b1_values[:, None] * sign[None, :]
    coef = np.ascontiguousarray(_rf_coefficients(alpha), dtype=dtype)
    # Blocks of similar T2 share a short list of non-negligible orders.
    order = np.argsort(tissue.t2_ms, kind="stable")
    tissue = tissue[order]
    b1_index = b1_index[order]
    tr_ref = 0.5 * (tr.min() + tr.max())
    use_poly = bool(
        np.max(np.abs(tr - tr_ref)) / min(tissue.t1_ms.min(), tissue.t2_ms.min()) <= 0.5
    )
    real_kernel(
        coef,
        b1_index.astype(np.int64),
        (1.0 / tissue.t1_ms).astype(dtype),
        (1.0 / tissue.t2_ms).astype(dtype),
        tr.astype(dtype),
        dtype.type(tr_ref),
        use_poly,
        te.astype(dtype),
        sign.astype(dtype),
        mz_before_first_rf(tissue, inversion).astype(dtype),
        int(n_states),
        1e-9 if dtype == np.float32 else 1e-18,
        order.astype(np.int64),
        out.view(dtype).reshape(tissue.n_atoms, fa.shape[0], 2),
    )


def _epg_complex_fast(fa, tr, te, phase, tissue: Tissue, inversion, n_states, dtype, out) -> None:
    """Complex kernel into ``out`` (``(n_atoms, n_t)``): any RF phase, any off-resonance."""
    from .epg_kernels import complex_kernel  # numba: on first use

    b1_values, b1_index = np.unique(tissue.b1, return_inverse=True)
    rf = rf_mixing_table(fa, phase, b1_values, out.dtype)
    order = np.argsort(tissue.t2_ms, kind="stable")
    sorted_tissue = tissue[order]
    complex_kernel(
        rf,
        b1_index[order].astype(np.int64),
        (1.0 / sorted_tissue.t1_ms).astype(dtype),
        (1.0 / sorted_tissue.t2_ms).astype(dtype),
        (2e-3 * np.pi * sorted_tissue.df_hz).astype(dtype),
        tr.astype(dtype),
        te.astype(dtype),
        mz_before_first_rf(sorted_tissue, inversion).astype(dtype),
        int(n_states),
        1e-9 if dtype == np.float32 else 1e-18,
        order.astype(np.int64),
        out,
    )
    out *= np.exp(-1j * np.deg2rad(phase)).astype(out.dtype)  # the receiver follows the RF phase


def _epg_complex(fa, tr, te, phase, tissue: Tissue, inversion, n_states, cdtype) -> np.ndarray:
    """Plain-numpy complex EPG, states ``(n_states + 1, n_atoms)``: the readable reference that
    tests hold both compiled kernels against."""
    n_atoms, n_t = tissue.n_atoms, fa.shape[0]
    fp = np.zeros((n_states + 1, n_atoms), cdtype)
    fm = np.zeros((n_states + 1, n_atoms), cdtype)
    z = np.zeros((n_states + 1, n_atoms), cdtype)
    z[0] = mz_before_first_rf(tissue, inversion)
    out = np.empty((n_atoms, n_t), cdtype)
    r1, r2 = 1.0 / tissue.t1_ms, 1.0 / tissue.t2_ms
    omega = 2e-3 * np.pi * tissue.df_hz  # rad/ms
    for n in range(n_t):
        alpha = np.deg2rad(fa[n]) * tissue.b1
        ph = np.deg2rad(phase[n])
        c2, s2 = np.cos(alpha / 2) ** 2, np.sin(alpha / 2) ** 2
        sa, ca = np.sin(alpha), np.cos(alpha)
        e_p, e_m = np.exp(1j * ph), np.exp(-1j * ph)
        p = c2 * fp + (e_p**2) * s2 * fm - 1j * e_p * sa * z
        m = (e_m**2) * s2 * fp + c2 * fm + 1j * e_m * sa * z
        zz = -0.5j * e_m * sa * fp + 0.5j * e_p * sa * fm + ca * z
        out[:, n] = p[0] * np.exp(-te[n] * r2 + 1j * omega * te[n]) * e_m
        e1 = np.exp(-tr[n] * r1)
        e2p = np.exp(-tr[n] * r2 + 1j * omega * tr[n])
        fp[1:] = p[:-1] * e2p
        fm[:-1] = m[1:] * np.conj(e2p)
        fm[-1] = 0
        z = zz * e1
        z[0] += 1 - e1
        fp[0] = np.conj(fm[0])
    return out
