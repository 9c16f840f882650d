"""Cramér-Rao bounds of T1 and T2 for a sequence, from the signal's Jacobian.

Fisher information for complex Gaussian noise of standard deviation ``sigma`` per channel
(real and imaginary), parameters ``theta = (T1, T2, Re M0, Im M0)``:
``F = Re(J^H J) / sigma^2`` with ``J = d s / d theta`` (``(n_t, 4)``); ``Cov >= F^-1``.
Zhao et al., IEEE TMI 2019;38:2190, doi:10.1109/TMI.2019.2899328.
The T1/T2 derivatives are central finite differences (relative step 1e-4) of the float64
simulator; ``d s / d Re M0 = s``, ``d s / d Im M0 = i s``.
"""

from __future__ import annotations

import numpy as np

from .epg import DEFAULT_N_STATES
from .signal import simulate_fingerprints
from .tissue import Tissue

REL_STEP = 1e-4


def fingerprint_jacobian(
    sequence, tissue: Tissue, m0: np.ndarray | complex = 1.0, n_states: int = DEFAULT_N_STATES
) -> tuple[np.ndarray, np.ndarray]:
    """Signals ``(n, n_t)`` and Jacobians ``(n, n_t, 4)`` w.r.t. (T1 ms, T2 ms, Re M0, Im M0)."""
    m0 = np.broadcast_to(np.asarray(m0, np.complex128), (tissue.n_atoms,))
    h1 = REL_STEP * tissue.t1_ms
    h2 = REL_STEP * tissue.t2_ms
    stacked = Tissue(
        np.concatenate(
            [tissue.t1_ms, tissue.t1_ms + h1, tissue.t1_ms - h1, tissue.t1_ms, tissue.t1_ms]
        ),
        np.concatenate(
            [tissue.t2_ms, tissue.t2_ms, tissue.t2_ms, tissue.t2_ms + h2, tissue.t2_ms - h2]
        ),
        np.tile(tissue.b1, 5),
        np.tile(tissue.df_hz, 5),
    )
    sig = simulate_fingerprints(sequence, stacked, n_states=n_states, dtype=np.float64)
    s0, p1, m1, p2, m2 = np.split(sig, 5)
    jac = np.stack(
        [
            m0[:, None] * (p1 - m1) / (2 * h1[:, None]),
            m0[:, None] * (p2 - m2) / (2 * h2[:, None]),
            s0,
            1j * s0,
        ],
        axis=-1,
    )
    return m0[:, None] * s0, jac


def crb_sd(
    sequence,
    tissue: Tissue,
    sigma: float | np.ndarray,
    m0: np.ndarray | complex = 1.0,
    n_states: int = DEFAULT_N_STATES,
) -> tuple[np.ndarray, np.ndarray]:
    """sqrt(CRB) of T1 and T2 in ms, each ``(n,)``, for noise ``sigma`` per channel (M0 units)."""
    _, jac = fingerprint_jacobian(sequence, tissue, m0, n_states)
    fisher = np.real(np.einsum("nti,ntj->nij", jac.conj(), jac))
    sigma = np.broadcast_to(np.asarray(sigma, np.float64), (tissue.n_atoms,))
    fisher = fisher / (sigma[:, None, None] ** 2)
    cov = np.linalg.inv(fisher)
    return np.sqrt(cov[:, 0, 0]), np.sqrt(cov[:, 1, 1])
