"""Synthesis of ``hw/rtl`` (GHDL → Verilog → Yosys) and simulation of the netlists (iverilog).

The same flow serves the resource estimate (``hw/syn/estimate.py``) and the post-synthesis
bit-exact tests (``hw/tb/netlist``): what is counted is what is simulated.

* :func:`ghdl_synth`: ``ghdl --synth --out=verilog`` of one top entity with its generics.
* :func:`yosys_map`: ``synth_xilinx -flatten -family xcup -noiopad``; cell counts, latches
  (``Latch inferred`` in the log or latch cells), undriven bits (``is used but has no driver``
  from ``check``, high-impedance constants in GHDL's Verilog) and the mapped netlist.
* :func:`run_core_netlist`: the core's stimulus replayed by ``hw/tb/netlist/mrf_tb_core_netlist.v``
  on GHDL's Verilog or on the mapped netlist with Yosys' Xilinx cell models.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mrfrecon.engine.hdl_sim import hw_dir, rtl_sources
from mrfrecon.errors import MissingDependencyError

LATCH_CELLS = ("LDCE", "LDPE", "$_DLATCH", "$DLATCH", "$DLATCHSR", "$_SR_")


def require_tool(name: str, package: str) -> str:
    """Path of an executable; raise :class:`MissingDependencyError` naming its Debian package."""
    exe = shutil.which(name)
    if exe is None:
        raise MissingDependencyError(f"{name} is not installed (apt-get install {package})")
    return exe


def yosys_share() -> Path:
    """Yosys' data folder (``techlibs``): ``yosys-config --datdir`` or the Debian default."""
    try:
        out = subprocess.run(["yosys-config", "--datdir"], capture_output=True, text=True,
                             check=True).stdout.strip()
        if out:
            return Path(out)
    except (OSError, subprocess.CalledProcessError):
        pass
    return Path("/usr/share/yosys")


def ghdl_synth(top: str, generics: dict[str, object], workdir: Path,
               sources: list[Path] | None = None) -> Path:
    """GHDL's Verilog netlist of ``top`` (VHDL-2008) with ``generics``; returns its path."""
    require_tool("ghdl", "ghdl")
    workdir.mkdir(parents=True, exist_ok=True)
    files = [str(p) for p in (sources or rtl_sources())]
    subprocess.run(["ghdl", "-a", "--std=08", f"--workdir={workdir}", *files], check=True,
                   capture_output=True)
    gargs = [f"-g{k}={_generic(v)}" for k, v in generics.items()]
    verilog = workdir / f"{top}.v"
    with verilog.open("w") as fh:
        subprocess.run(["ghdl", "--synth", "--std=08", f"--workdir={workdir}", *gargs,
                        "--out=verilog", top], check=True, stdout=fh, stderr=subprocess.DEVNULL)
    return verilog


def _generic(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class SynthResult:
    """Yosys' view of a netlist.

    cells: primitive counts of the flattened top (``stat``); latches: latch cells plus
    ``Latch inferred`` messages; undriven: undriven wire bits; mapped: the mapped netlist path;
    log: Yosys' log path.
    """

    cells: dict[str, int]
    latches: int
    undriven: int
    mapped: Path
    log: Path
    problems: list[str] = field(default_factory=list)


def yosys_map(verilog: Path, top: str, workdir: Path, extra: str = "",
              family: str = "xcup", flatten: bool = True) -> SynthResult:
    """``synth_xilinx`` of GHDL's Verilog; ``extra``: more Yosys commands.

    family: ``xcup`` (UltraScale+, what the estimate counts) or ``xc7`` (7-series: Yosys 0.23
    ships simulation models for DSP48E1 but none for DSP48E2, so netlist simulations use it).
    flatten: one flat netlist (what is simulated and what the logic depth is measured on);
    without it each distinct module is mapped once and ``stat`` counts the whole hierarchy
    (how a design of many identical replicas is counted in reasonable time).
    """
    require_tool("yosys", "yosys")
    log, stat, mapped = workdir / "yosys.log", workdir / "stat.json", workdir / f"{top}_mapped.v"
    flat = "-flatten " if flatten else ""
    script = (f"read_verilog {verilog}; synth_xilinx {flat}-family {family} -noiopad -top {top}; "
              f"check; tee -q -o {stat} stat -json -top {top}; write_verilog -noattr {mapped}; "
              f"write_json {workdir / (top + '_mapped.json')}; {extra}")
    subprocess.run(["yosys", "-q", "-l", str(log), "-p", script], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text = log.read_text()
    cells = parse_stat(stat.read_text())
    problems = [line for line in text.splitlines()
                if line.startswith("Latch inferred") or "has no driver" in line]
    inferred = sum(line.startswith("Latch inferred") for line in problems)
    latch_cells = sum(n for name, n in cells.items() if name.lstrip("\\").startswith(LATCH_CELLS))
    undriven = sum("has no driver" in line for line in problems)
    source = verilog.read_text()
    undriven += len(re.findall(r"\d+'b[zZ]+", source))
    # GHDL 2.0 writes constants wider than 32 bits as string literals: a different value
    strings = re.findall(r"localparam[^;]*= \"", source)
    problems += [f"string constant in GHDL's Verilog: {line}" for line in strings]
    return SynthResult(cells, latch_cells + inferred, undriven, mapped, log, problems)


def parse_stat(text: str) -> dict[str, int]:
    """Cell counts of the top design from Yosys ``stat -json`` (0.23 can emit stray commas)."""
    import json

    try:
        data = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
        return {k: int(v) for k, v in data["design"]["num_cells_by_type"].items()}
    except (json.JSONDecodeError, KeyError):
        block = text[text.rfind('"num_cells_by_type"'):]
        block = block[: block.find("}")]
        return {k: int(v) for k, v in re.findall(r'"([^"]+)":\s*(\d+)', block)}


def run_core_netlist(netlist: Path, stim: Path, trace: Path, params: dict[str, int],
                     workdir: Path, cell_models: bool = False, timeout_s: float = 600) -> Path:
    """Simulate a synthesised ``mrf_train_core`` with iverilog on a core stimulus file.

    params: the harness' parameters (``NIN``, ``NOUT``, ``LANES``, ``DEBUG``); cell_models: add
    Yosys' ``xilinx/cells_sim.v`` (for the mapped netlist). Returns the trace path.
    """
    iverilog = require_tool("iverilog", "iverilog")
    vvp = require_tool("vvp", "iverilog")
    harness = hw_dir() / "tb" / "netlist" / "mrf_tb_core_netlist.v"
    binary = workdir / "netlist.vvp"
    pargs = [f"-Pmrf_tb_core_netlist.{k}={v}" for k, v in params.items()]
    pargs += [f'-Pmrf_tb_core_netlist.STIM="{stim}"', f'-Pmrf_tb_core_netlist.TRACE="{trace}"']
    files = [str(harness), str(netlist)]
    if cell_models:
        files.append(str(yosys_share() / "xilinx" / "cells_sim.v"))
    subprocess.run([iverilog, "-g2012", "-o", str(binary), "-s", "mrf_tb_core_netlist", *pargs,
                    *files], check=True, capture_output=True, text=True)
    subprocess.run([vvp, "-n", str(binary)], check=True, capture_output=True, text=True,
                   timeout=timeout_s, cwd=workdir)
    return trace


# Delay model of the logic-depth report (UltraScale+ speed grade -2, rounded public figures:
# a LUT level is its logic plus a typical local route; carry and DSP from the data sheet's
# switching characteristics). It ranks paths and bounds the clock; only Vivado gives timing.
# "dsp" is charged for a DSP48 whose inputs (AREG/BREG) or whose output (MREG/PREG) are not
# registered inside it: a path into an output-registered DSP ends there after the multiply, a
# path out of an input-registered one starts there after it; a fully registered DSP is a
# register on both sides (its internal stages are far below 3.33 ns).
DELAY_NS = {"base": 0.40, "lut": 0.45, "muxf": 0.30, "carry": 0.06, "dsp": 2.50}
_COMB_PREFIX = ("LUT", "MUXF", "CARRY", "INV")


@dataclass
class LogicDepth:
    """Longest register-to-register path of a mapped netlist.

    lut_levels: LUT (and INV) levels; muxf: MUXF7/8/9 on it; carry: CARRY4 cells on it (the
    carry chain, 4 bits each); dsp: unregistered DSP blocks on it; path_ns: the delay model's
    estimate (:data:`DELAY_NS`); max_carry_chain: longest chain of cascaded CARRY4 anywhere.
    """

    lut_levels: int
    muxf: int
    carry: int
    dsp: int
    path_ns: float
    max_carry_chain: int
    start: str = ""  # a signal driven by the path's start register (or DSP)
    end: str = ""    # a signal of the path's end register input


def logic_depth(netlist_json: Path, top: str) -> LogicDepth:
    """Longest combinational path between sequential cells (FFs, RAM/SRL, registered DSP
    outputs) of Yosys' ``write_json`` of a flattened mapped netlist."""
    import json

    module = json.loads(netlist_json.read_text())["modules"][top]
    cells = module["cells"]
    names: dict[int, str] = {}
    for net, info in sorted(module.get("netnames", {}).items(), key=lambda kv: "$" in kv[0]):
        for b in info.get("bits", []):
            if isinstance(b, int):
                names.setdefault(b, net)
    driver: dict[int, str] = {}
    inputs: dict[str, list[int]] = {}
    for name, cell in cells.items():
        dirs = cell.get("port_directions", {})
        ins = []
        for port, bits in cell["connections"].items():
            ints = [b for b in bits if isinstance(b, int)]
            if dirs.get(port) == "output":
                for b in ints:
                    driver[b] = name
            else:
                ins += ints
        inputs[name] = ins

    def reg(params: dict, key: str) -> bool:
        value = str(params.get(key, "1"))
        return int(value, 2) != 0 if value else True

    def kind(name: str) -> str:
        cell = cells[name]
        t = cell["type"].lstrip("\\")
        if t.startswith("DSP48"):
            p = cell.get("parameters", {})
            reg_in = reg(p, "AREG") and reg(p, "BREG")
            reg_out = reg(p, "MREG") or reg(p, "PREG")
            return {(True, True): "seq", (False, True): "dsp_in", (True, False): "dsp_out",
                    (False, False): "dsp"}[(reg_in, reg_out)]
        if t.startswith(("LUT", "INV")):
            return "lut"
        if t.startswith("MUXF"):
            return "muxf"
        if t.startswith("CARRY"):
            return "carry"
        return "seq"

    kinds = {name: kind(name) for name in cells}
    memo: dict[str, tuple[float, int, int, int, int, str]] = {}

    def source(name: str) -> str:  # a signal from a register feeding cell `name`
        for b in inputs[name]:
            if b in driver and kinds[driver[b]] in ("seq", "dsp_in"):
                return names.get(b, driver[b])
        return names.get(inputs[name][0], "") if inputs[name] else ""

    def arrival(start: str) -> tuple[float, int, int, int, int, str]:
        # iterative DFS: (delay, luts, muxf, carry, dsp, start signal) of the worst path
        # ending at `start`
        stack = [(start, False)]
        while stack:
            name, done = stack.pop()
            if name in memo:
                continue
            preds = [driver[b] for b in inputs[name] if b in driver
                     and kinds[driver[b]] not in ("seq", "dsp_in")]
            if not done:
                stack.append((name, True))
                stack += [(p, False) for p in preds if p not in memo]
                continue
            best = max((memo[p] for p in preds), default=(0.0, 0, 0, 0, 0, source(name)))
            k = kinds[name]
            if k == "dsp_out":  # a path start: the multiply after the input registers
                memo[name] = (DELAY_NS["dsp"], 0, 0, 0, 1, source(name))
                continue
            add = {"lut": (1, 0, 0, 0), "muxf": (0, 1, 0, 0), "carry": (0, 0, 1, 0),
                   "dsp": (0, 0, 0, 1)}.get(k, (0, 0, 0, 0))
            delay = best[0] + (DELAY_NS[k] if k in DELAY_NS else 0.0)
            memo[name] = (delay, best[1] + add[0], best[2] + add[1], best[3] + add[2],
                          best[4] + add[3], best[5])
        return memo[start]

    worst: tuple = (0.0, 0, 0, 0, 0, "", "")
    for name, k in kinds.items():  # path ends: inputs of sequential cells
        if k not in ("seq", "dsp_in"):
            continue
        for b in inputs[name]:
            src = driver.get(b)
            if src is not None and kinds[src] not in ("seq", "dsp_in"):
                end = arrival(src)
            elif src is not None and k == "dsp_in":
                end = (0.0, 0, 0, 0, 0, names.get(b, src))
            else:
                continue
            if k == "dsp_in":  # the multiply before the output register
                end = (end[0] + DELAY_NS["dsp"], end[1], end[2], end[3], end[4] + 1, end[5])
            if end[0] > worst[0]:
                worst = (*end, names.get(b, name))
    chain: dict[str, int] = {}
    for name in cells:  # cascaded CARRY4: CI (or CYINIT) driven by another CARRY4's CO
        if kinds[name] != "carry" or name in chain:
            continue
        length, cur, seen = 1, name, {name}
        while True:
            ci = [b for p in ("CI", "CYINIT") for b in cells[cur]["connections"].get(p, [])
                  if isinstance(b, int) and b in driver and kinds[driver[b]] == "carry"]
            if not ci or driver[ci[0]] in seen:
                break
            cur = driver[ci[0]]
            seen.add(cur)
            length += 1
        chain[name] = length
    return LogicDepth(lut_levels=worst[1], muxf=worst[2], carry=worst[3], dsp=worst[4],
                      path_ns=round(DELAY_NS["base"] + worst[0], 2),
                      max_carry_chain=max(chain.values(), default=0), start=worst[5],
                      end=worst[6])
