"""Error measures of the reference work's table: MAPE and MPE in %, RMSE in the input's unit."""

from __future__ import annotations

import numpy as np


def error_table(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """``(MAPE %, MPE %, RMSE)`` of ``estimate`` against ``truth`` (same shape, truth > 0)."""
    e = np.asarray(estimate, np.float64)
    t = np.asarray(truth, np.float64)
    rel = (e - t) / t
    return (float(100 * np.mean(np.abs(rel))), float(100 * np.mean(rel)),
            float(np.sqrt(np.mean((e - t) ** 2))))
