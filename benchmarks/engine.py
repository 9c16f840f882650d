"""Training throughput: the FPGA engine's projection beside the best CPU figure of this run.

    python benchmarks/engine.py [--json] [--cycles-per-sample C] [--clock-mhz F]
                                [--estimate-json FILE] [--samples N] [--batch-log2 4]

Measured here, in the same run: float32 torch SGD on the same 16-16-16-2 network at several batch
sizes, with one thread and with all cores (the best of all is ``cpu_best_samples_per_s``; on a
busy machine two OpenMP threads can be far slower than one), and the bit-exact software engine
(``emu``, what ``--device emu`` runs). Projected: the card's samples/s = clock / cycles per sample,
with the cycles from the GHDL simulation of the RTL (``benchmarks/hdl_cycles.py``, 16 replicas,
or ``--cycles-per-sample``) and the clock from the logic-depth report of ``hw/syn/estimate.py
--json``: by default its saved output for this network, ``hw/syn/estimate_16-16-16-2.json``
(``--estimate-json`` another one, ``--clock-mhz`` an explicit figure). Either way a projection,
not a timing-closed figure: closing timing needs Vivado. Ratios against the reference FPGA design
(160 cycles at 200 MHz = 1.25 M samples/s) and against the CPU best. CPU figures depend on the
machine and its load: each is the best of a few timing windows.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig
from mrfrecon.engine.emu import train_emu
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import make_stream
from mrfrecon.errors import MrfreconError

WIDTHS = (16, 16, 16, 2)
REFERENCE_SAMPLES_PER_S = 200e6 / 160  # reference design: 56 + 104 cycles at 200 MHz
GOAL_CLOCK_MHZ = 300.0
TORCH_BATCHES = (16, 64, 256, 1024, 4096, 16384, 65536)
CLOCK_KEYS = ("clock_mhz", "fmax_mhz", "projected_clock_mhz")
SAVED_ESTIMATE = Path(__file__).resolve().parents[1] / "hw" / "syn" / "estimate_16-16-16-2.json"


def _rate(n: int, seconds: float) -> float:
    return n / max(seconds, 1e-9)


def emu_rate(n_samples: int, log2_batch: int) -> float:
    """Samples/s of the bit-exact software engine (one process; numpy may use several cores)."""
    rng = np.random.default_rng(0)
    net = random_network(rng, widths=WIDTHS)
    config = FixedPointConfig(log2_batch=log2_batch, shuffle=False)
    fmt = EngineFormat.derive(net, config)
    stream = make_stream(net, *random_data(rng, n_samples), config, fmt.target_frac)
    x, t = stream.chunk(0, stream.n_samples)
    state = EngineState.from_network(net, config)
    train_emu(state, fmt, config, x[: 4 * config.batch], t[: 4 * config.batch])  # numba JIT
    start = time.perf_counter()
    train_emu(state, fmt, config, x, t)
    return _rate(len(x), time.perf_counter() - start)


def torch_rates(batches: tuple[int, ...], threads: int, seconds: float, repeats: int = 3
                ) -> dict[int, float]:
    """Samples/s of float32 SGD (forward, MSE loss, backward, step) of the 16-16-16-2 network
    per batch size: the best of ``repeats`` windows of about ``seconds`` after a warm-up (the
    best, because other load on the machine only ever slows a window down)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rates = _torch_sweep(torch, batches, seconds, repeats)
    finally:
        torch.set_num_threads(previous)
    return rates


def _torch_sweep(torch, batches: tuple[int, ...], seconds: float, repeats: int
                 ) -> dict[int, float]:
    torch.manual_seed(0)
    rates = {}
    for batch in batches:
        model = torch.nn.Sequential(
            torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
            torch.nn.Linear(16, 2))
        optim = torch.optim.SGD(model.parameters(), lr=2.0**-6)
        n_steps = max(4, (1 << 18) // batch)
        xt = torch.randn(n_steps * batch, 16)
        yt = torch.rand(n_steps * batch, 2)

        def step(k: int, model=model, optim=optim, xt=xt, yt=yt, batch=batch,
                 n_steps=n_steps) -> None:
            lo = (k % n_steps) * batch
            optim.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(model(xt[lo : lo + batch]), yt[lo : lo + batch])
            loss.backward()
            optim.step()

        for k in range(3):
            step(k)
        best = 0.0
        for _ in range(repeats):
            done, start = 0, time.perf_counter()
            while True:
                step(done)
                done += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds and done >= 3:
                    break
            best = max(best, _rate(done * batch, elapsed))
        rates[batch] = best
    return rates


def simulated_cycles(log2_batch: int) -> float:
    """Cycles per sample from the GHDL simulation (``benchmarks/hdl_cycles.py``)."""
    path = Path(__file__).with_name("hdl_cycles.py")
    spec = importlib.util.spec_from_file_location("hdl_cycles", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load '{path}'")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "measure_cycles"):
        raise RuntimeError(f"'{path}' has no measure_cycles(widths, log2_batch=...)")
    return float(module.measure_cycles(WIDTHS, log2_batch=log2_batch))


def clock_from_estimate(path: Path) -> float:
    """The clock (MHz) in a saved ``hw/syn/estimate.py --json`` output."""
    data = json.loads(path.read_text())
    for key in CLOCK_KEYS:
        if key in data:
            return float(data[key])
    raise ValueError(f"'{path}' has none of {', '.join(CLOCK_KEYS)}")


def bench(args: argparse.Namespace) -> dict[str, object]:
    if args.cycles_per_sample is not None:
        cycles, cycles_source = args.cycles_per_sample, "--cycles-per-sample"
    else:
        cycles = simulated_cycles(args.batch_log2)
        cycles_source = "GHDL simulation (benchmarks/hdl_cycles.py)"
    if args.clock_mhz is not None:
        clock = args.clock_mhz
        clock_source = "--clock-mhz, not timing-closed"
    else:
        estimate = args.estimate_json or (SAVED_ESTIMATE if SAVED_ESTIMATE.is_file() else None)
        if estimate is not None:
            clock = clock_from_estimate(estimate)
            clock_source = f"logic-depth delay model in {estimate} (projected, not timing-closed)"
        else:
            clock, clock_source = GOAL_CLOCK_MHZ, "goal, not timing-closed"
    if cycles <= 0 or clock <= 0:
        raise ValueError(f"cycles per sample ({cycles}) and clock ({clock} MHz) must be > 0")
    projected = clock * 1e6 / cycles
    rates = {(threads, batch): rate for threads in args.threads
             for batch, rate in torch_rates(args.batches, threads, args.seconds,
                                            args.repeats).items()}
    best_threads, best_batch = max(rates, key=rates.__getitem__)
    cpu_best = rates[best_threads, best_batch]
    emu = emu_rate(args.samples, args.batch_log2)
    return {
        "network": list(WIDTHS),
        "batch": 1 << args.batch_log2,
        "cycles_per_sample": cycles,
        "cycles_source": cycles_source,
        "clock_mhz": clock,
        "clock_source": clock_source,
        "fpga_projected_samples_per_s": projected,
        "reference_samples_per_s": REFERENCE_SAMPLES_PER_S,
        "cpu_best_samples_per_s": cpu_best,
        "cpu_best_batch": best_batch,
        "cpu_best_threads": best_threads,
        "cpu_timing": f"best of {args.repeats} windows of {args.seconds} s per batch size",
        "cpu_torch_samples_per_s": [{"threads": t, "batch": b, "samples_per_s": r}
                                    for (t, b), r in rates.items()],
        "emu_samples_per_s": emu,
        "fpga_vs_reference": projected / REFERENCE_SAMPLES_PER_S,
        "fpga_vs_cpu_best": projected / cpu_best,
        "measured": ["cpu_torch_samples_per_s", "emu_samples_per_s"]
                    + (["cycles_per_sample"] if args.cycles_per_sample is None else []),
        "projected": ["fpga_projected_samples_per_s", "fpga_vs_reference", "fpga_vs_cpu_best"],
    }


def report(result: dict[str, object]) -> str:
    lines = [
        f"network {'-'.join(map(str, result['network']))}, FPGA batch {result['batch']}",
        f"  cycles/sample {result['cycles_per_sample']:.2f} ({result['cycles_source']})",
        f"  clock         {result['clock_mhz']:.0f} MHz ({result['clock_source']})",
        f"FPGA projected  {result['fpga_projected_samples_per_s']:>14,.0f} samples/s   "
        f"{result['fpga_vs_reference']:6.2f}x reference, {result['fpga_vs_cpu_best']:6.2f}x CPU best",
        f"reference FPGA  {result['reference_samples_per_s']:>14,.0f} samples/s   "
        "(160 cycles @ 200 MHz)",
    ]
    for row in result["cpu_torch_samples_per_s"]:  # type: ignore[union-attr]
        threads, batch, rate = row["threads"], row["batch"], row["samples_per_s"]
        best = (threads, batch) == (result["cpu_best_threads"], result["cpu_best_batch"])
        mark = "  <- CPU best" if best else ""
        lines.append(f"torch float, batch {batch:>5}, {threads} thread(s) "
                     f"{rate:>12,.0f} samples/s{mark}")
    lines.append(f"emu (bit-exact), batch {result['batch']:<5}       "
                 f"{result['emu_samples_per_s']:>12,.0f} samples/s")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the result as JSON alone")
    parser.add_argument("--samples", type=int, default=200_000, help="samples for the emu run")
    parser.add_argument("--batch-log2", type=int, default=4, help="FPGA and emu batch (log2)")
    parser.add_argument("--cycles-per-sample", type=float, default=None,
                        help="skip the GHDL simulation and use this figure")
    parser.add_argument("--clock-mhz", type=float, default=None,
                        help="projected kernel clock (default: the saved estimate's clock)")
    parser.add_argument("--estimate-json", type=Path, default=None,
                        help="take the clock from saved 'hw/syn/estimate.py --json' output "
                             f"(default: {SAVED_ESTIMATE.name} when present)")
    parser.add_argument("--threads", type=lambda s: tuple(int(v) for v in s.split(",")),
                        default=tuple(sorted({1, os.cpu_count() or 1})),
                        help="torch thread counts to try, comma-separated (default: 1 and all "
                             "cores; the best counts)")
    parser.add_argument("--batches", type=lambda s: tuple(int(v) for v in s.split(",")),
                        default=TORCH_BATCHES, help="torch batch sizes to try, comma-separated")
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="length of one timing window per torch batch size")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timing windows per batch size; the best counts")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = bench(args)
    except (OSError, ValueError, RuntimeError, MrfreconError) as exc:
        hint = "" if args.cycles_per_sample is not None else " (or pass --cycles-per-sample)"
        print(f"Error: {exc}{hint}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
