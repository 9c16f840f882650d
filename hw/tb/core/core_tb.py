"""cocotb side of the core harness: clock, reset, generics check and a watchdog."""

from __future__ import annotations

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout


@cocotb.test()
async def run_harness(dut):
    """Clock the harness until it has written its whole trace."""
    cocotb.start_soon(Clock(dut.Clk, 4, unit="ns").start())
    dut.Rst.value = 1
    await ClockCycles(dut.Clk, 3)
    dut.Rst.value = 0
    assert int(dut.Lanes.value) == int(os.environ["MRF_EXPECT_LANES"]), "generics not applied"
    timeout_us = float(os.environ.get("MRF_TIMEOUT_US", "1e6"))
    await with_timeout(RisingEdge(dut.Finished), timeout_us, "us")
    assert dut.Finished.value == 1


