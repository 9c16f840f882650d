"""Tissue parameters shared by every signal model, so each model can check the other."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tissue:
    """Per-atom tissue parameters, each of shape ``(n_atoms,)``.

    t1_ms, t2_ms: relaxation times, ms.  b1: flip-angle scale (1 = nominal).
    df_hz: off-resonance, Hz.
    """

    t1_ms: np.ndarray
    t2_ms: np.ndarray
    b1: np.ndarray
    df_hz: np.ndarray

    @classmethod
    def make(cls, t1_ms, t2_ms, b1=1.0, df_hz=0.0) -> Tissue:
        """Broadcast the parameters to a common ``(n_atoms,)`` shape (float64)."""
        arrays = np.broadcast_arrays(
            *(np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (t1_ms, t2_ms, b1, df_hz))
        )
        t1, t2, b1_, df = (np.ascontiguousarray(a.ravel()) for a in arrays)
        if (
            np.any(~np.isfinite(t1))
            or np.any(t1 <= 0)
            or np.any(~np.isfinite(t2))
            or np.any(t2 <= 0)
        ):
            raise ValueError("t1_ms and t2_ms must be finite and > 0")
        return cls(t1, t2, b1_, df)

    @property
    def n_atoms(self) -> int:
        return int(self.t1_ms.shape[0])

    def __getitem__(self, index) -> Tissue:
        return Tissue(self.t1_ms[index], self.t2_ms[index], self.b1[index], self.df_hz[index])
