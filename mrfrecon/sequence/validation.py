"""Consistency checks of a resolved :class:`~mrfrecon.sequence.Sequence`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SequenceError
from ..limits import check_count
from .ranges import parse_ranges

if TYPE_CHECKING:
    from .model import Sequence

KINDS = ("fisp", "bssfp")


def validate(seq: Sequence) -> None:
    """Raise :class:`SequenceError` naming the first inconsistent field."""
    where = f" in '{seq.source}'" if seq.source else ""
    if seq.kind not in KINDS:
        raise SequenceError(f"unknown kind '{seq.kind}'{where}: expected one of {', '.join(KINDS)}")
    n = seq.fa_deg.shape[0] if seq.fa_deg.ndim == 1 else -1
    if n == 0:
        raise SequenceError(f"empty schedule{where}: fa_deg has no time points")
    check_count(n, "max_timepoints", "n_timepoints", where)
    for name in ("fa_deg", "tr_ms", "te_ms", "phase_deg"):
        arr = getattr(seq, name)
        if arr.ndim != 1:
            raise SequenceError(f"{name}{where} must be one-dimensional, got shape {arr.shape}")
        if arr.shape[0] != n:
            raise SequenceError(
                f"{name}{where} has {arr.shape[0]} values but fa_deg has {n}: lengths differ"
            )
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise SequenceError(f"{name}{where} is not finite at TR {bad[0] + 1}")
    for name in ("fa_deg", "tr_ms", "te_ms"):
        bad = np.flatnonzero(getattr(seq, name) < 0)
        if bad.size:
            raise SequenceError(
                f"{name}{where} is negative ({getattr(seq, name)[bad[0]]:g}) at TR {bad[0] + 1}"
            )
    bad = np.flatnonzero(seq.fa_deg > 180)
    if bad.size:
        raise SequenceError(
            f"fa_deg{where} ({seq.fa_deg[bad[0]]:g}) outside [0, 180] at TR {bad[0] + 1}"
        )
    if not np.any(seq.fa_deg > 0):
        raise SequenceError(f"fa_deg{where} is 0 at every TR: the schedule excites no signal")
    bad = np.flatnonzero(seq.tr_ms <= 0)
    if bad.size:
        raise SequenceError(f"tr_ms{where} must be > 0 at TR {bad[0] + 1}")
    bad = np.flatnonzero(seq.te_ms >= seq.tr_ms)
    if bad.size:
        i = bad[0]
        raise SequenceError(
            f"te_ms ({seq.te_ms[i]:g}) must be < tr_ms ({seq.tr_ms[i]:g}) at TR {i + 1}{where}"
        )
    if seq.inversion is not None:
        inv = seq.inversion
        if not (math.isfinite(inv.ti_ms) and inv.ti_ms >= 0):
            raise SequenceError(f"inversion.ti_ms{where} must be >= 0, got {inv.ti_ms}")
        if not (math.isfinite(inv.efficiency) and 0 <= inv.efficiency <= 1):
            raise SequenceError(
                f"inversion.efficiency{where} must be in [0, 1], got {inv.efficiency}"
            )
    for label, grid in (("dictionary.t1_ms", seq.t1_grid_ms), ("dictionary.t2_ms", seq.t2_grid_ms)):
        values = parse_ranges(grid, label)
        if np.any(values <= 0):
            raise SequenceError(f"{label}{where} must be positive")
    if seq.slice_profile is not None:
        sp = seq.slice_profile
        if sp.scales.shape != sp.weights.shape or sp.scales.ndim != 1 or sp.scales.size == 0:
            raise SequenceError(
                f"slice_profile{where}: scales and weights must be equal-length lists"
            )
        check_count(sp.scales.size, "max_sub_slices", "slice_profile sub-slices", where)
        if not (np.all(np.isfinite(sp.scales)) and np.all(np.isfinite(sp.weights))):
            raise SequenceError(f"slice_profile{where}: scales and weights must be finite")
        if np.any(sp.scales < 0):
            raise SequenceError(f"slice_profile.scales{where} must be >= 0")
        if np.any(sp.weights < 0) or not np.isclose(sp.weights.sum(), 1.0):
            raise SequenceError(f"slice_profile.weights{where} must be >= 0 and sum to 1")

