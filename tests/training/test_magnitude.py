"""Magnitude training data: Rician noise against closed forms, the projection, batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from scipy import stats

from mrfrecon.training.magnitude import MagnitudeTensors, noisy_magnitude_coefficients


def _basis(n_t: int, rank: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n_t, rank)) + 1j * rng.standard_normal((n_t, rank)))
    return q.astype(np.complex64)


@pytest.mark.parametrize("snr", [0.0, 1.5, 10.0], ids=["rayleigh", "low", "high"])
def test_noisy_magnitudes_follow_the_rice_distribution(snr):
    """|A e^{i phi} + n| with n complex Gaussian (sigma per channel) is Rice(A / sigma)."""
    n_t, sigma = 64, 0.02
    # One unit-norm basis vector of constant amplitude and a phase ramp: every time point of
    # the fingerprint c * v has amplitude |c| / sqrt(n_t) = snr * sigma.
    ramp = np.exp(2j * np.pi * 3 * np.arange(n_t) / n_t) / np.sqrt(n_t)
    basis = ramp[:, None].astype(np.complex64)
    coef = np.full((4000, 1), snr * sigma * np.sqrt(n_t) * np.exp(0.7j), np.complex64)
    magnitudes = noisy_magnitude_coefficients(coef, basis, None, np.full(4000, sigma),
                                              np.random.default_rng(1))
    assert magnitudes.shape == (4000, n_t)
    rice = stats.rice(b=snr, scale=sigma)
    assert_allclose(magnitudes.mean(), rice.mean(), rtol=0.01)
    assert_allclose(magnitudes.std(), rice.std(), rtol=0.01)
    if snr == 0:  # Rayleigh: mean sigma sqrt(pi / 2), second moment 2 sigma^2
        assert_allclose(magnitudes.mean(), sigma * np.sqrt(np.pi / 2), rtol=0.01)
        assert_allclose(np.mean(magnitudes.astype(np.float64) ** 2), 2 * sigma**2, rtol=0.01)


def test_projection_equals_projecting_the_noisy_magnitudes():
    basis = _basis(50, 3)
    magnitude_basis = np.linalg.qr(np.random.default_rng(2).standard_normal((50, 5)))[0]
    magnitude_basis = magnitude_basis.astype(np.float32)
    coef = (np.random.default_rng(3).standard_normal((9000, 3)) * (1 + 1j)).astype(np.complex64)
    sigma = np.linspace(0, 0.05, 9000)
    projected = noisy_magnitude_coefficients(coef, basis, magnitude_basis, sigma,
                                             np.random.default_rng(4))
    full = noisy_magnitude_coefficients(coef, basis, None, sigma, np.random.default_rng(4))
    assert_allclose(projected, full @ magnitude_basis, rtol=1e-5, atol=1e-5)
    clean = np.abs(coef @ basis.conj().T)
    assert_allclose(full[0], clean[0], atol=1e-6)  # sigma 0: the clean magnitude
    assert not np.allclose(full[-1], clean[-1], atol=1e-3)


def test_the_copies_of_a_row_have_independent_noise():
    """Several copies share one draw, shifted by a row: no two copies of a row see the same
    noise (at zero signal their magnitudes would then be equal)."""
    basis = _basis(40, 2)
    coef = np.zeros((300, 2), np.complex64)
    sigma = np.full((4, 300), 0.01)
    copies = noisy_magnitude_coefficients(coef, basis, None, sigma, np.random.default_rng(5))
    assert copies.shape == (4, 300, 40)
    flat = copies.reshape(4, -1) - copies.mean()
    corr = np.corrcoef(flat)
    assert np.abs(corr[~np.eye(4, dtype=bool)]).max() < 0.05


def test_batches_draw_one_noisy_copy_per_sample():
    copies = torch.arange(3.0)[:, None, None].expand(3, 5, 2).contiguous()  # copy r holds r
    tensors = MagnitudeTensors(copies, torch.zeros(5, 2), torch.zeros(1))
    generator = torch.Generator().manual_seed(0)
    seen = tensors.batch(torch.arange(5).repeat(40), torch.zeros(200), generator)
    assert seen.shape == (200, 2)
    assert set(seen[:, 0].tolist()) == {0.0, 1.0, 2.0}
