"""``mrfrecon doctor``: the install's health (version, shipped files, caches, compiled kernels)
and what this machine offers (XRT and cards, kernel binary, GHDL, Yosys, cocotb, CUDA)."""

from __future__ import annotations

import typer

from ..errors import MrfreconError
from ._common import JsonOption
from ._errors import handle_errors
from ._output import info, print_json, progress_bar, warn


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


@handle_errors
def doctor(
    as_json: bool = JsonOption,
    warm: bool = typer.Option(False, "--warm", help="Compile the numba kernels into the cache "
                              "first (once per install and user; tens of seconds)."),
) -> None:
    """Report the install (version, sequences, hw sources, caches, compiled kernels), XRT,
    FPGA devices, the xclbin (MRFRECON_XCLBIN), GHDL, Yosys, cocotb and CUDA.

    Exits with 1 when the install has a problem that would make commands fail."""
    import torch

    from .. import __version__
    from ..engine.doctor import engine_doctor
    from ..install_health import install_health, warm_kernels

    if warm:
        with progress_bar("Compiling kernels", enabled=not as_json) as bar:
            warm_kernels(progress=bar)
    health = install_health()
    findings = engine_doctor().as_dict()
    findings["mrfrecon"] = __version__
    findings["torch"] = torch.__version__
    findings["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    findings["install"] = health.as_dict()
    if as_json:
        print_json(findings)
    else:
        _render(findings, health)
    if health.problems:
        raise MrfreconError("install problems: " + "; ".join(health.problems))


def _where(probe, *, write: bool = False) -> str:
    if not probe.exists:
        return f"{probe.path} (missing)"
    state = "readable" if probe.readable else "NOT readable"
    if write or probe.writable:
        state += ", writable" if probe.writable else ", NOT writable"
    return f"{probe.path} ({state})"


def _render(findings: dict, health) -> None:
    cached = sum(1 for n in health.kernels.values() if n)
    kernels = (f"{cached}/{len(health.kernels)} cached"
               + ("" if health.kernels_cached else " (the first simulation compiles them; "
                  "or run `mrfrecon doctor --warm`)"))
    rows = [
        ("mrfrecon", f"{health.version} "
                     f"({'source checkout' if health.source_checkout else 'installed'})"),
        ("python", health.python),
        ("package", _where(health.package)),
        ("sequences", f"{_where(health.sequences)}: {', '.join(health.sequence_names) or 'none'}"),
        ("hw sources", _where(health.hw) + (f", missing {', '.join(health.hw_missing)}"
                                            if health.hw_missing else "")),
        ("cache", _where(health.cache, write=True)),
        ("compiled kernels", f"{_where(health.numba_cache, write=True)}: {kernels}"),
        ("XRT (pyxrt)", findings["xrt"] or "not found (source /opt/xilinx/xrt/setup.sh)"),
        ("FPGA devices", ", ".join(findings["devices"]) or "none"),
        (
            "xclbin",
            f"{findings['xclbin']} ({'found' if findings['xclbin_exists'] else 'missing'})"
            if findings["xclbin"]
            else "MRFRECON_XCLBIN not set",
        ),
        ("GHDL", findings["ghdl"] or "not found (apt-get install ghdl)"),
        ("Yosys", findings["yosys"] or "not found (apt-get install yosys)"),
        ("cocotb", findings["cocotb"] or "not found (pip install cocotb)"),
        ("torch", f"{findings['torch']}, CUDA: {findings['cuda'] or 'none'}"),
        ("fixed-engine devices", ", ".join(findings["devices_usable"])),
    ]
    for name, value in rows:
        info(f"  {name:<22} {value}")
    for problem in health.problems:
        warn(problem)
