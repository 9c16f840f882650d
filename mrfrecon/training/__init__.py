"""Learning core: training data, float and quantised (brevitas) networks, retraining.

The public entry point is :func:`retrain` (in :mod:`.pipeline`); it returns a
:class:`~mrfrecon.model.MrfModel`. Importing this package is light: :class:`RetrainConfig` and
the engine and device vocabularies come without torch, while :func:`retrain` and
:class:`RetrainResult` import torch and brevitas on first use, so that the command line starts
fast.
"""

from importlib import import_module
from typing import Any

from .config import DEVICES, ENGINES, RetrainConfig

__all__ = ["DEVICES", "ENGINES", "RetrainConfig", "RetrainResult", "retrain"]

_FROM_PIPELINE = ("RetrainResult", "retrain")


def __getattr__(name: str) -> Any:
    if name in _FROM_PIPELINE:
        return getattr(import_module(f"{__name__}.pipeline"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
