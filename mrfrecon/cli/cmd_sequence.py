"""``mrfrecon sequence show``: the resolved per-TR schedule and its summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from ..atomic import atomic_write
from ..sequence import Sequence
from ._common import SEQUENCE_HELP, JsonOption, OverwriteOption, check_output, read_sequence
from ._errors import handle_errors
from ._output import info, print_json

app = typer.Typer(help="Inspect MRF sequence definitions.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="sequence")


@app.command("show")
@handle_errors
def show(
    file: str = typer.Argument(..., help=SEQUENCE_HELP),
    as_json: bool = JsonOption,
    plot: Path | None = typer.Option(None, "--plot", help="Write a PNG of flip angle and TR."),
    overwrite: bool = OverwriteOption,
) -> None:
    """Show a sequence: per-TR flip angle (deg), TR/TE (ms), RF phase (deg), inversion."""
    seq = read_sequence(file)
    if plot is not None:
        check_output(plot, overwrite)
        atomic_write(plot, lambda fh: plot_sequence(seq, fh), overwrite=overwrite)
    if as_json:
        print_json(seq.to_dict())
        return
    inv = (
        f"TI {seq.inversion.ti_ms:g} ms, efficiency {seq.inversion.efficiency:g}"
        if seq.inversion
        else "none"
    )
    info(f"[bold]{seq.name}[/bold] ({seq.kind}, {seq.n_timepoints} time points)")
    if seq.description:
        info(f"  {seq.description}")
    if seq.citation:
        info(f"  citation: {seq.citation}")
    info(
        f"  flip angle: {seq.fa_deg.min():.2f}-{seq.fa_deg.max():.2f} deg "
        f"(mean {seq.fa_deg.mean():.2f})"
    )
    info(
        f"  TR: {seq.tr_ms.min():.3f}-{seq.tr_ms.max():.3f} ms; TE: {seq.te_ms.min():.3f}-"
        f"{seq.te_ms.max():.3f} ms; RF phase: {np.unique(np.round(seq.phase_deg, 3))[:6].tolist()} deg"
    )
    info(
        f"  total duration: {(seq.tr_ms.sum() + (seq.inversion.ti_ms if seq.inversion else 0)) / 1e3:.2f} s"
    )
    info(f"  inversion: {inv}")
    info(f"  dictionary grid: T1 {seq.t1_grid_ms} ms; T2 {seq.t2_grid_ms} ms")
    info(f"  sha256: {seq.sha256}")
    if plot is not None:
        info(f"  plot: {plot}")


def plot_sequence(seq: Sequence, fh) -> None:
    """Flip angle (deg) and TR (ms) against TR index, as PNG into ``fh``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    ax1.plot(seq.fa_deg, lw=1)
    ax1.set_ylabel("flip angle (deg)")
    ax1.set_title(f"{seq.name} ({seq.kind}, {seq.n_timepoints} TRs)")
    ax2.plot(seq.tr_ms, lw=1, label="TR")
    ax2.plot(seq.te_ms, lw=1, label="TE")
    ax2.set_ylabel("time (ms)")
    ax2.set_xlabel("TR index")
    ax2.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(fh, format="png", dpi=100)
    plt.close(fig)
