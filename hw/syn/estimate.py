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
import sys
import tempfile
from pathlib import Path

from mrfrecon.engine.hdl_netlist import ghdl_synth, yosys_map
from mrfrecon.errors import MrfreconError

HW = Path(__file__).resolve().parents[1]
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


def synthesise(top: str, generics: dict[str, int], workdir: Path) -> tuple[dict[str, int], dict]:
    """GHDL + flattened Yosys ``synth_xilinx -family xcup``; usage and synthesis checks.

    Raises ``SystemExit`` with a one-line error on any latch, undriven bit or mangled constant:
    then the netlist would not be the design and its figures would mean nothing.
    """
    try:
        verilog = ghdl_synth(top, generics, workdir)
        result = yosys_map(verilog, top, workdir, extra=f"tee -q -o {workdir / 'ltp.txt'} "
                           "ltp -noff")
    except MrfreconError as exc:
        raise SystemExit(f"Error: {exc}") from exc
    if result.latches or result.undriven or result.problems:
        first = result.problems[0] if result.problems else ""
        raise SystemExit(f"Error: the netlist is not the design: {result.latches} latch(es), "
                         f"{result.undriven} undriven bit(s); first: {first} "
                         f"(log: {result.log})")
    checks = {"latches": result.latches, "undriven": result.undriven,
              "ltp_cells": parse_ltp((workdir / "ltp.txt").read_text())}
    return classify(result.cells), checks


def parse_ltp(text: str) -> int:
    """Longest topological path (cells, flip-flops cut) from Yosys ``ltp -noff``."""
    found = re.findall(r"length=(\d+)", text)
    return int(found[-1]) if found else -1


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
        usage, checks = synthesise(args.top, generics, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="mrf-syn-") as tmp:
            usage, checks = synthesise(args.top, generics, Path(tmp))
    if args.json:
        print(json.dumps({"lut": usage["LUT"], "ff": usage["FF"], "dsp": usage["DSP"],
                          "bram": usage["BRAM"], "lutram": usage["LUTRAM"],
                          "carry": usage["CARRY"], "latches": checks["latches"],
                          "undriven": checks["undriven"], "ltp_cells": checks["ltp_cells"],
                          "cycles_per_sample": cycles}))
    else:
        print(f"{args.top} {args.widths}: Yosys synth_xilinx -flatten -family xcup estimate "
              f"(latches {checks['latches']}, undriven bits {checks['undriven']})")
        print(table(usage, cycles))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
