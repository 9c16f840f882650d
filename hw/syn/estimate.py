"""Open-source resource estimate of the training kernel and projected training time.

    python hw/syn/estimate.py [--top mrf_train_kernel] [--cycles-per-sample 119.4] [--json]

Synthesises hw/rtl with GHDL (``--synth --out=verilog``) and Yosys
(``synth_xilinx -family xcup -noiopad``, ``stat -json``) and prints LUT/FF/DSP48E2/BRAM use as
a percentage of an Alveo U250, beside the reference design (Ricchi et al., arXiv 2506.22156).
Caveats printed with the table: GHDL's Verilog loses signed-multiply widths, so Yosys maps a
small signed product to up to 3 DSP48E2 instead of 1; Yosys 0.23 maps carries to CARRY4.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HW = Path(__file__).resolve().parents[1]
RTL = HW / "rtl"
SOURCES = ["mrf_train_pkg.vhd", "mrf_train_lane.vhd", "mrf_train_core.vhd",
           "mrf_axi_lite_ctrl.vhd", "mrf_axi_master.vhd", "mrf_train_kernel.vhd"]
U250 = {"LUT": 1_728_000, "FF": 3_456_000, "DSP": 12_288, "BRAM": 2_688}
REFERENCE = {"node": {"LUT": 3382, "FF": 38, "DSP": 256},
             "backprop": {"LUT": 24928, "FF": 13312, "DSP": 768}}
REFERENCE_CYCLES = 56 + 104
SAMPLES = 250_000_000


def classify(cells: dict[str, int]) -> dict[str, int]:
    """Xilinx primitive counts -> LUT / FF / DSP / BRAM (RAMB36 = 1, RAMB18 = 1/2, rounded up)."""
    out = {"LUT": 0, "FF": 0, "DSP": 0, "BRAM": 0.0, "LUTRAM": 0, "CARRY": 0}
    for cell, count in cells.items():
        name = cell.lstrip("$").upper()
        if re.fullmatch(r"LUT[1-6]", name):
            out["LUT"] += count
        elif re.fullmatch(r"FD[CPRSE]E?", name) or name.startswith("FD"):
            out["FF"] += count
        elif name.startswith("DSP48"):
            out["DSP"] += count
        elif name.startswith("RAMB36"):
            out["BRAM"] += count
        elif name.startswith("RAMB18"):
            out["BRAM"] += count / 2
        elif name.startswith(("RAM32", "RAM64", "RAM128", "RAM256", "RAMS", "RAMD", "SRL")):
            out["LUTRAM"] += count
        elif name.startswith("CARRY"):
            out["CARRY"] += count
    out["BRAM"] = int(-(-out["BRAM"] // 1))
    return out


def synthesise(top: str, generics: dict[str, int], workdir: Path) -> dict[str, int]:
    for tool in ("ghdl", "yosys"):
        if shutil.which(tool) is None:
            raise SystemExit(f"Error: {tool} not found (apt-get install ghdl yosys)")
    files = [str(RTL / s) for s in SOURCES]
    subprocess.run(["ghdl", "-a", "--std=08", f"--workdir={workdir}", *files], check=True)
    quiet = {"stderr": subprocess.DEVNULL}
    gargs = [f"-g{k}={v}" for k, v in generics.items()]
    verilog = workdir / f"{top}.v"
    with verilog.open("w") as fh:
        subprocess.run(["ghdl", "--synth", "--std=08", f"--workdir={workdir}", *gargs,
                        "--out=verilog", top], check=True, stdout=fh, **quiet)
    stat = workdir / "stat.json"
    subprocess.run(["yosys", "-q", "-p", f"read_verilog {verilog}; synth_xilinx -family xcup "
                    f"-noiopad -top {top}; tee -q -o {stat} stat -json"], check=True)
    return classify(parse_stat(stat.read_text()))


def parse_stat(text: str) -> dict[str, int]:
    """Cell counts of the top design from Yosys ``stat -json`` (0.23 can emit stray commas)."""
    try:
        data = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
        return {k: int(v) for k, v in data["design"]["num_cells_by_type"].items()}
    except (json.JSONDecodeError, KeyError):
        block = text[text.rfind('"num_cells_by_type"'):]
        block = block[: block.find("}")]
        return {k: int(v) for k, v in re.findall(r'"([^"]+)":\s*(\d+)', block)}


def table(usage: dict[str, int], cycles: float) -> str:
    lines = [f"{'resource':<8} {'this engine':>12} {'% U250':>8}   {'ref node':>9} "
             f"{'ref backprop':>13}"]
    for key in ("LUT", "FF", "DSP", "BRAM"):
        ref_n = REFERENCE["node"].get(key, "-")
        ref_b = REFERENCE["backprop"].get(key, "-")
        lines.append(f"{key:<8} {usage[key]:>12,} {100 * usage[key] / U250[key]:>7.2f}%   "
                     f"{ref_n!s:>9} {ref_b!s:>13}")
    lines.append(f"(LUTRAM {usage['LUTRAM']:,}, CARRY {usage['CARRY']:,}; DSP over-counted: "
                 "GHDL's Verilog loses signed-multiply widths, see hw/syn/README.md)")
    lines.append("")
    lines.append(f"training time for {SAMPLES / 1e6:.0f} M samples (one pass):")
    lines.append(f"{'design':<28} {'cycles/sample':>13} {'200 MHz':>9} {'250 MHz':>9} "
                 f"{'samples/s @200':>15}")
    designs = (("reference (56 + 104)", REFERENCE_CYCLES), ("this engine (GHDL measured)", cycles))
    for name, cyc in designs:
        t200, t250 = cyc * SAMPLES / 200e6, cyc * SAMPLES / 250e6
        lines.append(f"{name:<28} {cyc:>13.1f} {t200:>8.1f}s {t250:>8.1f}s "
                     f"{200e6 / cyc:>15,.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", default="mrf_train_kernel")
    parser.add_argument("--widths", default="16,16,16,2", help="n_in,n_h1,n_h2,n_out")
    parser.add_argument("--cycles-per-sample", type=float, default=None,
                        help="measured value (default: run benchmarks/hdl_cycles.py's figure)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="keep the netlist/stat here")
    args = parser.parse_args(argv)
    n_in, n_h1, n_h2, n_out = (int(v) for v in args.widths.split(","))
    generics = {"NIn_g": n_in, "NH1_g": n_h1, "NH2_g": n_h2, "NOut_g": n_out}
    cycles = args.cycles_per_sample
    if cycles is None:
        sys.path.insert(0, str(HW.parent / "benchmarks"))
        from hdl_cycles import measure_cycles  # noqa: PLC0415

        cycles = measure_cycles((n_in, n_h1, n_h2, n_out), n_samples=64)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        usage = synthesise(args.top, generics, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="mrf-syn-") as tmp:
            usage = synthesise(args.top, generics, Path(tmp))
    if args.json:
        print(json.dumps({"usage": usage, "cycles_per_sample": cycles}))
    else:
        print(f"{args.top} {args.widths}: Yosys synth_xilinx -family xcup estimate")
        print(table(usage, cycles))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
