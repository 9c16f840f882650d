"""Cycles per training sample of the RTL, measured in GHDL simulation.

    python benchmarks/hdl_cycles.py [--widths 16,16,16,2] [--batch-log2 4] [--kernel]

Runs the core harness twice (n and 3n samples) and reports the difference of the busy-cycle
counts per sample: the steady-state cost including the amortised weight update, excluding the
one-off gradient clear and pipeline drain. Compared with the reference design's 56 + 104.
With ``--kernel`` the same for the whole Vitis kernel (AXI sample reader from cocotbext-axi's
memory model with random stalls on every channel, ap_start to ap_done): it sustains the core's
rate when both figures agree.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig
from mrfrecon.engine.hdl import simulate_job
from mrfrecon.engine.hdl_sim import DEFAULT_REPLICAS, run_core_harness
from mrfrecon.engine.kernel import build_job
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream

REFERENCE_CYCLES = 56 + 104


def _busy_cycles(widths: tuple[int, ...], n_samples: int, log2_batch: int, replicas: int,
                 kernel: bool = False) -> int:
    rng = np.random.default_rng(0)
    net = random_network(rng, widths=widths)
    config = FixedPointConfig(log2_batch=log2_batch, shuffle=False)
    fmt = EngineFormat.derive(net, config)
    inputs, targets = random_data(rng, n_samples, widths[0], widths[-1])
    x_int, t_int = build_stream(net, inputs, targets, config, fmt.target_frac)
    state = EngineState.from_network(net, config)
    with tempfile.TemporaryDirectory(prefix="mrf-cycles-") as tmp:
        if kernel:  # random latency and back-pressure on every AXI channel
            stats: dict[str, int] = {}
            simulate_job(build_job(state, fmt, config, x_int, t_int), Path(tmp), pause_seed=1,
                         replicas=replicas, stats=stats)
            return stats["busy_cycles"]
        trace = run_core_harness(state, fmt, config, x_int, t_int,
                                 Path(tmp), replicas=replicas)
    return trace.cycles


def measure_cycles(widths: tuple[int, ...] = (16, 16, 16, 2), n_samples: int = 64,
                   log2_batch: int = 4, replicas: int = DEFAULT_REPLICAS,
                   kernel: bool = False) -> float:
    """Steady-state cycles per sample (``n_samples`` a multiple of the batch) of the core with
    ``replicas`` replicas (the synthesised kernel's ``Replicas_g`` by default); ``kernel``: of
    the whole kernel with its AXI reader, memory stalled at random."""
    short = _busy_cycles(widths, n_samples, log2_batch, replicas, kernel)
    long = _busy_cycles(widths, 3 * n_samples, log2_batch, replicas, kernel)
    return (long - short) / (2 * n_samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="16,16,16,2")
    parser.add_argument("--batch-log2", type=int, default=4)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--replicas", type=int, default=DEFAULT_REPLICAS)
    parser.add_argument("--kernel", action="store_true",
                        help="the whole kernel (AXI reader, random memory stalls), not the core")
    args = parser.parse_args()
    widths = tuple(int(v) for v in args.widths.split(","))
    cycles = measure_cycles(widths, args.samples, args.batch_log2, args.replicas, args.kernel)
    print(f"{'kernel' if args.kernel else 'core'}: "
          f"network {widths}, batch {2 ** args.batch_log2}, {args.replicas} replicas: "
          f"{cycles:.2f} cycles/sample "
          f"(reference: {REFERENCE_CYCLES}); {cycles / REFERENCE_CYCLES:.2f}x the reference's "
          f"cycles, {200e6 / cycles / 1e6:.2f} M samples/s at 200 MHz")


if __name__ == "__main__":
    main()
