"""Bit-exact test of mrf_train_core against the golden model (GHDL + cocotb).

The harness mrf_tb_core_files.vhd streams the samples from a file and traces replica 0's hidden
activations, output accumulators and deltas (the first sample of every round) and every updated
parameter word; pytest compares that trace with the golden model event by event, and every final
parameter word. cocotb only drives the clock/reset and a watchdog. The replica counts cover one
replica, rounds smaller than the replicas (batch < replicas: idle replicas must add nothing),
several rounds per batch, and the 16 replicas of the synthesised kernel.

The >= 10 000-vector run of the full-size network is one training run cut into chunks, each
its own test (they run side by side on the pytest-xdist workers): chunk k starts from the state
after k chunks (weights and generator states loaded through the parameter port, as a run in
progress; chunk 0 seeds its generators) and is compared with the golden model word for word.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import numpy as np
import pytest

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig
from mrfrecon.engine.emu import train_emu
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


# the long run: 10 240 random samples through the full-size network in LONG_CHUNKS chunks
# (whole batches each), on 2 replicas (any count trains the same bits; 2 simulate several times
# faster than the synthesised 16, which the full-size-16-replicas case below runs)
LONG_WIDTHS = (16, 16, 16, 2)
LONG_CONFIG = FixedPointConfig(log2_batch=4, seed=11)
LONG_N = 10_240
LONG_CHUNKS = 4


@functools.cache
def _long_run():
    """Format, integer stream and initial state of the long run (built once per process)."""
    rng = np.random.default_rng(LONG_N)
    net = random_network(rng, widths=LONG_WIDTHS)
    inputs, targets = random_data(rng, LONG_N, LONG_WIDTHS[0], LONG_WIDTHS[-1], 1.5)
    fmt = EngineFormat.derive(net, LONG_CONFIG)
    x_int, t_int = build_stream(net, inputs, targets, LONG_CONFIG, fmt.target_frac)
    return fmt, x_int, t_int, EngineState.from_network(net, LONG_CONFIG)


@pytest.mark.parametrize("chunk", range(LONG_CHUNKS), ids=lambda k: f"chunk{k}")
def test_core_10k_vectors_full_size(tmp_path, chunk):
    """Samples ``[k m, (k+1) m)`` of the long run (``m = LONG_N / LONG_CHUNKS``): every updated
    word and every final word bit for bit. The chunk's start state comes from the emulator
    (milliseconds, not the golden model's seconds per thousand samples); its end is checked
    against the golden model's end of the chunk, which ties each chunk to the next."""
    assert LONG_N >= 10_000 and LONG_N % (LONG_CHUNKS * LONG_CONFIG.batch) == 0
    fmt, x_int, t_int, state = _long_run()
    m = LONG_N // LONG_CHUNKS
    lo, hi = chunk * m, (chunk + 1) * m
    start = train_emu(state, fmt, LONG_CONFIG, x_int[:lo], t_int[:lo]) if chunk else state
    trace, golden, expected = run_core(tmp_path, start, fmt, LONG_CONFIG, x_int[lo:hi],
                                       t_int[lo:hi], seed_rng=chunk == 0, kinds=(KIND_W,),
                                       replicas=2)
    assert_trace_matches(trace, golden, expected, LONG_WIDTHS)
    end = train_emu(state, fmt, LONG_CONFIG, x_int[:hi], t_int[:hi])
    for a, b in zip((*golden.masters, *golden.biases, golden.lanes),
                    (*end.masters, *end.biases, end.lanes), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("widths", "config", "n", "scale", "seed_rng", "replicas"),
    [
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
    trace, golden, expected = run_core(tmp_path, state, fmt, config, x_int, t_int, seed_rng,
                                       replicas=replicas)
    assert_trace_matches(trace, golden, expected, widths)
    assert trace.cycles > 0
