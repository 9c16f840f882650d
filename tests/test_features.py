"""Feature maps: the complex one and the magnitude one (invariances, shapes)."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from mrfrecon.features import (
    INPUT_COVERAGE,
    INPUT_RANGE,
    MagnitudeFeatureMap,
    Representation,
    fit_input_scaling,
    unit_real,
)
from mrfrecon.physics import Tissue, simulate_fingerprints
from mrfrecon.training.magnitude import magnitude_basis


def _magnitude_map(sequence, rank=12):
    rng = np.random.default_rng(1)
    t1 = np.exp(rng.uniform(np.log(100), np.log(3000), 300))
    t2 = np.minimum(np.exp(rng.uniform(np.log(10), np.log(300), 300)), t1)
    signals = simulate_fingerprints(sequence, Tissue.make(t1, t2))
    basis = magnitude_basis(np.abs(signals), rank)
    return MagnitudeFeatureMap(basis, np.zeros(rank, np.float32), np.ones(rank, np.float32)), \
        signals


def test_magnitude_basis_is_real_orthonormal_and_keeps_the_energy(short_fisp):
    fmap, signals = _magnitude_map(short_fisp)
    basis = fmap.basis
    assert basis.dtype == np.float32 and basis.shape == (short_fisp.n_timepoints, 12)
    assert_allclose(basis.T @ basis, np.eye(12), atol=1e-5)
    magnitude = np.abs(signals)
    kept = np.linalg.norm(magnitude @ basis, axis=1) / np.linalg.norm(magnitude, axis=1)
    assert kept.min() > 0.999
    assert np.all((magnitude @ basis)[:, 0] > 0)  # non-negative data: positive first coefficient


def test_magnitude_features_ignore_m0_and_phase(short_fisp):
    fmap, signals = _magnitude_map(short_fisp)
    assert fmap.representation is Representation.MAGNITUDE and fmap.n_features == 12
    reference = fmap(signals[:20])
    scaled = fmap(signals[:20] * (0.3 * np.exp(1.1j)))
    assert_allclose(scaled, reference, atol=1e-5)
    # A magnitude image (real, zero phase) gives the same features as the complex signal.
    assert_allclose(fmap(np.abs(signals[:20]).astype(np.complex64)), reference, atol=1e-6)


def test_unit_real_normalises_rows_and_keeps_zero_rows():
    out = unit_real(np.array([[3.0, 4.0], [0.0, 0.0]], np.complex64))
    assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_input_scaling_maps_each_features_range_onto_the_int8_range():
    """Skewed, heavy-tailed and narrow features all span +-INPUT_RANGE after scaling, so each
    gets the int8 input's levels; only the tails outside the coverage saturate."""
    rng = np.random.default_rng(0)
    n = 200_000
    raw = np.stack([1 - rng.exponential(0.01, n),  # near 1, skewed (a first coefficient)
                    rng.standard_t(3, n) * 0.2,  # heavy tails
                    rng.uniform(-1e-3, 1e-3, n)], axis=1).astype(np.float32)
    offset, scale = fit_input_scaling(raw)
    x = (raw - offset) / scale
    for column in x.T:
        lo, hi = np.quantile(column, [(1 - INPUT_COVERAGE) / 2, (1 + INPUT_COVERAGE) / 2])
        assert_allclose([lo, hi], [-INPUT_RANGE, INPUT_RANGE], atol=1e-3 * INPUT_RANGE)
        outside = np.mean(np.abs(column) > INPUT_RANGE * (1 + 1e-4))
        assert outside <= 1.5 * (1 - INPUT_COVERAGE)
    # standardising instead would leave the skewed feature's range far off centre
    standard = (raw[:, 0] - raw[:, 0].mean()) / raw[:, 0].std()
    assert standard.min() < -2 * INPUT_RANGE
