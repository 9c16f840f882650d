"""Accuracy of a model on a fresh held-out test set, against dictionary matching and the CRB.

Test set: T1 in [100, 3000] ms and T2 in [10, 300] ms log-uniform with T2 < T1, M0 = 1,
simulated through the model's sequence (float64 EPG, default 300 states), complex Gaussian noise of
``noise`` per channel added to the *un-normalised* signal. Methods: the float network, the
quantised network (integer path) and dictionary matching on the sequence's default grid.
Per method and parameter: MAPE and MPE (%), RMSE (ms), and RMSE / sqrt(mean CRB).

The bound is the one of the network's actual unknowns (:func:`~mrfrecon.physics.crb.crb_sds`
at each test point's truth, noise ``noise`` per channel): T1, T2 and the complex M0 (magnitude
and phase, as Re/Im) always, plus df when the model estimates it (bSSFP), so a T1/T2 bound with
df unknown is never below the df-known one (for ``bssfp_ma2013`` +0.2 % T1, +0.5 % T2 in median);
a B1 given to the networks as a measured map is known, the bound evaluated at it.
``rmse_over_crb`` is pooled, the same definition for every sequence and method:
``sqrt(mean_i (e_i - t_i)^2) / sqrt(mean_i CRB_i)`` (RMSE over the set over the RMS of sqrt(CRB),
:mod:`~mrfrecon.metrics`), not a mean of per-point ratios: points with large bounds (long T1,
T2) weigh more, as they do in the RMSE.

Nuisance parameters (:class:`~mrfrecon.parameters.NetworkParameters` of the model): an
estimated off-resonance is drawn uniformly over the trained range and reported as ``df_hz``
(:func:`~mrfrecon.metrics.offset_error_metrics`, Hz; the CRB then has df as a third unknown);
a B1 input is drawn uniformly over its range (or fixed, ``b1=``) and given to every method as
a measured map would be (matching within the dictionary's nearest B1 slice).
``representation="magnitude"`` evaluates magnitude-only data on the same noisy test set: the
magnitude of the noisy complex signal (Rician noise), the model's magnitude networks, and
matching of ``|x|`` against the magnitude atoms ``|D|`` (uncompressed, as the complex matching).
The sqrt(CRB) stays the complex data's: for these sequences the signal is real up to a global
phase, so at high SNR the magnitude carries the same T1/T2 information.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .dictionary import build_dictionary, match
from .features import Representation
from .method import Method
from .metrics import error_metrics, offset_error_metrics
from .model import MrfModel
from .parameters import NetworkParameters
from .physics import Tissue, simulate_fingerprints
from .physics.crb import crb_sds
from .sequence import Sequence
from .training.data import sample_tissue

T1_TEST_MS = (100.0, 3000.0)
T2_TEST_MS = (10.0, 300.0)
METHODS = (Method.FLOAT, Method.QUANTIZED, Method.MATCHING)


@dataclass(frozen=True)
class TestSet:
    tissue: Tissue
    signals: np.ndarray  # (n, n_t) complex, noisy, M0 = 1 units
    crb_t1_ms: np.ndarray
    crb_t2_ms: np.ndarray  # sqrt(CRB) per point, ms
    crb_df_hz: np.ndarray | None = None  # sqrt(CRB) of the off-resonance, Hz, when estimated


def make_test_set(
    sequence: Sequence,
    n: int,
    noise: float,
    seed: int = 12345,
    progress: Callable[[int, int], None] | None = None,
    parameters: NetworkParameters = NetworkParameters(),
    b1: float | None = None,
) -> TestSet:
    """Draw a fresh test set (see the module docstring); ``b1`` fixes B1 instead of drawing it."""
    rng = np.random.default_rng(seed)
    tissue = sample_tissue(rng, n, T1_TEST_MS, T2_TEST_MS)
    if parameters.takes_b1 or parameters.estimates_df or b1 is not None:
        if b1 is None and parameters.b1_range is not None:
            b1_values = rng.uniform(*parameters.b1_range, n)
        else:
            b1_values = np.full(n, 1.0 if b1 is None else b1)
        df = np.zeros(n)
        if parameters.df_range_hz is not None:
            df = rng.uniform(*parameters.df_range_hz, n)
        tissue = Tissue.make(tissue.t1_ms, tissue.t2_ms, b1_values, df)
    clean = simulate_fingerprints(
        sequence, tissue, dtype=np.float64, progress=progress
    )
    noisy = clean + noise * (
        rng.standard_normal(clean.shape) + 1j * rng.standard_normal(clean.shape)
    )
    if noise > 0:
        sd = crb_sds(sequence, tissue, noise, estimate_df=parameters.estimates_df)
    else:
        sd = {k: np.zeros(n) for k in ("t1_ms", "t2_ms", "df_hz")}
    return TestSet(tissue, noisy.astype(np.complex64), sd["t1_ms"], sd["t2_ms"],
                   sd.get("df_hz") if parameters.estimates_df else None)


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` measured.

    metrics: per method, ``{"t1": ..., "t2": ...}`` from :func:`~mrfrecon.metrics.error_metrics`.
    estimates: per method, (T1, T2) in ms, each ``(n,)``; test: the test set (truth, sqrt(CRB)).
    df_estimates: per method, off-resonance in Hz ``(n,)`` when the model estimates it.
    """

    metrics: dict[Method, dict[str, dict[str, Any]]]
    estimates: dict[Method, tuple[np.ndarray, np.ndarray]]
    test: TestSet
    noise: float
    n: int
    seed: int
    df_estimates: dict[Method, np.ndarray] | None = None
    representation: Representation = Representation.COMPLEX

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``methods.{float,quantized,matching}.{t1,t2[,df_hz]}``, the test set,
        the CRB (``df_sd_rms_hz`` when the off-resonance is estimated)."""
        truth = self.test.tissue
        crb = {
            "t1_rel_sd_mean_pct": float(100 * np.mean(self.test.crb_t1_ms / truth.t1_ms)),
            "t2_rel_sd_mean_pct": float(100 * np.mean(self.test.crb_t2_ms / truth.t2_ms)),
        }
        if self.test.crb_df_hz is not None:
            crb["df_sd_rms_hz"] = float(np.sqrt(np.mean(self.test.crb_df_hz**2)))
        b1 = truth.b1
        return {
            "methods": {m.value: v for m, v in self.metrics.items()},
            "representation": str(self.representation),
            "noise": self.noise,
            "n": self.n,
            "seed": self.seed,
            "t1_range_ms": list(T1_TEST_MS),
            "t2_range_ms": list(T2_TEST_MS),
            "b1_range": [float(b1.min()), float(b1.max())],
            "df_range_hz": [float(truth.df_hz.min()), float(truth.df_hz.max())],
            "crb": crb,
        }


def evaluate(
    model: MrfModel,
    *,
    noise: float = 0.01,
    n: int = 20000,
    seed: int = 12345,
    methods: tuple[Method | str, ...] = METHODS,
    b1: float | None = None,
    representation: Representation | str = Representation.COMPLEX,
    progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    """Reconstruct a fresh test set with each method and measure the errors.

    b1: for a model with a B1 input, the test set's B1 (default: uniform over the range).
    representation: ``complex``, or ``magnitude`` for magnitude-only data (see the module
    docstring); a model without magnitude networks raises ``ModelMismatchError``.
    """
    chosen = [Method(m) for m in methods]
    representation = Representation(representation)
    net_model = model.for_representation(representation)  # before minutes of simulation
    params = model.parameters
    test = make_test_set(model.sequence, n, noise, seed, progress, params, b1)
    truth = test.tissue
    measured_b1 = truth.b1 if params.takes_b1 else None
    magnitude = representation is Representation.MAGNITUDE
    signals = np.abs(test.signals) if magnitude else test.signals
    estimates: dict[Method, tuple[np.ndarray, np.ndarray]] = {}
    df_estimates: dict[Method, np.ndarray] = {}
    x = net_model.features(signals)
    for method in METHODS:  # a fixed order, whatever the order asked for
        if method not in chosen:
            continue
        if method is Method.MATCHING:
            dictionary = build_dictionary(model.sequence, energy=None)
            if magnitude:
                dictionary = replace(dictionary, atoms=np.abs(dictionary.atoms))
            result = match(dictionary, signals, compressed=False, b1=measured_b1)
            estimates[method] = (result.t1_ms, result.t2_ms)
            df_estimates[method] = result.df_hz
        else:
            est = net_model.estimate_features(x, method, measured_b1)
            estimates[method] = (est.t1_ms, est.t2_ms)
            if est.df_hz is not None:
                df_estimates[method] = est.df_hz
    metrics = {
        method: {"t1": error_metrics(t1, truth.t1_ms, crb_sd_ms=test.crb_t1_ms),
                 "t2": error_metrics(t2, truth.t2_ms, crb_sd_ms=test.crb_t2_ms)}
        for method, (t1, t2) in estimates.items()
    }
    if params.estimates_df:
        for method, df in df_estimates.items():
            metrics[method]["df_hz"] = offset_error_metrics(df, truth.df_hz,
                                                            crb_sd=test.crb_df_hz)
    return Evaluation(metrics, estimates, test, noise, n, seed,
                      df_estimates if params.estimates_df else None, representation)


def plot_errors(result: Evaluation, fh, n_bins: int = 6) -> None:
    """Per-(T1, T2)-bin MAPE heat maps for each method, as PNG into ``fh``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t1, t2 = result.test.tissue.t1_ms, result.test.tissue.t2_ms
    e1 = np.geomspace(*T1_TEST_MS, n_bins + 1)
    e2 = np.geomspace(*T2_TEST_MS, n_bins + 1)
    i1 = np.clip(np.searchsorted(e1, t1) - 1, 0, n_bins - 1)
    i2 = np.clip(np.searchsorted(e2, t2) - 1, 0, n_bins - 1)
    names = list(result.estimates)
    fig, axes = plt.subplots(2, len(names), figsize=(4 * len(names), 7), squeeze=False)
    for col, name in enumerate(names):
        for row, (est, truth, label) in enumerate(
            ((result.estimates[name][0], t1, "T1"), (result.estimates[name][1], t2, "T2"))
        ):
            grid = np.full((n_bins, n_bins), np.nan)
            rel = 100 * np.abs(est - truth) / truth
            for a in range(n_bins):
                for b in range(n_bins):
                    sel = (i1 == a) & (i2 == b)
                    if sel.any():
                        grid[b, a] = rel[sel].mean()
            ax = axes[row, col]
            im = ax.imshow(
                grid,
                origin="lower",
                cmap="viridis",
                vmin=0,
                vmax=np.nanpercentile(grid, 95) if np.isfinite(grid).any() else 1,
            )
            ax.set_xticks(range(n_bins), [f"{v:.0f}" for v in e1[:-1]], rotation=45, fontsize=7)
            ax.set_yticks(range(n_bins), [f"{v:.0f}" for v in e2[:-1]], fontsize=7)
            ax.set_xlabel("true T1 bin start (ms)")
            ax.set_ylabel("true T2 bin start (ms)")
            ax.set_title(f"{name}: {label} MAPE (%)")
            fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(f"noise {result.noise}, n = {result.n}")
    fig.tight_layout()
    fig.savefig(fh, format="png", dpi=90)
    plt.close(fig)
