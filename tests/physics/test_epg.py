"""EPG against independent references: isochromats, closed forms, inversion recovery, blochsim."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mrfrecon.physics import Tissue, bloch_isochromats, epg_fisp, simulate_fingerprints
from mrfrecon.physics.epg import _epg_complex
from mrfrecon.physics.steady_state import (
    fisp_steady_state,
    inversion_recovery,
)
from mrfrecon.sequence import Inversion, SliceProfile
from tests.helpers import rel_max

TISSUES = Tissue.make([300.0, 800.0, 1500.0, 2500.0], [30.0, 80.0, 150.0, 250.0])


@pytest.mark.parametrize(
    "case",
    ["phase0", "random_phase", "off_resonance", "b1"],
)
def test_epg_matches_isochromat_average(short_fisp, case):
    """FISP by EPG == mean of isochromats spread over 2 pi per TR (enough to be alias-free)."""
    seq = short_fisp.with_timepoints(150)
    rng = np.random.default_rng(3)
    phase = rng.uniform(0, 360, 150) if case in ("random_phase", "off_resonance") else None
    tissue = TISSUES
    if case == "off_resonance":
        tissue = Tissue.make(TISSUES.t1_ms, TISSUES.t2_ms, df_hz=[12.0, -30.0, 0.0, 55.0])
    if case == "b1":
        tissue = Tissue.make(TISSUES.t1_ms, TISSUES.t2_ms, b1=[0.7, 0.9, 1.1, 1.3])
    epg = epg_fisp(
        seq.fa_deg,
        seq.tr_ms,
        seq.te_ms,
        tissue,
        phase_deg=phase,
        inversion=seq.inversion,
        n_states=160,
        dtype=np.float64,
    )
    iso = bloch_isochromats(
        seq.fa_deg,
        seq.tr_ms,
        seq.te_ms,
        tissue,
        phase_deg=phase,
        inversion=seq.inversion,
        n_isochromats=400,
        dephasing_per_tr=True,
    )
    assert rel_max(epg, iso) <= 1e-3
    assert rel_max(epg, iso) <= 1e-9  # alias-free: agreement is to rounding


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_real_kernel_matches_complex_path(jiang, dtype, tol):
    """The numba real-valued kernel (phase 0/180) equals the general complex EPG."""
    rng = np.random.default_rng(0)
    tissue = Tissue.make(rng.uniform(100, 3000, 37), rng.uniform(10, 300, 37))
    for phase in (np.zeros(jiang.n_timepoints), np.resize([0.0, 180.0], jiang.n_timepoints)):
        fast = epg_fisp(
            jiang.fa_deg,
            jiang.tr_ms,
            jiang.te_ms,
            tissue,
            phase_deg=phase,
            inversion=jiang.inversion,
            n_states=40,
            dtype=dtype,
        )
        ref = _epg_complex(
            jiang.fa_deg,
            jiang.tr_ms,
            jiang.te_ms,
            phase,
            tissue,
            jiang.inversion,
            40,
            np.complex128,
        )
        assert rel_max(fast, ref) <= tol


@pytest.mark.parametrize("fa", [10.0, 30.0, 60.0])
@pytest.mark.parametrize("t1,t2", [(800.0, 80.0), (1500.0, 200.0), (300.0, 40.0)])
def test_fisp_steady_state_closed_form(fa, t1, t2):
    n = 3000
    tissue = Tissue.make([t1], [t2])
    sig = epg_fisp(
        np.full(n, fa), np.full(n, 10.0), np.full(n, 2.0), tissue, n_states=400, dtype=np.float64
    )
    expected = fisp_steady_state(fa, 10.0, 2.0, t1, t2)
    np.testing.assert_allclose(np.abs(sig[0, -1]), expected, rtol=1e-6)


@pytest.mark.parametrize("efficiency", [1.0, 0.9])
def test_small_flip_angle_follows_inversion_recovery(efficiency):
    n, fa, tr, te, ti = 300, 0.05, 10.0, 0.0, 15.0
    tissue = Tissue.make([400.0, 900.0, 1600.0], [50.0, 90.0, 150.0])
    sig = epg_fisp(
        np.full(n, fa),
        np.full(n, tr),
        np.full(n, te),
        tissue,
        inversion=Inversion(ti, efficiency),
        n_states=20,
        dtype=np.float64,
    )
    t = ti + tr * np.arange(n)
    mz = inversion_recovery(t[None, :], tissue.t1_ms[:, None], efficiency)
    expected = np.sin(np.deg2rad(fa)) * mz
    # the sign of the signal follows Mz; the residual is the saturation by the tiny pulses
    np.testing.assert_allclose(sig.imag * -1, expected, atol=1e-3 * np.sin(np.deg2rad(fa)))


def test_matches_blochsim_peer(short_fisp):
    """blochsim (PyTorch EPG, sampled at TE = 0) is an independent implementation."""
    torch = pytest.importorskip("torch")
    blochsim = pytest.importorskip("blochsim")
    seq = short_fisp
    phase = np.random.default_rng(1).uniform(0, 360, seq.n_timepoints)
    ours = epg_fisp(
        seq.fa_deg,
        seq.tr_ms,
        np.zeros(seq.n_timepoints),
        TISSUES,
        phase_deg=phase,
        inversion=seq.inversion,
        n_states=100,
        dtype=np.float64,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # blochsim warns about its own autograd use
        theirs = blochsim.mrf_sim(
            torch.tensor(seq.fa_deg),
            torch.tensor(seq.tr_ms),
            torch.tensor(TISSUES.t1_ms),
            torch.tensor(TISSUES.t2_ms),
            TI=seq.inversion.ti_ms,
            phases=torch.tensor(phase),
            states=100,
        ).numpy()
    # blochsim reports i * (our signal): same physics, another phase convention
    assert rel_max(1j * ours, theirs) <= 2e-5


def test_b1_scales_flip_angles(short_fisp):
    seq = short_fisp
    scaled = epg_fisp(
        seq.fa_deg,
        seq.tr_ms,
        seq.te_ms,
        Tissue.make(TISSUES.t1_ms, TISSUES.t2_ms, b1=0.8),
        inversion=seq.inversion,
        dtype=np.float64,
    )
    direct = epg_fisp(
        0.8 * seq.fa_deg, seq.tr_ms, seq.te_ms, TISSUES, inversion=seq.inversion, dtype=np.float64
    )
    assert rel_max(scaled, direct) <= 1e-12


def test_slice_profile_is_weighted_sum(short_fisp):
    from dataclasses import replace

    profile = SliceProfile(np.array([1.0, 0.6]), np.array([0.25, 0.75]))
    seq = replace(short_fisp, slice_profile=profile)
    total = simulate_fingerprints(seq, TISSUES, dtype=np.float64)
    parts = [
        simulate_fingerprints(
            short_fisp, Tissue.make(TISSUES.t1_ms, TISSUES.t2_ms, b1=s), dtype=np.float64
        )
        for s in (1.0, 0.6)
    ]
    assert rel_max(total, 0.25 * parts[0] + 0.75 * parts[1]) <= 1e-12


def test_default_states_converge(jiang):
    """The default states deviate <= 1e-4 from an 800-state reference for T2 up to 1900 ms."""
    rng = np.random.default_rng(5)
    t2 = np.concatenate([np.exp(rng.uniform(np.log(10), np.log(1900), 200)), [1900.0]])
    tissue = Tissue.make(np.maximum(np.exp(rng.uniform(np.log(100), np.log(5000), 201)), t2), t2)
    ref = epg_fisp(
        jiang.fa_deg,
        jiang.tr_ms,
        jiang.te_ms,
        tissue,
        inversion=jiang.inversion,
        n_states=800,
        dtype=np.float64,
    )
    sig = epg_fisp(jiang.fa_deg, jiang.tr_ms, jiang.te_ms, tissue, inversion=jiang.inversion)
    dev = np.abs(sig - ref).max(axis=1) / np.abs(ref).max(axis=1)
    assert dev.max() <= 1e-4


def test_chunking_does_not_change_results(short_fisp):
    rng = np.random.default_rng(2)
    tissue = Tissue.make(rng.uniform(100, 3000, 50), rng.uniform(10, 300, 50))
    calls = []
    whole = epg_fisp(short_fisp.fa_deg, short_fisp.tr_ms, short_fisp.te_ms, tissue)
    chunked = epg_fisp(
        short_fisp.fa_deg,
        short_fisp.tr_ms,
        short_fisp.te_ms,
        tissue,
        chunk_size=7,
        progress=lambda d, n: calls.append((d, n)),
    )
    np.testing.assert_array_equal(whole, chunked)
    assert calls[-1] == (50, 50) and len(calls) == 8


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_complex_kernel_matches_numpy_reference(short_fisp, dtype, tol):
    """Arbitrary RF phases, B1 and off-resonance with a varying TR: the numba complex kernel."""
    rng = np.random.default_rng(4)
    n = short_fisp.n_timepoints
    tissue = Tissue.make(rng.uniform(100, 3000, 45), rng.uniform(10, 300, 45),
                         b1=rng.choice([0.8, 1.0, 1.2], 45), df_hz=rng.uniform(-30, 30, 45))  # fmt: skip
    phase = rng.uniform(0, 360, n)
    fast = epg_fisp(short_fisp.fa_deg, short_fisp.tr_ms, short_fisp.te_ms, tissue,
                    phase_deg=phase, inversion=short_fisp.inversion, n_states=80, dtype=dtype)  # fmt: skip
    ref = _epg_complex(short_fisp.fa_deg, short_fisp.tr_ms, short_fisp.te_ms, phase, tissue,
                       short_fisp.inversion, 80, np.complex128)  # fmt: skip
    assert rel_max(fast, ref) <= tol
