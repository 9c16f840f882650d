"""Builders for reconstruction tests: small models, phantoms, NIfTI inputs."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from mrfrecon.dictionary import build_dictionary, make_grid, svd_basis
from mrfrecon.features import FeatureMap, fit_standardisation, unit_realimag
from mrfrecon.model import FloatMLPWeights, MrfModel, OutputScaling
from mrfrecon.parameters import NetworkParameters
from mrfrecon.physics import Tissue, simulate_fingerprints
from mrfrecon.quantized import IntegerLayer, IntegerMLP
from mrfrecon.sequence import Sequence

T1_RANGE = (100.0, 4000.0)
T2_RANGE = (10.0, 1500.0)


def make_model(sequence: Sequence, *, rank: int = 10, hidden: int = 16, seed: int = 0,
               parameters: NetworkParameters = NetworkParameters()) -> MrfModel:
    """A model with the real feature map of ``sequence`` and arbitrary small networks.

    The networks' outputs are meaningless: use it for plumbing, or ``method="matching"``.
    ``parameters``: the networks' extra outputs (df) and inputs (B1).
    """
    rng = np.random.default_rng(seed)
    t1 = np.exp(rng.uniform(np.log(T1_RANGE[0]), np.log(T1_RANGE[1]), 600))
    t2 = np.minimum(np.exp(rng.uniform(np.log(T2_RANGE[0]), np.log(T2_RANGE[1]), 600)), t1)
    b1 = 1.0 if parameters.b1_range is None else rng.uniform(*parameters.b1_range, 600)
    df = 0.0 if parameters.df_range_hz is None else rng.uniform(*parameters.df_range_hz, 600)
    atoms = simulate_fingerprints(sequence, Tissue.make(t1, t2, b1, df))
    basis, _ = svd_basis(atoms, rank=rank)
    coef = atoms.astype(np.complex64) @ basis
    mean, std = fit_standardisation(unit_realimag(coef))
    features = FeatureMap(basis, mean, std)
    n_in, n_out = 2 * rank + parameters.n_extra_inputs, parameters.n_outputs
    w1 = rng.normal(0, 1 / np.sqrt(n_in), (hidden, n_in)).astype(np.float32)
    w2 = rng.normal(0, 1 / np.sqrt(hidden), (n_out, hidden)).astype(np.float32)
    float_net = FloatMLPWeights((w1, w2), (np.zeros(hidden, np.float32),
                                           np.full(n_out, 0.5, np.float32)))
    int_net = IntegerMLP(5, (
        IntegerLayer(rng.integers(-60, 60, (hidden, n_in)), rng.integers(-500, 500, hidden),
                     weight_frac=6, out_frac=4),
        IntegerLayer(rng.integers(-60, 60, (n_out, hidden)), np.full(n_out, 2**9),
                     weight_frac=6, out_frac=None),
    ))
    return MrfModel(sequence=sequence, features=features,
                    scaling=OutputScaling(T1_RANGE, T2_RANGE), float_net=float_net,
                    int_net=int_net, metrics={}, provenance={"test": True},
                    parameters=parameters)


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
