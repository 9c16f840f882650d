"""Open-source resource estimate of the training kernel and projected training time.

    python hw/syn/estimate.py [--top mrf_train_kernel] [--widths 16,16,16,2]
                              [--cycles-per-sample C] [--clock-mhz 300] [--json]

Synthesises hw/rtl with GHDL (``--synth --out=verilog``) and Yosys (flattened
``synth_xilinx -family xcup -noiopad``) and prints LUT/FF/DSP48E2/BRAM use as a percentage of an
Alveo U250 and per M samples/s, beside the reference design (Ricchi et al., arXiv 2506.22156),
the logic depth of the mapped netlist with a documented delay model, and the projected training
throughput (cycles/sample from GHDL simulation, clock assumed). Fails with ``Error: ...`` on any
latch, undriven bit or mangled constant: then the netlist would not be the design.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from mrfrecon.engine.hdl_netlist import DELAY_NS, ghdl_synth, logic_depth, yosys_map
from mrfrecon.engine.hdl_sim import core_generics
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
        result = yosys_map(verilog, top, workdir)
        depth = logic_depth(workdir / f"{top}_mapped.json", top)
    except MrfreconError as exc:
        raise SystemExit(f"Error: {exc}") from exc
    if result.latches or result.undriven or result.problems:
        first = result.problems[0] if result.problems else ""
        raise SystemExit(f"Error: the netlist is not the design: {result.latches} latch(es), "
                         f"{result.undriven} undriven bit(s); first: {first} "
                         f"(log: {result.log})")
    checks = {"latches": result.latches, "undriven": result.undriven, "depth": depth}
    return classify(result.cells), checks


def projection(usage: dict[str, int], cycles: float, clock_mhz: float) -> dict[str, float]:
    """Projected samples/s (simulated cycles/sample at a clock that is *not* measured) and
    resources per M samples/s, for this engine and the reference (200 MHz, 160 cycles)."""
    ours = clock_mhz * 1e6 / cycles
    ref = 200e6 / REFERENCE_CYCLES
    ref_use = {k: REFERENCE["node"][k] + REFERENCE["backprop"][k] for k in ("LUT", "FF", "DSP")}
    out = {"clock_mhz": clock_mhz, "fpga_projected_samples_per_s": ours,
           "reference_samples_per_s": ref}
    for key in ("LUT", "FF", "DSP"):
        out[f"{key.lower()}_per_msps"] = usage[key] / (ours / 1e6)
        out[f"reference_{key.lower()}_per_msps"] = ref_use[key] / (ref / 1e6)
    return out


def table(usage: dict[str, int], cycles: float, depth, clock_mhz: float) -> str:
    proj = projection(usage, cycles, clock_mhz)
    lines = [f"{'resource':<8} {'this engine':>12} {'% U250':>8}   {'ref node':>9} "
             f"{'ref backprop':>13} {'per M samples/s':>16} {'ref per M/s':>12}"]
    for key in ("LUT", "FF", "DSP", "BRAM"):
        ref_n = REFERENCE["node"].get(key, "-")
        ref_b = REFERENCE["backprop"].get(key, "-")
        per = proj.get(f"{key.lower()}_per_msps")
        ref_per = proj.get(f"reference_{key.lower()}_per_msps")
        per_s = f"{per:>16,.0f}" if per is not None else f"{'-':>16}"
        ref_s = f"{ref_per:>12,.0f}" if ref_per is not None else f"{'-':>12}"
        lines.append(f"{key:<8} {usage[key]:>12,} {100 * usage[key] / U250[key]:>7.2f}%   "
                     f"{ref_n!s:>9} {ref_b!s:>13} {per_s} {ref_s}")
    lines.append(f"(LUTRAM {usage['LUTRAM']:,}, CARRY4 {usage['CARRY']:,}; measured: Yosys 0.23 "
                 "synth_xilinx -flatten -family xcup, no latch, no undriven bit)")
    lines.append("")
    lines.append("logic depth, worst register-to-register path of the mapped netlist (measured):")
    lines.append(f"  LUT levels {depth.lut_levels}, MUXF {depth.muxf}, CARRY4 {depth.carry}, "
                 f"unregistered DSP {depth.dsp}; longest CARRY4 chain {depth.max_carry_chain} "
                 f"({4 * depth.max_carry_chain} bits)")
    lines.append(f"  delay model {DELAY_NS} ns -> {depth.path_ns:.2f} ns "
                 f"(~{1000 / depth.path_ns:.0f} MHz; projected, needs Vivado: hw/syn/vivado_ooc.tcl)")
    lines.append("")
    lines.append(f"training time for {SAMPLES / 1e6:.0f} M samples (one pass); cycles/sample from "
                 "GHDL simulation (measured), clock projected:")
    lines.append(f"{'design':<30} {'cycles/sample':>13} {'clock':>9} {'time':>9} "
                 f"{'samples/s':>14}")
    designs = (("reference (56 + 104)", REFERENCE_CYCLES, 200.0),
               ("this engine", cycles, clock_mhz))
    for name, cyc, mhz in designs:
        lines.append(f"{name:<30} {cyc:>13.1f} {mhz:>6.0f}MHz {cyc * SAMPLES / (mhz * 1e6):>8.1f}s "
                     f"{mhz * 1e6 / cyc:>14,.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", default="mrf_train_kernel")
    parser.add_argument("--widths", default="16,16,16,2", help="n_in,n_h1,n_h2,n_out")
    parser.add_argument("--cycles-per-sample", type=float, default=None,
                        help="measured value (default: run benchmarks/hdl_cycles.py's figure)")
    parser.add_argument("--clock-mhz", type=float, default=300.0,
                        help="projected clock (not measured here; goal 300 MHz)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="keep the netlist/stat here")
    args = parser.parse_args(argv)
    widths = tuple(int(v) for v in args.widths.split(","))
    if args.top == "mrf_train_core":
        generics = {**core_generics(widths), "Debug_g": False}
    elif len(widths) == 4:  # the kernel shell (interface v1) is built for 3 layers
        generics = dict(zip(("NIn_g", "NH1_g", "NH2_g", "NOut_g"), widths, strict=True))
    else:
        raise SystemExit(f"Error: --top {args.top} takes 4 widths (3 layers), got {widths}")
    cycles = args.cycles_per_sample
    if cycles is None:
        sys.path.insert(0, str(HW.parent / "benchmarks"))
        from hdl_cycles import measure_cycles  # noqa: PLC0415

        cycles = measure_cycles(widths, n_samples=64)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        usage, checks = synthesise(args.top, generics, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="mrf-syn-") as tmp:
            usage, checks = synthesise(args.top, generics, Path(tmp))
    depth = checks["depth"]
    if args.json:
        print(json.dumps({
            "lut": usage["LUT"], "ff": usage["FF"], "dsp": usage["DSP"], "bram": usage["BRAM"],
            "lutram": usage["LUTRAM"], "carry4": usage["CARRY"], "latches": checks["latches"],
            "undriven": checks["undriven"], "max_lut_levels": depth.lut_levels,
            "max_carry_chain": depth.max_carry_chain, "path_ns_model": depth.path_ns,
            "cycles_per_sample": cycles, **projection(usage, cycles, args.clock_mhz)}))
    else:
        print(f"{args.top} {args.widths}: Yosys synth_xilinx -flatten -family xcup estimate "
              f"(latches {checks['latches']}, undriven bits {checks['undriven']})")
        print(table(usage, cycles, depth, args.clock_mhz))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
