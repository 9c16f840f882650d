"""bSSFP by Bloch isochromats: the closed-form steady state, off-resonance, the compiled kernel."""

from __future__ import annotations

import numpy as np
import pytest

from mrfrecon.physics import Tissue, bloch_isochromats, simulate_fingerprints
from mrfrecon.physics.steady_state import bssfp_steady_state
from tests.helpers import rel_max


@pytest.mark.parametrize("fa", [20.0, 45.0, 70.0])
@pytest.mark.parametrize("t1,t2", [(800.0, 80.0), (1500.0, 200.0)])
def test_bssfp_steady_state_closed_form(fa, t1, t2):
    n = 3000
    tissue = Tissue.make([t1], [t2])
    sig = bloch_isochromats(
        np.full(n, fa),
        np.full(n, 8.0),
        np.full(n, 4.0),
        tissue,
        phase_deg=np.resize([0.0, 180.0], n),
    )
    expected = bssfp_steady_state(fa, 8.0, 4.0, t1, t2)
    np.testing.assert_allclose(np.abs(sig[0, -1]), expected, rtol=1e-6)


def test_bssfp_depends_on_off_resonance(ma_bssfp):
    seq = ma_bssfp.with_timepoints(300)
    tissue = Tissue.make([900.0, 900.0], [90.0, 90.0], df_hz=[0.0, 20.0])
    sig = simulate_fingerprints(seq, tissue, dtype=np.float64)
    assert np.abs(np.abs(sig[0]) - np.abs(sig[1])).max() > 1e-3


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_bloch_kernel_matches_numpy_reference(ma_bssfp, dtype, tol):
    """The compiled single-isochromat Bloch kernel (bSSFP) against the numpy isochromat code."""
    from mrfrecon.physics.bloch import _simulate

    seq = ma_bssfp.with_timepoints(300)
    rng = np.random.default_rng(6)
    tissue = Tissue.make(rng.uniform(100, 3000, 40), rng.uniform(10, 300, 40),
                         b1=rng.choice([0.9, 1.1], 40), df_hz=rng.uniform(-50, 50, 40))  # fmt: skip
    fast = bloch_isochromats(seq.fa_deg, seq.tr_ms, seq.te_ms, tissue, phase_deg=seq.phase_deg,
                             inversion=seq.inversion, dtype=dtype)  # fmt: skip
    ref = _simulate(np.deg2rad(seq.fa_deg), seq.tr_ms, seq.te_ms, np.deg2rad(seq.phase_deg),
                    tissue, seq.inversion, np.ones(1))  # fmt: skip
    assert rel_max(fast, ref) <= tol
