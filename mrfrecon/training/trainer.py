"""One training stage: Adam on MSE of the scaled targets (optionally weighted per output),
fresh noise every epoch, a cosine learning-rate decay over the planned steps, early stopping on
a fixed noisy validation set; optionally an exponential moving average of the weights (Polyak
averaging), which is then the network validated and kept.

The training length is set by epochs alone: no clock is read unless an optional wall-clock
cap (``seconds``) is given, so that the same seed gives the same weights on a busy or a quiet
machine.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from .features_torch import noisy_features

FINAL_LR_FRACTION = 0.02  # the cosine decay ends at this fraction of the initial rate


class BatchSource(Protocol):
    """What :func:`fit` trains on: targets ``(n, 2)``, noise levels, noisy input batches."""

    targets: torch.Tensor
    noise_levels: torch.Tensor

    def batch(
        self, idx: torch.Tensor, sigma: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor: ...


@dataclass
class TrainTensors:
    """Pool on the training device: clean coefficients, targets, noise levels."""

    coef_re: torch.Tensor  # (n, K)
    coef_im: torch.Tensor  # (n, K)
    targets: torch.Tensor  # (n, n_outputs)
    noise_levels: torch.Tensor  # (n_levels,)
    mean: torch.Tensor  # (2K,)
    std: torch.Tensor  # (2K,)
    extra: torch.Tensor | None = None  # (n, n_extra_inputs) noise-free inputs (B1), or None

    def batch(
        self, idx: torch.Tensor, sigma: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Network inputs of samples ``idx`` with fresh noise ``sigma`` (``(len(idx),)``)."""
        x = noisy_features(
            self.coef_re[idx], self.coef_im[idx], sigma, self.mean, self.std, generator
        )
        return x if self.extra is None else torch.cat([x, self.extra[idx]], dim=1)


@dataclass
class StageResult:
    """What a stage did. ``seconds`` (wall) and ``cpu_seconds`` are filled in by the caller,
    which times stages from outside the training loop; ``capped``: the wall-clock cap ended
    the stage before its planned epochs."""

    epochs: int
    samples: int
    best_val_loss: float
    best_epoch: int
    capped: bool = False
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    samples_per_s: float = 0.0


def _moving_average(
    decay: float,
) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor | int], torch.Tensor]:
    """Update of an exponential moving average whose decay ramps up as ``(1 + n) / (10 + n)``
    after ``n`` updates, to at most ``decay``: a short run's average does not stay near the
    initial weights (decay 0.999 over 2 000 steps left bSSFP's T1 at 14x sqrt(CRB))."""

    def update(average: torch.Tensor, current: torch.Tensor, n: torch.Tensor | int
               ) -> torch.Tensor:
        ramp = torch.clamp(torch.as_tensor((1 + n) / (10 + n)), max=decay).to(average.dtype)
        return ramp * average + (1 - ramp) * current

    return update


class _Cap:
    """The optional wall-clock cap; reads the clock only when there is one."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.start = time.perf_counter() if seconds is not None else 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start if self.seconds is not None else 0.0

    def reached(self) -> bool:
        return self.seconds is not None and self.elapsed() >= self.seconds


def fit(
    model: nn.Module,
    data: BatchSource,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    *,
    max_epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    generator: torch.Generator,
    seconds: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    ema_decay: float | None = None,
    loss_weights: torch.Tensor | None = None,
) -> StageResult:
    """Train ``model`` in place and leave it at its best validation state.

    max_epochs: passes over the pool (the planned length of the learning-rate decay);
    seconds: optional wall-clock cap (the decay is then re-planned to what fits);
    ema_decay: per-step decay of an exponential moving average of the weights (None: no
    average); the average is what is validated and what ``model`` is left at;
    loss_weights: ``(n_outputs,)`` weight of each output's squared error, in training and
    validation alike (None: equal weights).
    """
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    average = None if ema_decay is None else torch.optim.swa_utils.AveragedModel(
        model, avg_fn=_moving_average(ema_decay))
    validated = model if average is None else average.module
    n = data.targets.shape[0]
    steps_per_epoch = math.ceil(n / batch_size)
    planned = max_epochs
    device = data.targets.device
    weights = None if loss_weights is None else loss_weights.to(device)

    def weighted_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        squared = (pred - target) ** 2
        return torch.mean(squared if weights is None else weights * squared)

    best_loss, best_state, best_epoch, stale = float("inf"), copy.deepcopy(model.state_dict()), 0, 0
    cap = _Cap(seconds)
    samples = epoch = step = 0
    for epoch in range(1, max_epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator, device=device)
        level = torch.randint(len(data.noise_levels), (n,), generator=generator, device=device)
        sigma = data.noise_levels[level]
        # The epoch's noisy inputs in one draw: drawn per batch they cost as much as the steps.
        x_epoch = data.batch(order, sigma[order], generator)
        y_epoch = data.targets[order]
        for first in range(0, n, batch_size):
            # Cosine decay per step: ending at a small rate settles the weights, which matters
            # most for the quantised network.
            fraction = min(1.0, step / (planned * steps_per_epoch))
            for group in optimiser.param_groups:
                group["lr"] = learning_rate * (
                    FINAL_LR_FRACTION
                    + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * fraction))
                )
            x = x_epoch[first : first + batch_size]
            loss = weighted_mse(model(x), y_epoch[first : first + batch_size])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if average is not None:
                average.update_parameters(model)
            step += 1
        samples += n
        validated.eval()
        with torch.no_grad():
            val_loss = float(weighted_mse(validated(val_x), val_y))
        if seconds is not None and epoch in (1, 4):  # the first epochs run slower (warm-up)
            fit_epochs = int(seconds * epoch // max(cap.elapsed(), 1e-9))
            planned = int(min(max_epochs, max(epoch + 1, fit_epochs)))
        if val_loss < best_loss * (1 - 1e-4):
            best_loss, best_state, best_epoch = (val_loss, copy.deepcopy(validated.state_dict()),
                                                 epoch)
            stale = 0
        else:
            stale += 1
        if progress is not None:
            progress(epoch, planned)
        if stale >= patience or epoch >= planned or cap.reached():
            break
    model.load_state_dict(best_state)
    model.eval()
    capped = seconds is not None and epoch < max_epochs and stale < patience
    return StageResult(epoch, samples, best_loss, best_epoch, capped)
