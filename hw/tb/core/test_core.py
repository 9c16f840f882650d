"""Bit-exact test of mrf_train_core against the golden model (GHDL + cocotb).

The harness mrf_tb_core_files.vhd streams the samples from a file and traces every hidden
activation, output accumulator, delta and updated parameter word; pytest compares that trace
with the golden model event by event. cocotb only drives the clock/reset and a watchdog.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig
from mrfrecon.engine.golden import SampleTrace, train_golden
from mrfrecon.engine.hdl_sim import (
    KIND_ACC,
    KIND_DL,
    KIND_DP,
    KIND_W,
    KIND_Y,
    core_widths,
    parameter_words,
    run_core_harness,
)
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream


def expected_events(samples: list[SampleTrace], updates: list[EngineState], batch: int):
    """The core's trace as the golden model predicts it: ``(kind, layer, index, values)``."""
    events = []
    for k, s in enumerate(samples):
        events.append((KIND_Y, 0, 0, s.activations[1]))
        events.append((KIND_Y, 1, 0, s.activations[2]))
        events.append((KIND_ACC, 2, 0, s.acc_out))
        events.append((KIND_DL, 2, 0, s.deltas[2]))
        for layer in (1, 0):
            for j, d in enumerate(s.deltas[layer]):
                events.append((KIND_DP, layer, j, np.array([d])))
        if (k + 1) % batch == 0:
            st = updates[(k + 1) // batch - 1]
            for layer, (m, b) in enumerate(zip(st.masters, st.biases, strict=True)):
                for j in range(m.shape[1]):
                    events.append((KIND_W, layer, j, m[:, j]))
                events.append((KIND_W, layer, m.shape[1], b))
    return events


def run_core(tmp_path: Path, net, config: FixedPointConfig, x_int, t_int):
    """Simulate the core on a sample stream; return (trace, golden state, golden events)."""
    fmt = EngineFormat.derive(net, config)
    state = EngineState.from_network(net, config)
    samples: list[SampleTrace] = []
    updates: list[EngineState] = []
    golden = train_golden(state, fmt, config, x_int, t_int, samples, updates)
    trace = run_core_harness(state, fmt, config, x_int, t_int, tmp_path)
    return trace, golden, expected_events(samples, updates, config.batch)


def assert_trace_matches(trace, golden: EngineState, expected, widths) -> None:
    assert trace.complete, "harness did not finish"
    names = {KIND_Y: "activation", KIND_ACC: "output acc", KIND_DL: "output delta",
             KIND_DP: "delta", KIND_W: "updated word"}
    assert len(trace.events) == len(expected), (len(trace.events), len(expected))
    for n, (got, want) in enumerate(zip(trace.events, expected, strict=True)):
        kind, layer, index, values = want
        assert got[:3] == (kind, layer, index), f"event {n}: got {got[:3]}, want {want[:3]}"
        g = got[3][: len(values)]
        assert np.array_equal(g, values), (
            f"event {n}: {names[kind]} layer {layer} index {index}: rtl {g.tolist()} "
            f"golden {np.asarray(values).tolist()}"
        )
    _, cols = core_widths(widths)
    for lane, addr, value in parameter_words(golden, cols):
        assert trace.params[(lane, addr)] == value, f"final word lane {lane} addr {addr}"


pytestmark = [
    pytest.mark.hdl,
    pytest.mark.skipif(shutil.which("ghdl") is None, reason="GHDL not installed"),
]


@pytest.mark.parametrize(
    ("widths", "config", "n", "scale"),
    [
        # >= 10 000 vectors: a 4-lane network keeps GHDL fast; every datapath stage is exercised
        pytest.param((6, 4, 4, 2), FixedPointConfig(log2_batch=3, seed=7), 10_240, 1.5,
                     id="10k-vectors"),
        pytest.param((16, 16, 16, 2), FixedPointConfig(log2_batch=4, seed=11), 512, 1.5,
                     id="default-size-run"),
        pytest.param((16, 16, 16, 2), FixedPointConfig(lr_shift=3, delta_bits=10, delta_frac=8,
                     log2_batch=1, master_extra=4, seed=0xFFFFFFFF), 256, 40.0,
                     id="saturating"),
        pytest.param((5, 7, 3, 3), FixedPointConfig(log2_batch=0, lr_shift=4, seed=3), 256, 1.0,
                     id="odd-sizes-batch1"),
    ],
)
def test_core_bit_exact(tmp_path, widths, config, n, scale):
    rng = np.random.default_rng(n)
    net = random_network(rng, widths=widths)
    inputs, targets = random_data(rng, n, widths[0], widths[-1], scale)
    targets = targets * (30.0 if scale > 10 else 1.0)
    fmt = EngineFormat.derive(net, config)
    x_int, t_int = build_stream(net, inputs, targets, config, fmt.target_frac)
    trace, golden, expected = run_core(tmp_path, net, config, x_int, t_int)
    assert_trace_matches(trace, golden, expected, widths)
    assert trace.cycles > 0
