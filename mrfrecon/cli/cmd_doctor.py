"""``mrfrecon doctor``: what this machine offers (XRT and cards, kernel binary, GHDL, Yosys,
cocotb, CUDA) and which training devices are usable."""

from __future__ import annotations

import typer

from ._common import JsonOption
from ._errors import handle_errors
from ._output import info, print_json


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


@handle_errors
def doctor(as_json: bool = JsonOption) -> None:
    """Report XRT, FPGA devices, the xclbin (MRFRECON_XCLBIN), GHDL, Yosys, cocotb and CUDA."""
    import torch

    from .. import __version__
    from ..engine.doctor import engine_doctor

    findings = engine_doctor().as_dict()
    findings["mrfrecon"] = __version__
    findings["torch"] = torch.__version__
    findings["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if as_json:
        print_json(findings)
        return
    rows = [
        ("mrfrecon", findings["mrfrecon"]),
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
