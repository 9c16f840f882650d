"""Training data: sampling, and the exactness of adding noise in the SVD space."""

from __future__ import annotations

import numpy as np
import torch

from mrfrecon.dictionary import svd_basis
from mrfrecon.features import FeatureMap, unit_realimag
from mrfrecon.physics import Tissue, simulate_fingerprints
from mrfrecon.training.data import parameter_ranges, sample_tissue
from mrfrecon.training.features_torch import noisy_features


def test_sampling_is_log_uniform_with_t2_below_t1(jiang):
    rng = np.random.default_rng(0)
    t1r, t2r = parameter_ranges(jiang)
    assert t1r == (100.0, 5000.0) and t2r == (10.0, 1900.0)
    tissue = sample_tissue(rng, 50000, (100.0, 3000.0), (10.0, 300.0))
    assert np.all(tissue.t2_ms < tissue.t1_ms)
    assert tissue.t1_ms.min() >= 100 and tissue.t1_ms.max() <= 3000
    # log-uniform: the log of T1 has (nearly) the same mass in each half of its range
    mid = np.exp(np.mean(np.log([100.0, 3000.0])))
    assert 0.45 < np.mean(tissue.t1_ms < mid) < 0.55
    assert len(np.unique(tissue.t1_ms)) == 50000  # continuous, not a grid


def test_noise_projected_on_the_basis_is_white_with_the_same_sigma(short_fisp):
    """Full-length noise projected on the orthonormal basis = noise added to the coefficients."""
    rng = np.random.default_rng(1)
    atoms = simulate_fingerprints(
        short_fisp, Tissue.make(rng.uniform(200, 2000, 3000), rng.uniform(20, 200, 3000))
    )
    basis, _ = svd_basis(atoms, rank=8)
    sigma, n = 0.02, 20000
    noise = sigma * (rng.standard_normal((n, 400)) + 1j * rng.standard_normal((n, 400)))
    coef = noise.astype(np.complex64) @ basis
    cov = (
        np.concatenate([coef.real, coef.imag], 1).T @ np.concatenate([coef.real, coef.imag], 1)
    ) / n
    np.testing.assert_allclose(np.diag(cov), sigma**2, rtol=0.05)
    assert np.abs(cov - np.diag(np.diag(cov))).max() < 0.05 * sigma**2


def test_torch_features_match_numpy_feature_map(short_fisp):
    rng = np.random.default_rng(2)
    coef = (rng.standard_normal((100, 8)) + 1j * rng.standard_normal((100, 8))).astype(np.complex64)
    mean = rng.standard_normal(16).astype(np.float32)
    std = rng.uniform(0.5, 2, 16).astype(np.float32)
    fmap = FeatureMap(np.eye(400, 8, dtype=np.complex64), mean, std)
    expected = fmap.from_coefficients(coef)
    got = noisy_features(
        torch.tensor(coef.real),
        torch.tensor(coef.imag),
        torch.zeros(100),
        torch.tensor(mean),
        torch.tensor(std),
        torch.Generator(),
    ).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    unit = unit_realimag(coef * np.exp(1j * 0.7) * 3.0)  # global phase and scale removed
    np.testing.assert_allclose(unit, unit_realimag(coef), atol=1e-6)
