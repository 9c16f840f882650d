"""The numerical phantom: tissue values, Shepp-Logan geometry, the simulated series, the files."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from mrfrecon.errors import MrfreconError, OutputExistsError
from mrfrecon.phantom import TISSUES, brain_phantom, simulate_series, write_phantom
from mrfrecon.physics import Tissue, simulate_fingerprints

N = 64


@pytest.fixture(scope="module")
def phantom():
    return brain_phantom(N)


def test_every_voxel_has_its_tissue_values(phantom):
    assert phantom.names == tuple(TISSUES)
    for volume in (phantom.t1_ms, phantom.t2_ms, phantom.m0, phantom.labels):
        assert volume.shape == (N, N, 1)
    assert set(np.unique(phantom.labels)) == set(range(len(TISSUES) + 1))  # all five and air
    for k, name in enumerate(phantom.names, start=1):
        inside = phantom.labels == k
        t1, t2, m0 = TISSUES[name]
        assert_array_equal(phantom.t1_ms[inside], t1)
        assert_array_equal(phantom.t2_ms[inside], t2)
        assert_array_equal(phantom.m0[inside], m0)
    air = phantom.labels == 0
    assert not phantom.t1_ms[air].any() and not phantom.m0[air].any()
    assert_array_equal(phantom.mask, ~air)
    # literature values (Jiang 2015, 1.5 T) for the brain; T2 < T1 everywhere
    assert TISSUES["white_matter"][:2] == (781.0, 65.0)
    assert TISSUES["grey_matter"][:2] == (1193.0, 109.0)
    assert all(t2 < t1 for t1, t2, _ in TISSUES.values())


def test_shepp_logan_geometry(phantom):
    mask = phantom.mask[:, :, 0]
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    # the outer ellipse has semi-axes 0.92 and 0.69 of the half field of view
    assert abs(rows.size - 0.92 * N) <= 2 and abs(cols.size - 0.69 * N) <= 2
    # centred, and the outline symmetric left-right
    assert abs((rows[0] + rows[-1]) / 2 - (N - 1) / 2) <= 1
    assert abs((cols[0] + cols[-1]) / 2 - (N - 1) / 2) <= 1
    assert_array_equal(mask.any(axis=0), mask.any(axis=0)[::-1])
    # from outside in, along the middle row: scalp fat, then skull, then brain
    names = ("air", *phantom.names)
    row = [names[k] for k in phantom.labels[N // 2, :, 0]]
    first = next(i for i, name in enumerate(row) if name != "air")
    assert row[first] == "fat"
    assert row[first + 1] == "skull"
    assert row[N // 2] not in ("fat", "skull", "air")


def test_small_sizes_are_refused():
    with pytest.raises(MrfreconError, match="16"):
        brain_phantom(8)


def test_series_is_m0_times_phase_times_fingerprint(short_fisp):
    phantom = brain_phantom(32)
    series = simulate_series(short_fisp, phantom, noise_sigma=0.0, phase_rad=0.8)
    assert series.shape == (32, 32, 1, short_fisp.n_timepoints) and series.dtype == np.complex64
    assert not series[phantom.labels[..., 0] == 0].any()
    x = np.linspace(-0.5, 0.5, 32)
    for k, name in enumerate(phantom.names, start=1):
        t1, t2, m0 = TISSUES[name]
        fingerprint = simulate_fingerprints(short_fisp, Tissue.make([t1], [t2]))[0]
        i, j, _ = (a[0] for a in np.nonzero(phantom.labels == k))  # one voxel of the class
        expected = m0 * np.exp(1j * 0.8 * (x[i] + 0.5 * x[j])) * fingerprint
        assert_allclose(series[i, j, 0], expected, rtol=1e-4, atol=1e-6)


def test_noise_has_the_given_sd_per_channel_and_follows_the_seed(short_fisp):
    phantom = brain_phantom(32)
    noisy = simulate_series(short_fisp, phantom, noise_sigma=0.02, seed=1)
    background = noisy[phantom.labels[..., 0] == 0]  # pure noise
    assert_allclose([background.real.std(), background.imag.std()], 0.02, rtol=0.02)
    assert abs(background.mean()) < 1e-3
    assert_array_equal(noisy, simulate_series(short_fisp, phantom, noise_sigma=0.02, seed=1))
    assert not np.array_equal(noisy, simulate_series(short_fisp, phantom, noise_sigma=0.02,
                                                     seed=2))


def test_written_truth_maps_and_refusal_to_overwrite(short_fisp, tmp_path):
    files = write_phantom(short_fisp, tmp_path, size=16, noise_sigma=0.0)
    phantom = brain_phantom(16)
    series = np.asarray(nib.load(files.series).dataobj)
    assert series.shape == (16, 16, 1, short_fisp.n_timepoints) and series.dtype == np.complex64
    # truth maps in BIDS seconds, with their unit in the sidecar
    t1 = np.asarray(nib.load(files.truth_t1).dataobj)
    assert_allclose(t1 * 1000.0, phantom.t1_ms, rtol=1e-6)
    assert json.loads(files.truth_t1.with_name(
        files.truth_t1.name.replace(".nii.gz", ".json")).read_text())["Units"] == "s"
    assert_array_equal(np.asarray(nib.load(files.labels).dataobj), phantom.labels)
    info = json.loads(files.description.read_text())
    assert info["sequence_sha256"] == short_fisp.sha256 and info["size"] == 16
    assert info["tissues"]["csf"]["t1_ms"] == TISSUES["csf"][0]
    before = {p: p.read_bytes() for p in files.files}
    with pytest.raises(OutputExistsError):
        write_phantom(short_fisp, tmp_path, size=16, noise_sigma=0.01)
    assert {p: p.read_bytes() for p in files.files} == before
    with pytest.raises(MrfreconError, match="noise"):
        write_phantom(short_fisp, tmp_path / "other", noise_sigma=-1.0)
