"""The Vitis kernel (AXI4-Lite register map, AXI4 master, core; interface v2 of hw/SPEC.md §8)
driven by the host sequence of ``mrfrecon.engine.kernel`` on cocotbext-axi bus models: its state
must equal the emulator's, also with random AXI stalls, after a reset in mid-run, in back-to-back
runs and across chunks; bad headers and partial batches give the status words only."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig, kernel, train_fixed
from mrfrecon.engine.emu import train_emu
from mrfrecon.engine.hdl import MAGIC_V2, SIM_REPLICAS, simulate_job, train_hdl
from mrfrecon.engine.hdl_sim import DEFAULT_REPLICAS
from mrfrecon.engine.kernel import build_job, decode_weights
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream

pytestmark = [
    pytest.mark.hdl,
    pytest.mark.skipif(shutil.which("ghdl") is None, reason="GHDL not installed"),
    pytest.mark.skipif(getattr(kernel, "MAGIC", None) != MAGIC_V2,
                       reason="mrfrecon/engine/kernel.py here builds interface v1 jobs; the RTL "
                              "implements v2 (host half on branch fpgahost)"),
]


def _case(widths, n, seed, log2_batch=3):
    rng = np.random.default_rng(seed & 0xFFFF)
    net = random_network(rng, widths=widths)
    inputs, targets = random_data(rng, n, widths[0], widths[-1])
    config = FixedPointConfig(log2_batch=log2_batch, seed=seed)
    fmt = EngineFormat.derive(net, config)
    x_int, t_int = build_stream(net, inputs, targets, config, fmt.target_frac)
    return net, config, fmt, x_int, t_int, EngineState.from_network(net, config)


def _assert_same(a: EngineState, b: EngineState) -> None:
    for index, (ma, mb) in enumerate(zip(a.masters, b.masters, strict=True)):
        np.testing.assert_array_equal(ma, mb, f"masters of layer {index}")
        np.testing.assert_array_equal(a.biases[index], b.biases[index], f"biases {index}")
    np.testing.assert_array_equal(a.lanes, b.lanes, "generator states")


@pytest.mark.parametrize(
    ("widths", "n", "seed", "replicas"),
    # the synthesised kernel (16 replicas), and the --device hdl simulation's replica count
    [pytest.param((16, 16, 16, 2), 64, 5, DEFAULT_REPLICAS, id="default"),
     pytest.param((7, 5, 6, 4, 3), 96, 0xDEADBEEF, SIM_REPLICAS, id="four-layers-odd-sizes")],
)
def test_kernel_matches_emu(tmp_path, widths, n, seed, replicas):
    net, config, fmt, x_int, t_int, state = _case(widths, n, seed)
    hdl = train_hdl(net, state, fmt, config, x_int, t_int, workdir=tmp_path, replicas=replicas)
    _assert_same(hdl, train_emu(state, fmt, config, x_int, t_int))
    assert any(not np.array_equal(a, b) for a, b in zip(hdl.masters, state.masters, strict=True))


def test_kernel_stalls_reset_back_to_back(tmp_path):
    """Random latency/back-pressure on every AXI channel, a reset 3 us into a first run, then
    two runs back to back: every run writes the emulator's state."""
    net, config, fmt, x_int, t_int, state = _case((6, 5, 4, 2), 48, 77)
    job = build_job(state, fmt, config, x_int, t_int)
    outs = simulate_job(job, tmp_path, runs=2, pause_seed=3, reset_after_us=3.0)
    want = train_emu(state, fmt, config, x_int, t_int)
    assert len(outs) == 2
    for out in outs:
        _assert_same(decode_weights(out, state, config, x_int.shape[0] // config.batch), want)


def test_kernel_chunks_continue_the_generators(tmp_path):
    """Chunk 2 starts from chunk 1's weights_out (loaded generator states): same as one run."""
    net, config, fmt, x_int, t_int, state = _case((5, 4, 3, 2), 64, 21, log2_batch=2)
    first = simulate_job(build_job(state, fmt, config, x_int[:24], t_int[:24]), tmp_path / "a")
    mid = decode_weights(first[0], state, config, 24 // config.batch)
    second = simulate_job(build_job(mid, fmt, config, x_int[24:], t_int[24:]), tmp_path / "b")
    end = decode_weights(second[0], mid, config, 40 // config.batch)
    _assert_same(end, train_emu(state, fmt, config, x_int, t_int))


@pytest.mark.parametrize("fault", ["magic", "partial-batch", "shape"])
def test_kernel_status_words(tmp_path, fault):
    net, config, fmt, x_int, t_int, state = _case((5, 4, 3, 2), 16, 4)
    job = build_job(state, fmt, config, x_int, t_int)
    words = np.frombuffer(job.buffers["weights_in"], dtype="<u4").copy()
    expect = {"magic": 1, "shape": 2, "partial-batch": 3}[fault]
    if fault == "magic":
        words[0] ^= 1
    elif fault == "shape":
        words[16 + 1] += 1  # n_1 differs from the build
    job = dataclasses.replace(job, buffers={**job.buffers, "weights_in": words.tobytes()})
    if fault == "partial-batch":
        job = dataclasses.replace(job, n_samples=job.n_samples - 1)
    out = np.frombuffer(simulate_job(job, tmp_path)[0], dtype="<u4")
    assert out[0] == expect and out[2] == 0 and out[3] == 0
    assert not out[4:].any(), "nothing but the status words is written"


def test_retrain_device_hdl_equals_emu():
    rng = np.random.default_rng(9)
    net = random_network(rng, widths=(8, 6, 6, 2))
    inputs, targets = random_data(rng, 40, 8, 2)
    config = FixedPointConfig(log2_batch=2, epochs=1)
    a = train_fixed(net, inputs, targets, config, device="hdl")
    b = train_fixed(net, inputs, targets, config, device="emu")
    assert a.device == "hdl" and a.n_samples == 40
    for la, lb in zip(a.network.layers, b.network.layers, strict=True):
        np.testing.assert_array_equal(la.weight, lb.weight)
        np.testing.assert_array_equal(la.bias, lb.bias)
