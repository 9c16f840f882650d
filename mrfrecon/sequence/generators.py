"""Generators of per-TR arrays, named by the ``generator`` key of a sequence file.

Each takes the number of TRs ``n`` first and returns float64 values of shape ``(n,)`` in the
unit of the field it fills (degrees for ``fa_deg``/``phase_deg``, ms for ``tr_ms``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def lobes(
    n: int, peaks_deg: list[float], lobe_length: int = 200, gap: int = 10, floor_deg: float = 5.0
) -> np.ndarray:
    """Half-sine flip-angle lobes (Jiang et al. 2015, doi:10.1002/mrm.25559).

    Each lobe spans ``lobe_length`` TRs: ``floor + (peak - floor) * sin(pi * i / lobe_length)``;
    its last ``gap`` TRs are 0° when another lobe follows. Returns degrees, shape ``(n,)``.
    """
    out = np.zeros(n)
    i = np.arange(lobe_length)
    for j, peak in enumerate(peaks_deg):
        lobe = floor_deg + (peak - floor_deg) * np.sin(np.pi * i / lobe_length)
        if j < len(peaks_deg) - 1 and gap > 0:
            lobe[lobe_length - gap :] = 0.0
        start = j * lobe_length
        if start >= n:
            break
        stop = min(n, start + lobe_length)
        out[start:stop] = lobe[: stop - start]
    return out


def ma2013(
    n: int, seed: int = 0, block: int = 250, gap: int = 10, noise_deg: float = 5.0
) -> np.ndarray:
    """bSSFP flip-angle train in the style of Ma et al. 2013 (doi:10.1038/nature11971).

    Blocks of ``block`` TRs with ``10 + 50 sin(2 pi i / (2 block))`` degrees plus Gaussian
    jitter, the last ``gap`` TRs of each block at 0°, every other block halved.
    """
    rng = np.random.default_rng(seed)
    i = np.arange(n) % block
    fa = 10.0 + 50.0 * np.sin(2 * np.pi * i / (2 * block)) + noise_deg * rng.standard_normal(n)
    fa[(np.arange(n) // block) % 2 == 1] *= 0.5
    fa[i >= block - gap] = 0.0
    return np.clip(fa, 0.0, 180.0)


def smooth_random(
    n: int,
    min: float,
    max: float,
    seed: int = 0,  # noqa: A002
    n_knots: int | None = None,
) -> np.ndarray:
    """Smooth pseudo-random values in [min, max] (Perlin-like: cosine-interpolated knots)."""
    rng = np.random.default_rng(seed)
    n_knots = n_knots or max_knots(n)
    knots = rng.uniform(0.0, 1.0, n_knots)
    x = np.linspace(0, n_knots - 1, n)
    i0 = np.clip(np.floor(x).astype(int), 0, n_knots - 2) if n_knots > 1 else np.zeros(n, int)
    t = x - i0
    w = (1 - np.cos(np.pi * t)) / 2
    vals = knots[i0] * (1 - w) + knots[np.minimum(i0 + 1, n_knots - 1)] * w
    lo, hi = vals.min(), vals.max()
    vals = (vals - lo) / (hi - lo) if hi > lo else np.full(n, 0.5)
    return min + (max - min) * vals


def max_knots(n: int) -> int:
    return int(np.clip(n // 25, 2, 200))


def alternating(n: int, values: list[float]) -> np.ndarray:
    """Cycle through ``values`` (e.g. RF phase 0, 180 for bSSFP)."""
    return np.resize(np.asarray(values, dtype=np.float64), n)


GENERATORS: dict[str, Callable[..., np.ndarray]] = {
    "lobes": lobes,
    "ma2013": ma2013,
    "smooth_random": smooth_random,
    "alternating": alternating,
}

