"""Builders for reconstruction tests: small models, phantoms, NIfTI inputs."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from mrfrecon.dictionary import build_dictionary, make_grid, svd_basis
from mrfrecon.features import (
    FeatureMap,
    MagnitudeFeatureMap,
    fit_standardisation,
    unit_real,
    unit_realimag,
)
from mrfrecon.model import FloatMLPWeights, MagnitudePath, MrfModel, OutputScaling
from mrfrecon.physics import Tissue, simulate_fingerprints
from mrfrecon.quantized import IntegerLayer, IntegerMLP
from mrfrecon.sequence import Sequence

T1_RANGE = (100.0, 4000.0)
T2_RANGE = (10.0, 1500.0)


def make_model(sequence: Sequence, *, rank: int = 10, hidden: int = 16, seed: int = 0,
               magnitude: bool = False) -> MrfModel:
    """A model with the real feature map of ``sequence`` and arbitrary small networks.

    The networks' outputs are meaningless: use it for plumbing, or ``method="matching"``.
    ``magnitude``: also a magnitude path (real magnitude basis of rank ``2 * rank``).
    """
    rng = np.random.default_rng(seed)
    t1 = np.exp(rng.uniform(np.log(T1_RANGE[0]), np.log(T1_RANGE[1]), 600))
    t2 = np.minimum(np.exp(rng.uniform(np.log(T2_RANGE[0]), np.log(T2_RANGE[1]), 600)), t1)
    atoms = simulate_fingerprints(sequence, Tissue.make(t1, t2))
    basis, _ = svd_basis(atoms, rank=rank)
    coef = atoms.astype(np.complex64) @ basis
    mean, std = fit_standardisation(unit_realimag(coef))
    features = FeatureMap(basis, mean, std)
    float_net, int_net = _random_networks(rng, 2 * rank, hidden)
    magnitude_path = None
    if magnitude:
        from mrfrecon.training.magnitude import magnitude_basis

        mag_basis = magnitude_basis(np.abs(atoms), 2 * rank)
        mean, std = fit_standardisation(unit_real(np.abs(atoms) @ mag_basis))
        magnitude_path = MagnitudePath(MagnitudeFeatureMap(mag_basis, mean, std),
                                       *_random_networks(rng, 2 * rank, hidden))
    return MrfModel(sequence=sequence, features=features,
                    scaling=OutputScaling(T1_RANGE, T2_RANGE), float_net=float_net,
                    int_net=int_net, metrics={}, provenance={"test": True},
                    magnitude=magnitude_path)


def _random_networks(rng: np.random.Generator, n_in: int, hidden: int
                     ) -> tuple[FloatMLPWeights, IntegerMLP]:
    w1 = rng.normal(0, 1 / np.sqrt(n_in), (hidden, n_in)).astype(np.float32)
    w2 = rng.normal(0, 1 / np.sqrt(hidden), (2, hidden)).astype(np.float32)
    float_net = FloatMLPWeights((w1, w2), (np.zeros(hidden, np.float32),
                                           np.full(2, 0.5, np.float32)))
    int_net = IntegerMLP(5, (
        IntegerLayer(rng.integers(-60, 60, (hidden, n_in)), rng.integers(-500, 500, hidden),
                     weight_frac=6, out_frac=4),
        IntegerLayer(rng.integers(-60, 60, (2, hidden)), np.array([2**9, 2**9]),
                     weight_frac=6, out_frac=None),
    ))
    return float_net, int_net


def small_dictionary(sequence: Sequence, t1: str = "100:2000:20,2300:4000:300",
                     t2: str = "10:100:2,105:300:5,320:1500:40"):
    return build_dictionary(sequence, make_grid(sequence, t1, t2), rank=None, energy=None)


def complex_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    return (sigma * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))).astype(
        np.complex64)


def save_series(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Write a complex 4-D series as NIfTI."""
    affine = np.diag([1.5, 1.5, 4.0, 1.0]) if affine is None else affine
    img = nib.Nifti1Image(np.asarray(data, np.complex64), affine)
    img.set_sform(affine, code="scanner")
    img.set_qform(affine, code="scanner")
    nib.save(img, path)
    return path
