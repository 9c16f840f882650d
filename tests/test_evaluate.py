"""evaluate: the test set, the metrics against a hand-computed case, the JSON and the figure;
the magnitude-only path against the complex one on the same noisy test set."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mrfrecon import evaluate as evaluate_module
from mrfrecon.evaluate import (
    T1_TEST_MS,
    T2_TEST_MS,
    Evaluation,
    evaluate,
    make_test_set,
    plot_errors,
)
from mrfrecon.method import Method
from mrfrecon.metrics import METRIC_KEYS
from mrfrecon.physics import Tissue, simulate_fingerprints
from mrfrecon.sequence import Sequence

TRUTH_T1_MS = np.array([100.0, 200.0, 400.0, 800.0])
TRUTH_T2_MS = np.array([10.0, 20.0, 40.0, 80.0])


class _Model:
    """What evaluate uses of an MrfModel; its networks answer fixed estimates (ms)."""

    def __init__(self, sequence, answers):
        from mrfrecon.parameters import NetworkParameters

        self.sequence = sequence
        self.answers = answers
        self.parameters = NetworkParameters()  # T1/T2 only

    def features(self, signals):
        return signals

    def for_representation(self, representation):
        assert representation == "complex"
        return self

    def estimate_features(self, x, method, b1=None):
        from mrfrecon.model import Estimates

        assert x.shape[0] == TRUTH_T1_MS.size and b1 is None
        return Estimates(*self.answers[method])


@pytest.fixture
def hand_case(monkeypatch, short_fisp):
    """A 4-point test set whose errors are worked out by hand below."""
    # (through the module: pytest would try to collect a class named Test* imported here)
    test = evaluate_module.TestSet(Tissue.make(TRUTH_T1_MS, TRUTH_T2_MS),
                   np.zeros((4, short_fisp.n_timepoints), np.complex64),
                   crb_t1_ms=np.full(4, 5.0), crb_t2_ms=np.full(4, 2.0))
    monkeypatch.setattr(evaluate_module, "make_test_set", lambda *args, **kwargs: test)
    answers = {
        Method.FLOAT: (np.array([110.0, 180.0, 400.0, 800.0]), 1.5 * TRUTH_T2_MS),
        Method.QUANTIZED: (TRUTH_T1_MS.copy(), TRUTH_T2_MS.copy()),
    }
    return _Model(short_fisp, answers)


def test_metrics_of_a_hand_computed_case(hand_case):
    result = evaluate(hand_case, noise=0.01, n=4, methods=(Method.QUANTIZED, Method.FLOAT))
    t1, t2 = result.metrics[Method.FLOAT]["t1"], result.metrics[Method.FLOAT]["t2"]
    # T1 errors +10 %, -10 %, 0, 0; differences 10, -20, 0, 0 ms; sqrt(CRB) 5 ms everywhere
    assert t1["n"] == 4
    assert_allclose([t1["mape"], t1["mpe"]], [5.0, 0.0], atol=1e-12)
    assert_allclose(t1["rmse_ms"], np.sqrt(125.0), rtol=1e-12)
    assert_allclose(t1["rmse_over_crb"], np.sqrt(125.0) / 5.0, rtol=1e-12)
    # T2 +50 % everywhere: RMSE = 0.5 sqrt(mean T2^2) = 0.5 sqrt(2125) ms
    assert_allclose([t2["mape"], t2["mpe"]], [50.0, 50.0], rtol=1e-12)
    assert_allclose(t2["rmse_ms"], 0.5 * np.sqrt(2125.0), rtol=1e-12)
    assert_allclose(t2["rmse_over_crb"], 0.5 * np.sqrt(2125.0) / 2.0, rtol=1e-12)
    exact = result.metrics[Method.QUANTIZED]
    assert exact["t1"]["mape"] == 0.0 and exact["t2"]["rmse_ms"] == 0.0
    payload = result.to_dict()
    # mean sqrt(CRB) / T1: 5 ms over 100, 200, 400 and 800 ms
    assert_allclose(payload["crb"]["t1_rel_sd_mean_pct"], 100 * np.mean(5.0 / TRUTH_T1_MS))
    assert_allclose(payload["crb"]["t2_rel_sd_mean_pct"], 100 * np.mean(2.0 / TRUTH_T2_MS))
    assert payload["methods"]["float"]["t1"]["mape"] == pytest.approx(5.0)


def test_test_set_ranges_noise_and_bound(short_fisp):
    clean = make_test_set(short_fisp, 200, noise=0.0, seed=4)
    t1, t2 = clean.tissue.t1_ms, clean.tissue.t2_ms
    assert (t1 >= T1_TEST_MS[0]).all() and (t1 <= T1_TEST_MS[1]).all()
    assert (t2 >= T2_TEST_MS[0]).all() and (t2 <= T2_TEST_MS[1]).all() and (t2 < t1).all()
    expected = simulate_fingerprints(short_fisp, clean.tissue, dtype=np.float64)
    assert_allclose(clean.signals, expected, rtol=1e-5, atol=1e-6)
    assert not clean.crb_t1_ms.any() and not clean.crb_t2_ms.any()  # no noise, no bound
    noisy = make_test_set(short_fisp, 200, noise=0.02, seed=4)
    residual = noisy.signals - expected
    assert_allclose([residual.real.std(), residual.imag.std()], 0.02, rtol=0.02)
    assert (noisy.crb_t1_ms > 0).all() and (noisy.crb_t2_ms > 0).all()


def test_model_sequence_is_parsed_and_evaluation_is_a_dataclass(short_model, short_fisp):
    assert isinstance(short_model.sequence, Sequence)
    assert short_model.sequence_sha256 == short_fisp.sha256
    result = evaluate(short_model, noise=0.01, n=40, methods=("quantized", Method.FLOAT))
    assert isinstance(result, Evaluation)
    assert list(result.estimates) == [Method.FLOAT, Method.QUANTIZED]  # fixed order
    assert result.estimates[Method.QUANTIZED][0].shape == (40,)
    payload = json.loads(json.dumps(result.to_dict()))
    assert not [k for k in payload if k.startswith("_")]
    assert list(payload["methods"]) == ["float", "quantized"]
    assert tuple(payload["methods"]["float"]["t1"]) == METRIC_KEYS
    assert payload["methods"]["float"]["t1"]["n"] == 40
    png = io.BytesIO()
    plot_errors(result, png, n_bins=3)
    assert png.getvalue().startswith(b"\x89PNG")


def test_evaluation_reports_df_and_uses_the_b1_input(ma_bssfp, short_fisp):
    """A df model: every method reports ``df_hz`` (Hz) beside the t1/t2 keys, with the CRB of
    df as a third unknown; a B1 model draws B1 over its range unless it is fixed."""
    from dataclasses import replace

    from mrfrecon.metrics import OFFSET_METRIC_KEYS
    from mrfrecon.parameters import NetworkParameters
    from mrfrecon.sequence import ParameterRange
    from tests.helpers import make_model

    seq = ma_bssfp.with_timepoints(200)
    params = NetworkParameters.from_sequence(seq)
    result = evaluate(make_model(seq, rank=12, parameters=params), noise=0.01, n=30)
    payload = json.loads(json.dumps(result.to_dict()))
    assert list(payload["methods"]) == ["float", "quantized", "matching"]
    for name, m in payload["methods"].items():
        assert tuple(m["t1"]) == METRIC_KEYS and tuple(m["df_hz"]) == OFFSET_METRIC_KEYS, name
        assert m["df_hz"]["rmse_over_crb"] > 0
    lo, hi = params.df_range_hz
    assert lo <= payload["df_range_hz"][0] < payload["df_range_hz"][1] <= hi
    assert payload["crb"]["df_sd_rms_hz"] > 0
    # The bound is the one of the network's unknowns (T1, T2, df, complex M0): df joins the
    # Fisher matrix, so no T1/T2 bound is below the df-known one, and the ratio is
    # RMSE / sqrt(mean CRB) over the set.
    from mrfrecon.physics.crb import crb_sds

    test = result.test
    known = crb_sds(seq, test.tissue, 0.01, estimate_df=False)
    assert_allclose(test.crb_df_hz, crb_sds(seq, test.tissue, 0.01, estimate_df=True)["df_hz"])
    assert np.all(test.crb_t1_ms >= known["t1_ms"] * (1 - 1e-9))
    assert np.all(test.crb_t2_ms >= known["t2_ms"] * (1 - 1e-9))
    t1 = result.estimates[Method.FLOAT][0]
    expected = np.sqrt(np.mean((t1 - test.tissue.t1_ms) ** 2) / np.mean(test.crb_t1_ms**2))
    assert_allclose(payload["methods"]["float"]["t1"]["rmse_over_crb"], expected, rtol=1e-6)

    b1_seq = replace(short_fisp.with_timepoints(200), b1_range=ParameterRange("0.7:1.3:0.1"))
    b1_model = make_model(b1_seq, parameters=NetworkParameters.from_sequence(b1_seq))
    drawn = evaluate(b1_model, n=30, methods=("float",)).to_dict()
    assert 0.7 <= drawn["b1_range"][0] < drawn["b1_range"][1] <= 1.3
    assert "df_hz" not in drawn["methods"]["float"] and "df_sd_rms_hz" not in drawn["crb"]
    fixed = evaluate(b1_model, n=30, methods=("float",), b1=1.0).to_dict()
    assert fixed["b1_range"] == [1.0, 1.0]
    assert fixed["methods"]["float"]["t1"]["mape"] != drawn["methods"]["float"]["t1"]["mape"]


# Issue 9's goal, checked as stated: on fisp_jiang2015 at noise 0.01, with the default
# `retrain` (seed 0), magnitude-only MAPE <= 1.3x the complex one for every method, and the
# quantised magnitude network within T1 2.15 %, T2 8.89 % (the reference's float figures).
# Measured at n = 3000 (seeds 5 and 6): ratios 1.10-1.19, quantised magnitude 1.6 % / 2.4 %.
MAX_RATIO = 1.3
MAX_QUANTIZED_MAGNITUDE_MAPE = {"t1": 2.15, "t2": 8.89}


@pytest.mark.slow
def test_magnitude_only_data_are_nearly_as_accurate_as_complex(jiang):
    from mrfrecon.training import RetrainConfig, retrain

    model = retrain(jiang, RetrainConfig(seed=0)).model
    complex_ = evaluate(model, noise=0.01, n=3000, seed=5)
    magnitude = evaluate(model, noise=0.01, n=3000, seed=5, representation="magnitude")
    assert magnitude.representation == "magnitude"
    # Same test set: the magnitudes of the same noisy signals.
    assert (magnitude.test.tissue.t1_ms == complex_.test.tissue.t1_ms).all()
    ratios = {(m.value, p): magnitude.metrics[m][p]["mape"] / complex_.metrics[m][p]["mape"]
              for m in Method for p in ("t1", "t2")}
    assert all(r <= MAX_RATIO for r in ratios.values()), ratios
    quantized = magnitude.metrics[Method.QUANTIZED]
    assert all(quantized[p]["mape"] <= MAX_QUANTIZED_MAGNITUDE_MAPE[p] for p in ("t1", "t2"))
    # Not trivially equal: the magnitude path is its own networks and dictionary.
    assert all(r != 1.0 for r in ratios.values()), ratios
