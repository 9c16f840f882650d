"""Network inputs from fingerprints: SVD projection, normalisation, phase removal, scaling.

``features = ((realimag(c * exp(-i arg c_1)) / |c|) - mean) / std`` with ``c = s V`` the
coordinates of a fingerprint row ``s`` (``(n_t,)`` complex) in the orthonormal SVD basis ``V``
(``(n_t, K)``, right singular vectors: ``s ~ c V^H``). Normalising the *projected* vector makes the features independent of M0 and of
noise outside the basis; dividing by the phase of the first (dominant) coefficient removes the
global phase. The result has ``2K`` reals: real parts, then imaginary parts. The imaginary part
of the first coefficient is zero after phase removal but is kept so every model has ``2K`` inputs.
``mean``/``std`` are a per-feature offset and scale: ``retrain`` fits the mid-range and
half-range of the training values (:func:`fit_input_scaling`), so that the int8 input of the
quantised network resolves every feature with all its levels; older model files hold the mean
and standard deviation. The arithmetic and the file format are the same.

Magnitude-only data (:class:`MagnitudeFeatureMap`) use a real basis ``U`` of magnitude
fingerprints instead: ``features = ((|s| U) / ||s| U| - mean) / std``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Representation(StrEnum):
    """Which part of the signal a network or dictionary sees.

    ``complex``: complex data (complex NIfTI, magnitude + phase, real + imaginary);
    ``magnitude``: magnitude images only (no phase), whose noise is Rician.
    """

    COMPLEX = "complex"
    MAGNITUDE = "magnitude"


@dataclass(frozen=True)
class FeatureMap:
    """basis: complex64 ``(n_timepoints, rank)``; mean, std: float32 ``(2 * rank,)``."""

    basis: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    representation = Representation.COMPLEX

    @property
    def rank(self) -> int:
        return int(self.basis.shape[1])

    @property
    def n_timepoints(self) -> int:
        return int(self.basis.shape[0])

    @property
    def n_features(self) -> int:
        return 2 * self.rank

    def project(self, signals: np.ndarray) -> np.ndarray:
        """Fingerprints ``(n, n_t)`` -> SVD coefficients ``(n, rank)`` (complex64)."""
        return np.asarray(signals, np.complex64) @ self.basis

    def from_coefficients(self, coef: np.ndarray) -> np.ndarray:
        """SVD coefficients ``(n, rank)`` -> standardised features ``(n, 2 rank)`` (float32)."""
        return (unit_realimag(coef) - self.mean) / self.std

    def __call__(self, signals: np.ndarray) -> np.ndarray:
        return self.from_coefficients(self.project(signals))


def unit_realimag(coef: np.ndarray) -> np.ndarray:
    """Phase-free unit-norm coefficients as reals: ``(n, K)`` complex -> ``(n, 2K)`` float32."""
    coef = np.asarray(coef, np.complex64)
    c1 = coef[:, :1]
    mag = np.abs(c1)
    rot = np.where(mag > 0, np.conj(c1) / np.where(mag > 0, mag, 1), 1)
    norm = np.linalg.norm(coef, axis=1, keepdims=True)
    unit = coef * rot / np.where(norm > 0, norm, 1)
    return np.concatenate([unit.real, unit.imag], axis=1).astype(np.float32)


# Features are mapped onto +-INPUT_RANGE: just inside the int8 input's +-127/32 at 5 fractional
# bits, so the quantised network's power-of-two input scale lands there.
INPUT_RANGE = 3.9
INPUT_COVERAGE = 0.9995  # central fraction of each feature's training values mapped inside


def fit_input_scaling(unit_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature offset and scale (stored as ``mean``, ``std``) that map the central
    :data:`INPUT_COVERAGE` of each feature's (noisy) training values onto +-:data:`INPUT_RANGE`.

    The quantised network quantises all its inputs with one int8 scale, so each feature gets
    the full 256 levels only if its range, not its standard deviation, is what is matched:
    features are skewed (the first coefficient's real part sits near 1) or heavy-tailed, and
    standardising them left most levels unused (the input quantisation then cost more than
    all the other roundings together). The rarer values outside saturate.
    """
    tail = (1 - INPUT_COVERAGE) / 2
    lo, hi = np.quantile(unit_features, [tail, 1 - tail], axis=0)
    offset = ((lo + hi) / 2).astype(np.float32)
    half = (hi - lo) / 2
    # a constant feature (the phase-free first imaginary part) keeps scale 1: stays 0
    scale = np.where(half > 1e-6, half / INPUT_RANGE, 1.0).astype(np.float32)
    return offset, scale


def fit_standardisation(unit_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std (std floored so constant features stay finite)."""
    mean = unit_features.mean(axis=0).astype(np.float32)
    std = unit_features.std(axis=0).astype(np.float32)
    return mean, np.maximum(std, 1e-6).astype(np.float32)


@dataclass(frozen=True)
class MagnitudeFeatureMap(FeatureMap):
    """Network inputs from magnitude fingerprints: ``((|s| U) / |(|s| U)| - mean) / std``.

    basis: float32 ``(n_timepoints, rank)``, orthonormal right singular vectors of magnitude
    fingerprints; mean, std: float32 ``(rank,)``. The magnitude is phase-free, so no phase
    removal; dividing by the norm makes the features independent of M0 (a magnitude scales with
    ``|M0|``). With ``rank = 2K`` the network has the ``2K`` inputs of the complex path.
    Same interface as :class:`FeatureMap`; coefficients are returned as complex64 with zero
    imaginary part so that code written for the complex path (M0 by least squares, matching,
    tables) works unchanged.
    """

    representation = Representation.MAGNITUDE

    @property
    def n_features(self) -> int:
        return self.rank

    def project(self, signals: np.ndarray) -> np.ndarray:
        """Fingerprints ``(n, n_t)`` (any phase) -> ``|signals| U`` ``(n, rank)`` (complex64)."""
        return (np.abs(signals).astype(np.float32) @ self.basis).astype(np.complex64)

    def from_coefficients(self, coef: np.ndarray) -> np.ndarray:
        """Magnitude coefficients ``(n, rank)`` -> standardised features ``(n, rank)``."""
        return (unit_real(coef) - self.mean) / self.std


def unit_real(coef: np.ndarray) -> np.ndarray:
    """Real parts of coefficients divided by their norm: ``(n, K)`` -> ``(n, K)`` float32."""
    real = np.real(coef).astype(np.float32)
    norm = np.linalg.norm(real, axis=1, keepdims=True)
    return real / np.where(norm > 0, norm, 1)
