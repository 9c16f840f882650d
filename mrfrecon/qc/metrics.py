"""Map summaries, range-limit fractions, warnings and errors against ground truth.

Error metrics follow the reference work (Ricchi et al., arXiv:2506.22156; Barbieri et al.,
Physica Medica 2021;89:80, doi:10.1016/j.ejmp.2021.07.013), over the voxels of the mask where
the truth is > 0: ``MAPE = 100 mean(|e - t| / t)`` (%), ``MPE = 100 mean((e - t) / t)`` (%),
``RMSE = sqrt(mean((e - t)^2))`` (ms).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import error_table

LOW_QUALITY = 0.9  # median normalised inner product below this: warn
QUALITY_DEFICIT = 0.05  # median (expected - observed) quality above this: sequence mismatch hint
RANGE_LIMIT_WARN = 0.05  # fraction of voxels at the network's range limits

#: The reference work's float vs quantised network results (T1, T2; MAPE/MPE in %, RMSE in ms).
REFERENCE_TABLE: dict[str, dict[str, dict[str, float]]] = {
    "float": {"t1": {"mape_pct": 2.15, "mpe_pct": -0.66, "rmse_ms": 75.0},
              "t2": {"mape_pct": 8.89, "mpe_pct": 0.02, "rmse_ms": 145.0}},
    "quantised": {"t1": {"mape_pct": 2.36, "mpe_pct": 0.12, "rmse_ms": 78.0},
                  "t2": {"mape_pct": 11.1, "mpe_pct": -3.12, "rmse_ms": 148.0}},
}


def _stats(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return {"median": None, "q1": None, "q3": None, "iqr": None}
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1)}


def summarize(result: Any) -> dict[str, Any]:
    """Summary of a :class:`~mrfrecon.recon.core.ReconResult` inside its mask, with warnings.

    Returns a JSON-ready dict: voxel count, median/IQR of T1 and T2 (ms), M0, quality and the
    sqrt(CRB) maps, the fraction of voxels at the estimator's range limits, the noise estimate
    and a list of warnings (low quality, sequence mismatch hints, range limits).
    """
    maps = result.maps
    mask = maps.mask.astype(bool)
    summary: dict[str, Any] = {
        "method": result.method,
        "n_voxels": int(mask.sum()),
        "t1_ms": _stats(maps.t1_ms[mask]),
        "t2_ms": _stats(maps.t2_ms[mask]),
        "m0": _stats(np.abs(maps.m0[mask])),
        "quality": _stats(maps.quality[mask].astype(np.float64)),
        "noise_sigma": None if not np.isfinite(result.noise_sigma) else result.noise_sigma,
        "noise_method": result.noise_method,
        "range_ms": {k: list(v) for k, v in result.range_ms.items()},
        "fraction_at_range_limits": dict(result.at_range_limit),
    }
    if maps.t1_sd_ms is not None:
        summary["t1_sd_ms"] = _stats(maps.t1_sd_ms[mask])
        summary["t2_sd_ms"] = _stats(maps.t2_sd_ms[mask])
        rel = maps.t1_sd_ms[mask] / np.maximum(maps.t1_ms[mask], 1e-9)
        summary["t1_relative_sd_median"] = float(np.median(rel)) if rel.size else None
    warnings = list(result.warnings)
    if summary["n_voxels"] == 0:
        warnings.append("the mask is empty: nothing was fitted")
    quality = summary["quality"]["median"]
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
    summary["warnings"] = warnings
    return summary


def error_metrics(estimate_ms: np.ndarray, truth_ms: np.ndarray,
                  mask: np.ndarray | None = None) -> dict[str, float | int]:
    """MAPE and MPE (%) and RMSE (ms) of ``estimate_ms`` against ``truth_ms`` (same shape).

    Voxels: inside ``mask`` (if given) where the truth is finite and > 0.
    """
    estimate = np.asarray(estimate_ms, np.float64)
    truth = np.asarray(truth_ms, np.float64)
    keep = np.isfinite(truth) & (truth > 0) & np.isfinite(estimate)
    if mask is not None:
        keep &= np.asarray(mask, bool)
    e, t = estimate[keep], truth[keep]
    if e.size == 0:
        return {"n": 0, "mape_pct": float("nan"), "mpe_pct": float("nan"),
                "rmse_ms": float("nan")}
    mape, mpe, rmse = error_table(e, t)
    return {"n": int(e.size), "mape_pct": mape, "mpe_pct": mpe, "rmse_ms": rmse}


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
