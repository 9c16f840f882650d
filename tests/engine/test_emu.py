"""The fast software engine is bit-exact with the golden model."""

import numpy as np
import pytest

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig, train_fixed
from mrfrecon.engine.emu import train_emu
from mrfrecon.engine.golden import train_golden
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream

CASES = {
    "default": dict(widths=(16, 16, 16, 2), config=FixedPointConfig(), n=128, scale=1.5),
    "small-batch1": dict(widths=(5, 7, 3), config=FixedPointConfig(log2_batch=0, lr_shift=4),
                         n=40, scale=1.0),
    # huge inputs/lr: activations clamp at 255, deltas and masters saturate
    "saturating": dict(widths=(8, 6, 6, 2), config=FixedPointConfig(lr_shift=3, delta_bits=10,
                       delta_frac=8, log2_batch=1, master_extra=4), n=64, scale=40.0),
    "deep-wide-batch": dict(widths=(12, 20, 9, 4, 2), config=FixedPointConfig(log2_batch=3,
                            seed=123456789, master_extra=6), n=96, scale=2.0),
}


def _run_both(widths, config, n, scale, seed):
    rng = np.random.default_rng(seed)
    net = random_network(rng, widths=widths)
    inputs, targets = random_data(rng, n, widths[0], widths[-1], scale)
    targets = targets * (30.0 if scale > 10 else 1.0)
    fmt = EngineFormat.derive(net, config)
    x_int, t_int = build_stream(net, inputs, targets, config, fmt.target_frac)
    state = EngineState.from_network(net, config)
    golden = train_golden(state, fmt, config, x_int, t_int)
    return golden, train_emu(state, fmt, config, x_int, t_int)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_emu_matches_golden(case, seed):
    golden, emu = _run_both(seed=seed, **case)
    assert golden.n_updates == emu.n_updates > 0
    for index, (mg, me) in enumerate(zip(golden.masters, emu.masters, strict=True)):
        np.testing.assert_array_equal(me, mg, err_msg=f"masters of layer {index + 1}")
    for index, (bg, be) in enumerate(zip(golden.biases, emu.biases, strict=True)):
        np.testing.assert_array_equal(be, bg, err_msg=f"biases of layer {index + 1}")
    np.testing.assert_array_equal(emu.lanes, golden.lanes)


def test_saturating_case_really_saturates():
    golden, _ = _run_both(seed=0, **CASES["saturating"])
    lo, hi = -(2**11), 2**11 - 1  # 8 + master_extra = 12-bit masters
    assert any(((m == lo) | (m == hi)).any() for m in golden.masters)


def test_progress_reports_all_samples():
    rng = np.random.default_rng(5)
    net = random_network(rng)
    inputs, targets = random_data(rng, 100)
    calls = []
    result = train_fixed(net, inputs, targets, FixedPointConfig(), "emu",
                         progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (96, 96) and result.n_samples == 96 and result.n_updates == 6


def test_train_fixed_devices_agree():
    rng = np.random.default_rng(6)
    net = random_network(rng, widths=(6, 4, 2))
    inputs, targets = random_data(rng, 48, 6, 2)
    config = FixedPointConfig(log2_batch=2, epochs=2)
    a = train_fixed(net, inputs, targets, config, "golden")
    b = train_fixed(net, inputs, targets, config, "emu")
    for la, lb in zip(a.network.layers, b.network.layers, strict=True):
        np.testing.assert_array_equal(la.weight, lb.weight)
        np.testing.assert_array_equal(la.bias, lb.bias)
    assert a.mse_after == b.mse_after


def test_bad_shift_is_reported():
    net = random_network(np.random.default_rng(0))
    with pytest.raises(ValueError, match="update shift s_w"):
        EngineFormat.derive(net, FixedPointConfig(lr_shift=30))


def test_emu_blocks_of_random_words_do_not_change_the_result(monkeypatch):
    """A tiny random-word budget (one update per block) gives the same state as the default."""
    import mrfrecon.engine.emu as emu

    case = CASES["deep-wide-batch"]
    golden, default = _run_both(seed=4, **case)
    monkeypatch.setattr(emu, "RANDOM_WORDS_PER_CHUNK", 1)
    _, tiny = _run_both(seed=4, **case)
    for a, b, c in zip(tiny.masters, default.masters, golden.masters, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(tiny.lanes, golden.lanes)
