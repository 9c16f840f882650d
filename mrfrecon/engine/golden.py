"""Golden model: ``hw/SPEC.md`` written out line by line in plain int64 numpy. Slow on purpose.

Every other device (``emu``, ``hdl``, ``fpga``) must reproduce this bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mrfrecon.engine.arith import rhe, saturate, stochastic_shift, xorshift32_next
from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.state import EngineState

ACT_MAX = 255


@dataclass
class SampleTrace:
    """Everything the golden model computes for one sample.

    activations: ``[y_0, y_1, …, y_(L-1)]`` int64, shapes ``(n_l,)``.
    acc_out: output accumulator ``acc_L``, shape ``(n_L,)``.
    deltas: ``[δ_1, …, δ_L]``, shapes ``(n_l,)``.
    """

    activations: list[np.ndarray]
    acc_out: np.ndarray
    deltas: list[np.ndarray]


def forward_sample(
    weights: list[np.ndarray], state: EngineState, fmt: EngineFormat, x: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """SPEC §2 for one sample: hidden activations ``[y_0 … y_(L-1)]`` and ``acc_L``."""
    activations = [np.asarray(x, dtype=np.int64)]
    n_layers = len(weights)
    for index in range(n_layers):
        y_prev = activations[-1]
        acc = np.zeros(weights[index].shape[0], dtype=np.int64)
        for i in range(weights[index].shape[0]):
            total = int(state.biases[index][i])
            for j in range(weights[index].shape[1]):
                total += int(weights[index][i, j]) * int(y_prev[j])
            acc[i] = total
        if index == n_layers - 1:
            return activations, acc
        activations.append(np.clip(rhe(acc, fmt.layers[index].q), 0, ACT_MAX))
    raise AssertionError("unreachable")


def backward_sample(
    weights: list[np.ndarray],
    fmt: EngineFormat,
    config: FixedPointConfig,
    activations: list[np.ndarray],
    acc_out: np.ndarray,
    target: np.ndarray,
) -> list[np.ndarray]:
    """SPEC §3 for one sample: the deltas ``[δ_1 … δ_L]``."""
    n_layers = len(weights)
    deltas: list[np.ndarray] = [np.zeros(0, np.int64)] * n_layers
    error = acc_out - np.asarray(target, dtype=np.int64)
    deltas[-1] = saturate(rhe(error, fmt.e), config.delta_bits)
    for index in range(n_layers - 1, 0, -1):
        n_prev = weights[index].shape[1]
        delta_prev = np.zeros(n_prev, dtype=np.int64)
        for j in range(n_prev):
            total = 0
            for i in range(weights[index].shape[0]):
                total += int(weights[index][i, j]) * int(deltas[index][i])
            if 0 < activations[index][j] < ACT_MAX:
                delta_prev[j] = saturate(rhe(total, fmt.layers[index].bp), config.delta_bits)
        deltas[index - 1] = delta_prev
    return deltas


def update(
    state: EngineState,
    grads: list[np.ndarray],
    grads_bias: list[np.ndarray],
    fmt: EngineFormat,
    config: FixedPointConfig,
) -> None:
    """SPEC §4: stochastic-rounding SGD step on the masters and biases, in place; clears sums."""
    master_bits = 8 + config.master_extra
    for index, layer_fmt in enumerate(fmt.layers):
        n_out, n_in = state.masters[index].shape
        for i in range(n_out):
            for j in range(n_in):
                state.lanes[i] = xorshift32_next(int(state.lanes[i]))
                step = stochastic_shift(grads[index][i, j], layer_fmt.s_w, int(state.lanes[i]))
                state.masters[index][i, j] = saturate(
                    state.masters[index][i, j] - step, master_bits
                )
                grads[index][i, j] = 0
            state.lanes[i] = xorshift32_next(int(state.lanes[i]))
            step = stochastic_shift(grads_bias[index][i], layer_fmt.s_b, int(state.lanes[i]))
            state.biases[index][i] = saturate(state.biases[index][i] - step, config.bias_bits)
            grads_bias[index][i] = 0
    state.n_updates += 1


def train_golden(
    state: EngineState,
    fmt: EngineFormat,
    config: FixedPointConfig,
    x_int: np.ndarray,
    t_int: np.ndarray,
    on_sample: list[SampleTrace] | None = None,
    on_update: list[EngineState] | None = None,
) -> EngineState:
    """Train on a sample stream (SPEC §5) and return the new state (the input is not modified).

    x_int: int8 inputs, shape ``(m, n_0)``; t_int: int32 targets at ``fmt.target_frac``, shape
    ``(m, n_L)``; ``m`` a multiple of the batch. ``on_sample`` / ``on_update``, when given,
    receive every sample's trace and a copy of the state after every update.
    """
    state = state.copy()
    grads = [np.zeros_like(m) for m in state.masters]
    grads_bias = [np.zeros_like(b) for b in state.biases]
    weights = state.weights()
    for k in range(x_int.shape[0]):
        activations, acc_out = forward_sample(weights, state, fmt, x_int[k])
        deltas = backward_sample(weights, fmt, config, activations, acc_out, t_int[k])
        for index in range(len(weights)):
            for i in range(grads[index].shape[0]):
                for j in range(grads[index].shape[1]):
                    grads[index][i, j] += int(deltas[index][i]) * int(activations[index][j])
                grads_bias[index][i] += int(deltas[index][i])
        if on_sample is not None:
            on_sample.append(SampleTrace(activations, acc_out, deltas))
        if (k + 1) % config.batch == 0:
            update(state, grads, grads_bias, fmt, config)
            weights = state.weights()
            if on_update is not None:
                on_update.append(state.copy())
    return state
