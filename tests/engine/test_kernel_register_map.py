"""The packaging files, SPEC §8.1 and the host agree on the kernel's register map."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mrfrecon.engine.kernel import (
    ARGUMENTS,
    KERNEL_NAME,
    REG_CTRL,
    REG_GIE,
    REG_IER,
    REG_ISR,
    SAMPLE_BEAT_BYTES,
)

HW = Path(__file__).resolve().parents[2] / "hw"
PACKAGING = HW / "packaging"
CONTROL = [("CTRL", REG_CTRL, 32), ("GIER", REG_GIE, 32), ("IP_IER", REG_IER, 32),
           ("IP_ISR", REG_ISR, 32)]


def _kernel_xml_args(path: Path = PACKAGING / "kernel.xml") -> list[tuple[str, int, int]]:
    kernel = ET.parse(path).getroot().find("kernel")
    return [(a.get("name"), int(a.get("offset"), 16), int(a.get("size"), 16) * 8)
            for a in kernel.iter("arg")]


def _tcl_table() -> list[tuple[str, int, int]]:
    text = (PACKAGING / "memory_map.tcl").read_text()
    body = re.search(r"set mrf_registers \{(.*?)\}", text, re.S).group(1)
    rows = [line.split() for line in body.strip().splitlines()]
    return [(name, int(offset, 16), int(bits)) for name, offset, bits, _ in rows]


def _spec_table() -> list[tuple[str, int, int]]:
    """Rows of the register table of SPEC §8.1 (a ``lo / hi`` pair is one 64-bit argument)."""
    spec = (HW / "SPEC.md").read_text()
    section = spec[spec.index("### 8.1") : spec.index("### 8.2")]
    rows = []
    for offsets, name in re.findall(r"^\| (`0x[0-9A-F]{2}`(?: / `0x[0-9A-F]{2}`)?) \| `?(\w+)`? \|",
                                    section, re.M):
        values = [int(v, 16) for v in re.findall(r"0x[0-9A-F]{2}", offsets)]
        rows.append((name, values[0], 32 * len(values)))
    return rows


def test_kernel_xml_matches_host_register_map():
    kernel = ET.parse(PACKAGING / "kernel.xml").getroot().find("kernel")
    assert kernel.get("name") == KERNEL_NAME and kernel.get("hwControlProtocol") == "ap_ctrl_hs"
    assert _kernel_xml_args() == list(ARGUMENTS)
    ids = [int(a.get("id")) for a in kernel.iter("arg")]
    assert ids == list(range(len(ARGUMENTS)))


def test_one_register_table_everywhere():
    """package_xo.tcl's table, SPEC §8.1, kernel.xml and kernel.py: the same map."""
    expected = CONTROL + list(ARGUMENTS)
    assert _tcl_table() == expected
    spec = _spec_table()
    assert [(o, b) for _, o, b in spec] == [(o, b) for _, o, b in expected]
    assert [n for n, _, _ in spec][4:] == [n for n, _, _ in ARGUMENTS]
    assert "source $here/memory_map.tcl" in (PACKAGING / "package_xo.tcl").read_text()


def test_arguments_follow_vitis_layout():
    """From 0x10: a 64-bit pointer takes 12 bytes, a 32-bit scalar 8; all in the 7-bit space."""
    offset = 0x10
    for name, got, bits in ARGUMENTS:
        assert got == offset, name
        assert got + bits // 8 <= 0x80, f"{name} past the RTL's 7-bit AXI4-Lite address"
        offset += 12 if bits == 64 else 8


@pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")
def test_tcl_guard_accepts_the_map_and_rejects_a_moved_register(tmp_path):
    script = PACKAGING / "memory_map.tcl"
    good = subprocess.run(["tclsh", str(script), str(PACKAGING / "kernel.xml")],
                          capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    assert "n_samples_hi 0x03C 32 scalar" in good.stdout
    moved = tmp_path / "kernel.xml"
    moved.write_text((PACKAGING / "kernel.xml").read_text().replace('offset="0x03C"',
                                                                    'offset="0x038"'))
    bad = subprocess.run(["tclsh", str(script), str(moved)], capture_output=True, text=True,
                         check=False)
    assert bad.returncode == 1 and "kernel.xml arguments" in bad.stderr


def test_kernel_xml_ports_exist_on_the_rtl_top():
    vhdl = (HW / "rtl" / "mrf_train_kernel.vhd").read_text().lower()
    kernel = ET.parse(PACKAGING / "kernel.xml").getroot().find("kernel")
    for port in kernel.iter("port"):
        assert re.search(rf"\b{port.get('name')}_\w+\s*:", vhdl), port.get("name")
    assert re.search(r"\bap_clk\s*:", vhdl) and re.search(r"\bap_rst_n\s*:", vhdl)


def test_kernel_xml_data_widths_match_the_rtl_ports():
    """kernel.xml's dataWidth of each bus is the width of the RTL top's data ports (512-bit
    m_axi_gmem: the sample reader), and the host pads samples to whole beats of it."""
    vhdl = (HW / "rtl" / "mrf_train_kernel.vhd").read_text().lower()
    kernel = ET.parse(PACKAGING / "kernel.xml").getroot().find("kernel")
    for port in kernel.iter("port"):
        name, width = port.get("name"), int(port.get("dataWidth"))
        for data in ("wdata", "rdata"):
            found = re.search(rf"\b{name}_{data}\s*:\s*(?:in|out)\s+std_logic_vector\((\d+) downto 0\)",
                              vhdl)
            assert found and int(found.group(1)) + 1 == width, (name, data, width)
    assert SAMPLE_BEAT_BYTES * 8 == int(next(p for p in kernel.iter("port")
                                             if p.get("name") == "m_axi_gmem").get("dataWidth"))
