"""One training stage: Adam on MSE of the scaled targets, fresh noise every epoch,
early stopping on a fixed noisy validation set, an optional wall-clock budget."""

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
    epochs: int
    samples: int
    seconds: float
    best_val_loss: float
    samples_per_s: float


def fit(
    model: nn.Module,
    data: BatchSource,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    *,
    max_epochs: int,
    seconds: float | None,
    batch_size: int,
    learning_rate: float,
    patience: int,
    generator: torch.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> StageResult:
    """Train ``model`` in place and leave it at its best validation state."""
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    # Cosine decay over the planned epochs: max_epochs, or, with a time budget, as many as the
    # first epochs' duration says fit. Ending at a small learning rate settles
    # the weights, which matters most for the quantised network.
    planned = max_epochs
    n = data.targets.shape[0]
    device = data.targets.device
    best_loss, best_state, stale = float("inf"), copy.deepcopy(model.state_dict()), 0
    start = time.perf_counter()
    samples = 0
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator, device=device)
        level = torch.randint(len(data.noise_levels), (n,), generator=generator, device=device)
        sigma = data.noise_levels[level]
        for first in range(0, n, batch_size):
            idx = order[first : first + batch_size]
            x = data.batch(idx, sigma[idx], generator)
            loss = torch.mean((model(x) - data.targets[idx]) ** 2)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        samples += n
        model.eval()
        with torch.no_grad():
            val_loss = float(torch.mean((model(val_x) - val_y) ** 2))
        elapsed = time.perf_counter() - start
        if epoch in (1, 4) and seconds is not None:  # the first epochs run slower (warm-up)
            planned = int(min(max_epochs, max(epoch + 1, seconds * epoch // max(elapsed, 1e-9))))
        fraction = min(1.0, epoch / planned)
        for group in optimiser.param_groups:
            group["lr"] = learning_rate * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * fraction)))
        if val_loss < best_loss * (1 - 1e-4):
            best_loss, best_state, stale = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
        if progress is not None:
            progress(epoch, planned)
        if stale >= patience or epoch >= planned or (seconds is not None and elapsed >= seconds):
            break
    model.load_state_dict(best_state)
    model.eval()
    elapsed = time.perf_counter() - start
    return StageResult(epoch, samples, elapsed, best_loss, samples / max(elapsed, 1e-9))
