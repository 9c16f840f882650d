"""The packaging files agree with the RTL ports and the host's register map."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from mrfrecon.engine.kernel import ARGUMENTS, KERNEL_NAME

HW = Path(__file__).resolve().parents[2] / "hw"


def test_kernel_xml_matches_host_register_map():
    kernel = ET.parse(HW / "packaging" / "kernel.xml").getroot().find("kernel")
    assert kernel.get("name") == KERNEL_NAME and kernel.get("hwControlProtocol") == "ap_ctrl_hs"
    args = [(a.get("name"), int(a.get("offset"), 16), int(a.get("size"), 16) * 8)
            for a in kernel.iter("arg")]
    assert args == list(ARGUMENTS)


def test_kernel_xml_ports_exist_on_the_rtl_top():
    vhdl = (HW / "rtl" / "mrf_train_kernel.vhd").read_text().lower()
    kernel = ET.parse(HW / "packaging" / "kernel.xml").getroot().find("kernel")
    for port in kernel.iter("port"):
        assert re.search(rf"\b{port.get('name')}_\w+\s*:", vhdl), port.get("name")
    assert re.search(r"\bap_clk\s*:", vhdl) and re.search(r"\bap_rst_n\s*:", vhdl)
    tcl = (HW / "packaging" / "package_xo.tcl").read_text()
    for name, offset, _ in ARGUMENTS:
        assert re.search(rf"{name} 0x{offset:03X}", tcl), name
