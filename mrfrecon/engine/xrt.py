"""``device="fpga"``: the ``mrf_train`` kernel on an Alveo card through XRT's ``pyxrt``.

``pyxrt`` ships with XRT (``source /opt/xilinx/xrt/setup.sh``), not with PyPI; it is imported
lazily. The buffers and arguments come from :mod:`mrfrecon.engine.kernel`, the same description
the GHDL backend replays register by register.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.kernel import ARGUMENTS, KERNEL_NAME, build_job, decode_weights
from mrfrecon.engine.state import EngineState
from mrfrecon.errors import EngineUnavailableError, MissingDependencyError
from mrfrecon.quantized import IntegerMLP

XCLBIN_ENV = "MRFRECON_XCLBIN"


def import_pyxrt() -> ModuleType:
    """``pyxrt`` or :class:`MissingDependencyError` with what to do."""
    try:
        import pyxrt  # type: ignore[import-not-found]
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


def _open_kernel(pyxrt: ModuleType, xclbin_path: Path):
    device = pyxrt.device(0)
    xclbin = pyxrt.xclbin(str(xclbin_path))
    if hasattr(pyxrt, "hw_context"):
        context = pyxrt.hw_context(device, xclbin.get_uuid())
        return device, pyxrt.kernel(context, KERNEL_NAME)
    uuid = device.load_xclbin(xclbin)
    return device, pyxrt.kernel(device, uuid, KERNEL_NAME, pyxrt.kernel.shared)


def train_xrt(
    network: IntegerMLP,
    state: EngineState,
    fmt: EngineFormat,
    config: FixedPointConfig,
    x_int: np.ndarray,
    t_int: np.ndarray,
    xclbin: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EngineState:
    """Train on the card; same contract as :func:`emu.train_emu`."""
    pyxrt = import_pyxrt()
    if not fpga_available():
        raise EngineUnavailableError("no XRT device found (xbutil examine)")
    path = Path(xclbin or os.environ.get(XCLBIN_ENV, ""))
    if not path.is_file():
        raise EngineUnavailableError(
            f"kernel binary not found: '{path}' (pass xclbin= or set {XCLBIN_ENV})"
        )
    job = build_job(state, fmt, config, x_int, t_int)
    device, kernel = _open_kernel(pyxrt, path)
    bos, addresses = {}, {}
    for index, (name, _, _) in enumerate(ARGUMENTS):
        if name not in job.buffers:
            continue
        data = job.buffers[name]
        bo = pyxrt.bo(device, len(data), pyxrt.bo.normal, kernel.group_id(index))
        bo.write(data, 0)
        bo.sync(pyxrt.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE, len(data), 0)
        bos[name] = bo
        addresses[name] = bo.address()
    args = [bos[name] if name in bos else value
            for (name, _, _), value in zip(ARGUMENTS, job.arguments(addresses), strict=True)]
    run = kernel(*args)
    run.wait()
    out = bos["weights_out"]
    size = len(job.buffers["weights_out"])
    out.sync(pyxrt.xclBOSyncDirection.XCL_BO_SYNC_BO_FROM_DEVICE, size, 0)
    data = bytes(out.read(size, 0))
    if progress is not None:
        progress(x_int.shape[0], x_int.shape[0])
    return decode_weights(data, state, config, x_int.shape[0] // config.batch)
