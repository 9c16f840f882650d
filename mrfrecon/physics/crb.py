"""Cramér-Rao bounds of T1, T2 [and off-resonance] for a sequence, from the signal's Jacobian.

Fisher information for complex Gaussian noise of standard deviation ``sigma`` per channel
(real and imaginary), parameters ``theta = (T1, T2[, df], Re M0, Im M0)``:
``F = Re(J^H J) / sigma^2`` with ``J = d s / d theta`` (``(n_t, 4 or 5)``); ``Cov >= F^-1``.
Zhao et al., IEEE TMI 2019;38:2190, doi:10.1109/TMI.2019.2899328.
The T1/T2 derivatives are central finite differences (relative step 1e-4) of the float64
simulator, the off-resonance one with an absolute step of ``DF_STEP_HZ``;
``d s / d Re M0 = s``, ``d s / d Im M0 = i s``.

Nuisance parameters: an estimated off-resonance (bSSFP) is one more unknown, so its column
joins the Fisher matrix and the T1/T2 bounds can only grow (the Schur complement of a positive
definite matrix is smaller); a B1 known from a map is no unknown: the bounds are evaluated at
``tissue.b1``.
"""

from __future__ import annotations

import numpy as np

from .epg import DEFAULT_N_STATES
from .signal import simulate_fingerprints
from .tissue import Tissue

REL_STEP = 1e-4
DF_STEP_HZ = 1e-2


def fingerprint_jacobian(
    sequence,
    tissue: Tissue,
    m0: np.ndarray | complex = 1.0,
    n_states: int = DEFAULT_N_STATES,
    *,
    estimate_df: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Signals ``(n, n_t)`` and Jacobians ``(n, n_t, 4)`` w.r.t. (T1 ms, T2 ms, Re M0, Im M0);
    with ``estimate_df`` ``(n, n_t, 5)`` w.r.t. (T1 ms, T2 ms, df Hz, Re M0, Im M0)."""
    m0 = np.broadcast_to(np.asarray(m0, np.complex128), (tissue.n_atoms,))
    h1 = REL_STEP * tissue.t1_ms
    h2 = REL_STEP * tissue.t2_ms
    t1, t2, df = tissue.t1_ms, tissue.t2_ms, tissue.df_hz
    shifts = [(t1, t2, df), (t1 + h1, t2, df), (t1 - h1, t2, df), (t1, t2 + h2, df),
              (t1, t2 - h2, df)]
    if estimate_df:
        shifts += [(t1, t2, df + DF_STEP_HZ), (t1, t2, df - DF_STEP_HZ)]
    stacked = Tissue(
        np.concatenate([s[0] for s in shifts]),
        np.concatenate([s[1] for s in shifts]),
        np.tile(tissue.b1, len(shifts)),
        np.concatenate([s[2] for s in shifts]),
    )
    sig = simulate_fingerprints(sequence, stacked, n_states=n_states, dtype=np.float64)
    s0, p1, m1, p2, m2, *pm_df = np.split(sig, len(shifts))
    columns = [(p1 - m1) / (2 * h1[:, None]), (p2 - m2) / (2 * h2[:, None])]
    if estimate_df:
        columns.append((pm_df[0] - pm_df[1]) / (2 * DF_STEP_HZ))
    jac = np.stack([m0[:, None] * c for c in columns] + [s0, 1j * s0], axis=-1)
    return m0[:, None] * s0, jac


def crb_sds(
    sequence,
    tissue: Tissue,
    sigma: float | np.ndarray,
    m0: np.ndarray | complex = 1.0,
    n_states: int = DEFAULT_N_STATES,
    *,
    estimate_df: bool = False,
) -> dict[str, np.ndarray]:
    """sqrt(CRB) per atom, ``(n,)`` each: ``t1_ms``, ``t2_ms`` (ms) and, with ``estimate_df``,
    ``df_hz`` (Hz), for noise ``sigma`` per channel (M0 units)."""
    _, jac = fingerprint_jacobian(sequence, tissue, m0, n_states, estimate_df=estimate_df)
    fisher = np.real(np.einsum("nti,ntj->nij", jac.conj(), jac))
    sigma = np.broadcast_to(np.asarray(sigma, np.float64), (tissue.n_atoms,))
    fisher = fisher / (sigma[:, None, None] ** 2)
    cov = np.linalg.inv(fisher)
    names = ("t1_ms", "t2_ms", "df_hz") if estimate_df else ("t1_ms", "t2_ms")
    return {name: np.sqrt(cov[:, i, i]) for i, name in enumerate(names)}


def crb_sd(
    sequence,
    tissue: Tissue,
    sigma: float | np.ndarray,
    m0: np.ndarray | complex = 1.0,
    n_states: int = DEFAULT_N_STATES,
    *,
    estimate_df: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """sqrt(CRB) of T1 and T2 in ms, each ``(n,)`` (:func:`crb_sds`)."""
    sd = crb_sds(sequence, tissue, sigma, m0, n_states, estimate_df=estimate_df)
    return sd["t1_ms"], sd["t2_ms"]
