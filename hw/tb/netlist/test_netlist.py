"""The synthesised netlist is the design: post-synthesis bit-exact tests against the golden model.

* GHDL's Verilog output (``ghdl --synth --out=verilog``, what Yosys reads) simulated by iverilog
  with the Debug_g trace on: every activation, delta and updated word, as in ``hw/tb/core``;
  and with the trace off (the synthesised configuration): final parameters and cycle count.
* The Yosys-mapped, flattened netlist (LUT/FF/CARRY/DSP/LUTRAM primitives) simulated with Yosys'
  Xilinx cell models: final parameters and cycle count. Yosys 0.23 has no DSP48E2 simulation
  model, so the mapped simulation uses ``-family xc7`` (DSP48E1); the estimate maps ``xcup``.
* The synthesis checks themselves: no latch, no undriven bit, no mangled constant.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig
from mrfrecon.engine.golden import SampleTrace, train_golden
from mrfrecon.engine.hdl_netlist import ghdl_synth, run_core_netlist, yosys_map
from mrfrecon.engine.hdl_sim import (
    assert_trace_matches,
    core_generics,
    core_stimulus,
    core_widths,
    expected_events,
    hw_dir,
    parse_core_trace,
    run_core_harness,
)
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream

pytestmark = [
    pytest.mark.hdl,
    pytest.mark.skipif(
        any(shutil.which(t) is None for t in ("ghdl", "yosys", "iverilog")),
        reason="GHDL, Yosys or iverilog not installed",
    ),
]

CORE_SOURCES = ("mrf_train_pkg.vhd", "mrf_train_round.vhd", "mrf_train_lane.vhd",
                "mrf_train_replica.vhd", "mrf_train_core.vhd")


REPLICAS = 2  # lock-step replicas of the simulated netlists (the sum of their gradients is exact)


def _case(widths, config, n, seed):
    rng = np.random.default_rng(seed)
    net = random_network(rng, widths=widths)
    inputs, targets = random_data(rng, n, widths[0], widths[-1], 1.5)
    fmt = EngineFormat.derive(net, config)
    x_int, t_int = build_stream(net, inputs, targets, config, fmt.target_frac)
    state = EngineState.from_network(net, config)
    samples: list[SampleTrace] = []
    updates: list[EngineState] = []
    golden = train_golden(state, fmt, config, x_int, t_int, samples, updates)
    return state, fmt, x_int, t_int, golden, expected_events(samples, updates, config.batch,
                                                             REPLICAS)


def _netlist_trace(tmp_path, widths, config, state, fmt, x_int, t_int, debug, mapped):
    rtl = hw_dir() / "rtl"
    generics = {**core_generics(widths), "MasterExtra_g": config.master_extra,
                "DeltaBits_g": config.delta_bits, "Replicas_g": REPLICAS, "Debug_g": debug}
    verilog = ghdl_synth("mrf_train_core", generics, tmp_path, [rtl / s for s in CORE_SOURCES])
    if mapped:
        result = yosys_map(verilog, "mrf_train_core", tmp_path, family="xc7")
        assert result.latches == 0 and result.undriven == 0, result.problems[:5]
        verilog = result.mapped
    stim = tmp_path / "stim.txt"
    stim.write_text(core_stimulus(state, fmt, config.log2_batch, config.seed, x_int, t_int))
    lanes, _ = core_widths(widths)
    trace = run_core_netlist(verilog, stim, tmp_path / "trace.txt",
                             {"LAYERS": len(widths) - 1, "NIN": widths[0], "NOUT": widths[-1],
                              "LANES": lanes,
                              "DEBUG": int(debug)}, tmp_path, cell_models=mapped)
    return parse_core_trace(trace.read_text(), lanes)


@pytest.mark.parametrize("debug", [True, False], ids=["trace", "synthesised"])
def test_ghdl_verilog_bit_exact(tmp_path, debug):
    widths = (5, 7, 3, 4, 3)
    config = FixedPointConfig(log2_batch=2, lr_shift=4, seed=3)
    state, fmt, x_int, t_int, golden, expected = _case(widths, config, 96, 256)
    trace = _netlist_trace(tmp_path, widths, config, state, fmt, x_int, t_int, debug, False)
    assert_trace_matches(trace, golden, expected if debug else [], widths)
    if not debug:  # same cycle count as the VHDL simulation of the same run
        (tmp_path / "vhdl").mkdir()
        vhdl = run_core_harness(state, fmt, config, x_int, t_int, tmp_path / "vhdl",
                                replicas=REPLICAS)
        assert trace.cycles == vhdl.cycles


def test_mapped_netlist_bit_exact(tmp_path):
    """Negative inputs and weights train through the split products: the Yosys 0.23 post-adder
    packing bug (``mrf_train_lane.vhd``) showed here as saturated weights."""
    widths = (3, 2, 2, 2)
    config = FixedPointConfig(log2_batch=1, lr_shift=3, seed=5)
    state, fmt, x_int, t_int, golden, _ = _case(widths, config, 16, 17)
    trace = _netlist_trace(tmp_path, widths, config, state, fmt, x_int, t_int, False, True)
    trace.events = []
    assert_trace_matches(trace, golden, [], widths)
    assert any(not np.array_equal(a, b) for a, b in zip(golden.masters, state.masters,
                                                        strict=True)), "nothing trained"
