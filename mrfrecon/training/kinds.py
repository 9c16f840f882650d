"""Training settings that depend on the sequence kind, on top of :class:`RetrainConfig`.

bSSFP networks estimate off-resonance besides T1 and T2 (:mod:`mrfrecon.parameters`): the
fingerprints span a 3-parameter manifold with sharp T2 and df features, and the goal bounds
(RMSE <= 1.5 sqrt(CRB), sqrt(CRB) ~0.5 % of T2 and ~0.2 Hz at noise 0.01) need a larger float
network, more training points, more epochs and a gentler learning rate than FISP's 2-parameter
one. Measured on ``bssfp_ma2013`` (noise 0.01, float RMSE / sqrt(CRB) of T1, T2, df, n = 10 000
unless said): generic 64-64 network 2.32, 6.10, 2.58; 128-128-128 (40 000 points, 80 epochs)
1.68, 3.92, 1.93; 256-256-256 on 80 000 points at learning rate 3e-3 stops early (validation
loss stalls from epoch 25); at 1e-3, 80 epochs 1.45, 2.68, 1.56; 160 epochs (n = 20 000) 1.30,
2.27, 1.44, still improving by the last epoch; the same with T2's squared error weighted 3x
in the loss 1.35, 2.14, 1.48 (not taken: T1 and df lose what T2 gains). About 280 s of CPU for the complex path against
33 s for the generic one.
The quantised network keeps the FPGA size (``quant_widths``); the second float stage of that
size trains as long as the first so that its MAPE stays where the generic one was.
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
        "n_train": 80000,
        "max_epochs": (160, 80, 25),
        "patience": 30,
        "learning_rate": 1e-3,
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
