"""Training data: random continuous parameter sampling, simulation, SVD-space pool, noise.

Good practice from Barbieri et al., Physica Medica 2021;89:80, doi:10.1016/j.ejmp.2021.07.013:
sample the parameter space at random (not the dictionary grid) and train with several noise
variances. Simulating a fresh 1000-point fingerprint per sample is too slow, so a pool of
clean fingerprints is simulated once and projected on the orthonormal SVD basis ``V``
(``n_t x K``); white complex noise of standard deviation ``sigma`` per channel projects to white
complex noise of the same ``sigma`` in the K coefficients, and the features are normalised in
that space (:mod:`mrfrecon.features`), so adding fresh noise to the coefficients every epoch is
exact, not an approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..dictionary import svd_basis, svd_basis_for_noise
from ..parameters import NetworkParameters
from ..physics import Tissue, simulate_fingerprints
from ..physics.epg import DEFAULT_N_STATES
from ..sequence import Sequence, parse_ranges


def parameter_ranges(sequence: Sequence, t1_range_ms=None, t2_range_ms=None):
    """Training ranges of T1 and T2 (ms): given, or the sequence's dictionary grid extent."""
    t1 = t1_range_ms or (
        float(parse_ranges(sequence.t1_grid_ms).min()),
        float(parse_ranges(sequence.t1_grid_ms).max()),
    )
    t2 = t2_range_ms or (
        float(parse_ranges(sequence.t2_grid_ms).min()),
        float(parse_ranges(sequence.t2_grid_ms).max()),
    )
    return tuple(map(float, t1)), tuple(map(float, t2))


def sample_tissue(
    rng: np.random.Generator, n: int, t1_range_ms, t2_range_ms, sequence: Sequence | None = None
) -> Tissue:
    """``n`` log-uniform (T1, T2) points with T2 < T1 (rejection), plus uniform B1 / df over the
    ranges the sequence's networks use (:class:`~mrfrecon.parameters.NetworkParameters`)."""
    t1_out, t2_out = np.empty(0), np.empty(0)
    while t1_out.size < n:
        m = 2 * (n - t1_out.size) + 16
        t1 = np.exp(rng.uniform(np.log(t1_range_ms[0]), np.log(t1_range_ms[1]), m))
        t2 = np.exp(rng.uniform(np.log(t2_range_ms[0]), np.log(t2_range_ms[1]), m))
        keep = t2 < t1
        t1_out = np.concatenate([t1_out, t1[keep]])
        t2_out = np.concatenate([t2_out, t2[keep]])
    b1: float | np.ndarray = 1.0
    df: float | np.ndarray = 0.0
    params = NetworkParameters() if sequence is None else NetworkParameters.from_sequence(sequence)
    if params.b1_range is not None:
        b1 = rng.uniform(*params.b1_range, n)
    if params.df_range_hz is not None:  # the trained range: one period of the bSSFP response
        df = rng.uniform(*params.df_range_hz, n)
    return Tissue.make(t1_out[:n], t2_out[:n], b1, df)


@dataclass(frozen=True)
class Pool:
    """Clean SVD coefficients ``coef`` (complex64, ``(n, K)``) and their ``tissue``."""

    coef: np.ndarray
    tissue: Tissue

    @property
    def n(self) -> int:
        return int(self.coef.shape[0])


BASIS_MAX_ATOMS = 10000  # fingerprints the SVD basis is fitted on: they span the signal space


def simulate_pools(
    sequence: Sequence,
    n_train: int,
    n_val: int,
    rank: int | None,
    t1_range_ms,
    t2_range_ms,
    rng: np.random.Generator,
    n_states: int = DEFAULT_N_STATES,
    progress: Callable[[int, int], None] | None = None,
    *,
    rank_noise: float = 0.01,
    max_rank: int = 32,
) -> tuple[np.ndarray, Pool, Pool, dict]:
    """Simulate training and validation fingerprints; returns ``(basis, train, val, rank_info)``.

    The SVD basis (complex64, ``(n_t, K)``) comes from the training fingerprints; ``rank``
    None chooses K by :func:`mrfrecon.dictionary.rank_for_noise` at ``rank_noise`` (per-channel
    noise SD, M0 = 1), at most ``max_rank``. ``rank_info`` says how K was chosen.
    """
    tissue = sample_tissue(rng, n_train + n_val, t1_range_ms, t2_range_ms, sequence)
    signals = simulate_fingerprints(sequence, tissue, n_states=n_states, progress=progress)
    basis, rank_info = fit_basis(signals[: min(n_train, BASIS_MAX_ATOMS)], rank, rank_noise,
                                 max_rank)
    coef = signals @ basis
    return (basis, Pool(coef[:n_train], tissue[:n_train]), Pool(coef[n_train:], tissue[n_train:]),
            rank_info)


def fit_basis(
    signals: np.ndarray, rank: int | None, rank_noise: float, max_rank: int
) -> tuple[np.ndarray, dict]:
    """SVD basis of ``signals`` (``(n, n_t)``): a given ``rank``, else the noise rule's."""
    if rank is not None:
        basis, _ = svd_basis(signals, rank=rank)
        return basis, {"rank": int(rank), "rule": "given"}
    basis, _, choice = svd_basis_for_noise(signals, rank_noise, max_rank)
    return basis, choice.to_dict()


def add_noise(coef: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Complex white noise of per-sample ``sigma`` (per channel) added to coefficients."""
    noise = rng.standard_normal(coef.shape) + 1j * rng.standard_normal(coef.shape)
    return (coef + sigma[:, None] * noise).astype(np.complex64)
