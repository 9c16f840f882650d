"""Random integer networks and data for tests, simulations and benchmarks."""

from __future__ import annotations

import numpy as np

from mrfrecon.quantized import IntegerLayer, IntegerMLP


def random_network(
    rng: np.random.Generator,
    widths: tuple[int, ...] = (16, 16, 16, 2),
    input_frac: int = 5,
    weight_frac: int = 7,
    out_frac: int = 4,
    weight_scale: float = 0.4,
    bias_scale: float = 0.1,
) -> IntegerMLP:
    """A random :class:`IntegerMLP` with int8 weights (real std ``weight_scale``) and biases."""
    layers = []
    f_prev = input_frac
    for index, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        last = index == len(widths) - 2
        weight = np.clip(np.round(rng.normal(0, weight_scale, (n_out, n_in)) * 2**weight_frac),
                         -128, 127).astype(np.int64)
        bias = np.round(rng.normal(0, bias_scale, n_out) * 2 ** (f_prev + weight_frac))
        layers.append(IntegerLayer(weight, bias.astype(np.int64), weight_frac,
                                   None if last else out_frac))
        f_prev = out_frac
    return IntegerMLP(input_frac, tuple(layers))


def random_data(
    rng: np.random.Generator, n: int, n_in: int = 16, n_out: int = 2, scale: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """Real inputs ``(n, n_in)`` ~ N(0, scale) and targets ``(n, n_out)`` uniform in [0, 1]."""
    return rng.normal(0, scale, (n, n_in)), rng.uniform(0, 1, (n, n_out))


def teacher_data(
    rng: np.random.Generator, network: IntegerMLP, n: int, scale: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and the outputs of a (teacher) network on them: a learnable regression task."""
    inputs = rng.normal(0, scale, (n, network.widths[0]))
    return inputs, network.forward(inputs)
