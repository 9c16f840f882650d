"""Fingerprints and sqrt(CRB) at per-voxel estimates when nuisance parameters vary per voxel.

The (ln T1, ln T2) tables of :mod:`mrfrecon.recon.table` hold B1 = 1 and df = 0. With an
estimated off-resonance (bSSFP) or a measured B1 map the fingerprint at a voxel's estimate is
simulated directly instead (exact; the isochromat Bloch kernel does ~15 000 1000-TR atoms/s,
EPG ~2 000 400-TR atoms/s), and so is the Jacobian of the CRB: df joins the Fisher matrix as
an unknown when estimated, B1 is evaluated at the measured value
(:func:`mrfrecon.physics.crb.crb_sds`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..physics import Tissue, simulate_fingerprints
from ..physics.crb import crb_sds


def voxel_tissue(t1_ms: np.ndarray, t2_ms: np.ndarray, b1: np.ndarray | None,
                 df_hz: np.ndarray | None) -> Tissue:
    """Per-voxel tissue of the estimates (B1 1 and df 0 where not given), each ``(n,)``."""
    return Tissue.make(t1_ms, t2_ms, 1.0 if b1 is None else b1, 0.0 if df_hz is None else df_hz)


def fingerprint_coefficients(sequence, project: Callable[[np.ndarray], np.ndarray],
                             tissue: Tissue) -> np.ndarray:
    """Projected M0 = 1 fingerprints of ``tissue`` on the model's basis, ``(n, rank)``."""
    return np.asarray(project(simulate_fingerprints(sequence, tissue)), np.complex64)


def crb_maps(sequence, tissue: Tissue, sigma: float, m0_abs: np.ndarray, *,
             estimate_df: bool) -> dict[str, np.ndarray]:
    """sqrt(CRB) per voxel for noise ``sigma`` per channel and ``|M0|`` ``(n,)``: ``t1_ms``,
    ``t2_ms`` (ms) [and ``df_hz``, Hz]; the bound scales exactly as ``sigma / |M0|``."""
    sd = crb_sds(sequence, tissue, 1.0, 1.0, estimate_df=estimate_df)
    scale = sigma / np.maximum(np.asarray(m0_abs, np.float64), 1e-30)
    return {k: np.where(np.isfinite(v), v, np.inf) * scale for k, v in sd.items()}
