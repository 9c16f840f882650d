"""The integer sample stream every device consumes (SPEC §5)."""

from __future__ import annotations

import numpy as np

from mrfrecon.engine.arith import saturate
from mrfrecon.engine.config import FixedPointConfig
from mrfrecon.quantized import IntegerMLP


def quantize_targets(targets: np.ndarray, target_frac: int) -> np.ndarray:
    """Real targets ``(n, n_out)`` -> int32-saturated int64 at ``target_frac`` (round half even)."""
    scaled = np.round(np.asarray(targets, dtype=np.float64) * 2.0**target_frac)
    return saturate(np.clip(scaled, -(2.0**40), 2.0**40).astype(np.int64), 32)


def build_stream(
    network: IntegerMLP,
    inputs: np.ndarray,
    targets: np.ndarray,
    config: FixedPointConfig,
    target_frac: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Quantise and order the training samples.

    inputs: real, shape ``(n, n_in)``; targets: real, shape ``(n, n_out)``.
    Returns ``(x_int, t_int)``, int64 of shapes ``(m, n_in)`` and ``(m, n_out)`` where ``m`` is
    ``epochs * n`` rounded down to a whole number of mini-batches.
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    n_in, n_out = network.widths[0], network.widths[-1]
    if inputs.ndim != 2 or inputs.shape[1] != n_in:
        raise ValueError(f"inputs have shape {inputs.shape}, expected (n, {n_in})")
    if targets.shape != (inputs.shape[0], n_out):
        raise ValueError(
            f"targets have shape {targets.shape}, expected ({inputs.shape[0]}, {n_out})"
        )
    x_int = network.quantize_input(inputs)
    t_int = quantize_targets(targets, target_frac)
    n = inputs.shape[0]
    orders = [
        np.random.default_rng(config.seed + epoch).permutation(n)
        if config.shuffle
        else np.arange(n)
        for epoch in range(config.epochs)
    ]
    order = np.concatenate(orders)
    order = order[: (order.size // config.batch) * config.batch]
    return x_int[order], t_int[order]
