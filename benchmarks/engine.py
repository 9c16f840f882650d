"""Training throughput of the fixed-point engines beside the float trainer (CPU).

    python benchmarks/engine.py [--samples 200000] [--batch-log2 4]

Prints samples/s of: the emu engine (bit-exact, what ``--device emu`` runs), the golden model
(on a small slice), and a float32 torch SGD loop on the same 16-16-16-2 network and batch size
(the learning core's float trainer does the same work per step). Ratios, not absolute claims:
figures depend on the machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mrfrecon.engine import EngineFormat, EngineState, FixedPointConfig
from mrfrecon.engine.emu import train_emu
from mrfrecon.engine.golden import train_golden
from mrfrecon.engine.random_net import random_data, random_network
from mrfrecon.engine.stream import build_stream


def _rate(n: int, seconds: float) -> float:
    return n / max(seconds, 1e-9)


def bench(n_samples: int, log2_batch: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    net = random_network(rng)
    config = FixedPointConfig(log2_batch=log2_batch, shuffle=False)
    fmt = EngineFormat.derive(net, config)
    inputs, targets = random_data(rng, n_samples)
    x_int, t_int = build_stream(net, inputs, targets, config, fmt.target_frac)
    state = EngineState.from_network(net, config)
    train_emu(state, fmt, config, x_int[: 4 * config.batch], t_int[: 4 * config.batch])  # JIT
    start = time.perf_counter()
    train_emu(state, fmt, config, x_int, t_int)
    rates = {"emu": _rate(len(x_int), time.perf_counter() - start)}
    n_golden = 16 * config.batch
    start = time.perf_counter()
    train_golden(state, fmt, config, x_int[:n_golden], t_int[:n_golden])
    rates["golden"] = _rate(n_golden, time.perf_counter() - start)

    import torch

    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                                torch.nn.ReLU(), torch.nn.Linear(16, 2))
    optim = torch.optim.SGD(model.parameters(), lr=2.0**-6)
    xt = torch.as_tensor(inputs, dtype=torch.float32)
    yt = torch.as_tensor(targets, dtype=torch.float32)
    batch = config.batch
    start = time.perf_counter()
    for k in range(0, len(x_int), batch):
        optim.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xt[k : k + batch]), yt[k : k + batch])
        loss.backward()
        optim.step()
    rates["float torch (1 thread)"] = _rate(len(x_int), time.perf_counter() - start)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--batch-log2", type=int, default=4)
    args = parser.parse_args()
    rates = bench(args.samples, args.batch_log2)
    base = rates["float torch (1 thread)"]
    print(f"16-16-16-2 network, batch {2 ** args.batch_log2}, {args.samples} samples")
    for name, rate in rates.items():
        print(f"{name:<24} {rate:>12,.0f} samples/s   {rate / base:6.2f}x float")
    print(f"reference FPGA (160 cycles @ 200 MHz) {200e6 / 160:>10,.0f} samples/s")


if __name__ == "__main__":
    main()
