"""Configuration of a retraining run (all times in ms, the optional cap in seconds)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

Engine = Literal["qat", "fixed"]
# Devices of both engines: qat runs on auto|cpu|cuda, fixed on auto|emu|hdl|fpga.
Device = Literal["auto", "cpu", "cuda", "emu", "hdl", "fpga"]
ENGINES: tuple[str, ...] = get_args(Engine)
DEVICES: tuple[str, ...] = get_args(Device)
ENGINE_DEVICES: dict[str, tuple[str, ...]] = {
    "qat": ("auto", "cpu", "cuda"),
    "fixed": ("auto", "emu", "hdl", "fpga"),
}
# The GHDL simulation runs ~15 samples/s: without an explicit size, train it on this many.
HDL_DEFAULT_SAMPLES = 256


@dataclass(frozen=True)
class RetrainConfig:
    """What :func:`mrfrecon.training.retrain` does.

    rank: SVD coefficients K (network inputs 2K); None: chosen per sequence by the noise rule
        of :func:`mrfrecon.dictionary.rank_for_noise` at ``rank_noise``, at most ``max_rank``.
    rank_noise: noise standard deviation per channel (M0 = 1 units) the rank rule is sized for.
    max_rank: upper bound of the chosen rank (2K inputs; the FPGA engine takes up to 64).
    float_widths: hidden widths of the float network.
    float_activation: ``relu`` or ``silu`` between the float network's layers (the network
        of the FPGA size that QAT starts from is always ReLU, as the integer one).
    float_ema_decay: per-step decay of a moving average of the float network's weights, the
        network then kept (None: no average; :func:`.trainer.fit`).
    float_loss_weights: weight of each output's squared error (scaled T1, T2[, df]) in the
        float network's loss and validation (None: equal weights).
    quant_widths: hidden widths of the integer (QAT) network, sized for the FPGA (<= 64).
    t1_range_ms, t2_range_ms: training ranges (None: the sequence's dictionary grid range).
    n_train, n_val: simulated parameter points in the training pool and the validation set
        (random continuous sampling, log-uniform, T2 < T1).
    noise_levels: per-channel noise standard deviations (M0 = 1 units) drawn afresh for every
        sample of every epoch; several variances train a robust network.
    batch_size, qat_batch_size: mini-batch sizes of the float stages and of QAT.
    max_epochs: passes over the pool per stage (float, small float, QAT); they, not the clock,
        set the training length, so a run is reproducible bit for bit on any machine.
    patience: early stopping after this many epochs without validation improvement.
    seconds: optional wall-clock cap for the three training stages together (None: no cap,
        no clock read while training). A cap makes the result depend on the machine's speed;
        the summary says when it cut a stage short.
    engine: ``qat`` (brevitas) or ``fixed`` (integer training engine); device: auto|cpu|cuda
        for qat, auto|emu|hdl|fpga for fixed.
    fixed_samples, fixed_epochs: training set size (None: the whole pool) and passes of the
        fixed-point engine, which continues from the QAT network (``hw/SPEC.md``).
    representations: input kinds to train networks for, ``complex`` always; ``magnitude``
        adds networks for magnitude-only data (Rician noise, :mod:`.magnitude`), each with
        its own ``seconds`` budget.
    threads: torch CPU threads per training path, fixed so that the reductions (and the
        results) do not depend on the machine's core count.
    parallel_paths: train the magnitude path in a second process beside the complex one
        (:mod:`mrfrecon.training.worker`); the weights are the same either way.
    kind_defaults: apply the sequence kind's settings (:mod:`.kinds`; bSSFP: a larger float
        network, more points and epochs) to the fields left at these generic defaults.
    """

    rank: int | None = None
    rank_noise: float = 0.01
    max_rank: int = 32
    # 128 wide: the float networks reach ~1.14x sqrt(CRB) on fisp_jiang2015 (64 wide: 1.25);
    # the quantised one then trains from a float network of its own (FPGA) size.
    float_widths: tuple[int, ...] = (128, 128)
    quant_widths: tuple[int, ...] = (64, 64)
    float_activation: str = "relu"
    float_ema_decay: float | None = None
    float_loss_weights: tuple[float, ...] | None = None
    t1_range_ms: tuple[float, float] | None = None
    t2_range_ms: tuple[float, float] | None = None
    n_train: int = 40000
    n_val: int = 4000
    # Several variances (robustness) weighted towards 0.01, the level the goals are set at.
    noise_levels: tuple[float, ...] = (0.003, 0.01, 0.01, 0.02, 0.03)
    max_epochs: tuple[int, int, int] = (80, 60, 20)  # 40 and 25 in the middle: QAT T1 1.9 %, 1.5 %
    patience: int = 20  # the cosine decay's last epochs gain most: stop only on a long stall
    seconds: float | None = None
    batch_size: int = 512
    qat_batch_size: int = 1024  # brevitas steps cost ~6x float ones: fewer, larger
    learning_rate: float = 3e-3
    qat_learning_rate: float = 2e-3
    seed: int = 0
    engine: Engine = "qat"
    device: Device = "auto"
    # 150 EPG orders: <= 3e-4 from the converged fingerprint up to T2 = 1900 ms, far below the
    # training noise, at 0.7x the simulation time of the 300-order default.
    n_states: int = 150
    fixed_samples: int | None = None
    fixed_epochs: int = 2
    threads: int = 1  # tiny networks train fastest on one CPU thread (no sync cost)
    stage_shares: tuple[float, float, float] = (0.4, 0.25, 0.35)  # of the ``seconds`` cap
    representations: tuple[str, ...] = ("complex", "magnitude")
    parallel_paths: bool = True
    kind_defaults: bool = True

    @classmethod
    def from_options(cls, *, epochs: int | None = None, **fields: Any) -> RetrainConfig:
        """A configuration with the policies of the ``retrain`` command on top of ``fields``.

        - ``epochs``: passes per stage (all three stages), instead of the defaults;
        - ``n_val`` (unless given): a tenth of ``n_train``, at least 1000;
        - ``fixed_samples`` (unless given): :data:`HDL_DEFAULT_SAMPLES` on the slow ``hdl``
          device, else the whole pool.
        """
        config = cls(**fields)
        changes: dict[str, Any] = {}
        if "n_val" not in fields:
            changes["n_val"] = max(1000, config.n_train // 10)
        if epochs is not None:
            changes |= {"max_epochs": (epochs,) * 3, "patience": epochs + 1}
        if config.fixed_samples is None and config.device == "hdl":
            changes["fixed_samples"] = HDL_DEFAULT_SAMPLES
        return replace(config, **changes)
