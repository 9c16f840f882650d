"""Compiled EPG kernels (numba): atoms in blocks of lanes, parallel over blocks.

Shared layout: F+_k lives in row ``rp + k`` and F-_k in row ``rm + k`` of long per-block buffers,
so the shift after every TR only moves ``rp`` down and ``rm`` up; lanes (atoms) are the inner,
contiguous axis. Orders whose transverse decay bound ``exp(-k tr_min / t2)`` is below
``negligible`` are not simulated (blocks hold atoms of similar T2, sorted by the caller).
See :mod:`mrfrecon.physics.epg` for the physics and conventions.
"""

from __future__ import annotations

import numba
import numpy as np

from mrfrecon.kernel_cache import cached_njit


@numba.njit(inline="always")
def _exp_small(x):  # pragma: no cover
    """exp(x) for |x| <= 0.5 by a degree-9 Taylor polynomial (relative error < 3e-10).

    Vectorises across lanes, unlike libm's exp, which dominated the kernel's time.
    """
    # fmt: off
    return 1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (
        1.0 / 120.0 + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0 + x * (
            1.0 / 362880.0)))))))))
    # fmt: on


@numba.njit(inline="always")
def _order_limit(r2, nb, tr_min, negligible, n_states):  # pragma: no cover
    """Highest order worth simulating for a block whose slowest decay rate is min(r2[:nb]).

    A state of order k has been transverse for at least k TRs, so it is below
    ``exp(-k tr_min / t2)``.
    """
    r2_min = r2[0]
    for j in range(nb):
        r2_min = min(r2_min, r2[j])
    decay = tr_min * r2_min  # -log of the slowest transverse decay per TR in this block
    if decay > 0 and -np.log(negligible) / decay < n_states:
        return int(-np.log(negligible) / decay) + 1
    return n_states


_LANES = 32  # atoms per block: two AVX-512 registers of float32 (measured best of 8-64)


@cached_njit(parallel=True, fastmath=True)
def real_kernel(
    coef, b1_index, r1, r2, tr, tr_ref, use_poly, te, rx_sign, z_start, n_states, negligible, rows, out
):  # pragma: no cover
    """Real-valued FISP EPG over blocks of atoms (numba, parallel over blocks).

    coef: (n_b1, n_t, 4) RF coefficients per distinct B1; b1_index: (n_atoms,) into coef.
    r1, r2: (n_atoms,) relaxation rates, 1/ms; tr, te: (n_t,) ms; rx_sign: (n_t,) +-1.
    tr_ref: ms; with ``use_poly``, ``exp(-tr r) = exp(-tr_ref r) exp(-(tr - tr_ref) r)`` and the
    second factor is a polynomial (the caller checks ``|tr - tr_ref| r <= 0.5``).
    z_start: (n_atoms,) longitudinal magnetisation just before the first RF.
    rows: (n_atoms,) output row of each (T2-sorted) atom.
    out: (n_atoms, n_t, 2) float view of the complex output; the signal is ``i * value``, so
    the real parts are set to 0 and the imaginary parts to the value (no zero-fill needed).
    negligible: orders whose decay bound is under it are not simulated (see ``_order_limit``;
    this also keeps the arithmetic away from slow subnormal numbers).

    The shift costs nothing: F+_k lives in row ``rp + k`` and F-_k in row ``rm + k`` of long
    buffers, and a shift moves ``rp`` down and ``rm`` up by one. Lanes (atoms) are the inner,
    contiguous axis, so every loop over lanes vectorises.
    """
    n_atoms, n_t = out.shape[0], out.shape[1]
    block = _LANES
    n_blocks = (n_atoms + block - 1) // block
    dt = z_start.dtype
    n_rows = n_t + n_states + 3
    tr_min = tr.min()
    for ib in numba.prange(n_blocks):
        a0 = ib * block
        nb = min(block, n_atoms - a0)
        fp = np.zeros((n_rows, block), dtype=dt)
        fm = np.zeros((n_rows, block), dtype=dt)
        z = np.zeros((n_states + 1, block), dtype=dt)
        sig = np.zeros((n_t, block), dtype=dt)
        ca = np.zeros(block, dtype=dt)
        cb = np.zeros(block, dtype=dt)
        cs = np.zeros(block, dtype=dt)
        cc = np.zeros(block, dtype=dt)
        e1 = np.zeros(block, dtype=dt)
        e2 = np.zeros(block, dtype=dt)
        rr1 = np.zeros(block, dtype=dt)
        rr2 = np.zeros(block, dtype=dt)
        e1ref = np.zeros(block, dtype=dt)
        e2ref = np.zeros(block, dtype=dt)
        e2te = np.zeros(block, dtype=dt)
        for j in range(nb):
            z[0, j] = z_start[a0 + j]
            rr1[j] = r1[a0 + j]
            rr2[j] = r2[a0 + j]
        for j in range(block):
            e1ref[j] = np.exp(-tr_ref * rr1[j])
            e2ref[j] = np.exp(-tr_ref * rr2[j])
            e2te[j] = np.exp(-te[0] * rr2[j])
        k_lim = _order_limit(rr2, nb, tr_min, negligible, n_states)
        rp = n_t + 1
        rm = 0
        for n in range(n_t):
            trn = tr[n]
            for j in range(nb):
                k = b1_index[a0 + j]
                ca[j] = coef[k, n, 0]
                cb[j] = coef[k, n, 1]
                cs[j] = coef[k, n, 2]
                cc[j] = coef[k, n, 3]
            if use_poly:
                d = trn - tr_ref
                for j in range(block):
                    e1[j] = e1ref[j] * _exp_small(-d * rr1[j])
                    e2[j] = e2ref[j] * _exp_small(-d * rr2[j])
            else:
                for j in range(block):
                    e1[j] = np.exp(-trn * rr1[j])
                    e2[j] = np.exp(-trn * rr2[j])
            if n > 0 and te[n] != te[n - 1]:
                for j in range(block):
                    e2te[j] = np.exp(-te[n] * rr2[j])
            top = min(n, k_lim)  # orders above n are still zero
            sg = rx_sign[n]
            # order 0 also gives the signal at TE
            for j in range(block):
                p = fp[rp, j]
                m = fm[rm, j]
                zz = z[0, j]
                p2 = ca[j] * p + cb[j] * m - cs[j] * zz
                sig[n, j] = sg * p2 * e2te[j]
                fp[rp, j] = p2 * e2[j]
                fm[rm, j] = (cb[j] * p + ca[j] * m + cs[j] * zz) * e2[j]
                z[0, j] = (0.5 * cs[j] * (p - m) + cc[j] * zz) * e1[j]
            for k in range(1, top + 1):
                ip = rp + k
                im = rm + k
                for j in range(block):
                    p = fp[ip, j]
                    m = fm[im, j]
                    zz = z[k, j]
                    fp[ip, j] = (ca[j] * p + cb[j] * m - cs[j] * zz) * e2[j]
                    fm[im, j] = (cb[j] * p + ca[j] * m + cs[j] * zz) * e2[j]
                    z[k, j] = (0.5 * cs[j] * (p - m) + cc[j] * zz) * e1[j]
            for j in range(block):
                z[0, j] += 1.0 - e1[j]
            # shift: F+ up one order, F- down one order; F+_0 = conj(F-_0), i.e. -f for F = i f
            rp -= 1
            rm += 1
            for j in range(block):
                fp[rp, j] = -fm[rm, j]
        for j in range(nb):
            for n in range(n_t):
                out[rows[a0 + j], n, 0] = 0.0
                out[rows[a0 + j], n, 1] = sig[n, j]
    return out


@cached_njit(parallel=True, fastmath=True)
def complex_kernel(
    rf, b1_index, r1, r2, omega, tr, te, z_start, n_states, negligible, rows, out
):  # pragma: no cover
    """Complex FISP EPG (any RF phase, off-resonance with any TR), same layout as above.

    rf: (n_b1, n_t, 6) complex coefficients per distinct B1 and TR:
        ``cos^2(a/2), e^{2i phi} sin^2(a/2), -i e^{i phi} sin a, e^{-2i phi} sin^2(a/2),
        i e^{-i phi} sin a, cos a`` (Weigel 2015, eq. 15); the receiver phase ``e^{-i phi}`` is
        applied by the caller. omega: (n_atoms,) off-resonance, rad/ms.
    out: (n_atoms, n_t) complex, written at ``rows``: F0+ at TE.
    """
    n_atoms, n_t = out.shape[0], out.shape[1]
    block = _LANES
    n_blocks = (n_atoms + block - 1) // block
    ct = out.dtype
    rt = z_start.dtype
    n_rows = n_t + n_states + 3
    tr_min = tr.min()
    for ib in numba.prange(n_blocks):
        a0 = ib * block
        nb = min(block, n_atoms - a0)
        fp = np.zeros((n_rows, block), dtype=ct)
        fm = np.zeros((n_rows, block), dtype=ct)
        z = np.zeros((n_states + 1, block), dtype=ct)
        sig = np.zeros((n_t, block), dtype=ct)
        c = np.zeros((6, block), dtype=ct)
        rel_p = np.zeros(block, dtype=ct)
        rel_m = np.zeros(block, dtype=ct)
        te_f = np.zeros(block, dtype=ct)
        e1 = np.zeros(block, dtype=rt)
        rr1 = np.zeros(block, dtype=rt)
        rr2 = np.zeros(block, dtype=rt)
        om = np.zeros(block, dtype=rt)
        for j in range(nb):
            z[0, j] = z_start[a0 + j]
            rr1[j] = r1[a0 + j]
            rr2[j] = r2[a0 + j]
            om[j] = omega[a0 + j]
        k_lim = _order_limit(rr2, nb, tr_min, negligible, n_states)
        rp = n_t + 1
        rm = 0
        for n in range(n_t):
            for j in range(nb):
                b = b1_index[a0 + j]
                for q in range(6):
                    c[q, j] = rf[b, n, q]
                e1[j] = np.exp(-tr[n] * rr1[j])
                e2 = np.exp(-tr[n] * rr2[j])
                rel_p[j] = e2 * np.exp(1j * om[j] * tr[n])
                rel_m[j] = e2 * np.exp(-1j * om[j] * tr[n])
                te_f[j] = np.exp(-te[n] * rr2[j]) * np.exp(1j * om[j] * te[n])
            top = min(n, k_lim)
            for k in range(top + 1):
                ip = rp + k
                im = rm + k
                for j in range(block):
                    p = fp[ip, j]
                    m = fm[im, j]
                    zz = z[k, j]
                    p2 = c[0, j] * p + c[1, j] * m + c[2, j] * zz
                    m2 = c[3, j] * p + c[0, j] * m + c[4, j] * zz
                    z2 = -0.5 * c[4, j] * p - 0.5 * c[2, j] * m + c[5, j] * zz
                    if k == 0:
                        sig[n, j] = p2 * te_f[j]
                    fp[ip, j] = p2 * rel_p[j]
                    fm[im, j] = m2 * rel_m[j]
                    z[k, j] = z2 * e1[j]
            for j in range(block):
                z[0, j] += 1.0 - e1[j]
            rp -= 1
            rm += 1
            for j in range(block):
                fp[rp, j] = np.conj(fm[rm, j])  # F+_0 = conj(F-_0)
        for j in range(nb):
            for n in range(n_t):
                out[rows[a0 + j], n] = sig[n, j]
    return out
