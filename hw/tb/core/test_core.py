"""Bit-exact test of mrf_train_core against the golden model (GHDL + cocotb).

The harness mrf_tb_core_files.vhd streams the samples from a file and traces replica 0's hidden
activations, output accumulators and deltas (the first sample of every round) and every updated
parameter word; pytest compares that trace with the golden model event by event, and every final
parameter word. cocotb only drives the clock/reset and a watchdog. The replica counts cover one
replica, rounds smaller than the replicas (batch < replicas: idle replicas must add nothing),
several rounds per batch, and the 16 replicas of the synthesised kernel.
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
    assert_trace_matches,
    expected_events,
    run_core_harness,
)
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream


def run_core(tmp_path: Path, state: EngineState, fmt: EngineFormat, config: FixedPointConfig,
             x_int, t_int, seed_rng: bool = True, kinds=(KIND_Y, KIND_ACC, KIND_DL, KIND_DP,
                                                         KIND_W), replicas: int = 1):
    """Simulate the core on a sample stream; return (trace, golden state, golden events of
    ``kinds``)."""
    samples: list[SampleTrace] = []
    updates: list[EngineState] = []
    golden = train_golden(state, fmt, config, x_int, t_int, samples, updates)
    trace = run_core_harness(state, fmt, config, x_int, t_int, tmp_path, seed_rng=seed_rng,
                             kinds=kinds, replicas=replicas)
    expected = [e for e in expected_events(samples, updates, config.batch, replicas)
                if e[0] in kinds]
    return trace, golden, expected


pytestmark = [
    pytest.mark.hdl,
    pytest.mark.skipif(shutil.which("ghdl") is None, reason="GHDL not installed"),
]


@pytest.mark.parametrize(
    ("widths", "config", "n", "scale", "seed_rng", "replicas"),
    [
        # >= 10 000 vectors through the full-size network (2 replicas: any count trains the same
        # bits, and 2 simulate ~5x faster than 16), then the synthesised 16 replicas
        pytest.param((16, 16, 16, 2), FixedPointConfig(log2_batch=4, seed=11), 10_240, 1.5, True,
                     2, id="10k-vectors-full-size"),
        pytest.param((16, 16, 16, 2), FixedPointConfig(log2_batch=4, seed=12), 512, 1.5, True,
                     16, id="full-size-16-replicas"),
        pytest.param((16, 16, 16, 2), FixedPointConfig(lr_shift=3, delta_bits=10, delta_frac=8,
                     log2_batch=1, master_extra=4, seed=0xFFFFFFFF), 256, 40.0, True, 4,
                     id="saturating-batch-below-replicas"),
        pytest.param((5, 7, 3, 3), FixedPointConfig(log2_batch=0, lr_shift=4, seed=3), 256, 1.0,
                     True, 2, id="odd-sizes-batch1"),
        # depth and width from the generics; generator states loaded, not seeded (chunked runs)
        pytest.param((12, 20, 9, 7, 3), FixedPointConfig(log2_batch=3, seed=5), 256, 1.5, False,
                     2, id="four-layers-loaded-rng-4-rounds-per-batch"),
        pytest.param((64, 64, 33, 64, 2), FixedPointConfig(log2_batch=3, seed=9), 32, 1.5, True,
                     2, id="width-64"),
        pytest.param((9, 4), FixedPointConfig(log2_batch=1, lr_shift=4, seed=2), 128, 1.5, False,
                     1, id="one-layer-one-replica"),
    ],
)
def test_core_bit_exact(tmp_path, widths, config, n, scale, seed_rng, replicas):
    rng = np.random.default_rng(n)
    net = random_network(rng, widths=widths)
    inputs, targets = random_data(rng, n, widths[0], widths[-1], scale)
    targets = targets * (30.0 if scale > 10 else 1.0)
    fmt = EngineFormat.derive(net, config)
    x_int, t_int = build_stream(net, inputs, targets, config, fmt.target_frac)
    state = EngineState.from_network(net, config)
    if not seed_rng:  # generator states of a run in progress (any nonzero words)
        state.lanes = rng.integers(1, 2**32, state.lanes.size, dtype=np.uint64).astype(np.uint32)
    # long runs trace the updated words only (every update, every weight: still bit for bit)
    kinds = (KIND_W,) if n > 2000 else (KIND_Y, KIND_ACC, KIND_DL, KIND_DP, KIND_W)
    trace, golden, expected = run_core(tmp_path, state, fmt, config, x_int, t_int, seed_rng,
                                       kinds, replicas)
    assert_trace_matches(trace, golden, expected, widths)
    assert trace.cycles > 0
