"""The feature map of :mod:`mrfrecon.features` in torch, with fresh noise, for training batches."""

from __future__ import annotations

import torch


def noisy_features(
    coef_re: torch.Tensor,
    coef_im: torch.Tensor,
    sigma: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """Clean coefficients (real, imag; ``(n, K)``) + noise ``sigma`` (``(n,)``) -> features.

    Same arithmetic as ``FeatureMap.from_coefficients``: rotate by the phase of coefficient 1,
    divide by the norm, concatenate real and imaginary parts, standardise.
    """
    shape = coef_re.shape
    dev = coef_re.device
    re = coef_re + sigma[:, None] * torch.randn(shape, generator=generator, device=dev)
    im = coef_im + sigma[:, None] * torch.randn(shape, generator=generator, device=dev)
    mag1 = torch.sqrt(re[:, :1] ** 2 + im[:, :1] ** 2).clamp_min(1e-30)
    cr, ci = re[:, :1] / mag1, -im[:, :1] / mag1  # conj(c1) / |c1|
    rot_re = re * cr - im * ci
    rot_im = re * ci + im * cr
    norm = torch.sqrt((re**2 + im**2).sum(dim=1, keepdim=True)).clamp_min(1e-30)
    feats = torch.cat([rot_re / norm, rot_im / norm], dim=1)
    return (feats - mean) / std
