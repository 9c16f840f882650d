"""What a network estimates besides T1/T2 and what it takes besides the fingerprint.

One small descriptor, derived from the sequence when a model is trained and stored in the model
file, threads the nuisance parameters through training, inference, the CRB and the maps:

- ``df_range_hz`` set: the networks also output the off-resonance ``df_hz`` (Hz), scaled
  linearly to [0, 1] over the range. The bSSFP fingerprint is (nearly) periodic in ``df`` with
  period ``1 / TR``; the trained range is the sequence's ``df_hz`` range restricted to one period
  of the mean TR centred on 0 (:func:`trained_df_range_hz`), so an off-resonance outside it is
  aliased into it (the estimate is ``df`` modulo about ``1 / TR``).
- ``b1_range`` set: the networks take the measured B1 (flip-angle scale, unitless, 1 =
  nominal) as one extra input after the ``2K`` fingerprint features, scaled linearly to [-1, 1]
  over the range; matching uses the dictionary's B1 slice nearest the measured B1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .sequence import Sequence

T1T2_OUTPUTS = ("t1_ms", "t2_ms")


def trained_df_range_hz(sequence: Sequence) -> tuple[float, float] | None:
    """The sequence's off-resonance range (Hz) within one period ``1 / mean TR`` around 0.

    ``None`` when the sequence declares no ``df_hz`` range or the fingerprint does not depend
    on off-resonance (FISP: the unbalanced gradient averages it out).
    """
    if sequence.df_range_hz is None or sequence.kind != "bssfp":
        return None
    half_period_hz = 0.5e3 / float(np.mean(sequence.tr_ms))
    lo = max(sequence.df_range_hz.min, -half_period_hz)
    hi = min(sequence.df_range_hz.max, half_period_hz)
    return None if hi <= lo else (float(lo), float(hi))


@dataclass(frozen=True)
class NetworkParameters:
    """The network's extra outputs and inputs.

    df_range_hz: (min, max) off-resonance in Hz the network estimates, or ``None``.
    b1_range: (min, max) B1 scale the network takes as an input, or ``None``.
    """

    df_range_hz: tuple[float, float] | None = None
    b1_range: tuple[float, float] | None = None

    @classmethod
    def from_sequence(cls, sequence: Sequence) -> NetworkParameters:
        b1 = sequence.b1_range
        return cls(trained_df_range_hz(sequence),
                   None if b1 is None or b1.max <= b1.min else (b1.min, b1.max))

    @property
    def estimates_df(self) -> bool:
        return self.df_range_hz is not None

    @property
    def takes_b1(self) -> bool:
        return self.b1_range is not None

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the network outputs, in order."""
        return T1T2_OUTPUTS + (("df_hz",) if self.estimates_df else ())

    @property
    def extra_inputs(self) -> tuple[str, ...]:
        """Names of the inputs after the fingerprint features, in order."""
        return ("b1",) if self.takes_b1 else ()

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def n_extra_inputs(self) -> int:
        return len(self.extra_inputs)

    def encode_df(self, df_hz: np.ndarray) -> np.ndarray:
        """Off-resonance (Hz, ``(n,)``) -> target in [0, 1] over ``df_range_hz``."""
        lo, hi = self.df_range_hz  # type: ignore[misc]
        return ((np.asarray(df_hz, np.float64) - lo) / (hi - lo)).astype(np.float32)

    def decode_df(self, y: np.ndarray) -> np.ndarray:
        """Network outputs ``(n, n_outputs)`` -> off-resonance in Hz (clipped to the range)."""
        lo, hi = self.df_range_hz  # type: ignore[misc]
        return lo + np.clip(np.asarray(y, np.float64)[:, 2], 0.0, 1.0) * (hi - lo)

    def extra_features(self, n: int, b1: np.ndarray | float | None = None) -> np.ndarray:
        """The extra inputs ``(n, n_extra_inputs)`` float32 (B1 scaled to [-1, 1]; default 1)."""
        if not self.takes_b1:
            return np.zeros((n, 0), np.float32)
        lo, hi = self.b1_range  # type: ignore[misc]
        b1 = np.broadcast_to(np.asarray(1.0 if b1 is None else b1, np.float64), (n,))
        return ((2 * b1 - (lo + hi)) / (hi - lo)).astype(np.float32)[:, None]

    def with_extra(self, x: np.ndarray, b1: np.ndarray | float | None = None) -> np.ndarray:
        """Fingerprint features ``(n, 2K)`` -> network inputs ``(n, 2K + n_extra_inputs)``."""
        x = np.asarray(x, np.float32)
        if not self.takes_b1:
            return x
        return np.concatenate([x, self.extra_features(x.shape[0], b1)], axis=1)

    def to_datasets(self) -> dict[str, np.ndarray]:
        """The model-file datasets (``parameters/...``) of the descriptor."""
        out = {}
        if self.df_range_hz is not None:
            out["parameters/df_range_hz"] = np.asarray(self.df_range_hz, np.float64)
        if self.b1_range is not None:
            out["parameters/b1_range"] = np.asarray(self.b1_range, np.float64)
        return out

    @classmethod
    def from_datasets(cls, d: dict[str, np.ndarray]) -> NetworkParameters:
        """Inverse of :meth:`to_datasets` (files without them: T1/T2 only)."""

        def pair(name: str) -> tuple[float, float] | None:
            return tuple(map(float, d[name].tolist())) if name in d else None  # type: ignore

        return cls(pair("parameters/df_range_hz"), pair("parameters/b1_range"))
