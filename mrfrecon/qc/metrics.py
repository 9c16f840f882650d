"""Map summaries, range-limit fractions and warnings; ground-truth maps for the error metrics.

The error metrics themselves are :func:`mrfrecon.metrics.error_metrics` (one vocabulary for
``maps``, ``evaluate``, ``retrain`` and ``demo``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LOW_QUALITY = 0.9  # median normalised inner product below this: warn
QUALITY_DEFICIT = 0.05  # median (expected - observed) quality above this: sequence mismatch hint
RANGE_LIMIT_WARN = 0.05  # fraction of voxels at the network's range limits

#: The reference work's float vs quantized network results (T1, T2; MAPE/MPE in %, RMSE in ms),
#: in the keys of :func:`mrfrecon.metrics.error_metrics`.
REFERENCE_TABLE: dict[str, dict[str, dict[str, float]]] = {
    "float": {"t1": {"mape": 2.15, "mpe": -0.66, "rmse_ms": 75.0},
              "t2": {"mape": 8.89, "mpe": 0.02, "rmse_ms": 145.0}},
    "quantized": {"t1": {"mape": 2.36, "mpe": 0.12, "rmse_ms": 78.0},
                  "t2": {"mape": 11.1, "mpe": -3.12, "rmse_ms": 148.0}},
}


@dataclass(frozen=True)
class Stats:
    """Median and quartiles of a map inside the mask (the map's unit); ``None`` if empty."""

    median: float | None = None
    q1: float | None = None
    q3: float | None = None

    @property
    def iqr(self) -> float | None:
        return None if self.q1 is None or self.q3 is None else self.q3 - self.q1

    @classmethod
    def of(cls, values: np.ndarray) -> Stats:
        if values.size == 0:
            return cls()
        q1, med, q3 = np.percentile(np.asarray(values, np.float64), [25, 50, 75])
        return cls(float(med), float(q1), float(q3))

    def to_dict(self) -> dict[str, float | None]:
        return {"median": self.median, "q1": self.q1, "q3": self.q3, "iqr": self.iqr}


@dataclass
class MapSummary:
    """What a reconstruction found inside its mask.

    t1_ms, t2_ms, t1_sd_ms, t2_sd_ms: ms; m0: |M0| in data units; quality: unitless.
    noise_sigma: per-channel noise SD in data units (``None`` if not estimated).
    range_ms: the estimator's (lo, hi) per parameter; fraction_at_range_limits: per parameter.
    """

    method: str
    n_voxels: int
    t1_ms: Stats
    t2_ms: Stats
    m0: Stats
    quality: Stats
    noise_sigma: float | None
    noise_method: str
    range_ms: dict[str, tuple[float, float]]
    fraction_at_range_limits: dict[str, float]
    t1_sd_ms: Stats | None = None
    t2_sd_ms: Stats | None = None
    t1_relative_sd_median: float | None = None
    warnings: list[str] = field(default_factory=list)
    df_hz: Stats | None = None  # off-resonance (Hz), when estimated
    df_sd_hz: Stats | None = None
    input_representation: str = "complex"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the sqrt(CRB) entries only when the uncertainty maps exist."""
        out: dict[str, Any] = {
            "method": str(self.method),
            "input_representation": self.input_representation, "n_voxels": self.n_voxels,
            **{k: getattr(self, k).to_dict() for k in ("t1_ms", "t2_ms", "m0", "quality")},
            "noise_sigma": self.noise_sigma, "noise_method": self.noise_method,
            "range_ms": {k: list(v) for k, v in self.range_ms.items()},
            "fraction_at_range_limits": dict(self.fraction_at_range_limits),
        }
        if self.t1_sd_ms is not None and self.t2_sd_ms is not None:
            out["t1_sd_ms"] = self.t1_sd_ms.to_dict()
            out["t2_sd_ms"] = self.t2_sd_ms.to_dict()
            out["t1_relative_sd_median"] = self.t1_relative_sd_median
        for name in ("df_hz", "df_sd_hz"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name).to_dict()
        out["warnings"] = list(self.warnings)
        return out


def summarize(result: Any) -> MapSummary:
    """Summary of a :class:`~mrfrecon.recon.core.ReconResult` inside its mask, with warnings.

    Voxel count, median/IQR of T1 and T2 (ms), M0, quality and the sqrt(CRB) maps, the fraction
    of voxels at the estimator's range limits, the noise estimate and warnings (low quality,
    sequence mismatch hints, range limits).
    """
    maps = result.maps
    mask = maps.mask.astype(bool)
    summary = MapSummary(
        method=str(result.method),
        n_voxels=int(mask.sum()),
        t1_ms=Stats.of(maps.t1_ms[mask]),
        t2_ms=Stats.of(maps.t2_ms[mask]),
        m0=Stats.of(np.abs(maps.m0[mask])),
        quality=Stats.of(maps.quality[mask]),
        noise_sigma=None if not np.isfinite(result.noise_sigma) else result.noise_sigma,
        noise_method=result.noise_method,
        range_ms=dict(result.range_ms),
        fraction_at_range_limits=dict(result.at_range_limit),
        input_representation=str(result.representation),
    )
    if maps.t1_sd_ms is not None:
        summary.t1_sd_ms = Stats.of(maps.t1_sd_ms[mask])
        summary.t2_sd_ms = Stats.of(maps.t2_sd_ms[mask])
        rel = maps.t1_sd_ms[mask] / np.maximum(maps.t1_ms[mask], 1e-9)
        summary.t1_relative_sd_median = float(np.median(rel)) if rel.size else None
    for name in ("df_hz", "df_sd_hz"):
        if getattr(maps, name, None) is not None:
            setattr(summary, name, Stats.of(getattr(maps, name)[mask]))
    warnings = summary.warnings
    warnings.extend(result.warnings)
    if summary.n_voxels == 0:
        warnings.append("the mask is empty: nothing was fitted")
    quality = summary.quality.median
    if quality is not None and quality < LOW_QUALITY:
        warnings.append(f"low fit quality (median {quality:.3f} < {LOW_QUALITY}): noisy data, "
                        "or data not acquired with the model's sequence")
    deficit = getattr(result, "quality_deficit", None)
    if deficit is not None and deficit > QUALITY_DEFICIT:
        warnings.append(f"the fit quality is {deficit:.3f} below what the noise level explains: "
                        "the data may not come from the model's sequence (check time points, "
                        "flip angles, TR, inversion)")
    for name, fraction in result.at_range_limit.items():
        if fraction > RANGE_LIMIT_WARN:
            lo, hi = result.range_ms[name]
            warnings.append(f"{100 * fraction:.1f}% of voxels have {name.upper()} at the "
                            f"estimator's range limits ({lo:g}-{hi:g} ms): tissue outside the "
                            "trained range or a sequence mismatch")
    return summary


def read_truth_map(path: str | Path, shape: tuple[int, ...]) -> np.ndarray:
    """A ground-truth T1 or T2 map (NIfTI, 3-D) in ms.

    The unit comes from a BIDS sidecar next to it (``Units``: ``s`` or ``ms``); without one,
    values whose median over positive voxels is below 20 are taken as seconds.
    """
    from ..io.bids import sidecar_path
    from ..io.nifti import read_volume  # nibabel only when truth maps are given

    path = Path(path)
    values = read_volume(path, shape, label="truth map")
    unit = None
    side = sidecar_path(path)
    if side.is_file():
        try:
            unit = json.loads(side.read_text()).get("Units")
        except (OSError, ValueError):
            unit = None
    if unit not in ("s", "ms"):
        positive = values[values > 0]
        unit = "s" if positive.size and np.median(positive) < 20 else "ms"
    return values * 1000.0 if unit == "s" else values
