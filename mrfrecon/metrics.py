"""Error metrics against ground truth: one function, one vocabulary for every command.

Following the reference work (Ricchi et al., arXiv:2506.22156; Barbieri et al., Physica Medica
2021;89:80, doi:10.1016/j.ejmp.2021.07.013), over the points where the truth is finite and > 0:
``mape = 100 mean(|e - t| / t)`` (%), ``mpe = 100 mean((e - t) / t)`` (%),
``rmse_ms = sqrt(mean((e - t)^2))`` (ms) and, where the Cramer-Rao bound is known,
``rmse_over_crb = rmse_ms / sqrt(mean(CRB))`` (unitless; 1 is an efficient unbiased estimator).

JSON keys, per parameter (``t1``, ``t2``): ``n``, ``mape``, ``mpe``, ``rmse_ms``,
``rmse_over_crb`` (``null`` without a bound).
"""

from __future__ import annotations

import numpy as np

METRIC_KEYS = ("n", "mape", "mpe", "rmse_ms", "rmse_over_crb")


def error_metrics(
    estimate_ms: np.ndarray,
    truth_ms: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    crb_sd_ms: np.ndarray | None = None,
) -> dict[str, float | int | None]:
    """MAPE and MPE (%), RMSE (ms) and RMSE / sqrt(mean CRB) of an estimate against the truth.

    Parameters
    ----------
    estimate_ms, truth_ms
        T1 or T2 in ms, the same shape (any).
    mask
        bool, same shape: the points to use (default all); points whose truth is not finite
        and > 0, or whose estimate is not finite, are left out in any case.
    crb_sd_ms
        sqrt(CRB) per point in ms, same shape; without it ``rmse_over_crb`` is ``None``.

    Returns
    -------
    dict
        ``{n, mape, mpe, rmse_ms, rmse_over_crb}``; NaN metrics when no point is left.
    """
    estimate = np.asarray(estimate_ms, np.float64)
    truth = np.asarray(truth_ms, np.float64)
    keep = np.isfinite(truth) & (truth > 0) & np.isfinite(estimate)
    if mask is not None:
        keep &= np.asarray(mask, bool)
    e, t = estimate[keep], truth[keep]
    if e.size == 0:
        nan = float("nan")
        return {"n": 0, "mape": nan, "mpe": nan, "rmse_ms": nan,
                "rmse_over_crb": None if crb_sd_ms is None else nan}
    rel = (e - t) / t
    rmse = float(np.sqrt(np.mean((e - t) ** 2)))
    ratio = _over_crb(rmse, crb_sd_ms, keep)
    return {"n": int(e.size), "mape": float(100 * np.mean(np.abs(rel))),
            "mpe": float(100 * np.mean(rel)), "rmse_ms": rmse, "rmse_over_crb": ratio}


OFFSET_METRIC_KEYS = ("n", "mae", "bias", "rmse", "rmse_over_crb")


def offset_error_metrics(
    estimate: np.ndarray,
    truth: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    crb_sd: np.ndarray | None = None,
) -> dict[str, float | int | None]:
    """Absolute errors of a parameter that is centred near 0 (off-resonance ``df_hz``, Hz).

    Relative errors mean nothing there, so: ``mae = mean(|e - t|)``, ``bias = mean(e - t)``,
    ``rmse = sqrt(mean((e - t)^2))`` in the parameter's unit, ``rmse_over_crb`` as in
    :func:`error_metrics`. Points where the truth or the estimate is not finite are left out.
    JSON keys: ``n``, ``mae``, ``bias``, ``rmse``, ``rmse_over_crb``.
    """
    estimate = np.asarray(estimate, np.float64)
    truth = np.asarray(truth, np.float64)
    keep = np.isfinite(truth) & np.isfinite(estimate)
    if mask is not None:
        keep &= np.asarray(mask, bool)
    err = estimate[keep] - truth[keep]
    if err.size == 0:
        nan = float("nan")
        return {"n": 0, "mae": nan, "bias": nan, "rmse": nan,
                "rmse_over_crb": None if crb_sd is None else nan}
    rmse = float(np.sqrt(np.mean(err**2)))
    ratio = _over_crb(rmse, crb_sd, keep)
    return {"n": int(err.size), "mae": float(np.mean(np.abs(err))),
            "bias": float(np.mean(err)), "rmse": rmse, "rmse_over_crb": ratio}


def _over_crb(rmse: float, crb_sd: np.ndarray | None, keep: np.ndarray) -> float | None:
    """``rmse / sqrt(mean(CRB))`` over the kept points (None without a bound)."""
    if crb_sd is None:
        return None
    bound = float(np.sqrt(np.mean(np.asarray(crb_sd, np.float64)[keep] ** 2)))
    return rmse / bound if bound > 0 else float("nan")
