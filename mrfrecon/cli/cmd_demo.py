"""``mrfrecon demo``: phantom -> retrain (short budget) -> maps -> metrics table and report.

The work is :func:`mrfrecon.demo.run_demo`; this module parses the options and renders.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ..demo import (
    DEMO_SEQUENCE,
    DEMO_STEPS,
    SUPPORTED_INPUTS,
    DemoConfig,
    DemoResult,
    run_demo,
)
from ._common import JsonOption, OverwriteOption, read_sequence
from ._errors import handle_errors
from ._output import info, print_json, stage_progress, warn

DEFAULTS = DemoConfig()
# Progress bar labels of the steps that report progress.
BARS = {"retrain": "Retraining", "maps": "Reconstructing"}


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


@handle_errors
def demo(
    output: Path = typer.Option(Path("mrfrecon-demo"), "--output", "-o",
                                help="Output folder (default ./mrfrecon-demo)."),
    seconds: float | None = typer.Option(DEFAULTS.seconds, "--seconds", min=1.0,
                                         help="Optional wall-clock cap on retraining (s)."),
    size: int = typer.Option(DEFAULTS.size, "--size", min=16, help="Phantom matrix size."),
    noise: float = typer.Option(DEFAULTS.noise_sigma, "--noise", min=0.0,
                                help="Phantom noise SD per channel."),
    sequence: str = typer.Option(DEMO_SEQUENCE, "--sequence", "-s", hidden=True),
    as_json: bool = JsonOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """The built-in demo: a brain phantom through fisp_jiang2015, a freshly retrained quantised
    network, its T1/T2/M0 maps with uncertainty, errors against truth and an HTML report."""
    seq = read_sequence(sequence)
    headers = {
        "phantom": f"phantom {size}x{size} through {seq.name} (noise {noise:g})",
        "retrain": "retraining the float and quantised networks"
        + (f" ({seconds:g} s cap)" if seconds else ""),
        "maps": "maps (integer network) with uncertainty, report",
        "comparison": "float network, dictionary matching and magnitude-only input for "
                      "comparison",
    }
    announced: set[str] = set()
    with stage_progress(enabled=not as_json) as bars:

        def progress(step: str, done: int, total: int) -> None:
            if step not in announced and not as_json:
                announced.add(step)
                info(f"[bold]{DEMO_STEPS.index(step) + 1}/{len(DEMO_STEPS)}[/bold] "
                     f"{headers[step]}")
            if step in BARS:
                bars(BARS[step], done, total)

        result = run_demo(output, DemoConfig(seconds=seconds, size=size, noise_sigma=noise),
                          sequence=seq, overwrite=overwrite, progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    render(result)


def render(result: DemoResult) -> None:
    """The metrics table, uncertainty and where the outputs are, on stderr."""
    info("\n  vs truth (in the mask)  T1: MAPE%   MPE%  RMSE ms  T2: MAPE%   MPE%  RMSE ms")
    rows = list(result.metrics.items()) + [
        (f"reference, {k}", v) for k, v in result.reference_work.items()
    ]
    if result.magnitude is not None:
        rows[1:1] = [(f"{k}, magnitude", v)
                     for k, v in result.magnitude["metrics"].items()]
    for label, m in rows:
        info(f"  {label[:22]:22s} {m['t1']['mape']:10.2f} {m['t1']['mpe']:6.2f} "
             f"{m['t1']['rmse_ms']:8.1f} {m['t2']['mape']:10.2f} {m['t2']['mpe']:6.2f} "
             f"{m['t2']['rmse_ms']:8.1f}")
    summary = result.summary
    sd = summary.get("t1_sd_ms", {}).get("median")
    if sd is not None:
        info(f"\n  uncertainty: median T1 SD {sd:.1f} ms, T2 SD "
             f"{summary['t2_sd_ms']['median']:.1f} ms (sqrt CRB, noise sigma "
             f"{summary['noise_sigma']:.4g} estimated from the data)")
    info("\n  inputs `maps` takes:")
    for kind, text in SUPPORTED_INPUTS.items():
        info(f"    {kind}: {text}")
    for line in result.warnings:
        warn(line)
    info(f"\n  maps: {result.output / 'maps'}   report: {result.report}   "
         f"({result.seconds:.1f} s)")
