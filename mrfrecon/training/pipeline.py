"""``retrain``: from a sequence to a validated float + integer model (simulation, float
training, quantisation-aware fine-tuning, validation)."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from .. import __version__
from ..errors import EngineUnavailableError, MrfreconError
from ..features import FeatureMap, Representation, fit_input_scaling, unit_realimag
from ..metrics import error_metrics, offset_error_metrics
from ..model import MagnitudePath, MrfModel, OutputScaling
from ..parameters import NetworkParameters
from ..quantized import IntegerMLP
from ..sequence import Sequence
from . import worker
from .config import ENGINE_DEVICES, ENGINES, RetrainConfig
from .data import Pool, add_noise, parameter_ranges, simulate_pools
from .kinds import for_sequence
from .magnitude import prepare_magnitude
from .models import (
    TORCH_ACTIVATIONS,
    FloatMLP,
    QuantMLP,
    float_weights,
    standardising_map,
    to_integer,
)
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


class StageClock:
    """Wall and CPU seconds of the pipeline's steps, read between steps (never inside a
    training loop): reporting only, nothing the model depends on."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall[name] = time.perf_counter() - wall
        self.cpu[name] = time.process_time() - cpu

    def split(self) -> dict[str, dict[str, float]]:
        return {name: {"wall_s": round(self.wall[name], 3), "cpu_s": round(self.cpu[name], 3)}
                for name in self.wall}


@contextmanager
def reproducible_torch(threads: int, device: torch.device) -> Iterator[None]:
    """Fixed CPU thread count and deterministic algorithms for the run; restored after.

    The thread count is fixed (not the machine's core count) so that reductions split the same
    way everywhere; one thread also trains these small networks fastest, and by far on a
    loaded machine (two OpenMP threads sharing busy cores ran 25x slower here). On CUDA,
    deterministic cuBLAS needs ``CUBLAS_WORKSPACE_CONFIG``; ops without a deterministic kernel
    only warn there (not run on a GPU yet).
    """
    old_threads = torch.get_num_threads()
    old_mode = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_mode, warn_only=old_warn)


def retrain(
    sequence: Sequence,
    config: RetrainConfig = RetrainConfig(),
    progress: StageProgress | None = None,
) -> RetrainResult:
    """Simulate training data for ``sequence`` and train float and integer networks.

    The same ``config`` (seed included) gives the same weights bit for bit on any machine with
    the same software, unless ``config.seconds`` caps the training. Fields left at their
    generic defaults take the sequence kind's settings (:func:`.kinds.for_sequence`).
    """
    config = for_sequence(config, sequence)
    if config.engine not in ENGINES:
        raise EngineUnavailableError(f"unknown engine '{config.engine}' (qat or fixed)")
    if Representation.COMPLEX not in config.representations or not set(
        config.representations) <= set(Representation):
        raise MrfreconError(f"representations {config.representations}: 'complex', optionally "
                            "with 'magnitude'")
    if config.float_activation not in TORCH_ACTIVATIONS:
        raise MrfreconError(f"float_activation '{config.float_activation}': one of "
                            f"{', '.join(TORCH_ACTIVATIONS)}")
    params = NetworkParameters.from_sequence(sequence)
    weights = config.float_loss_weights
    if weights is not None and (len(weights) != params.n_outputs or min(weights) <= 0):
        raise MrfreconError(f"float_loss_weights {tuple(weights)}: one positive weight per "
                            f"output ({', '.join(params.outputs)})")
    fixed_device = None
    if config.engine == "fixed":
        fixed_device = _check_fixed_engine(config.device)
        device = torch.device("cpu")
    else:
        device = resolve_device(config.device)
    return _retrain(sequence, config, params, device, fixed_device, progress)


def _retrain(
    sequence: Sequence,
    config: RetrainConfig,
    params: NetworkParameters,
    device: torch.device,
    fixed_device: str | None,
    progress: StageProgress | None,
) -> RetrainResult:
    report = progress or (lambda stage, done, total: None)
    clock = StageClock()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    t1_range, t2_range = parameter_ranges(sequence, config.t1_range_ms, config.t2_range_ms)
    scaling = OutputScaling(t1_range, t2_range)
    # The magnitude path (Rician noise, training/magnitude.py) trains on its own features,
    # noise and seeds, in a second process beside the complex path (worker.py; started now,
    # its imports overlap the simulation): the same weights as inline, in about half the wall
    # time on two cores.
    beside = None
    if Representation.MAGNITUDE in config.representations:
        beside = worker.start(magnitude_path, report, parallel=config.parallel_paths)
    try:
        return _train_and_validate(sequence, config, device, fixed_device, report, clock, rng,
                                   scaling, params, beside)
    finally:
        if beside is not None:
            beside.close()


def _train_and_validate(
    sequence: Sequence,
    config: RetrainConfig,
    device: torch.device,
    fixed_device: str | None,
    report: StageProgress,
    clock: StageClock,
    rng: np.random.Generator,
    scaling: OutputScaling,
    params: NetworkParameters,
    beside: worker.Handle | None,
) -> RetrainResult:
    t1_range, t2_range = scaling.t1_range_ms, scaling.t2_range_ms
    with clock.step("simulation"):
        basis, train, val, rank_info = simulate_pools(
            sequence, config.n_train, config.n_val, config.rank, t1_range, t2_range, rng,
            n_states=config.n_states, progress=lambda d, n: report("simulate", d, n),
            rank_noise=config.rank_noise, max_rank=config.max_rank,
        )  # fmt: skip
    levels = np.asarray(config.noise_levels, np.float64)
    sample_sigma = levels[rng.integers(len(levels), size=train.n)]
    mean, std = fit_input_scaling(unit_realimag(add_noise(train.coef, sample_sigma, rng)))
    features = FeatureMap(basis, mean, std)
    val_sigma = levels[rng.integers(len(levels), size=val.n)]
    val_x = torch.tensor(params.with_extra(
        features.from_coefficients(add_noise(val.coef, val_sigma, rng)), val.tissue.b1
    ), device=device)
    val_y = torch.tensor(targets(scaling, params, val.tissue), device=device)
    data = _tensors(train, scaling, params, levels, mean, std, device)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    if beside is not None:
        beside.submit(MagnitudeJob(train, val, basis, levels, val_y.cpu().numpy(), scaling,
                                   params, config, str(device)))

    def report_both(stage: str, done: int, total: int) -> None:
        report(stage, done, total)
        if beside is not None:
            beside.poll()

    # Entered after the simulation: its BLAS thread limits, on exit, reset torch's threads.
    with reproducible_torch(config.threads, device):
        nets = train_networks(
            features.n_features + params.n_extra_inputs, params.n_outputs, data, val_x, val_y,
            config, generator, clock, report_both,
        )  # fmt: skip
    outcome = None if beside is None else beside.result()
    stages = dict(nets.stages)
    if beside is not None and outcome is not None:
        stages |= outcome.stages
        clock.wall |= outcome.wall
        clock.cpu |= outcome.cpu
        if beside.cpu_seconds:  # the second process's start (imports) beside its steps
            clock.wall["magnitude_process"] = 0.0
            clock.cpu["magnitude_process"] = beside.cpu_seconds - sum(outcome.cpu.values())
    int_net = nets.int_net
    if fixed_device is not None:  # the integer engine continues the complex network only
        with clock.step("fixed"):
            int_net, stages["fixed"] = _train_fixed(
                int_net, train, features, scaling, params, levels, config, fixed_device, rng,
                report,
            )  # fmt: skip

    with clock.step("validation"):
        metrics = _validate(
            features, scaling, params, {"float": nets.float_net, "float_small": nets.float_small},
            int_net, val, rng,
        )  # fmt: skip
    magnitude = None if outcome is None else outcome.path
    metrics_m = None if outcome is None else outcome.metrics
    for name, stage in stages.items():
        stage.seconds, stage.cpu_seconds = round(clock.wall[name], 3), round(clock.cpu[name], 3)
        stage.samples_per_s = stage.samples / max(clock.wall[name], 1e-9)
    capped = [name for name, stage in stages.items() if stage.capped]
    timing = clock.split()
    # Wall: elapsed from start to end (the two paths overlap); CPU: both processes.
    seconds_total = time.perf_counter() - clock.start
    cpu_total = sum(clock.cpu.values())
    model = MrfModel(
        sequence=sequence,
        features=features,
        scaling=scaling,
        float_net=float_weights(nets.float_net.cpu()),
        int_net=int_net,
        magnitude=magnitude,
        metrics={
            "validation": metrics,
            **({} if magnitude is None else {"validation_magnitude": metrics_m}),
            "stages": {k: vars(v) for k, v in stages.items()},
            "svd": rank_info,
            "seconds_total": seconds_total,
            "seconds_simulation": clock.wall["simulation"],
            "timing": timing,
        },
        provenance={
            "mrfrecon_version": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": config.seed,
            "engine": config.engine,
            "device": str(fixed_device or device),
            "config": {k: v for k, v in vars(config).items()},
            "svd_rank_rule": rank_info,
            "torch": torch.__version__,
            "host": platform.node(),
        },
        parameters=params,
    )
    summary = {
        "sequence": sequence.name,
        "sequence_sha256": sequence.sha256,
        "n_timepoints": sequence.n_timepoints,
        "rank": features.rank,
        "svd": rank_info,
        "float_widths": list(model.float_net.widths),
        "float_activation": model.float_net.activation,
        "float_loss_weights": (None if config.float_loss_weights is None
                               else list(config.float_loss_weights)),
        "quant_widths": list(int_net.widths),
        "t1_range_ms": list(t1_range),
        "t2_range_ms": list(t2_range),
        "outputs": list(params.outputs),
        "extra_inputs": list(params.extra_inputs),
        "df_range_hz": None if params.df_range_hz is None else list(params.df_range_hz),
        "b1_range": None if params.b1_range is None else list(params.b1_range),
        "validation": metrics,
        **({} if magnitude is None else {"validation_magnitude": metrics_m}),
        "representations": [str(Representation.COMPLEX)]
        + ([] if magnitude is None else [str(Representation.MAGNITUDE)]),
        "parallel_paths": magnitude is not None and config.parallel_paths,
        "stages": {k: vars(v) for k, v in stages.items()},
        "capped_by_seconds": capped,
        "timing": timing,
        "seconds_simulation": round(clock.wall["simulation"], 3),
        "seconds_total": round(seconds_total, 3),
        "cpu_seconds_total": round(cpu_total, 3),
        "engine": config.engine,
        "device": str(fixed_device or device),
        "threads": config.threads,
        "seed": config.seed,
    }
    return RetrainResult(model, summary)


def targets(scaling: OutputScaling, params: NetworkParameters, tissue) -> np.ndarray:
    """Network targets ``(n, n_outputs)`` float32 of ``tissue`` (scaled T1, T2[, df])."""
    y = scaling.encode(tissue.t1_ms, tissue.t2_ms)
    if params.estimates_df:
        y = np.concatenate([y, params.encode_df(tissue.df_hz)[:, None]], axis=1)
    return y


@dataclass
class TrainedNetworks:
    """The three stages' networks (float, float of the FPGA size, integer) and their results."""

    float_net: FloatMLP
    float_small: FloatMLP
    int_net: IntegerMLP
    stages: dict[str, StageResult]


def train_networks(
    n_in: int,
    n_out: int,
    data: BatchSource,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    config: RetrainConfig,
    generator: torch.Generator,
    clock: StageClock,
    report: StageProgress,
    prefix: str = "",
) -> TrainedNetworks:
    """Float network, float network of the FPGA size, then QAT from it, on one feature space.

    Everything a representation (feature map) needs is in the arguments, so another
    representation trains through the same path with its own ``data`` and validation set;
    ``prefix`` (``magnitude_``) names its stages apart.
    """
    device = data.targets.device
    same_size = (tuple(config.quant_widths) == tuple(config.float_widths)
                 and config.float_activation == "relu")
    shares = list(config.stage_shares)
    if same_size:  # no float stage of the FPGA size: its share of the cap goes to the float one
        shares = [shares[0] + shares[1], 0.0, shares[2]]
    budgets = [None if config.seconds is None else config.seconds * share for share in shares]
    stages: dict[str, StageResult] = {}

    def train_stage(index: int, name: str, label: str, net, learning_rate: float,
                    batch_size: int = config.batch_size, ema_decay: float | None = None,
                    loss_weights: tuple[float, ...] | None = None):
        name, label = prefix + name, (f"{prefix[:-1]}: " if prefix else "") + label
        with clock.step(name):
            stages[name] = fit(
                net, data, val_x, val_y,
                max_epochs=config.max_epochs[index], seconds=budgets[index],
                learning_rate=learning_rate, batch_size=batch_size,
                patience=config.patience, generator=generator,
                progress=lambda d, n: report(label, d, n), ema_decay=ema_decay,
                loss_weights=None if loss_weights is None else torch.tensor(loss_weights),
            )  # fmt: skip
        return net

    standardise = standardising_map(val_x)  # the float networks see standardised inputs
    float_net = train_stage(0, "float", "float",
                            FloatMLP(n_in, config.float_widths, n_out, *standardise,
                                     activation=config.float_activation).to(device),
                            config.learning_rate, ema_decay=config.float_ema_decay,
                            loss_weights=config.float_loss_weights)  # fmt: skip
    if same_size:
        small = float_net  # the float network already has the FPGA size: QAT starts from it
    else:
        small = train_stage(1, "float_small", "float (FPGA size)",
                            FloatMLP(n_in, config.quant_widths, n_out, *standardise).to(device),
                            config.learning_rate)  # fmt: skip
    quant = QuantMLP(n_in, config.quant_widths, n_out).to(device)
    quant.load_float(small)  # QAT starts from the trained float network of the same size
    train_stage(2, "qat", "quantisation-aware", quant, config.qat_learning_rate,
                config.qat_batch_size)
    int_net = to_integer(quant.cpu(), val_x[:256].cpu())
    return TrainedNetworks(float_net, small, int_net, stages)


@dataclass(frozen=True)
class MagnitudeJob:
    """What the magnitude path needs; picklable, since it may run in another process.

    val_y: validation targets ``(n_val, n_outputs)``; device: torch device name.
    """

    train: Pool
    val: Pool
    basis: np.ndarray
    levels: np.ndarray
    val_y: np.ndarray
    scaling: OutputScaling
    params: NetworkParameters
    config: RetrainConfig
    device: str


@dataclass(frozen=True)
class MagnitudeOutcome:
    """The magnitude networks, their validation metrics, stages and timing (wall, CPU s)."""

    path: MagnitudePath
    metrics: dict[str, Any]
    stages: dict[str, StageResult]
    wall: dict[str, float]
    cpu: dict[str, float]


def path_seed(seed: int, path: int) -> int:
    """The torch seed of training path ``path`` (0 complex, 1 magnitude) for ``seed``."""
    return seed if path == 0 else int(np.random.SeedSequence([seed, path]).generate_state(1)[0])


def magnitude_path(job: MagnitudeJob, report: StageProgress) -> MagnitudeOutcome:
    """Magnitude data (:mod:`.magnitude`), networks and validation, from the job alone (its own
    seeds): the same result inline or in a second process (:mod:`.worker`)."""
    config, params, device = job.config, job.params, torch.device(job.device)
    clock = StageClock()
    rng = np.random.default_rng([config.seed, 1])  # apart from the complex path's draws
    seed = path_seed(config.seed, 1)
    torch.manual_seed(seed)
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    report("magnitude data", 0, 1)
    # One BLAS thread: the same sums in the child as inline, and one core each for the paths.
    with clock.step("magnitude_data"), threadpool_limits(limits=1, user_api="blas"):
        extra = params.extra_features(job.train.n, job.train.tissue.b1)
        mag = prepare_magnitude(
            job.train, job.val, job.basis, 2 * job.basis.shape[1], job.levels,
            torch.tensor(targets(job.scaling, params, job.train.tissue), device=device), rng,
            device, extra=torch.tensor(extra, device=device) if params.n_extra_inputs else None,
            val_extra=params.extra_features(job.val.n, job.val.tissue.b1),
        )  # fmt: skip
    report("magnitude data", 1, 1)
    with reproducible_torch(config.threads, device):
        nets = train_networks(
            mag.features.n_features + params.n_extra_inputs, params.n_outputs, mag.tensors,
            mag.val_x, torch.tensor(job.val_y, device=device), config, generator, clock, report,
            prefix="magnitude_",
        )  # fmt: skip
    with clock.step("magnitude_validation"):
        metrics = _validate(
            mag.features, job.scaling, params,
            {"float": nets.float_net, "float_small": nets.float_small}, nets.int_net, job.val,
            rng, x=mag.validation_features(job.val, job.basis, VALIDATION_NOISE, rng),
        )  # fmt: skip
    path = MagnitudePath(mag.features, float_weights(nets.float_net.cpu()), nets.int_net)
    return MagnitudeOutcome(path, metrics, nets.stages, clock.wall, clock.cpu)


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
    result = train_fixed(
        int_net,
        x,
        y,
        FixedPointConfig(seed=config.seed % 2**32 or 1, epochs=config.fixed_epochs),
        device=device,
        progress=lambda d, t: report("fixed-point", d, t),
    )
    stage = StageResult(config.fixed_epochs, result.n_samples, result.mse_after,
                        config.fixed_epochs)
    return result.network, stage
