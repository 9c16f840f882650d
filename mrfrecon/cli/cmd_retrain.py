"""``mrfrecon retrain``: simulate a sequence and retrain the float and quantised networks."""

from __future__ import annotations

from pathlib import Path

import typer

from ..model import save_model
from ._common import SEQUENCE_HELP, JsonOption, OverwriteOption, check_output, read_sequence
from ._errors import handle_errors
from ._output import err_console, info, print_json


def register(app: typer.Typer) -> None:
    app.command("retrain")(retrain_command)


@handle_errors
def retrain_command(
    sequence: str = typer.Option(..., "--sequence", "-s", help=SEQUENCE_HELP),
    output: Path = typer.Option(..., "--output", "-o", help="Model file to write (.h5)."),
    engine: str = typer.Option(
        "qat",
        "--engine",
        help="qat: brevitas quantisation-aware training (CPU/GPU); "
        "fixed: the integer training engine (emu/hdl/fpga).",
    ),
    device: str = typer.Option(
        "auto",
        "--device",
        help="qat: auto|cpu|cuda; fixed: auto|emu|hdl|fpga "
        "(auto = fpga when a card is present, else emu).",
    ),
    seconds: float = typer.Option(
        50.0, "--seconds", min=1.0, help="Training budget in seconds (all stages together)."
    ),
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        min=1,
        help="Epochs per stage instead of a time budget: the run is then reproducible bit for bit.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (sampling, noise, initialisation)."),
    rank: int = typer.Option(8, "--rank", min=1, help="SVD coefficients K (network inputs 2K)."),
    n_train: int = typer.Option(
        60000, "--samples", min=1000, help="Simulated training fingerprints (random T1/T2)."
    ),
    fixed_samples: int | None = typer.Option(
        None,
        "--fixed-samples",
        min=16,
        help="fixed engine: training samples (default: the whole pool; 256 on --device hdl, "
        "whose GHDL simulation runs ~15 samples/s).",
    ),
    fixed_epochs: int = typer.Option(
        2, "--fixed-epochs", min=1, help="fixed engine: passes over its training samples."
    ),
    as_json: bool = JsonOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """Retrain the networks for a sequence and write a validated model file (T1/T2 in ms)."""
    from ..training import RetrainConfig, retrain

    check_output(output, overwrite)
    seq = read_sequence(sequence)
    config = RetrainConfig(
        engine=engine,
        device=device,
        seed=seed,
        rank=rank,
        n_train=n_train,
        n_val=max(1000, n_train // 10),
        seconds=None if epochs else seconds,
        max_epochs=(epochs, epochs, epochs) if epochs else RetrainConfig().max_epochs,
        patience=epochs + 1 if epochs else RetrainConfig().patience,
        fixed_samples=fixed_samples if fixed_samples or device != "hdl" else 256,
        fixed_epochs=fixed_epochs,
    )
    with _stage_progress(enabled=not as_json) as progress:
        result = retrain(seq, config, progress=progress)
    save_model(result.model, output, overwrite=overwrite)
    from ..model import load_model

    load_model(output)  # validate what was written
    summary = dict(result.summary, output=str(output))
    if as_json:
        print_json(summary)
        return
    v = summary["validation"]
    info(
        f"[bold]{seq.name}[/bold]: model written to {output} in {summary['seconds_total']:.1f} s "
        f"(simulation {summary['seconds_simulation']:.1f} s, engine {engine}, {summary['device']})"
    )
    info(
        f"  networks: float {summary['float_widths']}, quantised {summary['quant_widths']}, "
        f"SVD rank {summary['rank']}"
    )
    info(
        f"  validation at noise {v['noise']} (n = {v['n']}): "
        f"float T1 MAPE {v['float']['t1']['mape']:.2f} %, T2 {v['float']['t2']['mape']:.2f} %; "
        f"quantized T1 {v['quantized']['t1']['mape']:.2f} %, "
        f"T2 {v['quantized']['t2']['mape']:.2f} %"
    )
    for name, stage in summary["stages"].items():
        info(f"  {name}: {stage['epochs']} epochs, {stage['samples_per_s']:.3g} samples/s")


class _stage_progress:
    """A rich progress display with one bar per training stage, on stderr."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and err_console.is_terminal
        self.progress = None
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
        )
        self.progress.__enter__()

        def update(stage: str, done: int, total: int) -> None:
            if stage not in self.tasks:
                self.tasks[stage] = self.progress.add_task(stage, total=total)
            self.progress.update(self.tasks[stage], completed=done, total=total)

        return update

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)
        return False
