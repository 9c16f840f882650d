"""RF pulses and the inversion preparation, shared by the EPG and Bloch kernels."""

from __future__ import annotations

import numpy as np

from .tissue import Tissue


def rf_mixing_table(fa_deg: np.ndarray, phase_deg: np.ndarray, b1_values: np.ndarray,
                    dtype) -> np.ndarray:  # fmt: skip
    """Complex RF coefficients (Weigel 2015, eq. 15), shape ``(n_b1, n_t, 6)``.

    ``cos^2(a/2), e^{2i phi} sin^2(a/2), -i e^{i phi} sin a, e^{-2i phi} sin^2(a/2),
    i e^{-i phi} sin a, cos a`` with ``a = b1 * fa``: the rotation of ``(F+, F-, Z)`` or, for an
    isochromat, of ``(M+, conj M+, Mz)``. dtype: complex64 or complex128.
    """
    alpha = np.deg2rad(fa_deg)[None, :] * np.asarray(b1_values)[:, None]
    ep = np.exp(1j * np.deg2rad(phase_deg))[None, :]
    c2, s2 = np.cos(alpha / 2) ** 2, np.sin(alpha / 2) ** 2
    sa, ca = np.sin(alpha), np.cos(alpha)
    table = np.stack([c2 + 0j, ep**2 * s2, -1j * ep * sa, np.conj(ep) ** 2 * s2,
                      1j * np.conj(ep) * sa, ca + 0j], axis=-1)  # fmt: skip
    return np.ascontiguousarray(table, dtype=dtype)


def mz_before_first_rf(tissue: Tissue, inversion) -> np.ndarray:
    """Longitudinal magnetisation at the first excitation (M0 = 1), shape ``(n_atoms,)``.

    inversion: ``Mz -> -efficiency * Mz``, then recovery over ``ti_ms``; None: Mz = 1.
    """
    if inversion is None:
        return np.ones(tissue.n_atoms)
    e1 = np.exp(-inversion.ti_ms / tissue.t1_ms)
    return -inversion.efficiency * e1 + (1.0 - e1)
