"""Integer primitives of ``hw/SPEC.md`` §0 and §4: saturation, rounding, xorshift32 generators."""

from __future__ import annotations

import numpy as np

from mrfrecon.quantized import round_half_even_shift

__all__ = [
    "GOLDEN_RATIO_32",
    "lane_seeds",
    "rhe",
    "saturate",
    "stochastic_shift",
    "xorshift32_next",
]

GOLDEN_RATIO_32 = 0x9E3779B9
MASK_32 = 0xFFFFFFFF


def rhe(value: np.ndarray | int, shift: int) -> np.ndarray:
    """``value / 2**shift`` rounded half to even (SPEC ``RHE``); int64 in, int64 out."""
    return round_half_even_shift(np.asarray(value, dtype=np.int64), shift)


def saturate(value: np.ndarray | int, bits: int) -> np.ndarray:
    """Clamp to the signed range of ``bits`` bits (SPEC ``SAT_n``)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(np.asarray(value, dtype=np.int64), lo, hi)


def stochastic_shift(value: np.ndarray | int, shift: int, rand: np.ndarray | int) -> np.ndarray:
    """SPEC ``SR(g, s, r) = FLOOR(g + (r AND (2**s - 1)), s)``.

    value: exact int64 gradient sums; rand: uint32 random words, same shape; shift in [0, 31].
    """
    mask = np.int64((1 << shift) - 1)
    return (np.asarray(value, dtype=np.int64) + (np.asarray(rand, dtype=np.int64) & mask)) >> shift


def xorshift32_next(state: int) -> int:
    """One step of Marsaglia's xorshift32 (13, 17, 5); returns the new state (= output)."""
    state ^= (state << 13) & MASK_32
    state ^= state >> 17
    state ^= (state << 5) & MASK_32
    return state


def lane_seeds(seed: int, n_lanes: int) -> np.ndarray:
    """Initial generator states of the lanes (SPEC §4), uint32 array of shape ``(n_lanes,)``."""
    states = []
    for lane in range(n_lanes):
        state = (seed ^ ((lane + 1) * GOLDEN_RATIO_32)) & MASK_32
        states.append(state if state else 1)
    return np.array(states, dtype=np.uint32)
