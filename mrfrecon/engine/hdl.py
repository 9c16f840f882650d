"""``device="hdl"``: the training run executed by the GHDL simulation of the Vitis kernel.

The same :class:`~mrfrecon.engine.kernel.KernelJob` (buffers and register writes) that the XRT
backend gives ``pyxrt`` is replayed by ``hw/tb/kernel/kernel_tb.py`` on the simulated AXI buses.
Slow (a few thousand cycles per second): meant for small networks and sample counts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.hdl_sim import hw_dir, require_ghdl, rtl_sources, run_sim
from mrfrecon.engine.kernel import KernelJob, build_job, decode_weights
from mrfrecon.engine.state import EngineState
from mrfrecon.errors import EngineUnavailableError
from mrfrecon.quantized import IntegerMLP


def simulate_job(job: KernelJob, workdir: Path, master_extra: int = 8) -> bytes:
    """Run one kernel job in GHDL; returns the ``weights_out`` buffer."""
    require_ghdl()
    job_file, result_file = workdir / "job.npz", workdir / "result.npz"
    np.savez(job_file, n_samples=job.n_samples, widths=np.array(job.widths),
             **{k: np.frombuffer(v, dtype=np.uint8) for k, v in job.buffers.items()})
    n_in, n_h1, n_h2, n_out = job.widths
    log_file = workdir / "sim.log"
    try:
        run_sim(
            "mrf_train_kernel", rtl_sources(), "kernel_tb", hw_dir() / "tb" / "kernel",
            workdir / "build",
            {"NIn_g": n_in, "NH1_g": n_h1, "NH2_g": n_h2, "NOut_g": n_out,
             "MasterExtra_g": master_extra},
            log_file=log_file,
            extra_env={"MRF_JOB": str(job_file), "MRF_RESULT": str(result_file)},
        )
    except (SystemExit, RuntimeError) as exc:
        raise EngineUnavailableError(f"HDL simulation failed, see '{log_file}'") from exc
    if not result_file.is_file():
        raise EngineUnavailableError(f"HDL simulation produced no result, see '{log_file}'")
    return np.load(result_file)["weights_out"].tobytes()


def train_hdl(
    network: IntegerMLP,
    state: EngineState,
    fmt: EngineFormat,
    config: FixedPointConfig,
    x_int: np.ndarray,
    t_int: np.ndarray,
    progress: Callable[[int, int], None] | None = None,
    workdir: Path | None = None,
) -> EngineState:
    """Train by simulating the RTL kernel; same contract as :func:`emu.train_emu`."""
    job = build_job(state, fmt, config, x_int, t_int)
    n_updates = x_int.shape[0] // config.batch
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="mrfrecon-hdl-") as tmp:
            out = simulate_job(job, Path(tmp), config.master_extra)
    else:
        out = simulate_job(job, workdir, config.master_extra)
    if progress is not None:
        progress(x_int.shape[0], x_int.shape[0])
    return decode_weights(out, state, config, n_updates)
