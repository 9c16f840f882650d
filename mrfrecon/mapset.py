"""The maps of one acquisition as a domain object (written by :mod:`mrfrecon.io.maps`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import MrfreconError


@dataclass
class MapSet:
    """Quantitative maps of one acquisition; every array has shape ``(nx, ny, nz)``.

    Attributes
    ----------
    t1_ms, t2_ms
        Relaxation times in ms (float).
    m0
        Proton density / scaling, arbitrary units; complex or real (magnitude).
    quality
        Fit quality, unitless (e.g. normalised inner product of the matched fingerprint).
    mask
        True where a voxel was fitted.
    t1_sd_ms, t2_sd_ms
        Standard deviations (e.g. from the Cramer-Rao bound) in ms.
    df_hz, df_sd_hz
        Off-resonance and its standard deviation in Hz, when estimated (bSSFP).
    """

    t1_ms: np.ndarray
    t2_ms: np.ndarray
    m0: np.ndarray
    quality: np.ndarray | None = None
    mask: np.ndarray | None = None
    t1_sd_ms: np.ndarray | None = None
    t2_sd_ms: np.ndarray | None = None
    df_hz: np.ndarray | None = None
    df_sd_hz: np.ndarray | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """The maps that are set, by field name."""
        names = ("t1_ms", "t2_ms", "m0", "quality", "mask", "t1_sd_ms", "t2_sd_ms", "df_hz",
                 "df_sd_hz")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def check_shape(self, shape: tuple[int, int, int]) -> None:
        """Raise :class:`MrfreconError` if a map is not of spatial ``shape``."""
        for name, values in self.arrays().items():
            if values.shape != shape:
                raise MrfreconError(f"map {name} has shape {values.shape}, the acquisition {shape}")
