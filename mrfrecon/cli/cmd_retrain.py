"""``mrfrecon retrain``: simulate a sequence and retrain the float and quantised networks."""

from __future__ import annotations

from pathlib import Path

import typer

from ..limits import check_memory
from ..training.config import HDL_DEFAULT_SAMPLES, Device, Engine, RetrainConfig
from ..training.kinds import KIND_SETTINGS, for_sequence
from ._common import (
    COUNT_MAX,
    SEED_MAX,
    SEQUENCE_HELP,
    JsonOption,
    OverwriteOption,
    check_int_option,
    check_output,
    read_sequence,
)
from ._errors import handle_errors
from ._output import info, print_json, stage_progress

DEFAULTS = RetrainConfig()


def register(app: typer.Typer) -> None:
    app.command("retrain")(retrain_command)


@handle_errors
def retrain_command(
    sequence: str = typer.Option(..., "--sequence", "-s", help=SEQUENCE_HELP),
    output: Path = typer.Option(..., "--output", "-o", help="Model file to write (.h5)."),
    engine: Engine = typer.Option(
        DEFAULTS.engine,
        "--engine",
        help="qat: brevitas quantisation-aware training (CPU/GPU); "
        "fixed: the integer training engine (emu/hdl/fpga).",
    ),
    device: Device = typer.Option(
        DEFAULTS.device,
        "--device",
        help="qat: auto|cpu|cuda; fixed: auto|emu|hdl|fpga "
        "(auto = fpga when a card is present, else emu).",
    ),
    seconds: float | None = typer.Option(
        DEFAULTS.seconds, "--seconds", min=1.0,
        help="Optional wall-clock cap in seconds (all stages together); without it the epochs "
        "alone set the training length and the run is reproducible bit for bit.",
    ),
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        min=1,
        help="Epochs per stage (all stages) instead of the defaults "
        f"{'/'.join(map(str, DEFAULTS.max_epochs))}.",
    ),
    seed: int = typer.Option(
        DEFAULTS.seed, "--seed", help="Random seed (sampling, noise, initialisation)."
    ),
    rank: int | None = typer.Option(
        DEFAULTS.rank, "--rank", min=1, max=DEFAULTS.max_rank,
        help="SVD coefficients K (network inputs 2K); default: the smallest K whose discarded "
        f"energy is below one coefficient's noise at {DEFAULTS.rank_noise} "
        f"(at most {DEFAULTS.max_rank}).",
    ),
    n_train: int = typer.Option(
        DEFAULTS.n_train, "--samples", min=1000,
        help="Simulated training fingerprints (random T1/T2); bSSFP sequences take their "
        f"kind's {KIND_SETTINGS['bssfp']['n_train']} when this is left at its default.",
    ),
    fixed_samples: int | None = typer.Option(
        None,
        "--fixed-samples",
        min=16,
        help="fixed engine: training samples (default: the whole pool; "
        f"{HDL_DEFAULT_SAMPLES} on --device hdl, whose GHDL simulation runs ~15 samples/s).",
    ),
    fixed_epochs: int = typer.Option(
        DEFAULTS.fixed_epochs, "--fixed-epochs", min=1,
        help="fixed engine: passes over its training samples.",
    ),
    magnitude: bool = typer.Option(
        True, "--magnitude/--no-magnitude",
        help="Also train the networks for magnitude-only input (Rician noise; same budget again).",
    ),
    as_json: bool = JsonOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """Retrain the networks for a sequence and write a validated model file (T1/T2 in ms).

    Complex data (complex, magnitude + phase, real + imaginary) and, unless --no-magnitude,
    magnitude-only data each get a float and an integer network."""
    check_int_option(seed, "--seed", 0, SEED_MAX)
    check_int_option(epochs, "--epochs", 1, COUNT_MAX)
    check_int_option(fixed_epochs, "--fixed-epochs", 1, COUNT_MAX)
    from ..model import load_model, save_model
    from ..training import retrain

    # --epochs and --seconds both apply: the epochs set the length, the seconds cap it
    check_output(output, overwrite)
    seq = read_sequence(sequence)
    if rank is not None and rank > seq.n_timepoints:
        raise ValueError(f"--rank {rank} exceeds the sequence's {seq.n_timepoints} time points")
    config = for_sequence(RetrainConfig.from_options(
        epochs=epochs, engine=engine, device=device, seconds=seconds, seed=seed, rank=rank,
        n_train=n_train, fixed_samples=fixed_samples, fixed_epochs=fixed_epochs,
        representations=("complex", "magnitude") if magnitude else ("complex",),
    ), seq)  # fmt: skip
    # fingerprints of the pool (complex64), their float64 working copies and the features
    check_memory(config.n_train * seq.n_timepoints * 8 * 4, f"--samples {config.n_train}")
    with stage_progress(enabled=not as_json) as progress:
        result = retrain(seq, config, progress=progress)
    save_model(result.model, output, overwrite=overwrite)
    load_model(output)  # validate what was written
    summary = dict(result.summary, output=str(output))
    if as_json:
        print_json(summary)
        return
    info(
        f"[bold]{seq.name}[/bold]: model written to {output} in {summary['seconds_total']:.1f} s "
        f"(simulation {summary['seconds_simulation']:.1f} s, engine {engine}, {summary['device']})"
    )
    info(
        f"  networks: float {summary['float_widths']} ({summary['float_activation']}), "
        f"quantised {summary['quant_widths']} (ReLU, integer), "
        f"SVD rank {summary['rank']} ({summary['svd']['rule']})"
    )
    for key, label in (("validation", "complex"), ("validation_magnitude", "magnitude")):
        if key not in summary:
            continue
        v = summary[key]
        info(
            f"  {label} validation at noise {v['noise']} (n = {v['n']}): "
            f"float T1 MAPE {v['float']['t1']['mape']:.2f} %, T2 {v['float']['t2']['mape']:.2f} %;"
            f" quantized T1 {v['quantized']['t1']['mape']:.2f} %, "
            f"T2 {v['quantized']['t2']['mape']:.2f} %"
        )
    for name, stage in summary["stages"].items():
        cut = " (cut short by --seconds)" if stage["capped"] else ""
        info(f"  {name}: {stage['epochs']} epochs{cut}, {stage['seconds']:.1f} s, "
             f"{stage['samples_per_s']:.3g} samples/s")
