"""retrain end to end: the rank chosen by the noise rule on bSSFP (slow); configuration checks."""

from __future__ import annotations

import pytest

from mrfrecon.evaluate import evaluate
from mrfrecon.training import RetrainConfig, retrain

# Quantised MAPE (%) at noise 0.01 on bssfp_ma2013. With the former fixed rank 8 the default
# (larger) run reached 4.9 % and 12.0 %. T2: the issue-12 goal (6.0 %); T1: this small run
# measured 4.0 % (the default run 2.5 %, goal 3.0 %), bounded here below the former 4.9 %.
QUANTIZED_MAPE_BOUNDS = {"t1": 4.5, "t2": 6.0}


@pytest.mark.slow
def test_bssfp_quantized_network_beats_the_rank_8_errors(ma_bssfp):
    # float network of the FPGA size (no middle stage), QAT from it, as when the bounds were set
    config = RetrainConfig(n_train=20000, n_val=2000, max_epochs=(60, 1, 10), seed=1,
                           float_widths=(64, 64), kind_defaults=False)
    trained = retrain(ma_bssfp, config)
    assert trained.summary["rank"] > 8 and trained.summary["svd"]["rule"].startswith("smallest")
    result = evaluate(trained.model, noise=0.01, n=3000, methods=("quantized",)).to_dict()
    mape = {p: result["methods"]["quantized"][p]["mape"] for p in ("t1", "t2")}
    assert all(mape[p] <= goal for p, goal in QUANTIZED_MAPE_BOUNDS.items()), mape


def test_a_bad_float_activation_or_loss_weights_are_refused_before_any_work(short_fisp,
                                                                           monkeypatch):
    from mrfrecon.errors import MrfreconError
    from mrfrecon.training import pipeline

    def no_simulation(*_args, **_kwargs):
        raise AssertionError("simulated before checking the configuration")

    monkeypatch.setattr(pipeline, "simulate_pools", no_simulation)
    with pytest.raises(MrfreconError, match="float_activation 'tanh': one of relu, silu"):
        retrain(short_fisp, RetrainConfig(float_activation="tanh"))
    # FISP networks have two outputs (T1, T2): three weights, or a zero one, are refused
    for weights in ((1.0, 2.0, 1.0), (1.0, 0.0)):
        with pytest.raises(MrfreconError, match="one positive weight per output"):
            retrain(short_fisp, RetrainConfig(float_loss_weights=weights))


def test_loss_weights_reach_the_float_stage_only(short_fisp):
    """``float_loss_weights`` change the float network; the FPGA-size float stage and QAT
    train unweighted, so the integer network is the same bit for bit; the summary records them."""
    import numpy as np

    config = RetrainConfig(n_train=2000, n_val=500, max_epochs=(2, 2, 1), patience=100,
                           quant_widths=(8, 8), representations=("complex",))  # fmt: skip
    plain = retrain(short_fisp, config)
    weighted = retrain(short_fisp, RetrainConfig(**{**vars(config),
                                                    "float_loss_weights": (1.0, 50.0)}))
    assert not np.array_equal(plain.model.float_net.weights[0], weighted.model.float_net.weights[0])
    for a, b in zip(plain.model.int_net.layers, weighted.model.int_net.layers, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
    assert plain.summary["float_loss_weights"] is None
    assert weighted.summary["float_loss_weights"] == [1.0, 50.0]
