"""Configuration and derived fixed-point formats of the training engine (``hw/SPEC.md`` §1, §4)."""

from __future__ import annotations

from dataclasses import dataclass

from mrfrecon.quantized import IntegerMLP

MAX_UPDATE_SHIFT = 31
"""Largest stochastic-rounding shift: the random word of a lane is 32 bits (SPEC §4)."""


@dataclass(frozen=True)
class FixedPointConfig:
    """Hyper-parameters of integer training.

    lr_shift: learning rate ``2**-lr_shift`` applied to the batch-mean gradient.
    log2_batch: mini-batch size ``B = 2**log2_batch`` (gradients summed over B samples).
    delta_frac: fractional bits of the deltas (back-propagated errors).
    delta_bits: width of the deltas (signed, saturated).
    master_extra: extra fractional bits ``E`` of the master weights over the int8 weights.
    bias_bits: width of the biases (signed, saturated).
    epochs: passes over the training set.
    shuffle: reorder the samples each epoch with ``numpy.random.default_rng(seed + epoch)``.
    seed: seeds the per-lane xorshift32 generators and the shuffling.
    """

    lr_shift: int = 6
    log2_batch: int = 4
    delta_frac: int = 10
    delta_bits: int = 16
    master_extra: int = 8
    bias_bits: int = 32
    epochs: int = 1
    shuffle: bool = True
    seed: int = 1

    @property
    def batch(self) -> int:
        return 1 << self.log2_batch

    def __post_init__(self) -> None:
        if not 0 <= self.log2_batch <= 16:
            raise ValueError(f"log2_batch ({self.log2_batch}) must be in [0, 16]")
        if not 2 <= self.delta_bits <= 24:
            raise ValueError(f"delta_bits ({self.delta_bits}) must be in [2, 24]")
        if not 1 <= self.master_extra <= 16:
            raise ValueError(f"master_extra ({self.master_extra}) must be in [1, 16]")
        if not 8 <= self.bias_bits <= 40:
            raise ValueError(f"bias_bits ({self.bias_bits}) must be in [8, 40]")
        if self.epochs < 1:
            raise ValueError(f"epochs ({self.epochs}) must be >= 1")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed ({self.seed}) must be a 32-bit unsigned integer")


@dataclass(frozen=True)
class LayerFormat:
    """Shifts of one layer (SPEC §2-§4), all in bits, all >= 0.

    q: forward requantisation shift (hidden layers; 0 for the output layer).
    bp: back-propagation shift ``wf_l`` (used when this layer produces the previous layer's delta).
    s_w, s_b: stochastic-rounding shifts of the weight and bias updates.
    """

    q: int
    bp: int
    s_w: int
    s_b: int


@dataclass(frozen=True)
class EngineFormat:
    """All derived shifts of a network under a config.

    layers: one :class:`LayerFormat` per layer.
    e: output-delta shift ``a_L - delta_frac``.
    target_frac: fractional bits of the int32 targets (``a_L``).
    """

    layers: tuple[LayerFormat, ...]
    e: int
    target_frac: int

    @classmethod
    def derive(cls, network: IntegerMLP, config: FixedPointConfig) -> EngineFormat:
        """Compute and check every shift of SPEC §2-§4; raise ``ValueError`` naming the bad one."""
        layers = []
        f_prev = network.input_frac
        n_layers = len(network.layers)
        for index, layer in enumerate(network.layers):
            a = f_prev + layer.weight_frac
            last = index == n_layers - 1
            if last != (layer.out_frac is None):
                raise ValueError(f"layer {index + 1}: only the last layer may be linear")
            if layer.out_bits != 8:
                raise ValueError(f"layer {index + 1}: out_bits {layer.out_bits} != 8")
            q = 0 if layer.out_frac is None else a - int(layer.out_frac)  # None: the last
            common = config.lr_shift + config.log2_batch + config.delta_frac
            fmt = LayerFormat(
                q=q,
                bp=layer.weight_frac,
                s_w=common + f_prev - layer.weight_frac - config.master_extra,
                s_b=common - a,
            )
            for name in ("q", "bp"):
                if getattr(fmt, name) < 0:
                    raise ValueError(f"layer {index + 1}: shift {name} = {getattr(fmt, name)} < 0")
            for name in ("s_w", "s_b"):
                value = getattr(fmt, name)
                if not 0 <= value <= MAX_UPDATE_SHIFT:
                    raise ValueError(
                        f"layer {index + 1}: update shift {name} = {value} outside [0, "
                        f"{MAX_UPDATE_SHIFT}]; change lr_shift ({config.lr_shift}) or "
                        f"delta_frac ({config.delta_frac})"
                    )
            layers.append(fmt)
            if layer.out_frac is not None:  # not the last layer
                f_prev = int(layer.out_frac)
        a_last = f_prev + network.layers[-1].weight_frac
        e = a_last - config.delta_frac
        if e < 0:
            raise ValueError(f"output delta shift e = {e} < 0; lower delta_frac")
        if network.input_bits != 8:
            raise ValueError(f"input_bits {network.input_bits} != 8")
        return cls(layers=tuple(layers), e=e, target_frac=a_last)
