"""Closed-form steady states, used to validate the simulators (M0 = 1, signal magnitudes).

Constant flip angle ``fa_deg``, TR and TE in ms; ``E1 = exp(-TR/T1)``, ``E2 = exp(-TR/T2)``.
"""

from __future__ import annotations

import numpy as np


def fisp_steady_state(fa_deg, tr_ms, te_ms, t1_ms, t2_ms):
    """|signal| of unbalanced SSFP-FID (FISP) averaged over a full 2 pi dephasing per TR.

    Zur, Stokar, Bendel. An analysis of fast imaging sequences with steady-state transverse
    magnetization refocusing. Magn Reson Med 1988;6:175-193, doi:10.1002/mrm.1910060206; form of
    Hänicke & Vogel, Magn Reson Med 2003;49:771, doi:10.1002/mrm.10410:
    ``S = tan(a/2) [1 - (E1 - cos a)(1 - E2^2) / sqrt(p^2 - q^2)] exp(-TE/T2)`` with
    ``p = 1 - E1 cos a - E2^2 (E1 - cos a)``, ``q = E2 (1 - E1)(1 + cos a)``.
    """
    a = np.deg2rad(fa_deg)
    e1 = np.exp(-np.asarray(tr_ms) / t1_ms)
    e2 = np.exp(-np.asarray(tr_ms) / t2_ms)
    p = 1 - e1 * np.cos(a) - e2**2 * (e1 - np.cos(a))
    q = e2 * (1 - e1) * (1 + np.cos(a))
    s = np.tan(a / 2) * (1 - (e1 - np.cos(a)) * (1 - e2**2) / np.sqrt(p**2 - q**2))
    return s * np.exp(-np.asarray(te_ms) / t2_ms)


def bssfp_steady_state(fa_deg, tr_ms, te_ms, t1_ms, t2_ms):
    """|signal| of on-resonance bSSFP with RF phase alternating 0/180° (centre of the passband).

    ``S = sin a (1 - E1) / (1 - (E1 - E2) cos a - E1 E2) exp(-TE/T2)``; Scheffler & Lehnhardt,
    Eur Radiol 2003;13:2409, doi:10.1007/s00330-003-1957-x.
    """
    a = np.deg2rad(fa_deg)
    e1 = np.exp(-np.asarray(tr_ms) / t1_ms)
    e2 = np.exp(-np.asarray(tr_ms) / t2_ms)
    s = np.sin(a) * (1 - e1) / (1 - (e1 - e2) * np.cos(a) - e1 * e2)
    return s * np.exp(-np.asarray(te_ms) / t2_ms)


def inversion_recovery(t_ms, t1_ms, efficiency: float = 1.0):
    """Mz(t) after an inversion of the given efficiency: ``1 - (1 + eff) exp(-t/T1)``."""
    return 1 - (1 + efficiency) * np.exp(-np.asarray(t_ms) / t1_ms)
