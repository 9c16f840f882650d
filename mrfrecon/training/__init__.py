"""Learning core: training data, float and quantised (brevitas) networks, retraining.

The public entry point is :func:`retrain`; it returns a :class:`~mrfrecon.model.MrfModel`.
"""

from .config import RetrainConfig
from .retrain import RetrainResult, retrain

__all__ = ["RetrainConfig", "RetrainResult", "retrain"]
