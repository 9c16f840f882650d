"""Dictionary grid, HDF5 round trip, SVD compression and matching."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from mrfrecon.dictionary import (
    build_dictionary,
    load_dictionary,
    make_grid,
    match,
    rank_for_noise,
    save_dictionary,
    svd_basis_for_noise,
)
from mrfrecon.errors import DictionaryError, ModelMismatchError, OutputExistsError
from mrfrecon.physics import Tissue, simulate_fingerprints


@pytest.fixture(scope="module")
def small_dict(short_fisp):
    grid = make_grid(short_fisp, "100:2000:50", "10:300:10")
    return build_dictionary(short_fisp, grid, energy=0.99999)


def test_grid_drops_t2_above_t1(short_fisp):
    grid = make_grid(short_fisp, "50:200:50", "20:300:20")
    assert np.all(grid.t2_ms <= grid.t1_ms)
    assert grid.n_atoms == sum(
        int(np.sum(np.arange(20, 301, 20) <= t1)) for t1 in (50, 100, 150, 200)
    )


def test_svd_basis_orthonormal_and_energy(small_dict):
    basis = small_dict.basis
    np.testing.assert_allclose(basis.conj().T @ basis, np.eye(basis.shape[1]), atol=1e-5)
    kept = np.linalg.norm(small_dict.atoms @ basis) ** 2 / np.linalg.norm(small_dict.atoms) ** 2
    assert kept >= 0.99999 - 1e-6
    assert basis.shape[1] < 40


@pytest.mark.parametrize("compressed", [True, False])
def test_matching_recovers_parameters(small_dict, compressed):
    rng = np.random.default_rng(0)
    idx = rng.integers(0, small_dict.n_atoms, 300)
    m0 = 2.5 * np.exp(1j * rng.uniform(-np.pi, np.pi, 300))
    result = match(
        small_dict, small_dict.atoms[idx] * m0[:, None], compressed=compressed, chunk_size=64
    )
    np.testing.assert_array_equal(result.index, idx)
    np.testing.assert_allclose(result.t1_ms, small_dict.tissue.t1_ms[idx])
    np.testing.assert_allclose(result.m0, m0, rtol=1e-4)
    assert result.quality.min() > 0.9999


def test_matching_with_noise_compressed_agrees_with_full(small_dict):
    rng = np.random.default_rng(1)
    idx = rng.integers(0, small_dict.n_atoms, 300)
    signals = small_dict.atoms[idx] + 0.002 * (
        rng.standard_normal((300, small_dict.n_timepoints))
        + 1j * rng.standard_normal((300, small_dict.n_timepoints))
    )
    full = match(small_dict, signals, compressed=False)
    comp = match(small_dict, signals, compressed=True)
    assert np.mean(full.index == comp.index) > 0.95
    assert np.mean(np.abs(comp.t1_ms - small_dict.tissue.t1_ms[idx]) <= 50) > 0.9


def test_round_trip_hdf5(small_dict, short_fisp, tmp_path):
    path = save_dictionary(small_dict, tmp_path / "d.h5")
    with h5py.File(path) as f:
        assert f["atoms"].dtype == np.complex64
        assert f["atoms"].shape == (small_dict.n_atoms, short_fisp.n_timepoints)
        assert f.attrs["sequence_sha256"] == short_fisp.sha256
        assert "mrfrecon_version" in f.attrs and f["t1_ms"].attrs["units"] == "ms"
    again = load_dictionary(path)
    np.testing.assert_array_equal(again.atoms, small_dict.atoms)
    np.testing.assert_array_equal(again.basis, small_dict.basis)
    with pytest.raises(OutputExistsError):
        save_dictionary(small_dict, path)


def test_bad_inputs(small_dict, tmp_path):
    with pytest.raises(ModelMismatchError, match="399 time points but the dictionary has 400"):
        match(small_dict, np.zeros((2, 399), np.complex64))
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(DictionaryError, match="not an mrfrecon dictionary"):
        load_dictionary(other)
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(DictionaryError, match="cannot read dictionary"):
        load_dictionary(tmp_path / "text.h5")


def test_matching_within_the_measured_b1_slice(short_fisp):
    """With a B1 map, each signal is matched only among the atoms of the nearest B1 value."""
    seq = short_fisp.with_timepoints(200)
    dictionary = build_dictionary(
        seq, make_grid(seq, "400:1600:100", "40:120:20", b1="0.8:1.2:0.2"), rank=None,
        energy=None, n_states=60)
    truth = Tissue.make([700.0, 1200.0, 900.0], [60.0, 100.0, 40.0], [0.8, 1.2, 1.0])
    signals = simulate_fingerprints(seq, truth, n_states=60)
    exact = match(dictionary, signals, b1=truth.b1 + 0.03)  # measured B1, slightly off-grid
    np.testing.assert_allclose(exact.b1, truth.b1, rtol=1e-12)
    np.testing.assert_array_equal(exact.t1_ms, truth.t1_ms)
    np.testing.assert_array_equal(exact.t2_ms, truth.t2_ms)
    wrong = match(dictionary, signals, b1=np.full(3, 1.2))  # a wrong map restricts the search
    np.testing.assert_allclose(wrong.b1, 1.2, rtol=1e-12)
    other = ~np.isclose(truth.b1, 1.2)
    assert np.all(wrong.quality[other] < exact.quality[other])
# --------------------------------------------------------------------------------------------
# The SVD rank the noise level can see


@pytest.mark.parametrize(
    ("noise_sd", "expected"),
    # energies 1, 0.1, 0.01, ...: discarded after K is 1.111e-K; 2 sd^2 = 2e-4 -> K = 4,
    # 2e-2 -> K = 2, 2e-8 -> K = 8
    [(0.01, 4), (0.1, 2), (1e-4, 8)],
    ids=["sd0.01", "sd0.1", "sd1e-4"],
)
def test_rank_rule_on_a_known_spectrum(noise_sd, expected):
    energy = 10.0 ** -np.arange(20)
    choice = rank_for_noise(energy, noise_sd, max_rank=32)
    assert choice.rank == expected and not choice.capped
    # the rule's two halves, checked on the sums directly: the smallest K that fits
    assert energy[choice.rank:].sum() <= 2 * noise_sd**2 < energy[choice.rank - 1:].sum()
    assert choice.discarded_energy == pytest.approx(energy[choice.rank:].sum())


def test_rank_rule_is_capped_and_says_so():
    flat = np.ones(100)  # every direction carries the same energy: nothing can be dropped
    choice = rank_for_noise(flat, 0.01, max_rank=32)
    assert choice.rank == 32 and choice.capped
    assert choice.to_dict()["rule"].startswith("smallest K")
    with pytest.raises(DictionaryError, match="noise_sd must be > 0"):
        rank_for_noise(flat, 0.0, max_rank=8)


def test_rank_for_noise_finds_the_dimension_of_synthetic_atoms():
    """Atoms in a 5-dimensional subspace (plus noise far below sigma) need exactly rank 5."""
    rng = np.random.default_rng(3)
    span = np.linalg.qr(rng.standard_normal((200, 5)) + 1j * rng.standard_normal((200, 5)))[0]
    coef = rng.standard_normal((4000, 5)) + 1j * rng.standard_normal((4000, 5))
    atoms = coef @ span.T + 1e-6 * rng.standard_normal((4000, 200))
    basis, sv, choice = svd_basis_for_noise(atoms, noise_sd=0.01, max_rank=32)
    assert choice.rank == 5 and basis.shape == (200, 5) and sv.shape == (5,)
    # the basis spans the atoms' subspace (conjugated: coefficients are atoms @ basis)
    np.testing.assert_allclose(np.linalg.svd(span.T @ basis, compute_uv=False), 1, atol=1e-4)


def test_noisier_data_keeps_fewer_coefficients(short_fisp):
    atoms = build_dictionary(
        short_fisp, make_grid(short_fisp, "200:2000:100", "20:300:20"), energy=None
    ).atoms
    ranks = [svd_basis_for_noise(atoms, sd, max_rank=64)[2].rank for sd in (0.1, 0.01, 0.001)]
    assert ranks[0] < ranks[1] < ranks[2]
