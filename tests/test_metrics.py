"""One error-metrics function and one vocabulary (mrfrecon.metrics)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mrfrecon.metrics import METRIC_KEYS, error_metrics


def test_values_by_hand():
    truth = np.array([100.0, 200.0, 400.0, 0.0, np.nan])
    estimate = np.array([110.0, 180.0, 400.0, 50.0, 10.0])  # the last two have no usable truth
    m = error_metrics(estimate, truth)
    assert tuple(m) == METRIC_KEYS and m["n"] == 3
    assert_allclose(m["mape"], 100 * (0.1 + 0.1 + 0.0) / 3)
    assert_allclose(m["mpe"], 100 * (0.1 - 0.1 + 0.0) / 3, atol=1e-12)
    assert_allclose(m["rmse_ms"], np.sqrt((10.0**2 + 20.0**2) / 3))
    assert m["rmse_over_crb"] is None


def test_mask_and_crb_ratio():
    truth = np.full((4, 4), 1000.0)
    estimate = truth + np.where(np.arange(16).reshape(4, 4) % 2, 30.0, -30.0)
    mask = np.zeros((4, 4), bool)
    mask[:2] = True
    crb = np.full((4, 4), 15.0)
    crb[2:] = 1e9  # outside the mask: must not count
    m = error_metrics(estimate, truth, mask=mask, crb_sd_ms=crb)
    assert m["n"] == 8
    assert_allclose(m["rmse_ms"], 30.0)
    assert_allclose(m["rmse_over_crb"], 2.0)


@pytest.mark.parametrize("crb", [None, np.ones(3)], ids=["no-crb", "crb"])
def test_nothing_to_compare_gives_nan_not_an_error(crb):
    m = error_metrics(np.ones(3), np.zeros(3), crb_sd_ms=crb)
    assert m["n"] == 0 and np.isnan(m["mape"]) and np.isnan(m["rmse_ms"])
    assert (m["rmse_over_crb"] is None) == (crb is None)
