"""What the training engine can use on this machine (for ``mrfrecon doctor``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field

from mrfrecon.engine.xrt import XCLBIN_ENV, import_pyxrt, list_devices
from mrfrecon.errors import MissingDependencyError


@dataclass(frozen=True)
class EngineFindings:
    """One line per tool: version string or ``None`` when absent.

    xrt: pyxrt importable; devices: XRT device names; xclbin: path from ``MRFRECON_XCLBIN``
    and whether it exists; ghdl, yosys: first line of ``--version``; cocotb: its version;
    devices_usable: the devices ``train_fixed`` can use here.
    """

    xrt: str | None
    devices: list[str] = field(default_factory=list)
    xclbin: str | None = None
    xclbin_exists: bool = False
    ghdl: str | None = None
    yosys: str | None = None
    cocotb: str | None = None
    devices_usable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _version(exe: str, flag: str = "--version") -> str | None:
    path = shutil.which(exe)
    if path is None:
        return None
    try:
        out = subprocess.run([path, flag], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else path


def engine_doctor() -> EngineFindings:
    """Probe XRT, cards, the kernel binary, GHDL, Yosys and cocotb (never raises)."""
    try:
        pyxrt = import_pyxrt()
        xrt = getattr(pyxrt, "__file__", "pyxrt")
    except MissingDependencyError:
        xrt = None
    devices = list_devices() if xrt else []
    try:
        import cocotb

        cocotb_version: str | None = cocotb.__version__
    except ImportError:
        cocotb_version = None
    ghdl = _version("ghdl")
    xclbin = os.environ.get(XCLBIN_ENV)
    usable = ["golden", "emu"]
    if ghdl and cocotb_version:
        usable.append("hdl")
    if devices and xclbin and os.path.isfile(xclbin):
        usable.append("fpga")
    return EngineFindings(
        xrt=xrt, devices=devices, xclbin=xclbin,
        xclbin_exists=bool(xclbin and os.path.isfile(xclbin)),
        ghdl=ghdl, yosys=_version("yosys", "-V"), cocotb=cocotb_version, devices_usable=usable,
    )
