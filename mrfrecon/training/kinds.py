"""Training settings that depend on the sequence kind, on top of :class:`RetrainConfig`.

bSSFP networks estimate off-resonance besides T1 and T2 (:mod:`mrfrecon.parameters`): the
fingerprints span a 3-parameter manifold with sharp T2 and df features, and the goal bounds
(RMSE <= 1.5 sqrt(CRB), sqrt(CRB) ~0.5 % of T2 and ~0.2 Hz at noise 0.01) need a larger,
smooth float network and more training than FISP's 2-parameter one. Measured on
``bssfp_ma2013`` (noise 0.01, n = 20 000, float RMSE / sqrt(CRB) of T1, T2, df; the float
stage alone on one 80 000-point pool unless said):

- ReLU 256-256-256, learning rate 1e-3, 160 epochs (the previous setting): 1.30, 2.34, 1.43;
- SiLU instead of ReLU: 1.24, 2.00, 1.41 (T2 error on noise-free inputs 1.38 -> 1.07
  sqrt(CRB): the smooth network follows the sharp T2 dependence better);
- SiLU at 2e-3: 1.23, 1.80, 1.36; 320 epochs 1.19, 1.68, 1.32;
- SiLU at 2e-3 on 160 000 points, 160 epochs (the same CPU as 320 epochs): 1.20, 1.65, 1.34;
- a moving average of the weights (decay 0.999 per step) kept instead of the weights
  themselves: 1.80 -> 1.72 for T2 on 80 000 points (noise-free inputs 0.90 -> 0.72), at
  no measurable cost;
- both, through ``retrain`` (these settings, complex path): 1.18, 1.64, 1.33 (the average
  adds little to the larger pool); ~500 s CPU per path against ~280 s before.

Not taken: 4 hidden layers (1.85 for T2), width 384 (1.77, 1.7x the time), K = 64 inputs
(1.76), a loss weighted by 1 / CRB (1.93, and df 8.4 when weighted too), training noise 0.01
only (1.84), a prior reaching T2 = 2 T1 (1.82), ReLU with T2's loss weighted 3x (2.14).
What is left of T2's excess is at long T2 (1.45 at T2 10-30 ms, 1.9 at 200-300 ms, where
sqrt(CRB) is 0.44 % of T2) and near the prior's T2 < T1 edge (2.2-2.8 where T2 / T1 > 0.4).
The quantised network keeps the FPGA size (``quant_widths``) and ReLU; its float stage and
QAT keep their number of steps (40 and 13 epochs over twice the points).
FISP keeps the generic defaults.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from ..sequence import Sequence
from .config import RetrainConfig

KIND_SETTINGS: dict[str, dict[str, Any]] = {
    "bssfp": {
        "float_widths": (256, 256, 256),
        "float_activation": "silu",
        "float_ema_decay": 0.999,
        "n_train": 160000,
        "max_epochs": (160, 40, 13),
        "patience": 160,  # the cosine decay sets the length: the noisy validation loss stalled
                          # for 30 epochs at epoch 93 of 160 (T2 1.94 instead of 1.64)
        "learning_rate": 2e-3,
    },
}


def for_sequence(config: RetrainConfig, sequence: Sequence) -> RetrainConfig:
    """``config`` with the settings of ``sequence.kind`` in the fields left at their generic
    default (a field given any other value wins); unchanged with ``config.kind_defaults`` off."""
    settings = KIND_SETTINGS.get(sequence.kind)
    if not config.kind_defaults or not settings:
        return config
    generic = RetrainConfig()
    defaults = {f.name: getattr(generic, f.name) for f in fields(RetrainConfig)}
    changes = {
        name: value for name, value in settings.items() if getattr(config, name) == defaults[name]
    }
    return replace(config, **changes)
