"""``device="fpga"``: the ``mrf_train`` kernel on an Alveo card through XRT's ``pyxrt``.

``pyxrt`` ships with XRT (``source /opt/xilinx/xrt/setup.sh``), not with PyPI; it is imported
lazily. The buffers and arguments come from :mod:`mrfrecon.engine.kernel`, the same description
the GHDL backend replays register by register. The stream is trained in chunks, one kernel run
each (SPEC §5). While the card trains chunk ``k``, the host copies chunk ``k + 1`` into the other
of two sample buffers and a worker thread orders and packs chunk ``k + 2``; only the small
``weights_in`` (the state run ``k`` wrote) waits for the run. Host memory stays a few chunks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from mrfrecon.engine import kernel as kernel_io
from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.kernel import ARGUMENTS, BUFFER_ARGUMENTS, KERNEL_NAME, samples_bytes
from mrfrecon.engine.state import EngineState
from mrfrecon.engine.stream import DEFAULT_CHUNK_SAMPLES, SampleStream
from mrfrecon.errors import EngineRunError, EngineUnavailableError, MissingDependencyError

XCLBIN_ENV = "MRFRECON_XCLBIN"
WAIT_BASE_MS = 10_000
"""Run time-out: 10 s plus 10 µs per sample (about 50× the kernel's expected time per sample)."""


def import_pyxrt() -> ModuleType:
    """``pyxrt`` or :class:`MissingDependencyError` with what to do."""
    try:
        import pyxrt
    except ImportError as exc:
        raise MissingDependencyError(
            "pyxrt not found: install XRT and 'source /opt/xilinx/xrt/setup.sh' "
            "(needed by the fpga device)"
        ) from exc
    return pyxrt


def list_devices() -> list[str]:
    """Names of the XRT devices present (empty without XRT or cards)."""
    try:
        pyxrt = import_pyxrt()
    except MissingDependencyError:
        return []
    names = []
    for index in range(16):
        try:
            device = pyxrt.device(index)
        except Exception:  # noqa: BLE001 - pyxrt raises RuntimeError-like errors per index
            break
        try:
            names.append(str(device.get_info(pyxrt.xrt_info_device.name)))
        except Exception:  # noqa: BLE001
            names.append(f"device {index}")
    return names


def fpga_available() -> bool:
    return bool(list_devices())


@dataclass
class OpenKernel:
    """A device with the kernel binary loaded. ``context`` keeps the hardware context alive."""

    device: Any
    kernel: Any
    context: Any = None


def open_kernel(pyxrt: ModuleType, xclbin_path: Path) -> OpenKernel:
    """Load the xclbin on device 0 and open ``mrf_train``.

    Recent XRT (hardware contexts): the xclbin must be registered with the device before a
    context is created from its uuid. Older XRT: ``load_xclbin`` and a shared kernel.
    """
    device = pyxrt.device(0)
    xclbin = pyxrt.xclbin(str(xclbin_path))
    if hasattr(pyxrt, "hw_context"):
        device.register_xclbin(xclbin)
        context = pyxrt.hw_context(device, xclbin.get_uuid())
        return OpenKernel(device, pyxrt.kernel(context, KERNEL_NAME), context)
    uuid = device.load_xclbin(xclbin)
    return OpenKernel(device, pyxrt.kernel(device, uuid, KERNEL_NAME, pyxrt.kernel.shared))


def c_int(value: int) -> int:
    """A 32-bit register value as the signed C ``int`` pyxrt passes scalars as (same bits)."""
    return value - (1 << 32) if value >= 1 << 31 else value


def _wait(pyxrt: ModuleType, run: Any, timeout_ms: int, chunk: int) -> None:
    """Wait for a run; unless it completed, abort it (best effort) and raise."""
    state = run.wait(timeout_ms)
    if state != pyxrt.ert_cmd_state.ERT_CMD_STATE_COMPLETED:
        try:
            run.abort()  # xrt::run::abort (XRT >= 2.12); a timed-out run may still be going
        except Exception:  # noqa: BLE001 - nothing more to do, the error below says what happened
            pass
        name = getattr(state, "name", str(state))
        raise EngineRunError(
            f"kernel run {chunk} ended in state {name}, not ERT_CMD_STATE_COMPLETED "
            "(xbutil examine; check the xclbin matches the card)"
        )


def train_xrt(
    stream: SampleStream,
    state: EngineState,
    fmt: EngineFormat,
    config: FixedPointConfig,
    xclbin: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk_samples: int = DEFAULT_CHUNK_SAMPLES,
) -> EngineState:
    """Train on the card, one kernel run per chunk of ``stream``; same result as the emulator.

    chunk_samples: samples per kernel run (rounded down to whole batches); two sample buffers of
        this size live on the host and the card.
    """
    pyxrt = import_pyxrt()
    if not fpga_available():
        raise EngineUnavailableError("no XRT device found (xbutil examine)")
    path = Path(xclbin or os.environ.get(XCLBIN_ENV, ""))
    if not path.is_file():
        raise EngineUnavailableError(
            f"kernel binary not found: '{path}' (pass xclbin= or set {XCLBIN_ENV})"
        )
    bounds = stream.bounds(chunk_samples)
    if not bounds:
        return state.copy()
    kernel_io.check_shape(kernel_io.state_widths(state))
    opened = open_kernel(pyxrt, path)
    group = {name: opened.kernel.group_id(index) for index, (name, _, _) in enumerate(ARGUMENTS)
             if name in BUFFER_ARGUMENTS}
    widths = kernel_io.state_widths(state)
    largest = max(stop - start for start, stop in bounds)

    def new_bo(name: str, size: int) -> Any:
        return pyxrt.bo(opened.device, size, pyxrt.bo.normal, group[name])

    sample_bos = [new_bo("samples", samples_bytes(widths[0], widths[-1], largest))
                  for _ in range(2)]
    probe = kernel_io.build_job_packed(state, fmt, config, b"", 0)
    in_bo = new_bo("weights_in", len(probe.buffers["weights_in"]))
    out_size = len(probe.buffers["weights_out"])
    out_bo = new_bo("weights_out", out_size)
    to_device = pyxrt.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE
    from_device = pyxrt.xclBOSyncDirection.XCL_BO_SYNC_BO_FROM_DEVICE

    def produce(index: int) -> tuple[bytes, int]:
        start, stop = bounds[index]
        return kernel_io.pack_samples(*stream.chunk(start, stop)), stop - start

    def upload(index: int, samples: bytes) -> None:
        sample_bos[index % 2].write(samples, 0)
        sample_bos[index % 2].sync(to_device, len(samples), 0)

    state = state.copy()
    done, total = 0, stream.n_samples
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mrf-stream") as pool:
        current = produce(0)
        upload(0, current[0])
        pending = pool.submit(produce, 1) if len(bounds) > 1 else None
        for index in range(len(bounds)):
            samples, n_samples = current
            job = kernel_io.build_job_packed(state, fmt, config, samples, n_samples)
            weights_in = job.buffers["weights_in"]
            in_bo.write(weights_in, 0)
            in_bo.sync(to_device, len(weights_in), 0)
            bos = {"samples": sample_bos[index % 2], "weights_in": in_bo, "weights_out": out_bo}
            addresses = {name: bo.address() for name, bo in bos.items()}
            args = [bos[name] if name in bos else c_int(value) for (name, _, _), value
                    in zip(ARGUMENTS, job.arguments(addresses), strict=True)]
            run = opened.kernel(*args)
            if pending is not None:
                # while the card trains chunk `index`: chunk index+1 goes into the other buffer
                # and the worker generates chunk index+2
                current = pending.result()
                upload(index + 1, current[0])
                pending = (pool.submit(produce, index + 2) if index + 2 < len(bounds)
                           else None)
            _wait(pyxrt, run, WAIT_BASE_MS + n_samples // 100, index)
            out_bo.sync(from_device, out_size, 0)
            data = bytes(out_bo.read(out_size, 0))
            state = kernel_io.decode_weights(data, state, config, n_samples // config.batch)
            done += n_samples
            if progress is not None:
                progress(done, total)
    return state
