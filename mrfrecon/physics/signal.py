"""One entry point for fingerprints of a sequence: EPG for FISP, isochromat Bloch for bSSFP."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import SimulationError
from .bloch import bloch_isochromats
from .epg import DEFAULT_N_STATES, epg_fisp
from .tissue import Tissue


def simulate_fingerprints(
    sequence,
    tissue: Tissue,
    *,
    n_states: int = DEFAULT_N_STATES,
    dtype: type = np.float32,
    chunk_size: int = 16384,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Fingerprints of ``tissue`` under ``sequence`` (a :class:`mrfrecon.sequence.Sequence`).

    FISP uses EPG with ``n_states`` dephasing orders; bSSFP one isochromat per atom (its
    off-resonance ``tissue.df_hz`` sets the precession). A slice profile, when the sequence has
    one, sums sub-slices with flip angles scaled by ``profile.scales`` and weights
    ``profile.weights``. Returns complex fingerprints, shape ``(n_atoms, n_timepoints)``, M0 = 1.
    Raises :class:`~mrfrecon.errors.SimulationError` if any value is not finite.
    """
    profile = sequence.slice_profile
    scales = np.array([1.0]) if profile is None else profile.scales
    weights = np.array([1.0]) if profile is None else profile.weights
    total = tissue.n_atoms * len(scales)
    out = None
    for i, (scale, weight) in enumerate(zip(scales, weights, strict=True)):
        part = Tissue(tissue.t1_ms, tissue.t2_ms, tissue.b1 * scale, tissue.df_hz)

        def report(done: int, _n: int, offset: int = i * tissue.n_atoms) -> None:
            if progress is not None:
                progress(offset + done, total)

        sig = _checked(_simulate_one(sequence, part, n_states, dtype, chunk_size, report))
        if profile is None:
            return sig
        sig *= sig.real.dtype.type(weight)  # in place: keeps complex64 and memory
        if out is None:
            out = sig
        else:
            out += sig
    assert out is not None  # a slice profile has at least one sub-slice
    return out


def _checked(signals: np.ndarray) -> np.ndarray:
    """Refuse non-finite fingerprints (atoms a compiled kernel left unwritten are NaN)."""
    bad = ~np.isfinite(signals).all(axis=-1)
    if bad.any():
        raise SimulationError(
            f"the simulation left {int(bad.sum()):,} of {bad.size:,} fingerprints non-finite "
            "(out of memory in a compiled kernel, or extreme parameters); nothing was written")
    return signals


def _simulate_one(sequence, tissue, n_states, dtype, chunk_size, progress) -> np.ndarray:
    common = dict(
        phase_deg=sequence.phase_deg,
        inversion=sequence.inversion,
        dtype=dtype,
        chunk_size=chunk_size,
        progress=progress,
    )
    if sequence.kind == "fisp":
        return epg_fisp(
            sequence.fa_deg, sequence.tr_ms, sequence.te_ms, tissue, n_states=n_states, **common
        )
    return bloch_isochromats(sequence.fa_deg, sequence.tr_ms, sequence.te_ms, tissue, **common)
