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
    assert_trace_matches,
    expected_events,
    run_core_harness,
)
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream


def run_core(tmp_path: Path, net, config: FixedPointConfig, x_int, t_int):
    """Simulate the core on a sample stream; return (trace, golden state, golden events)."""
    fmt = EngineFormat.derive(net, config)
    state = EngineState.from_network(net, config)
    samples: list[SampleTrace] = []
    updates: list[EngineState] = []
    golden = train_golden(state, fmt, config, x_int, t_int, samples, updates)
    trace = run_core_harness(state, fmt, config, x_int, t_int, tmp_path)
    return trace, golden, expected_events(samples, updates, config.batch)


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
