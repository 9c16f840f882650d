"""The resolved MRF schedule (:class:`Sequence`) and its parts: inversion, slice profile."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .ranges import ParameterRange
from .validation import validate

DEFAULT_T1_GRID_MS = "100:2000:20,2300:5000:300"
DEFAULT_T2_GRID_MS = "10:100:5,110:200:10,300:1900:200"


@dataclass(frozen=True)
class Inversion:
    """Inversion preparation before the first excitation.

    ti_ms: time from the inversion pulse to the first excitation, ms.
    efficiency: ``Mz -> -efficiency * Mz`` (1 = perfect inversion, 0 = none); transverse
        magnetisation is spoiled.
    """

    ti_ms: float
    efficiency: float = 1.0


@dataclass(frozen=True)
class SliceProfile:
    """Sub-slice flip-angle scalings and their weights (weights sum to 1), shape ``(n_sub,)``."""

    scales: np.ndarray
    weights: np.ndarray


@dataclass(frozen=True, eq=False)
class Sequence:
    """One resolved MRF schedule; per-TR arrays have shape ``(n_timepoints,)``.

    fa_deg: nominal flip angle per TR, degrees, in [0, 180].
    phase_deg: RF phase per TR, degrees (the receiver follows the RF phase).
    tr_ms: repetition time per TR, ms.  te_ms: echo time per TR, ms (< tr_ms).
    """

    kind: str
    fa_deg: np.ndarray
    tr_ms: np.ndarray
    te_ms: np.ndarray
    phase_deg: np.ndarray
    inversion: Inversion | None = None
    name: str = "sequence"
    description: str = ""
    citation: str = ""
    t1_grid_ms: str = DEFAULT_T1_GRID_MS  # ranges in the written "START:STOP:STEP,..." form
    t2_grid_ms: str = DEFAULT_T2_GRID_MS
    b1_range: ParameterRange | None = None
    df_range_hz: ParameterRange | None = None
    slice_profile: SliceProfile | None = None
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("fa_deg", "tr_ms", "te_ms", "phase_deg"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        validate(self)

    @property
    def n_timepoints(self) -> int:
        return int(self.fa_deg.shape[0])

    @property
    def is_real_valued(self) -> bool:
        """True when every RF phase is a multiple of 180°: the EPG states stay real."""
        return bool(
            np.all(
                np.isclose(np.mod(self.phase_deg, 180.0), 0.0)
                | np.isclose(np.mod(self.phase_deg, 180.0), 180.0)
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """The resolved schedule as plain JSON types (the ``sequence show --json`` shape)."""
        return {
            "kind": self.kind,
            "fa_deg": self.fa_deg.tolist(),
            "tr_ms": self.tr_ms.tolist(),
            "te_ms": self.te_ms.tolist(),
            "phase_deg": self.phase_deg.tolist(),
            "inversion": None
            if self.inversion is None
            else {"ti_ms": self.inversion.ti_ms, "efficiency": self.inversion.efficiency},
            "n_timepoints": self.n_timepoints,
            "sha256": self.sha256,
        }

    def to_full_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this sequence (stored inside model files)."""
        out = self.to_dict()
        out.update(
            name=self.name,
            description=self.description,
            citation=self.citation,
            dictionary={"t1_ms": self.t1_grid_ms, "t2_ms": self.t2_grid_ms},
        )
        if self.b1_range is not None:
            out["b1"] = self.b1_range.text
        if self.df_range_hz is not None:
            out["df_hz"] = self.df_range_hz.text
        if self.slice_profile is not None:
            out["slice_profile"] = {
                "scales": self.slice_profile.scales.tolist(),
                "weights": self.slice_profile.weights.tolist(),
            }
        return out

    @property
    def sha256(self) -> str:
        """Identifies the resolved schedule (kind, per-TR arrays, inversion, slice profile)."""
        payload: dict[str, object] = {
            "kind": self.kind,
            "fa_deg": [float(v) for v in self.fa_deg],
            "tr_ms": [float(v) for v in self.tr_ms],
            "te_ms": [float(v) for v in self.te_ms],
            "phase_deg": [float(v) for v in self.phase_deg],
            "inversion": None
            if self.inversion is None
            else [float(self.inversion.ti_ms), float(self.inversion.efficiency)],
        }
        if self.slice_profile is not None:
            payload["slice_profile"] = [
                [float(v) for v in self.slice_profile.scales],
                [float(v) for v in self.slice_profile.weights],
            ]
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def with_timepoints(self, n: int) -> Sequence:
        """The first ``n`` TRs of this schedule (for quick tests)."""
        return replace(
            self,
            fa_deg=self.fa_deg[:n],
            tr_ms=self.tr_ms[:n],
            te_ms=self.te_ms[:n],
            phase_deg=self.phase_deg[:n],
        )


def slice_profile_from_tbw(time_bandwidth: float, n_sub: int = 16) -> SliceProfile:
    """Flip-angle scalings across the slice for a Hamming-windowed sinc pulse.

    Small-tip approximation: the excitation profile is the Fourier transform of the RF
    envelope. Sampled at ``n_sub`` positions across twice the nominal slice thickness
    (symmetric, so only one half is kept with doubled weights).
    """
    n_rf = 512
    t = np.linspace(-0.5, 0.5, n_rf)
    envelope = np.sinc(time_bandwidth * t) * (0.54 + 0.46 * np.cos(2 * np.pi * t))
    z = np.linspace(0, 1.0, n_sub)  # position in units of the slice thickness (0 = centre)
    freqs = z * time_bandwidth  # cycles over the pulse
    profile = np.abs(np.exp(-2j * np.pi * np.outer(freqs, t)) @ envelope)
    scales = profile / profile[0]
    weights = np.full(n_sub, 2.0)
    weights[0] = 1.0
    keep = scales > 1e-3
    scales, weights = scales[keep], weights[keep]
    return SliceProfile(scales=scales, weights=weights / weights.sum())

