"""Cycles per training sample of the RTL, measured in GHDL simulation.

    python benchmarks/hdl_cycles.py [--widths 16,16,16,2] [--batch-log2 4]

Runs the core harness twice (n and 3n samples) and reports the difference of the busy-cycle
counts per sample: the steady-state cost including the amortised weight update, excluding the
one-off gradient clear and pipeline drain. Compared with the reference design's 56 + 104.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig
from mrfrecon.engine.hdl_sim import DEFAULT_REPLICAS, run_core_harness
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream

REFERENCE_CYCLES = 56 + 104


def _busy_cycles(widths: tuple[int, ...], n_samples: int, log2_batch: int, replicas: int) -> int:
    rng = np.random.default_rng(0)
    net = random_network(rng, widths=widths)
    config = FixedPointConfig(log2_batch=log2_batch, shuffle=False)
    fmt = EngineFormat.derive(net, config)
    inputs, targets = random_data(rng, n_samples, widths[0], widths[-1])
    x_int, t_int = build_stream(net, inputs, targets, config, fmt.target_frac)
    with tempfile.TemporaryDirectory(prefix="mrf-cycles-") as tmp:
        trace = run_core_harness(EngineState.from_network(net, config), fmt, config, x_int, t_int,
                                 Path(tmp), replicas=replicas)
    return trace.cycles


def measure_cycles(widths: tuple[int, ...] = (16, 16, 16, 2), n_samples: int = 64,
                   log2_batch: int = 4, replicas: int = DEFAULT_REPLICAS) -> float:
    """Steady-state cycles per sample (``n_samples`` a multiple of the batch) of the core with
    ``replicas`` replicas (the synthesised kernel's ``Replicas_g`` by default)."""
    short = _busy_cycles(widths, n_samples, log2_batch, replicas)
    long = _busy_cycles(widths, 3 * n_samples, log2_batch, replicas)
    return (long - short) / (2 * n_samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="16,16,16,2")
    parser.add_argument("--batch-log2", type=int, default=4)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--replicas", type=int, default=DEFAULT_REPLICAS)
    args = parser.parse_args()
    widths = tuple(int(v) for v in args.widths.split(","))
    cycles = measure_cycles(widths, args.samples, args.batch_log2, args.replicas)
    print(f"network {widths}, batch {2 ** args.batch_log2}, {args.replicas} replicas: "
          f"{cycles:.2f} cycles/sample "
          f"(reference: {REFERENCE_CYCLES}); {cycles / REFERENCE_CYCLES:.2f}x the reference's "
          f"cycles, {200e6 / cycles / 1e6:.2f} M samples/s at 200 MHz")


if __name__ == "__main__":
    main()
