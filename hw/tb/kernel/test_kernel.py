"""The Vitis kernel (AXI4-Lite register map, AXI4 master, core) driven by the host sequence of
``mrfrecon.engine.kernel`` on cocotbext-axi bus models; its weights must equal the emulator's."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig, train_fixed
from mrfrecon.engine.emu import train_emu
from mrfrecon.engine.hdl import train_hdl
from mrfrecon.engine.kernel import build_job
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream

pytestmark = [
    pytest.mark.hdl,
    pytest.mark.skipif(shutil.which("ghdl") is None, reason="GHDL not installed"),
]


@pytest.mark.parametrize(
    ("widths", "n", "seed"),
    [pytest.param((16, 16, 16, 2), 64, 5, id="default"),
     pytest.param((7, 5, 6, 3), 96, 0xDEADBEEF, id="odd-sizes")],
)
def test_kernel_matches_emu(tmp_path, widths, n, seed):
    rng = np.random.default_rng(seed & 0xFFFF)
    net = random_network(rng, widths=widths)
    inputs, targets = random_data(rng, n, widths[0], widths[-1])
    config = FixedPointConfig(log2_batch=3, seed=seed)
    fmt = EngineFormat.derive(net, config)
    x_int, t_int = build_stream(net, inputs, targets, config, fmt.target_frac)
    state = EngineState.from_network(net, config)
    hdl = train_hdl(net, state, fmt, config, x_int, t_int, workdir=tmp_path)
    emu = train_emu(state, fmt, config, x_int, t_int)
    for index in range(3):
        np.testing.assert_array_equal(hdl.masters[index], emu.masters[index], f"layer {index}")
        np.testing.assert_array_equal(hdl.biases[index], emu.biases[index], f"layer {index}")
    np.testing.assert_array_equal(hdl.lanes, emu.lanes)
    assert any(not np.array_equal(a, b) for a, b in zip(hdl.masters, state.masters, strict=True))


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


def test_register_writes_follow_vitis_map():
    net = random_network(np.random.default_rng(0))
    config = FixedPointConfig()
    fmt = EngineFormat.derive(net, config)
    x, t = build_stream(net, *random_data(np.random.default_rng(1), 32), config, fmt.target_frac)
    job = build_job(EngineState.from_network(net, config), fmt, config, x, t)
    writes = job.register_writes({"samples": 0x1_2345_6000, "weights_in": 0x7000,
                                  "weights_out": 0x8000})
    assert writes == [(0x10, 0x23456000), (0x14, 0x1), (0x1C, 0x7000), (0x20, 0), (0x28, 0x8000),
                      (0x2C, 0), (0x34, 32), (0x00, 1)]
    assert len(job.buffers["samples"]) == 32 * (4 * 4 + 2 * 4)
