"""Trainable state shared by every device: master weights, biases, generator states."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from mrfrecon.engine.arith import lane_seeds
from mrfrecon.engine.config import FixedPointConfig
from mrfrecon.quantized import IntegerLayer, IntegerMLP


@dataclass
class EngineState:
    """Integer training state (SPEC §1, §4).

    masters: per layer, int64 master weights of shape ``(n_out, n_in)`` (int16 range).
    biases: per layer, int64 biases of shape ``(n_out,)`` at the accumulator scale.
    lanes: uint32 xorshift32 states, shape ``(n_lanes,)`` with ``n_lanes = max(n_out)``.
    n_updates: weight updates applied so far.
    """

    masters: list[np.ndarray]
    biases: list[np.ndarray]
    lanes: np.ndarray
    n_updates: int = 0
    extra: int = field(default=8)

    @classmethod
    def from_network(cls, network: IntegerMLP, config: FixedPointConfig) -> EngineState:
        """Masters at the middle of each int8 weight's bucket: ``(w << E) + 2**(E-1)``."""
        extra = config.master_extra
        masters, biases = [], []
        lo_b, hi_b = -(1 << (config.bias_bits - 1)), (1 << (config.bias_bits - 1)) - 1
        for index, layer in enumerate(network.layers):
            weight = np.asarray(layer.weight, dtype=np.int64)
            if weight.min(initial=0) < -128 or weight.max(initial=0) > 127:
                raise ValueError(f"layer {index + 1}: weights outside int8")
            bias = np.asarray(layer.bias, dtype=np.int64)
            if bias.min(initial=0) < lo_b or bias.max(initial=0) > hi_b:
                raise ValueError(f"layer {index + 1}: biases outside int{config.bias_bits}")
            masters.append((weight << extra) + (1 << (extra - 1)))
            biases.append(bias.copy())
        n_lanes = max(layer.n_out for layer in network.layers)
        return cls(masters, biases, lane_seeds(config.seed, n_lanes), extra=extra)

    def copy(self) -> EngineState:
        return replace(
            self,
            masters=[m.copy() for m in self.masters],
            biases=[b.copy() for b in self.biases],
            lanes=self.lanes.copy(),
        )

    def weights(self) -> list[np.ndarray]:
        """Forward int8 weights ``FLOOR(m, E)`` per layer."""
        return [m >> self.extra for m in self.masters]

    def to_network(self, template: IntegerMLP) -> IntegerMLP:
        """The trained :class:`IntegerMLP`, with the template's scales."""
        layers = tuple(
            IntegerLayer(
                weight=w.astype(np.int64),
                bias=b.astype(np.int64),
                weight_frac=layer.weight_frac,
                out_frac=layer.out_frac,
                out_bits=layer.out_bits,
            )
            for w, b, layer in zip(self.weights(), self.biases, template.layers, strict=True)
        )
        return IntegerMLP(template.input_frac, layers, template.input_bits)
