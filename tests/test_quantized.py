"""The integer datapath: IntegerMLP's fast float64 path equals the int64 arithmetic of the spec."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from mrfrecon.quantized import IntegerLayer, IntegerMLP, round_half_even_shift


def _spec_forward_int(net: IntegerMLP, x_int: np.ndarray) -> tuple[np.ndarray, int]:
    """hw/SPEC.md's layer, literally: int64 accumulate, round half even, saturate."""
    x, frac = np.asarray(x_int, np.int64), net.input_frac
    for layer in net.layers:
        acc = x @ layer.weight.astype(np.int64).T + layer.bias.astype(np.int64)
        acc_frac = frac + layer.weight_frac
        if layer.out_frac is None:
            return acc, acc_frac
        x = np.clip(round_half_even_shift(acc, acc_frac - layer.out_frac), 0,
                    2**layer.out_bits - 1)
        frac = layer.out_frac
    raise AssertionError("no linear layer")


def _net(rng: np.random.Generator, weight_max: int, out_frac: int) -> IntegerMLP:
    return IntegerMLP(5, (
        IntegerLayer(rng.integers(-weight_max, weight_max, (24, 16)),
                     rng.integers(-500, 500, 24), weight_frac=6, out_frac=out_frac),
        IntegerLayer(rng.integers(-weight_max, weight_max, (2, 24)), np.array([512, -512]),
                     weight_frac=6, out_frac=None),
    ))


@pytest.mark.parametrize(("weight_max", "out_frac"), [
    pytest.param(60, 4, id="int8-weights"),
    pytest.param(60, 12, id="left-shift"),  # out_frac > input_frac + weight_frac
    pytest.param(2**44, 4, id="int64-fallback"),  # partial sums beyond 2**52
])
def test_forward_equals_the_integer_spec(weight_max, out_frac):
    rng = np.random.default_rng(3)
    net = _net(rng, weight_max, out_frac)
    x = np.concatenate([rng.normal(0, 2, (4000, 16)), rng.normal(0, 50, (100, 16)),  # saturates
                        np.round(rng.normal(0, 4, (500, 16)) * 32) / 32 + 1 / 64])  # input ties
    x_int = net.quantize_input(x)
    expected, frac = _spec_forward_int(net, x_int)
    got, got_frac = net.forward_int(x_int)
    assert got.dtype == np.int64 and got_frac == frac
    assert_array_equal(got, expected)
    assert_array_equal(net.forward(x), expected.astype(np.float64) * 2.0**-frac)


def test_hidden_ties_round_half_even():
    # one input, weight 1, shift 1: accumulators 1, 3, 5 -> 0.5, 1.5, 2.5 -> 0, 2, 2
    net = IntegerMLP(0, (IntegerLayer(np.array([[1]]), np.array([0]), 0, out_frac=-1),
                         IntegerLayer(np.array([[1]]), np.array([0]), 0, out_frac=None)))
    acc, frac = net.forward_int(np.array([[1], [3], [5], [-3]]))
    assert frac == -1
    assert_array_equal(acc[:, 0], [0, 2, 2, 0])  # -1.5 -> -2 -> ReLU clamps to 0
