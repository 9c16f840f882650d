"""Fast software engine: ``hw/SPEC.md`` vectorised over each mini-batch, bit-exact with golden.

All samples of a mini-batch see the same weights and their gradients are summed exactly, so the
batch can be processed as integer matrix products. Only the generator streams are sequential;
they are produced by a small numba kernel, a chunk of updates at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mrfrecon.engine.arith import rhe, saturate
from mrfrecon.engine.config import EngineFormat, FixedPointConfig
from mrfrecon.engine.state import EngineState
from mrfrecon.kernel_cache import cached_njit

ACT_MAX = 255
UPDATES_PER_CHUNK = 512
RANDOM_WORDS_PER_CHUNK = 1 << 22
"""Bound on the random words drawn at once (32 MiB as int64) for wide networks."""


@cached_njit()
def _xorshift_streams(states: np.ndarray, counts: np.ndarray, n_updates: int, width: int):
    """Draw ``counts[i]`` words per update for every lane ``i``; advance ``states`` in place.

    Returns uint32 array ``(n_updates, n_lanes, width)``; unused slots are 0.
    """
    n_lanes = states.shape[0]
    out = np.zeros((n_updates, n_lanes, width), dtype=np.uint32)
    for lane in range(n_lanes):
        x = np.uint32(states[lane])
        for u in range(n_updates):
            for k in range(counts[lane]):
                x ^= np.uint32(x << np.uint32(13))
                x ^= np.uint32(x >> np.uint32(17))
                x ^= np.uint32(x << np.uint32(5))
                out[u, lane, k] = x
        states[lane] = x
    return out


class _RandomPlan:
    """Where each layer's stochastic-rounding words sit in a lane's per-update stream (SPEC §4)."""

    def __init__(self, shapes: list[tuple[int, int]], n_lanes: int) -> None:
        counts = np.zeros(n_lanes, dtype=np.int64)
        self.index: list[tuple[np.ndarray, np.ndarray]] = []
        for n_out, n_in in shapes:
            offsets = counts[:n_out].copy()
            cols = np.arange(n_in + 1)
            lane_idx = np.arange(n_out)[:, None]
            self.index.append((lane_idx, offsets[:, None] + cols[None, :]))
            counts[:n_out] += n_in + 1
        self.counts = counts
        self.width = int(counts.max())


def train_emu(
    state: EngineState,
    fmt: EngineFormat,
    config: FixedPointConfig,
    x_int: np.ndarray,
    t_int: np.ndarray,
    progress: Callable[[int, int], None] | None = None,
) -> EngineState:
    """Train on a sample stream; same contract and result as :func:`golden.train_golden`.

    x_int: int8 inputs ``(m, n_0)``; t_int: int32 targets ``(m, n_L)``; ``m`` a batch multiple
    (any integer dtype; one chunk of the stream, SPEC §5).
    progress: called as ``progress(samples_done, samples_total)`` after each chunk of updates.
    """
    state = state.copy()
    batch = config.batch
    n_total = x_int.shape[0]
    if n_total % batch:
        raise ValueError(f"{n_total} samples is not a multiple of the batch {batch}")
    n_updates = n_total // batch
    masters = state.masters
    biases = state.biases
    extra = config.master_extra
    master_bits = 8 + extra
    plan = _RandomPlan([m.shape for m in masters], state.lanes.size)
    lanes = state.lanes.astype(np.uint32)
    n_layers = len(masters)
    masks_w = [np.int64((1 << f.s_w) - 1) for f in fmt.layers]
    masks_b = [np.int64((1 << f.s_b) - 1) for f in fmt.layers]
    done = 0
    per_chunk = max(1, min(UPDATES_PER_CHUNK,
                           RANDOM_WORDS_PER_CHUNK // (lanes.size * plan.width)))
    while done < n_updates:
        chunk = min(per_chunk, n_updates - done)
        rand = _xorshift_streams(lanes, plan.counts, chunk, plan.width).astype(np.int64)
        # int64 copies of this block only: the caller's int8/int32 chunk may be large
        x_blk = np.asarray(x_int[done * batch : (done + chunk) * batch], dtype=np.int64)
        t_blk = np.asarray(t_int[done * batch : (done + chunk) * batch], dtype=np.int64)
        for u in range(chunk):
            start = u * batch
            ys = [x_blk[start : start + batch]]
            weights = [m >> extra for m in masters]
            acc = ys[0]
            for index in range(n_layers):
                acc = ys[-1] @ weights[index].T + biases[index]
                if index < n_layers - 1:
                    ys.append(np.clip(rhe(acc, fmt.layers[index].q), 0, ACT_MAX))
            delta = saturate(rhe(acc - t_blk[start : start + batch], fmt.e), config.delta_bits)
            for index in range(n_layers - 1, -1, -1):
                y_prev = ys[index]
                grad = delta.T @ y_prev
                grad_bias = delta.sum(axis=0)
                if index > 0:
                    back = saturate(rhe(delta @ weights[index], fmt.layers[index].bp),
                                    config.delta_bits)
                    delta = np.where((y_prev > 0) & (y_prev < ACT_MAX), back, 0)
                lane_idx, col_idx = plan.index[index]
                r = rand[u][lane_idx, col_idx]
                step = (grad + (r[:, :-1] & masks_w[index])) >> fmt.layers[index].s_w
                masters[index] = saturate(masters[index] - step, master_bits)
                step_b = (grad_bias + (r[:, -1] & masks_b[index])) >> fmt.layers[index].s_b
                biases[index] = saturate(biases[index] - step_b, config.bias_bits)
        done += chunk
        if progress is not None:
            progress(done * batch, n_total)
    state.lanes = lanes
    state.n_updates += n_updates
    return state


@cached_njit()
def _xorshift_advance(states: np.ndarray, counts: np.ndarray) -> None:
    """Advance lane ``i``'s generator ``counts[i]`` steps, in place."""
    for lane in range(states.shape[0]):
        x = np.uint32(states[lane])
        for _ in range(counts[lane]):
            x ^= np.uint32(x << np.uint32(13))
            x ^= np.uint32(x >> np.uint32(17))
            x ^= np.uint32(x << np.uint32(5))
        states[lane] = x
