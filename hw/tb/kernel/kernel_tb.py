"""cocotb side of the kernel simulation: the host sequence of ``mrfrecon.engine.kernel`` replayed
on the AXI4-Lite control port (cocotbext-axi AxiLiteMaster) with global memory modelled by
cocotbext-axi's AxiRam. Used by the tests and by ``train_fixed(device="hdl")``.

Environment: ``MRF_JOB`` (npz written by ``mrfrecon.engine.hdl``), ``MRF_RESULT`` (output npz).
"""

from __future__ import annotations

import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, Timer
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

from mrfrecon.engine.kernel import (
    AP_DONE,
    AP_IDLE,
    AP_START,
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


def _pauses(seed: int, busy: float):
    """A cocotbext-axi pause generator: random stalls, about ``busy`` of the cycles."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < busy


def _throttle(ram, ctrl, seed: int) -> None:
    """Random latency and back-pressure on every AXI channel of memory and control bus."""
    channels = [ram.write_if.aw_channel, ram.write_if.w_channel, ram.write_if.b_channel,
                ram.read_if.ar_channel, ram.read_if.r_channel,
                ctrl.write_if.aw_channel, ctrl.write_if.w_channel, ctrl.write_if.b_channel,
                ctrl.read_if.ar_channel, ctrl.read_if.r_channel]
    for k, channel in enumerate(channels):
        channel.set_pause_generator(_pauses(seed * 31 + k, 0.3 + 0.05 * (k % 5)))


async def _start(ctrl, job: KernelJob, addresses: dict[str, int]) -> None:
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


async def _count_busy(dut, counter: list[int]) -> None:
    """Clock cycles with the kernel not idle (ap_start to ap_done), summed over the runs."""
    while True:
        await RisingEdge(dut.ap_clk)
        if str(dut.ap_idle.value) == "0":
            counter[0] += 1


async def _wait_done(ctrl) -> int:
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
    return polls


@cocotb.test()
async def run_job(dut):
    """Write the buffers, start the kernel through its registers, wait for ap_done, read back.

    ``MRF_RUNS`` back-to-back runs of the job (each one's ``weights_out`` is saved),
    ``MRF_PAUSE`` a seed for random AXI stalls, ``MRF_RESET_AFTER_US`` a reset in the middle of
    a first, abandoned run.
    """
    data = np.load(os.environ["MRF_JOB"])
    job = KernelJob(
        buffers={k: data[k].tobytes() for k in ("samples", "weights_in", "weights_out")},
        n_samples=int(data["n_samples"]),
        widths=tuple(int(w) for w in data["widths"]),
    )
    addresses, size = layout(job)
    # the generics the runner passed reached the elaborated kernel (GHDL's VPI shows them)
    assert int(dut.Layers_g.value) == len(job.widths) - 1, "generic Layers_g not applied"
    for k, width in enumerate(job.widths):
        assert int(getattr(dut, f"N{k}_g").value) == width, f"generic N{k}_g not applied"
    cocotb.start_soon(Clock(dut.ap_clk, 4, unit="ns").start())
    ram = AxiRam(_drop_absent(AxiBus.from_prefix(dut, "m_axi_gmem")), dut.ap_clk, dut.ap_rst_n,
                 reset_active_level=False, size=size)
    ctrl = AxiLiteMaster(_drop_absent(AxiLiteBus.from_prefix(dut, "s_axi_control")), dut.ap_clk,
                         dut.ap_rst_n, reset_active_level=False)
    if os.environ.get("MRF_PAUSE"):
        _throttle(ram, ctrl, int(os.environ["MRF_PAUSE"]))
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 5)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 2)
    for name, address in addresses.items():
        ram.write(address, job.buffers[name])

    if os.environ.get("MRF_RESET_AFTER_US"):  # abandon a run half-way: reset must recover
        await _start(ctrl, job, addresses)
        await Timer(float(os.environ["MRF_RESET_AFTER_US"]), unit="us")
        dut.ap_rst_n.value = 0
        await ClockCycles(dut.ap_clk, 8)
        dut.ap_rst_n.value = 1
        await ClockCycles(dut.ap_clk, 4)
        ram.write(addresses["weights_out"], job.buffers["weights_out"])

    outputs, polls, busy = [], 0, [0]
    cocotb.start_soon(_count_busy(dut, busy))
    for _ in range(int(os.environ.get("MRF_RUNS", "1"))):
        ram.write(addresses["weights_out"], bytes(len(job.buffers["weights_out"])))
        await _start(ctrl, job, addresses)
        polls += await _wait_done(ctrl)
        await RisingEdge(dut.ap_clk)
        out = ram.read(addresses["weights_out"], len(job.buffers["weights_out"]))
        outputs.append(np.frombuffer(out, dtype=np.uint8))
        assert ram.read(addresses["weights_in"], len(job.buffers["weights_in"])) == \
            job.buffers["weights_in"], "weights_in was modified"
    np.savez(os.environ["MRF_RESULT"], weights_out=outputs[0], all_outputs=np.stack(outputs),
             polls=polls, busy_cycles=busy[0])
