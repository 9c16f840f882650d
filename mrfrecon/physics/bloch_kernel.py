"""Compiled single-isochromat Bloch kernel (numba), parallel over atoms (bSSFP dictionaries)."""

from __future__ import annotations

import numba
import numpy as np

from mrfrecon.kernel_cache import cached_njit


@cached_njit(parallel=True, fastmath=True)
def single_isochromat_kernel(rf, b1_index, r1, r2, omega, tr, te, rx, mz_start, out):  # pragma: no cover
    """One isochromat per atom; conventions of :mod:`mrfrecon.physics.bloch`.

    rf: (n_b1, n_t, 6) complex RF coefficients as for the complex EPG kernel (Weigel 2015);
    r1, r2: (n_atoms,) 1/ms; omega: (n_atoms,) rad/ms; tr, te: (n_t,) ms; rx: (n_t,) receiver
    factor ``exp(-i phase)``; mz_start: (n_atoms,) Mz before the first RF.
    out: (n_atoms, n_t) complex, the transverse magnetisation at TE.
    """
    n_atoms, n_t = out.shape[0], out.shape[1]
    for a in numba.prange(n_atoms):
        b = b1_index[a]
        mxy = 0.0 + 0.0j
        mz = mz_start[a]
        for n in range(n_t):
            m_new = rf[b, n, 0] * mxy + rf[b, n, 1] * np.conj(mxy) + rf[b, n, 2] * mz
            mz = (-0.5 * rf[b, n, 4] * mxy - 0.5 * rf[b, n, 2] * np.conj(mxy)).real \
                + rf[b, n, 5].real * mz
            rest = tr[n] - te[n]
            mxy = m_new * np.exp(-te[n] * r2[a]) * np.exp(1j * omega[a] * te[n])
            out[a, n] = mxy * rx[n]
            mxy = mxy * np.exp(-rest * r2[a]) * np.exp(1j * omega[a] * rest)
            e1 = np.exp(-tr[n] * r1[a])
            mz = mz * e1 + 1.0 - e1
    return out
