"""cocotb side of the kernel simulation: the host sequence of ``mrfrecon.engine.kernel`` replayed
on the AXI4-Lite control port (cocotbext-axi AxiLiteMaster) with global memory modelled by
cocotbext-axi's AxiRam. Used by the tests and by ``train_fixed(device="hdl")``.

Environment: ``MRF_JOB`` (npz written by ``mrfrecon.engine.hdl``), ``MRF_RESULT`` (output npz).
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, Timer
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

from mrfrecon.engine.kernel import (
    AP_DONE,
    AP_IDLE,
    AP_START,
    ARGUMENTS,
    BUFFER_ALIGN,
    REG_CTRL,
    KernelJob,
)

BASE = 0x10000


def _drop_absent(bus):
    """cocotbext-axi 0.1.28 + cocotb 2 keep absent optional signals (bid, rid) as None and then
    crash on them; forget them, recursively through the write/read and channel buses."""
    signals = getattr(bus, "_signals", None)
    if isinstance(signals, dict):
        for name in [k for k, v in signals.items() if v is None]:
            del signals[name]
            if name in vars(bus):
                delattr(bus, name)
    for value in list(vars(bus).values()):
        if hasattr(value, "_signals") or hasattr(value, "write") or hasattr(value, "aw"):
            if value is not bus and not isinstance(value, dict):
                _drop_absent(value)
    return bus


def layout(job: KernelJob) -> tuple[dict[str, int], int]:
    """Device addresses of the buffers (4 KiB aligned, as XRT allocates) and the memory size."""
    addresses, pos = {}, BASE
    for name in ("samples", "weights_in", "weights_out"):
        addresses[name] = pos
        pos += -(-len(job.buffers[name]) // BUFFER_ALIGN) * BUFFER_ALIGN + BUFFER_ALIGN
    return addresses, pos


@cocotb.test()
async def run_job(dut):
    """Write the buffers, start the kernel through its registers, wait for ap_done, read back."""
    data = np.load(os.environ["MRF_JOB"])
    job = KernelJob(
        buffers={k: data[k].tobytes() for k in ("samples", "weights_in", "weights_out")},
        n_samples=int(data["n_samples"]),
        widths=tuple(int(w) for w in data["widths"]),
    )
    addresses, size = layout(job)
    cocotb.start_soon(Clock(dut.ap_clk, 4, unit="ns").start())
    ram = AxiRam(_drop_absent(AxiBus.from_prefix(dut, "m_axi_gmem")), dut.ap_clk, dut.ap_rst_n,
                 reset_active_level=False, size=size)
    ctrl = AxiLiteMaster(_drop_absent(AxiLiteBus.from_prefix(dut, "s_axi_control")), dut.ap_clk,
                         dut.ap_rst_n, reset_active_level=False)
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 5)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 2)
    for name, address in addresses.items():
        ram.write(address, job.buffers[name])

    status = await ctrl.read_dword(REG_CTRL)
    assert status & AP_IDLE and not status & AP_START, f"not idle before start: {status:#x}"
    writes = job.register_writes(addresses)
    for offset, value in writes[:-1]:
        await ctrl.write_dword(offset, value)
    for offset, value in writes[:-1]:  # the argument registers read back what was written
        got = await ctrl.read_dword(offset)
        assert got == value, f"register {offset:#04x}: wrote {value:#x}, read {got:#x}"
    offset, value = writes[-1]
    await ctrl.write_dword(offset, value)

    polls = 0
    while True:
        await Timer(2, unit="us")
        status = await ctrl.read_dword(REG_CTRL)
        polls += 1
        if status & AP_DONE:
            break
    assert status & AP_IDLE, f"ap_done without ap_idle: {status:#x}"
    again = await ctrl.read_dword(REG_CTRL)
    assert not again & AP_DONE, "ap_done is not clear-on-read"
    await RisingEdge(dut.ap_clk)
    out = ram.read(addresses["weights_out"], len(job.buffers["weights_out"]))
    assert len(ARGUMENTS) == 4
    np.savez(os.environ["MRF_RESULT"], weights_out=np.frombuffer(out, dtype=np.uint8),
             polls=polls)
