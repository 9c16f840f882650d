"""Cramér-Rao bounds with nuisance parameters: off-resonance as an unknown, B1 as known."""

from __future__ import annotations

import numpy as np
import pytest

from mrfrecon.physics import Tissue
from mrfrecon.physics.crb import crb_sds, fingerprint_jacobian
from mrfrecon.sequence import Sequence


@pytest.fixture(scope="module")
def bssfp(ma_bssfp) -> Sequence:
    return ma_bssfp.with_timepoints(300)


@pytest.fixture(scope="module")
def tissue() -> Tissue:
    rng = np.random.default_rng(3)
    t1 = rng.uniform(300, 2500, 12)
    return Tissue.make(t1, t1 * rng.uniform(0.05, 0.3, 12), rng.uniform(0.8, 1.2, 12),
                       rng.uniform(-35, 35, 12))


def test_estimating_df_never_lowers_the_t1_t2_bounds(bssfp, tissue):
    """An extra unknown adds a Schur-complement term: the bound of T1/T2 can only grow."""
    without = crb_sds(bssfp, tissue, 0.01)
    with_df = crb_sds(bssfp, tissue, 0.01, estimate_df=True)
    for key in ("t1_ms", "t2_ms"):
        assert np.all(with_df[key] >= without[key] * (1 - 1e-9))
    assert np.all(with_df["df_hz"] > 0) and np.all(np.isfinite(with_df["df_hz"]))
    assert np.any(with_df["t1_ms"] > without["t1_ms"] * 1.001)  # df does couple to T1


def test_bounds_agree_with_an_independent_fisher_computation(bssfp, tissue):
    """Invert the 5x5 Fisher matrix block-wise: the T1/T2 block of the inverse is
    ``(A - B D^-1 B^T)^-1``, A the (T1, T2, M0) block without df, D the df entry."""
    sigma = 0.02
    _, jac = fingerprint_jacobian(bssfp, tissue, estimate_df=True)
    fisher = np.real(np.einsum("nti,ntj->nij", jac.conj(), jac)) / sigma**2
    keep = [0, 1, 3, 4]
    a = fisher[:, keep][:, :, keep]
    b = fisher[:, keep, 2]
    d = fisher[:, 2, 2]
    schur = a - np.einsum("ni,nj->nij", b, b) / d[:, None, None]
    cov = np.linalg.inv(schur)
    got = crb_sds(bssfp, tissue, sigma, estimate_df=True)
    np.testing.assert_allclose(got["t1_ms"], np.sqrt(cov[:, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(got["t2_ms"], np.sqrt(cov[:, 1, 1]), rtol=1e-6)
    np.testing.assert_allclose(crb_sds(bssfp, tissue, sigma)["t1_ms"],
                               np.sqrt(np.linalg.inv(a)[:, 0, 0]), rtol=1e-6)


def test_df_derivative_of_a_single_excitation_is_the_precession_phase():
    """One RF pulse from equilibrium, sampled at TE: s = -i sin(a) exp(-TE/T2 + i 2 pi df TE),
    so ds/d(df) = i 2 pi TE s (TE in s)."""
    seq = Sequence(kind="bssfp", fa_deg=[30.0], tr_ms=[10.0], te_ms=[4.0], phase_deg=[0.0])
    tissue = Tissue.make([900.0, 400.0], [80.0, 40.0], 1.0, [7.0, -20.0])
    s, jac = fingerprint_jacobian(seq, tissue, estimate_df=True)
    expected_s = (-1j * np.sin(np.deg2rad(30)) * np.exp(-4.0 / tissue.t2_ms)
                  * np.exp(2j * np.pi * tissue.df_hz * 4e-3))
    np.testing.assert_allclose(s[:, 0], expected_s, rtol=1e-9)
    np.testing.assert_allclose(jac[:, 0, 2], 2j * np.pi * 4e-3 * expected_s, rtol=1e-5)


def test_known_b1_is_evaluated_at_the_measured_value(short_fisp):
    """B1 known from a map is no unknown: the bound at B1 = 0.7 is the bound of a sequence with
    every flip angle scaled by 0.7."""
    seq = short_fisp.with_timepoints(200)
    scaled = Sequence(kind="fisp", fa_deg=seq.fa_deg * 0.7, tr_ms=seq.tr_ms, te_ms=seq.te_ms,
                      phase_deg=seq.phase_deg, inversion=seq.inversion)
    at_b1 = crb_sds(seq, Tissue.make([800.0], [60.0], 0.7), 0.01, n_states=60)
    reference = crb_sds(scaled, Tissue.make([800.0], [60.0]), 0.01, n_states=60)
    for key in ("t1_ms", "t2_ms"):
        np.testing.assert_allclose(at_b1[key], reference[key], rtol=1e-6)
