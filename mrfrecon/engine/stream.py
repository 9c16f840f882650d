"""The integer sample stream every device consumes (SPEC §5), generated in bounded chunks.

The stream of ``epochs × n`` samples is never built whole: :class:`SampleStream` holds the
quantised training set once (int8 inputs, int32 targets) and yields consecutive chunks of
stream positions, each a whole number of mini-batches, so host memory is bounded by the data set
plus one or two chunks whatever the number of epochs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from mrfrecon.engine.arith import saturate
from mrfrecon.engine.config import FixedPointConfig
from mrfrecon.quantized import IntegerMLP

DEFAULT_CHUNK_SAMPLES = 1 << 20
"""Samples per chunk by default: 1 Mi samples are 24 MiB of packed kernel input (16-16-16-2)."""


def quantize_targets(targets: np.ndarray, target_frac: int) -> np.ndarray:
    """Real targets ``(n, n_out)`` -> int32-saturated int64 at ``target_frac`` (round half even)."""
    scaled = np.round(np.asarray(targets, dtype=np.float64) * 2.0**target_frac)
    return saturate(np.clip(scaled, -(2.0**40), 2.0**40).astype(np.int64), 32)


@dataclass
class SampleStream:
    """The ordered, quantised training stream of SPEC §5, read a chunk at a time.

    x_q: int8 inputs of the training set, shape ``(n, n_0)``.
    t_q: int32 targets at ``a_L``, shape ``(n, n_L)``.
    batch: mini-batch size ``B``; epochs, shuffle, seed: the ordering of SPEC §5.
    """

    x_q: np.ndarray
    t_q: np.ndarray
    batch: int
    epochs: int
    shuffle: bool
    seed: int
    _cached: tuple[int, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def n_samples(self) -> int:
        """Stream length ``m``: ``epochs × n`` rounded down to whole batches (a Python int)."""
        total = self.epochs * int(self.x_q.shape[0])
        return total - total % self.batch

    def order(self, epoch: int) -> np.ndarray:
        """Sample indices of one epoch, shape ``(n,)`` (the last epoch asked for is kept)."""
        n = self.x_q.shape[0]
        if not self.shuffle:
            return np.arange(n)
        if self._cached is None or self._cached[0] != epoch:
            self._cached = (epoch, np.random.default_rng(self.seed + epoch).permutation(n))
        return self._cached[1]

    def indices(self, start: int, stop: int) -> np.ndarray:
        """Training-set indices of stream positions ``[start, stop)``, int64."""
        n = self.x_q.shape[0]
        parts = []
        position = start
        while position < stop:
            epoch, offset = divmod(position, n)
            take = min(stop - position, n - offset)
            parts.append(self.order(epoch)[offset : offset + take])
            position += take
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def bounds(self, chunk_samples: int) -> list[tuple[int, int]]:
        """``(start, stop)`` of each chunk; ``chunk_samples`` is rounded down to whole batches."""
        size = max(self.batch, chunk_samples - chunk_samples % self.batch)
        total = self.n_samples
        return [(start, min(start + size, total)) for start in range(0, total, size)]

    def chunk(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (int8 ``(k, n_0)``) and targets (int32 ``(k, n_L)``) of positions
        ``[start, stop)``."""
        index = self.indices(start, stop)
        return self.x_q[index], self.t_q[index]

    def chunks(self, chunk_samples: int = DEFAULT_CHUNK_SAMPLES
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Consecutive chunks of the whole stream, each a whole number of batches."""
        for start, stop in self.bounds(chunk_samples):
            yield self.chunk(start, stop)


def make_stream(
    network: IntegerMLP,
    inputs: np.ndarray,
    targets: np.ndarray,
    config: FixedPointConfig,
    target_frac: int,
) -> SampleStream:
    """Quantise the training set once and describe its stream.

    inputs: real, shape ``(n, n_in)``; targets: real, shape ``(n, n_out)``.
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
    return SampleStream(
        x_q=network.quantize_input(inputs).astype(np.int8),
        t_q=quantize_targets(targets, target_frac).astype(np.int32),
        batch=config.batch, epochs=config.epochs, shuffle=config.shuffle, seed=config.seed,
    )


def build_stream(
    network: IntegerMLP,
    inputs: np.ndarray,
    targets: np.ndarray,
    config: FixedPointConfig,
    target_frac: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The whole stream at once, for tests and small runs.

    Returns ``(x_int, t_int)``, int64 of shapes ``(m, n_in)`` and ``(m, n_out)`` where ``m`` is
    ``epochs * n`` rounded down to a whole number of mini-batches.
    """
    stream = make_stream(network, inputs, targets, config, target_frac)
    x, t = stream.chunk(0, stream.n_samples)
    return x.astype(np.int64), t.astype(np.int64)
