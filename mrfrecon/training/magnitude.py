"""The magnitude-only path of ``retrain``: magnitude SVD basis and Rician-noisy training data.

Magnitude images are ``|M0 s + n|`` with complex Gaussian noise ``n``: Rician, biased upwards
where the signal is small (near the inversion's zero crossing), and not additive in any
subspace. So, unlike the complex path (:mod:`mrfrecon.training.data`), noise cannot be added to
the SVD coefficients: the noisy magnitude is formed per time point from the pool's clean
fingerprints (rebuilt from their complex coefficients, ``s ~ c V^H``, > 99.99 % of the energy)
and projected on a real basis ``U`` of magnitude fingerprints. That pass over 1000 time points
costs more than a training epoch, so ``N_REALISATIONS`` noisy copies of the pool are made once
(each with its own noise levels) and every epoch draws one copy per sample.

Basis: rank ``2K`` (the complex path's ``2K`` reals, so the same FPGA-sized network) keeps
99.997 % of the magnitude fingerprints' energy on ``fisp_jiang2015`` (the magnitude has a kink
at the zero crossing, so it needs more vectors than the smooth complex signal); the rest is
~5e-4 per time point, far below the noise. Features: :class:`~mrfrecon.features.MagnitudeFeatureMap`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch

from ..features import MagnitudeFeatureMap, fit_input_scaling, unit_real
from .data import Pool

N_REALISATIONS = 6
BASIS_ROWS = 5000  # clean magnitude fingerprints the basis is fitted on
CHUNK = 4096


def magnitude_basis(magnitudes: np.ndarray, rank: int) -> np.ndarray:
    """Real orthonormal basis of magnitude fingerprints ``(n, n_t)``: float32 ``(n_t, rank)``,
    the top ``rank`` eigenvectors of their real Gram matrix, by decreasing eigenvalue.

    Columns are oriented so that their sum is positive (non-negative data then have a positive
    first coefficient). Real arithmetic and only the eigenvectors kept (the complex SVD of
    :func:`~mrfrecon.dictionary.svd_basis` with every eigenvector took 4 s of the magnitude
    path's ~25 s on 20 000 fingerprints; :data:`BASIS_ROWS` span the space as well).
    """
    x = np.asarray(magnitudes, np.float64)
    gram = x.T @ x
    n_t = gram.shape[0]
    _, vectors = scipy.linalg.eigh(gram, subset_by_index=[n_t - rank, n_t - 1])
    basis = vectors[:, ::-1]
    basis = basis * np.where(basis.sum(axis=0) < 0, -1.0, 1.0)
    return np.ascontiguousarray(basis, np.float32)  # as stored: same BLAS summation order


def noisy_magnitude_coefficients(
    coef: np.ndarray,
    basis: np.ndarray,
    magnitude_basis_: np.ndarray | None,
    sigma: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """``|c V^H + n| U`` per row: complex coefficients ``(n, K)`` on ``basis`` (``(n_t, K)``),
    complex Gaussian noise of SD ``sigma`` per channel (M0 = 1 units) -> float32 ``(n, rank)``;
    with ``magnitude_basis_=None`` the noisy magnitudes ``(n, n_t)`` themselves.

    ``sigma``: ``(n,)`` for one noisy copy, or ``(n_copies, n)`` for several, returned as
    ``(n_copies, n, width)``. Copies share one draw of unit noise, copy ``r`` of row ``i``
    taking noise row ``i + r`` (a view, no copy): each row's copies get distinct, independent
    noise, at the cost of one draw (drawing dominates) plus ``n_copies - 1`` rows.
    """
    sigma = np.asarray(sigma, np.float32)
    copies = sigma[None] if sigma.ndim == 1 else sigma
    n_copies = copies.shape[0]
    basis_h = np.ascontiguousarray(basis.conj().T, np.complex64)
    n = coef.shape[0]
    width = basis.shape[0] if magnitude_basis_ is None else magnitude_basis_.shape[1]
    out = np.empty((n_copies, n, width), np.float32)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        signal = np.asarray(coef[start:stop], np.complex64) @ basis_h
        signal_re, signal_im = np.ascontiguousarray(signal.real), np.ascontiguousarray(signal.imag)
        shape = (stop - start + n_copies - 1, signal.shape[1])
        noise_re = rng.standard_normal(shape, dtype=np.float32)
        noise_im = rng.standard_normal(shape, dtype=np.float32)
        re, im = np.empty_like(signal_re), np.empty_like(signal_im)
        for r, sd in enumerate(copies[:, start:stop, None]):
            np.multiply(sd, noise_re[r : r + stop - start], out=re)
            re += signal_re
            np.multiply(sd, noise_im[r : r + stop - start], out=im)
            im += signal_im
            re *= re
            im *= im
            re += im
            magnitude = np.sqrt(re, out=re)
            out[r, start:stop] = (magnitude if magnitude_basis_ is None
                                  else magnitude @ magnitude_basis_)
    return out[0] if sigma.ndim == 1 else out


@dataclass
class MagnitudeTensors:
    """Precomputed noisy features (a :class:`~mrfrecon.training.trainer.BatchSource`).

    features: float32 ``(n_realisations, n, n_features)``; targets ``(n, 2)``; noise_levels:
    one placeholder level (the noise is in the features already).
    """

    features: torch.Tensor
    targets: torch.Tensor
    noise_levels: torch.Tensor
    extra: torch.Tensor | None = None  # (n, n_extra_inputs) noise-free inputs (B1), or None

    def batch(
        self, idx: torch.Tensor, sigma: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        pick = torch.randint(
            self.features.shape[0], idx.shape, generator=generator, device=idx.device
        )
        x = self.features[pick, idx]
        return x if self.extra is None else torch.cat([x, self.extra[idx]], dim=1)


@dataclass(frozen=True)
class MagnitudeData:
    """Everything the magnitude networks train and validate on."""

    features: MagnitudeFeatureMap
    tensors: MagnitudeTensors
    val_x: torch.Tensor

    def validation_features(self, val: Pool, basis: np.ndarray, noise: float,
                            rng: np.random.Generator) -> np.ndarray:
        """Features of ``val`` with Rician noise of SD ``noise``: ``(n, rank)`` float32."""
        coef = noisy_magnitude_coefficients(val.coef, basis, self.features.basis,
                                            np.full(val.n, noise), rng)
        return self.features.from_coefficients(coef)


def prepare_magnitude(
    train: Pool,
    val: Pool,
    basis: np.ndarray,
    rank: int,
    levels: np.ndarray,
    targets: torch.Tensor,
    rng: np.random.Generator,
    device: torch.device,
    n_realisations: int = N_REALISATIONS,
    extra: torch.Tensor | None = None,
    val_extra: np.ndarray | None = None,
) -> MagnitudeData:
    """Magnitude basis (from the clean training magnitudes), standardisation and noisy
    training/validation features; noise SDs drawn from ``levels`` per sample and copy.
    ``extra``/``val_extra``: the networks' extra inputs (B1) of the training/validation pools."""
    clean = np.abs(train.coef[:BASIS_ROWS] @ basis.conj().T)
    mag_basis = magnitude_basis(clean, rank)
    sigma = levels[rng.integers(len(levels), size=(n_realisations, train.n))]
    copies = noisy_magnitude_coefficients(train.coef, basis, mag_basis, sigma, rng)
    mean, std = fit_input_scaling(unit_real(copies[0]))
    features = MagnitudeFeatureMap(mag_basis, mean, std)
    stacked = np.stack([features.from_coefficients(c) for c in copies])
    val_sigma = levels[rng.integers(len(levels), size=val.n)]
    val_x = features.from_coefficients(
        noisy_magnitude_coefficients(val.coef, basis, mag_basis, val_sigma, rng))
    if val_extra is not None and val_extra.shape[1]:
        val_x = np.concatenate([val_x, val_extra.astype(val_x.dtype)], axis=1)
    return MagnitudeData(
        features,
        MagnitudeTensors(torch.tensor(stacked, device=device), targets,
                         torch.zeros(1, device=device), extra),
        torch.tensor(val_x, device=device),
    )
