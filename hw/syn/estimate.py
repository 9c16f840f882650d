"""Open-source resource estimate of the training kernel and projected training time.

    python hw/syn/estimate.py [--top mrf_train_kernel] [--widths 16,16,16,2] [--replicas 16]
                              [--cycles-per-sample C] [--clock-mhz 300] [--json]

Synthesises hw/rtl with GHDL (``--synth --out=verilog``) and Yosys (``synth_xilinx -family xcup
-noiopad``) and prints LUT/FF/DSP48E2/BRAM use as a percentage of an Alveo U250 and per M
samples/s, beside the reference design (Ricchi et al., arXiv 2506.22156), the logic depth of the
mapped netlist with a documented delay model, the clock that model allows (at most the
``--clock-mhz`` target) and the projected training throughput (cycles/sample from GHDL
simulation). Resources: the full design with ``--replicas`` replicas, mapped per module (the
replicas are one module) and counted over the hierarchy. Logic depth and the synthesis checks:
the flattened netlist of the same design with ``--depth-replicas`` replicas (every replica is the
same logic; the replica-sum tree has a register after every level). Fails with ``Error: ...`` on
any latch, undriven bit or mangled constant: then the netlist would not be the design.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mrfrecon.engine.hdl_netlist import DELAY_NS, ghdl_synth, logic_depth, yosys_map
from mrfrecon.engine.hdl_sim import DEFAULT_REPLICAS, core_generics
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


def _map(top: str, generics: dict[str, object], workdir: Path, flatten: bool):
    try:
        verilog = ghdl_synth(top, generics, workdir)
        result = yosys_map(verilog, top, workdir, flatten=flatten)
    except MrfreconError as exc:
        raise SystemExit(f"Error: {exc}") from exc
    if result.latches or result.undriven or result.problems:
        first = result.problems[0] if result.problems else ""
        raise SystemExit(f"Error: the netlist is not the design: {result.latches} latch(es), "
                         f"{result.undriven} undriven bit(s); first: {first} "
                         f"(log: {result.log})")
    return result


def synthesise(top: str, generics: dict[str, object], workdir: Path,
               depth_replicas: int | None = None) -> tuple[dict[str, int], dict]:
    """GHDL + Yosys ``synth_xilinx -family xcup``; usage and synthesis checks.

    depth_replicas: when below the design's ``Replicas_g``, the usage is counted on the
    hierarchical netlist of the full design and the logic depth (and the checks, again) on the
    flattened netlist with that many replicas. Raises ``SystemExit`` with a one-line error on any
    latch, undriven bit or mangled constant: then the netlist would not be the design.
    """
    replicas = int(str(generics.get("Replicas_g", 1)))
    split = depth_replicas is not None and depth_replicas < replicas
    flat_generics = {**generics, "Replicas_g": depth_replicas} if split else generics
    with ThreadPoolExecutor(max_workers=2) as pool:  # two Yosys processes side by side
        flat_job = pool.submit(_map, top, flat_generics, workdir / "flat", True)
        full_job = pool.submit(_map, top, generics, workdir / "full", False) if split else None
        flat = flat_job.result()
        result = full_job.result() if full_job is not None else flat
    depth = logic_depth(workdir / "flat" / f"{top}_mapped.json", top)
    checks = {"latches": result.latches + flat.latches, "undriven": result.undriven
              + flat.undriven, "depth": depth,
              "depth_replicas": flat_generics.get("Replicas_g"), "flattened": not split}
    return classify(result.cells), checks


def model_clock(path_ns: float, target_mhz: float) -> float:
    """The clock (MHz) the delay model allows: the target if the modelled worst path fits its
    period, else the modelled maximum (a projection: timing closure needs Vivado)."""
    return min(target_mhz, 1000.0 / path_ns)


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


def table(usage: dict[str, int], cycles: float, checks: dict, target_mhz: float) -> str:
    depth = checks["depth"]
    clock_mhz = model_clock(depth.path_ns, target_mhz)
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
    how = ("flattened" if checks["flattened"] else "per module, counted over the hierarchy")
    lines.append(f"(LUTRAM {usage['LUTRAM']:,}, CARRY4 {usage['CARRY']:,}; measured: Yosys 0.23 "
                 f"synth_xilinx -family xcup, {how}; no latch, no undriven bit)")
    lines.append("")
    lines.append("logic depth, worst register-to-register path of the flattened mapped netlist "
                 f"({checks['depth_replicas']} replica(s); measured):")
    lines.append(f"  LUT levels {depth.lut_levels}, MUXF {depth.muxf}, CARRY4 {depth.carry}, "
                 f"DSP48 multiplies {depth.dsp}; longest CARRY4 chain {depth.max_carry_chain} "
                 f"({4 * depth.max_carry_chain} bits)")
    period = 1000.0 / target_mhz
    verdict = "fits" if depth.path_ns <= period else "does NOT fit"
    lines.append(f"  delay model {DELAY_NS} ns -> {depth.path_ns:.2f} ns: {verdict} "
                 f"{period:.2f} ns ({target_mhz:.0f} MHz); clock {clock_mhz:.0f} MHz "
                 "(projected; timing closure needs Vivado: hw/syn/vivado_ooc.tcl)")
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
                        help="target clock; the projected clock is the delay model's, at most this")
    parser.add_argument("--replicas", type=int, default=DEFAULT_REPLICAS,
                        help="engine replicas (Replicas_g, a power of two)")
    parser.add_argument("--depth-replicas", type=int, default=2,
                        help="replicas of the flattened netlist the logic depth is measured on")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="keep the netlist/stat here")
    args = parser.parse_args(argv)
    widths = tuple(int(v) for v in args.widths.split(","))
    if args.replicas < 1 or args.replicas & (args.replicas - 1):
        raise SystemExit(f"Error: --replicas ({args.replicas}) must be a power of two")
    generics: dict[str, object] = {**core_generics(widths), "Replicas_g": args.replicas}
    if args.top == "mrf_train_core":
        generics["Debug_g"] = False
    elif args.top != "mrf_train_kernel":
        raise SystemExit(f"Error: --top must be mrf_train_core or mrf_train_kernel, not {args.top}")
    cycles = args.cycles_per_sample
    if cycles is None:
        sys.path.insert(0, str(HW.parent / "benchmarks"))
        from hdl_cycles import measure_cycles  # noqa: PLC0415

        cycles = measure_cycles(widths, n_samples=64, replicas=args.replicas)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        usage, checks = synthesise(args.top, generics, args.keep, args.depth_replicas)
    else:
        with tempfile.TemporaryDirectory(prefix="mrf-syn-") as tmp:
            usage, checks = synthesise(args.top, generics, Path(tmp), args.depth_replicas)
    depth = checks["depth"]
    clock = model_clock(depth.path_ns, args.clock_mhz)
    if args.json:
        print(json.dumps({
            "top": args.top, "widths": list(widths), "replicas": args.replicas,
            "lut": usage["LUT"], "ff": usage["FF"], "dsp": usage["DSP"], "bram": usage["BRAM"],
            "lutram": usage["LUTRAM"], "carry4": usage["CARRY"], "latches": checks["latches"],
            "undriven": checks["undriven"], "max_lut_levels": depth.lut_levels,
            "max_muxf": depth.muxf, "path_carry4": depth.carry, "path_dsp": depth.dsp,
            "max_carry_chain": depth.max_carry_chain, "path_ns_model": depth.path_ns,
            "depth_replicas": checks["depth_replicas"], "target_clock_mhz": args.clock_mhz,
            "fits_target": depth.path_ns <= 1000.0 / args.clock_mhz,
            "fmax_model_mhz": 1000.0 / depth.path_ns, "cycles_per_sample": cycles,
            **projection(usage, cycles, clock)}))
    else:
        print(f"{args.top} {args.widths}, {args.replicas} replicas: Yosys synth_xilinx "
              f"-family xcup estimate (latches {checks['latches']}, undriven bits "
              f"{checks['undriven']})")
        print(table(usage, cycles, checks, args.clock_mhz))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
