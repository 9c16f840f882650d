"""The integer datapath of a quantised MLP: the exact arithmetic the FPGA runs.

All scales are powers of two, written as numbers of fractional bits ``frac``:
a real value ``v`` is stored as the integer ``round(v * 2**frac)``.

Forward pass of one layer (integers only)::

    acc   = x_int @ weight.T + bias            # int64; scale 2**-(x_frac + weight_frac)
    shift = x_frac + weight_frac - out_frac
    y_int = clamp(round_half_even(acc / 2**shift), 0, 2**out_bits - 1)   # hidden (ReLU) layers
    y     = acc * 2**-(x_frac + weight_frac)                              # last layer (linear)

This is what brevitas computes for ``QuantIdentity(int8) -> QuantLinear(int8 weight, int32 bias)
-> QuantReLU(uint8)`` with power-of-two (fixed-point) scales, and what ``hw/SPEC.md`` starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def round_half_even_shift(acc: np.ndarray, shift: int) -> np.ndarray:
    """``acc / 2**shift`` rounded half to even, in exact integer arithmetic.

    acc: integer array (any shape); shift: >= 0 shifts right, < 0 shifts left.
    """
    acc = np.asarray(acc, dtype=np.int64)
    if shift <= 0:
        return acc << (-shift)
    floor = acc >> shift  # arithmetic shift = floor division
    remainder = acc - (floor << shift)
    half = np.int64(1) << (shift - 1)
    round_up = (remainder > half) | ((remainder == half) & ((floor & 1) == 1))
    return floor + round_up.astype(np.int64)


EXACT_FLOAT = 2.0**52  # every integer of smaller magnitude, and its halves, is exact in float64


def _affine(x: np.ndarray, x_max: float, weight: np.ndarray, bias: np.ndarray
            ) -> tuple[np.ndarray, float]:
    """``x @ weight.T + bias`` for integer arrays with ``|x| <= x_max``, exactly.

    Through float64 BLAS (far faster than numpy's int64 matmul) when every partial sum stays
    below 2**52, so that every product and sum is exact whatever the summation order; the result
    is then float64 holding integers. Larger magnitudes fall back to int64.
    Returns the accumulator and a bound on its magnitude.
    """
    bound = (x_max * float(np.abs(weight).max(initial=0)) * x.shape[-1]
             + float(np.abs(bias).max(initial=0)))
    if bound < EXACT_FLOAT:
        return (np.asarray(x, np.float64) @ weight.astype(np.float64).T
                + bias.astype(np.float64)), bound
    return np.asarray(x, np.int64) @ weight.astype(np.int64).T + bias.astype(np.int64), bound


def _requantize(acc: np.ndarray, acc_max: float, shift: int) -> np.ndarray:
    """``acc / 2**shift`` rounded half to even (:func:`round_half_even_shift`), any dtype.

    float64 accumulators (``|acc| <= acc_max``) whose result stays below 2**52: scaling by a
    power of two is exact and ``np.rint`` rounds half to even, as the integer arithmetic does.
    """
    if acc.dtype == np.float64 and acc_max * 2.0 ** max(0, -shift) < EXACT_FLOAT:
        return np.rint(acc * 2.0**-shift)
    return round_half_even_shift(acc.astype(np.int64), shift)


@dataclass(frozen=True)
class IntegerLayer:
    """One fully connected layer of the integer network.

    weight: signed integers, shape ``(n_out, n_in)``, real value ``weight * 2**-weight_frac``.
    bias: signed integers, shape ``(n_out,)``, at the accumulator scale
        ``2**-(input_frac + weight_frac)``.
    out_frac: fractional bits of the (unsigned) output activation; ``None`` for the linear
        output layer, whose accumulator is the result.
    """

    weight: np.ndarray
    bias: np.ndarray
    weight_frac: int
    out_frac: int | None
    out_bits: int = 8

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])


@dataclass(frozen=True)
class IntegerMLP:
    """An integer-only MLP: signed ``input_bits`` input, ReLU hidden layers, linear output.

    input_frac: fractional bits of the input quantiser (input real value ``x_int * 2**-input_frac``).
    """

    input_frac: int
    layers: tuple[IntegerLayer, ...]
    input_bits: int = 8

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.layers[0].n_in, *(layer.n_out for layer in self.layers))

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        lo, hi = -(2 ** (self.input_bits - 1)), 2 ** (self.input_bits - 1) - 1
        return np.clip(np.round(np.asarray(x, np.float64) * 2.0**self.input_frac), lo, hi)

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Real inputs, shape ``(n, n_in)`` -> saturated signed integers (round half even)."""
        return self._quantize(x).astype(np.int64)

    def _accumulate(self, x: np.ndarray, x_max: float) -> tuple[np.ndarray, int]:
        """The integer datapath on integer-valued ``x`` (int64, or float64 holding integers),
        ``|x| <= x_max``."""
        x_frac = self.input_frac
        for layer in self.layers:
            acc, acc_max = _affine(x, x_max, layer.weight, layer.bias)
            acc_frac = x_frac + layer.weight_frac
            if layer.out_frac is None:
                return acc, acc_frac
            x_max = 2**layer.out_bits - 1
            x = np.clip(_requantize(acc, acc_max, acc_frac - layer.out_frac), 0, x_max)
            x_frac = layer.out_frac
        raise ValueError("IntegerMLP has no linear output layer")

    def forward_int(self, x_int: np.ndarray) -> tuple[np.ndarray, int]:
        """Integer forward pass.

        x_int: integer inputs, shape ``(n, n_in)``.
        Returns the last layer's accumulator (int64, shape ``(n, n_out)``) and its fractional bits.
        """
        x = np.asarray(x_int, np.int64)
        acc, frac = self._accumulate(x, float(np.abs(x).max(initial=0)))
        return acc.astype(np.int64), frac

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Real inputs ``(n, n_in)`` -> real outputs ``(n, n_out)`` through the integer datapath."""
        acc, frac = self._accumulate(self._quantize(x), 2.0 ** (self.input_bits - 1))
        return acc.astype(np.float64) * 2.0**-frac
