"""``device="hdl"``: the training run executed by the GHDL simulation of the Vitis kernel.

The same :class:`~mrfrecon.engine.kernel.KernelJob` (buffers and register writes) that the XRT
backend gives ``pyxrt`` is replayed by ``hw/tb/kernel/kernel_tb.py`` on the simulated AXI buses.
Slow (a few thousand cycles per second): meant for small networks and sample counts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mrfrecon.engine import kernel
from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.hdl_sim import core_generics, hw_dir, require_ghdl, rtl_sources, run_sim
from mrfrecon.engine.kernel import KernelJob, build_job, decode_weights
from mrfrecon.engine.state import EngineState
from mrfrecon.errors import EngineUnavailableError
from mrfrecon.quantized import IntegerMLP

MAGIC_V2 = 0x3246524D  # "MRF2": the interface mrf_train_kernel.vhd implements (SPEC §8)

#: Replicas_g of the kernel that ``--device hdl`` simulates. Any count gives the same weights bit
#: for bit (the replicas' integer gradient sums add exactly; hw/tb/core tests 1 to 16); two keep
#: the simulation several times faster than the 16 that are synthesised.
SIM_REPLICAS = 2


def simulate_job(job: KernelJob, workdir: Path, master_extra: int = 8, runs: int = 1,
                 pause_seed: int | None = None, reset_after_us: float | None = None,
                 replicas: int = SIM_REPLICAS, stats: dict[str, int] | None = None,
                 ) -> list[bytes]:
    """Run one kernel job in GHDL ``runs`` times back to back; returns each ``weights_out``.

    replicas: the kernel's ``Replicas_g`` (a power of two; the result does not depend on it).

    pause_seed: random latency and back-pressure on every AXI channel (cocotbext-axi pause
    generators); reset_after_us: first start the job and reset the kernel that long after.
    stats: filled with ``busy_cycles``, the clock cycles the kernel was not idle (all runs).
    """
    require_ghdl()
    if getattr(kernel, "MAGIC", None) != MAGIC_V2:
        raise EngineUnavailableError(
            "the RTL kernel implements interface v2 (hw/SPEC.md §8); this checkout's host code "
            "(mrfrecon/engine/kernel.py) builds another version"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    job_file, result_file = workdir / "job.npz", workdir / "result.npz"
    buffers: dict[str, Any] = {k: np.frombuffer(v, dtype=np.uint8) for k, v in job.buffers.items()}
    np.savez(job_file, n_samples=job.n_samples, widths=np.array(job.widths), **buffers)
    log_file = workdir / "sim.log"
    env = {"MRF_JOB": str(job_file), "MRF_RESULT": str(result_file), "MRF_RUNS": str(runs)}
    if pause_seed is not None:
        env["MRF_PAUSE"] = str(pause_seed)
    if reset_after_us is not None:
        env["MRF_RESET_AFTER_US"] = str(reset_after_us)
    try:
        run_sim(
            "mrf_train_kernel", rtl_sources(), "kernel_tb", hw_dir() / "tb" / "kernel",
            workdir / "build", {**core_generics(tuple(job.widths)), "MasterExtra_g": master_extra,
                                "Replicas_g": replicas},
            log_file=log_file, extra_env=env,
        )
    except (SystemExit, RuntimeError) as exc:
        raise EngineUnavailableError(f"HDL simulation failed, see '{log_file}'") from exc
    if not result_file.is_file():
        raise EngineUnavailableError(f"HDL simulation produced no result, see '{log_file}'")
    result = np.load(result_file)
    if stats is not None:
        stats["busy_cycles"] = int(result["busy_cycles"])
    return [row.tobytes() for row in result["all_outputs"]]


def train_hdl(
    network: IntegerMLP,
    state: EngineState,
    fmt: EngineFormat,
    config: FixedPointConfig,
    x_int: np.ndarray,
    t_int: np.ndarray,
    progress: Callable[[int, int], None] | None = None,
    workdir: Path | None = None,
    replicas: int = SIM_REPLICAS,
) -> EngineState:
    """Train by simulating the RTL kernel (``replicas``: its ``Replicas_g``); same contract as
    :func:`emu.train_emu`."""
    job = build_job(state, fmt, config, x_int, t_int)
    n_updates = x_int.shape[0] // config.batch
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="mrfrecon-hdl-") as tmp:
            out = simulate_job(job, Path(tmp), config.master_extra, replicas=replicas)[0]
    else:
        out = simulate_job(job, workdir, config.master_extra, replicas=replicas)[0]
    if progress is not None:
        progress(x_int.shape[0], x_int.shape[0])
    return decode_weights(out, state, config, n_updates)
