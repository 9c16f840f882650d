"""engine_doctor: the tools found and the devices usable with them."""

from mrfrecon.engine.doctor import engine_doctor


def test_doctor_reports_tools():
    findings = engine_doctor()
    assert "emu" in findings.devices_usable and "golden" in findings.devices_usable
    assert ("hdl" in findings.devices_usable) == bool(findings.ghdl and findings.cocotb)
    assert set(findings.as_dict()) >= {"xrt", "devices", "xclbin", "ghdl", "yosys", "cocotb"}
