"""``retrain``: from a sequence to a validated float + integer model (simulation, float
training, quantisation-aware fine-tuning, validation)."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..errors import EngineUnavailableError, MrfreconError
from ..features import FeatureMap, Representation, fit_standardisation, unit_realimag
from ..metrics import error_metrics, offset_error_metrics
from ..model import MagnitudePath, MrfModel, OutputScaling
from ..parameters import NetworkParameters
from ..quantized import IntegerMLP
from ..sequence import Sequence
from .config import ENGINE_DEVICES, ENGINES, RetrainConfig
from .data import Pool, add_noise, parameter_ranges, simulate_pools
from .magnitude import prepare_magnitude
from .models import FloatMLP, QuantMLP, float_weights, to_integer
from .trainer import BatchSource, StageResult, TrainTensors, fit

StageProgress = Callable[[str, int, int], None]
VALIDATION_NOISE = 0.01


@dataclass(frozen=True)
class RetrainResult:
    model: MrfModel
    summary: dict[str, Any]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise EngineUnavailableError("device 'cuda': no CUDA device is available")
    if name not in ENGINE_DEVICES["qat"]:
        raise EngineUnavailableError(
            f"unknown device '{name}' for the qat engine ({', '.join(ENGINE_DEVICES['qat'])})"
        )
    return torch.device(name)


def retrain(
    sequence: Sequence,
    config: RetrainConfig = RetrainConfig(),
    progress: StageProgress | None = None,
) -> RetrainResult:
    """Simulate training data for ``sequence`` and train float and integer networks."""
    report = progress or (lambda stage, done, total: None)
    if config.engine not in ENGINES:
        raise EngineUnavailableError(f"unknown engine '{config.engine}' (qat or fixed)")
    if Representation.COMPLEX not in config.representations or not set(
        config.representations) <= set(Representation):
        raise MrfreconError(f"representations {config.representations}: 'complex', optionally "
                            "with 'magnitude'")
    fixed_device = None
    if config.engine == "fixed":
        fixed_device = _check_fixed_engine(config.device)
        device = torch.device("cpu")
    else:
        device = resolve_device(config.device)
    t_start = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    t1_range, t2_range = parameter_ranges(sequence, config.t1_range_ms, config.t2_range_ms)
    scaling = OutputScaling(t1_range, t2_range)
    params = NetworkParameters.from_sequence(sequence)

    basis, train, val = simulate_pools(
        sequence,
        config.n_train,
        config.n_val,
        config.rank,
        t1_range,
        t2_range,
        rng,
        n_states=config.n_states,
        progress=lambda d, n: report("simulate", d, n),
    )
    t_sim = time.perf_counter() - t_start
    levels = np.asarray(config.noise_levels, np.float64)
    sample_sigma = levels[rng.integers(len(levels), size=train.n)]
    mean, std = fit_standardisation(unit_realimag(add_noise(train.coef, sample_sigma, rng)))
    features = FeatureMap(basis, mean, std)
    val_sigma = levels[rng.integers(len(levels), size=val.n)]
    val_x = torch.tensor(params.with_extra(
        features.from_coefficients(add_noise(val.coef, val_sigma, rng)), val.tissue.b1
    ), device=device)
    val_y = torch.tensor(targets(scaling, params, val.tissue), device=device)
    data = _tensors(train, scaling, params, levels, mean, std, device)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)

    budgets = [
        None if config.seconds is None else config.seconds * share for share in config.stage_shares
    ]
    stages: dict[str, StageResult] = {}

    def train_stage(index: int, name: str, label: str, net, learning_rate: float, source):
        stages[name] = fit(
            net, source[0], source[1], val_y,
            max_epochs=config.max_epochs[index], seconds=budgets[index],
            learning_rate=learning_rate, batch_size=config.batch_size,
            patience=config.patience, generator=generator,
            progress=lambda d, n: report(label, d, n),
        )  # fmt: skip
        return net

    # One loop over the input representations: the same three stages for each, on its own
    # features and noise (magnitude: Rician, see training/magnitude.py); the time budget is
    # per representation.
    sources: dict[Representation, tuple[FeatureMap, BatchSource, torch.Tensor]] = {
        Representation.COMPLEX: (features, data, val_x)
    }
    if Representation.MAGNITUDE in config.representations:
        report("magnitude data", 0, 1)
        mag_rng = np.random.default_rng([config.seed, 1])  # the complex path's draws unchanged
        mag = prepare_magnitude(train, val, basis, 2 * config.rank, levels, data.targets,
                                mag_rng, device, extra=data.extra,
                                val_extra=params.extra_features(val.n, val.tissue.b1))
        report("magnitude data", 1, 1)
        sources[Representation.MAGNITUDE] = (mag.features, mag.tensors, mag.val_x)
    nets: dict[Representation, tuple] = {}
    for rep, (rep_features, rep_data, rep_val_x) in sources.items():
        tag = "" if rep is Representation.COMPLEX else f"{rep}_"
        label = "" if rep is Representation.COMPLEX else f"{rep}: "
        source = (rep_data, rep_val_x)
        n_in, n_out = rep_features.n_features + params.n_extra_inputs, params.n_outputs
        float_net = train_stage(0, f"{tag}float", f"{label}float",
                                FloatMLP(n_in, config.float_widths, n_out).to(device),
                                config.learning_rate, source)
        small = train_stage(1, f"{tag}float_small", f"{label}float (FPGA size)",
                            FloatMLP(n_in, config.quant_widths, n_out).to(device),
                            config.learning_rate, source)
        quant = QuantMLP(n_in, config.quant_widths, n_out).to(device)
        quant.load_float(small)  # QAT starts from the trained float network of the same size
        train_stage(2, f"{tag}qat", f"{label}quantisation-aware", quant,
                    config.qat_learning_rate, source)
        nets[rep] = (float_net, small, to_integer(quant.cpu(), rep_val_x[:256].cpu()))
    float_net, small, int_net = nets[Representation.COMPLEX]
    if fixed_device is not None:  # the integer engine continues the complex network only
        int_net, stages["fixed"] = _train_fixed(
            int_net, train, features, scaling, params, levels, config, fixed_device, rng, report
        )

    metrics = _validate(
        features, scaling, params, {"float": float_net, "float_small": small}, int_net, val, rng
    )
    magnitude = None
    if Representation.MAGNITUDE in nets:
        m_float, m_small, m_int = nets[Representation.MAGNITUDE]
        metrics_m = _validate(
            mag.features, scaling, params, {"float": m_float, "float_small": m_small}, m_int, val,
            mag_rng, x=mag.validation_features(val, basis, VALIDATION_NOISE, mag_rng),
        )
        magnitude = MagnitudePath(mag.features, float_weights(m_float.cpu()), m_int)
    model = MrfModel(
        sequence=sequence,
        features=features,
        scaling=scaling,
        float_net=float_weights(float_net.cpu()),
        int_net=int_net,
        magnitude=magnitude,
        metrics={
            "validation": metrics,
            **({} if magnitude is None else {"validation_magnitude": metrics_m}),
            "stages": {k: vars(v) for k, v in stages.items()},
            "seconds_total": time.perf_counter() - t_start,
            "seconds_simulation": t_sim,
        },
        provenance={
            "mrfrecon_version": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": config.seed,
            "engine": config.engine,
            "device": str(fixed_device or device),
            "config": {k: v for k, v in vars(config).items()},
            "torch": torch.__version__,
            "host": platform.node(),
        },
        parameters=params,
    )
    summary = {
        "sequence": sequence.name,
        "sequence_sha256": sequence.sha256,
        "n_timepoints": sequence.n_timepoints,
        "rank": config.rank,
        "float_widths": list(model.float_net.widths),
        "quant_widths": list(int_net.widths),
        "t1_range_ms": list(t1_range),
        "t2_range_ms": list(t2_range),
        "outputs": list(params.outputs),
        "extra_inputs": list(params.extra_inputs),
        "df_range_hz": None if params.df_range_hz is None else list(params.df_range_hz),
        "b1_range": None if params.b1_range is None else list(params.b1_range),
        "validation": metrics,
        **({} if magnitude is None else {"validation_magnitude": metrics_m}),
        "representations": [str(r) for r in nets],
        "stages": {k: vars(v) for k, v in stages.items()},
        "seconds_simulation": round(t_sim, 3),
        "seconds_total": round(time.perf_counter() - t_start, 3),
        "engine": config.engine,
        "device": str(fixed_device or device),
        "seed": config.seed,
    }
    return RetrainResult(model, summary)


def targets(scaling: OutputScaling, params: NetworkParameters, tissue) -> np.ndarray:
    """Network targets ``(n, n_outputs)`` float32 of ``tissue`` (scaled T1, T2[, df])."""
    y = scaling.encode(tissue.t1_ms, tissue.t2_ms)
    if params.estimates_df:
        y = np.concatenate([y, params.encode_df(tissue.df_hz)[:, None]], axis=1)
    return y


def _tensors(
    pool: Pool,
    scaling: OutputScaling,
    params: NetworkParameters,
    levels: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    device: torch.device,
) -> TrainTensors:
    return TrainTensors(
        coef_re=torch.tensor(pool.coef.real.astype(np.float32), device=device),
        coef_im=torch.tensor(pool.coef.imag.astype(np.float32), device=device),
        targets=torch.tensor(targets(scaling, params, pool.tissue), device=device),
        noise_levels=torch.tensor(levels.astype(np.float32), device=device),
        mean=torch.tensor(mean, device=device),
        std=torch.tensor(std, device=device),
        extra=torch.tensor(params.extra_features(pool.n, pool.tissue.b1), device=device)
        if params.n_extra_inputs else None,
    )


def _validate(
    features: FeatureMap,
    scaling: OutputScaling,
    params: NetworkParameters,
    float_nets: dict[str, FloatMLP],
    int_net: IntegerMLP,
    val: Pool,
    rng: np.random.Generator,
    x: np.ndarray | None = None,
) -> dict[str, Any]:
    """Error metrics (:func:`~mrfrecon.metrics.error_metrics`) of T1/T2 on the validation pool
    at noise 0.01 for every network: ``{name: {"t1": {...}, "t2": {...}[, "df_hz": {...}]}}``
    (off-resonance by :func:`~mrfrecon.metrics.offset_error_metrics`, Hz).

    x: the noisy validation features (default: complex noise added to the coefficients); the
    extra inputs (B1) are appended here."""
    if x is None:
        x = features.from_coefficients(
            add_noise(val.coef, np.full(val.n, VALIDATION_NOISE), rng)
        )
    x = params.with_extra(x, val.tissue.b1)
    outputs = {}
    with torch.no_grad():
        for name, net in float_nets.items():
            outputs[name] = net.cpu()(torch.tensor(x)).numpy()
    outputs["quantized"] = int_net.forward(x)
    out: dict[str, Any] = {"noise": VALIDATION_NOISE, "n": val.n}
    for name, y in outputs.items():
        t1, t2 = scaling.decode(y)
        out[name] = {"t1": error_metrics(t1, val.tissue.t1_ms),
                     "t2": error_metrics(t2, val.tissue.t2_ms)}
        if params.estimates_df:
            out[name]["df_hz"] = offset_error_metrics(params.decode_df(y), val.tissue.df_hz)
    return out


def _check_fixed_engine(device: str) -> str:
    from ..engine import resolve_device as resolve_engine_device
    from ..engine.xrt import fpga_available

    resolved = resolve_engine_device(device)
    if resolved == "fpga" and not fpga_available():  # fail before minutes of training
        raise EngineUnavailableError("device 'fpga': no Alveo card found through XRT (pyxrt)")
    return resolved


def _train_fixed(
    int_net, train: Pool, features, scaling, params, levels, config: RetrainConfig, device, rng,
    report,
):
    """Continue training the QAT network's integer datapath on the fixed-point engine."""
    from ..engine import FixedPointConfig, train_fixed

    n = train.n if config.fixed_samples is None else min(train.n, config.fixed_samples)
    sigma = levels[rng.integers(len(levels), size=n)]
    x = params.with_extra(features.from_coefficients(add_noise(train.coef[:n], sigma, rng)),
                          train.tissue.b1[:n])
    y = targets(scaling, params, train.tissue[:n])
    start = time.perf_counter()
    result = train_fixed(
        int_net,
        x,
        y,
        FixedPointConfig(seed=config.seed % 2**32 or 1, epochs=config.fixed_epochs),
        device=device,
        progress=lambda d, t: report("fixed-point", d, t),
    )
    seconds = time.perf_counter() - start
    stage = StageResult(
        config.fixed_epochs,
        result.n_samples,
        seconds,
        result.mse_after,
        result.n_samples / max(seconds, 1e-9),
    )
    return result.network, stage
