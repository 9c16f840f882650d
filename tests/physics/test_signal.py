"""simulate_fingerprints never returns atoms a compiled kernel left unwritten."""

from __future__ import annotations

import numpy as np
import pytest

import mrfrecon.physics.epg as epg
from mrfrecon.errors import SimulationError
from mrfrecon.physics import Tissue, simulate_fingerprints


def test_unwritten_atoms_are_refused(short_fisp, monkeypatch):
    real = epg._epg_real

    def skips_half(fa, tr, te, phase, part, inversion, n_states, dtype, out):
        half = len(out) // 2
        real(fa, tr, te, phase, part[:half], inversion, n_states, dtype, out[:half])

    monkeypatch.setattr(epg, "_epg_real", skips_half)  # like a block whose allocation failed
    tissue = Tissue.make(np.array([800.0, 1000.0, 1200.0, 1400.0]), np.array([50.0] * 4))
    with pytest.raises(SimulationError, match="2 of 4 fingerprints non-finite"):
        simulate_fingerprints(short_fisp, tissue)


def test_written_atoms_pass(short_fisp):
    tissue = Tissue.make(np.array([800.0, 1000.0]), np.array([50.0, 80.0]))
    assert np.all(np.isfinite(simulate_fingerprints(short_fisp, tissue)))
