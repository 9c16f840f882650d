"""The network-parameter descriptor: what the sequence declares -> outputs and extra inputs."""

from __future__ import annotations

import numpy as np
import pytest

from mrfrecon.parameters import NetworkParameters, trained_df_range_hz
from mrfrecon.sequence import load_sequence, resolve_sequence_path


def test_bssfp_estimates_df_within_one_period_of_the_mean_tr(ma_bssfp):
    params = NetworkParameters.from_sequence(ma_bssfp)
    assert params.outputs == ("t1_ms", "t2_ms", "df_hz") and params.extra_inputs == ()
    lo, hi = params.df_range_hz
    period_hz = 1e3 / np.mean(ma_bssfp.tr_ms)
    # the file declares -50..50 Hz, wider than one period (~81 Hz): restricted to it
    assert ma_bssfp.df_range_hz.min == -50 and ma_bssfp.df_range_hz.max == 50
    assert hi - lo == pytest.approx(period_hz, rel=1e-9)
    assert lo == pytest.approx(-hi)


def test_fisp_has_no_df_output_and_b1_variant_has_a_b1_input(short_fisp):
    assert NetworkParameters.from_sequence(short_fisp) == NetworkParameters()
    with_b1 = load_sequence(resolve_sequence_path("fisp_short400_b1"))
    assert with_b1.sha256 == short_fisp.sha256  # same acquisition, B1 range added
    params = NetworkParameters.from_sequence(with_b1)
    assert params.outputs == ("t1_ms", "t2_ms") and params.extra_inputs == ("b1",)
    assert params.b1_range == pytest.approx((0.7, 1.3))
    assert trained_df_range_hz(with_b1) is None


def test_df_encoding_round_trips_and_clips():
    params = NetworkParameters(df_range_hz=(-40.0, 40.0))
    df = np.array([-40.0, -12.5, 0.0, 33.0, 40.0])
    y = np.zeros((5, 3), np.float32)
    y[:, 2] = params.encode_df(df)
    np.testing.assert_allclose(params.decode_df(y), df, atol=1e-5)
    y[:, 2] = [-0.5, 0, 0.5, 1, 1.7]
    np.testing.assert_allclose(params.decode_df(y), [-40, -40, 0, 40, 40])


def test_b1_input_appended_scaled_to_unit_range():
    params = NetworkParameters(b1_range=(0.7, 1.3))
    x = np.ones((3, 4), np.float32)
    out = params.with_extra(x, np.array([0.7, 1.0, 1.3]))
    assert out.shape == (3, 5)
    np.testing.assert_allclose(out[:, 4], [-1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(params.with_extra(x)[:, 4], 0, atol=1e-6)  # default B1 = 1
    assert NetworkParameters().with_extra(x).shape == (3, 4)


def test_datasets_round_trip():
    params = NetworkParameters(df_range_hz=(-30.0, 30.0), b1_range=(0.8, 1.2))
    assert NetworkParameters.from_datasets(params.to_datasets()) == params
    assert NetworkParameters.from_datasets({}) == NetworkParameters()
