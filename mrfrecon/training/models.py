"""Networks: a float MLP and an integer-only quantised MLP built with brevitas.

The quantised network is ``QuantIdentity(int8) -> [QuantLinear(int8 weight, int32 bias) ->
QuantReLU(uint8)] x L -> QuantLinear(int8 weight, int32 bias)``, every scale a power of two
(``*FixedPoint`` quantisers), so its evaluation is the integer datapath of
:mod:`mrfrecon.quantized` (what the FPGA runs); :func:`to_integer` extracts it.
Outputs are the scaled targets: log T1, log T2 mapped to [0, 1], and off-resonance mapped to
[0, 1] when the model estimates it; their number (``n_out``) comes from
:class:`~mrfrecon.parameters.NetworkParameters`, not from this module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ..features import INPUT_RANGE
from ..model import ACTIVATIONS, FloatMLPWeights
from ..quantized import IntegerLayer, IntegerMLP

INPUT_LIMIT = 4.0  # int8 input at 2**-5: the power of two just above the features' range
assert INPUT_RANGE < INPUT_LIMIT * 127 / 128


TORCH_ACTIVATIONS = {"relu": torch.relu, "silu": nn.functional.silu}
assert TORCH_ACTIVATIONS.keys() == ACTIVATIONS.keys()  # what model files and numpy evaluate


class FloatMLP(nn.Module):
    """``n_in -> widths... -> n_out`` with ``activation`` (relu | silu) between layers.

    input_scale, input_shift: an optional fixed per-feature affine map ``x * scale + shift``
    ``(n_in,)`` applied first (not trained). The features are scaled to the quantised
    network's int8 range (:func:`mrfrecon.features.fit_input_scaling`); the float networks
    trained better on standardised inputs (magnitude path: T1 MAPE 1.75 % -> 1.6 %), so they
    standardise here, and :func:`float_weights` folds the map into the first layer.
    """

    input_scale: torch.Tensor  # buffers, typed for mypy
    input_shift: torch.Tensor

    def __init__(self, n_in: int, widths: tuple[int, ...], n_out: int,
                 input_scale: torch.Tensor | None = None,
                 input_shift: torch.Tensor | None = None, activation: str = "relu"):
        super().__init__()
        if activation not in TORCH_ACTIVATIONS:
            raise ValueError(f"activation {activation!r}: one of {', '.join(TORCH_ACTIVATIONS)}")
        self.activation = activation
        sizes = (n_in, *widths, n_out)
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.register_buffer("input_scale", torch.ones(n_in) if input_scale is None
                             else input_scale.detach().clone().reshape(n_in))
        self.register_buffer("input_shift", torch.zeros(n_in) if input_shift is None
                             else input_shift.detach().clone().reshape(n_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.input_scale + self.input_shift
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = TORCH_ACTIVATIONS[self.activation](x)
        return x

    @torch.no_grad()
    def folded(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(weight, bias)`` of each layer with the input map folded into the first."""
        layers = cast(Sequence[nn.Linear], self.layers)  # a ModuleList is typed to hold Modules
        pairs = [(layer.weight.detach().clone(), layer.bias.detach().clone())
                 for layer in layers]
        w0, b0 = pairs[0]
        pairs[0] = (w0 * self.input_scale[None, :], b0 + w0 @ self.input_shift)
        return pairs


def standardising_map(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` that standardise the columns of ``x`` ``(n, n_in)``; columns that are
    constant at the int8 input's resolution (the phase-free first imaginary part) are left as
    they are: a huge scale would, folded into the first layer, set its int8 weight scale."""
    mean, std = x.mean(dim=0), x.std(dim=0)
    flat = std < 1e-3
    scale = torch.where(flat, torch.ones_like(std), 1 / std.clamp_min(1e-3))
    return scale, torch.where(flat, torch.zeros_like(mean), -mean * scale)


def float_weights(model: FloatMLP) -> FloatMLPWeights:
    pairs = model.folded()
    return FloatMLPWeights(
        tuple(w.cpu().numpy().astype(np.float32) for w, _ in pairs),
        tuple(b.cpu().numpy().astype(np.float32) for _, b in pairs),
        model.activation,
    )


class QuantMLP(nn.Module):
    """The brevitas integer-only MLP (power-of-two scales, int8/uint8/int32)."""

    def __init__(self, n_in: int, widths: tuple[int, ...], n_out: int):
        super().__init__()
        from brevitas.inject.enum import ScalingImplType
        from brevitas.nn import QuantIdentity, QuantLinear, QuantReLU
        from brevitas.quant import (
            Int8ActPerTensorFixedPoint,
            Int8WeightPerTensorFixedPoint,
            Int32Bias,
            Uint8ActPerTensorFixedPoint,
        )

        # A fixed input scale of 2**-5 (int8: -4.0 .. 3.97): the features are fitted to that
        # range (mrfrecon.features.fit_input_scaling). A learned scale drifted to 2**-4 and
        # left half of the 256 levels unused, the largest rounding loss of the network.
        self.input_quant = QuantIdentity(
            act_quant=Int8ActPerTensorFixedPoint, scaling_impl_type=ScalingImplType.CONST,
            scaling_const=INPUT_LIMIT, max_val=INPUT_LIMIT, min_val=-INPUT_LIMIT,
            return_quant_tensor=True,
        )  # fmt: skip
        sizes = (n_in, *widths, n_out)
        self.linears = nn.ModuleList()
        self.relus = nn.ModuleList()
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            last = i == len(sizes) - 2
            self.linears.append(
                QuantLinear(
                    a,
                    b,
                    bias=True,
                    weight_quant=Int8WeightPerTensorFixedPoint,
                    bias_quant=Int32Bias,
                    return_quant_tensor=not last,
                )
            )
            if not last:
                self.relus.append(
                    QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, return_quant_tensor=True)
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input_quant(x)
        for i, linear in enumerate(self.linears):
            h = linear(h)
            if i < len(self.relus):
                h = self.relus[i](h)
        return h

    def load_float(self, model: FloatMLP) -> None:
        """Start from a trained ReLU float network of the same widths."""
        if model.activation != "relu":
            raise ValueError(f"QAT starts from a ReLU network, not {model.activation}")
        with torch.no_grad():
            # brevitas has no types
            for q, (weight, bias) in zip(cast(Sequence[Any], self.linears), model.folded(),
                                         strict=True):
                q.weight.copy_(weight)
                q.bias.copy_(bias)


def _frac(scale: torch.Tensor) -> int:
    """Fractional bits of a power-of-two scale (checked to be exact)."""
    value = float(scale.detach().reshape(-1)[0])
    frac = -math.log2(value)
    if abs(frac - round(frac)) > 1e-9:
        raise ValueError(f"scale {value} is not a power of two")
    return int(round(frac))


@torch.no_grad()
def to_integer(model: QuantMLP, sample: torch.Tensor) -> IntegerMLP:
    """Extract the integer datapath of an (eval-mode) QuantMLP.

    sample: a batch of inputs; it fixes the activation scales' statistics if needed.
    """
    model.eval()
    q_in = model.input_quant(sample)
    layers = []
    h = q_in
    for i, linear in enumerate(cast(Sequence[Any], model.linears)):  # brevitas has no types
        qw = linear.quant_weight()
        bias = linear.bias_quant(linear.bias, input=h, weight=qw)
        out_frac = None
        out = linear(h)
        if i < len(model.relus):
            out = model.relus[i](out)
            out_frac = _frac(out.scale)
        layers.append(
            IntegerLayer(
                weight=qw.int().cpu().numpy().astype(np.int64),
                bias=bias.int().cpu().numpy().astype(np.int64).reshape(-1),
                weight_frac=_frac(qw.scale),
                out_frac=out_frac,
            )
        )
        h = out
    return IntegerMLP(input_frac=_frac(q_in.scale), layers=tuple(layers))
