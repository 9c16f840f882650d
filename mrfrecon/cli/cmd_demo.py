"""``mrfrecon demo``: phantom -> retrain (short budget) -> maps -> metrics table and report.

Everything runs on the shipped FISP sequence (fisp_jiang2015), on the CPU, no FPGA needed.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ..errors import OutputExistsError
from ..method import Method
from ..metrics import error_metrics
from ..qc.metrics import REFERENCE_TABLE, read_truth_map
from ._common import JsonOption, OverwriteOption, read_sequence
from ._errors import handle_errors
from ._output import info, print_json, progress_bar, warn


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


@handle_errors
def demo(
    output: Path = typer.Option(Path("mrfrecon-demo"), "--output", "-o",
                                help="Output folder (default ./mrfrecon-demo)."),
    seconds: float = typer.Option(40.0, "--seconds", min=1.0, help="Training budget (s)."),
    size: int = typer.Option(128, "--size", min=16, help="Phantom matrix size."),
    noise: float = typer.Option(0.005, "--noise", min=0.0, help="Phantom noise SD per channel."),
    sequence: str = typer.Option("fisp_jiang2015", "--sequence", "-s", hidden=True),
    as_json: bool = JsonOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """The built-in demo: a brain phantom through fisp_jiang2015, a freshly retrained quantised
    network, its T1/T2/M0 maps with uncertainty, errors against truth and an HTML report."""
    from ..model import save_model
    from ..phantom import write_phantom
    from ..recon import ReconOptions, reconstruct, run_maps
    from ..training import RetrainConfig, retrain

    if output.exists() and any(output.iterdir()) and not overwrite:
        raise OutputExistsError(f"Output exists already: '{output}' (use --overwrite)")
    t0 = time.perf_counter()
    seq = read_sequence(sequence)
    say = (lambda text: None) if as_json else info
    say(f"[bold]1/4[/bold] phantom {size}x{size} through {seq.name} (noise {noise:g})")
    phantom = write_phantom(seq, output / "phantom", noise_sigma=noise, size=size,
                            overwrite=overwrite)
    say(f"[bold]2/4[/bold] retraining the float and quantised networks ({seconds:g} s budget)")
    with progress_bar("Retraining", enabled=not as_json) as bar:
        trained = retrain(seq, RetrainConfig(seconds=seconds),
                          progress=lambda stage, done, total: bar(done, total))
    model_path = save_model(trained.model, output / "model.h5", overwrite=overwrite)
    say("[bold]3/4[/bold] maps (quantized network) with uncertainty, report")
    with progress_bar("Reconstructing", enabled=not as_json) as bar:
        maps = run_maps(phantom.series, model_path, output / "maps", truth_t1=phantom.truth_t1,
                        truth_t2=phantom.truth_t2, report_dir=output / "report",
                        overwrite=overwrite, progress=bar)
    say("[bold]4/4[/bold] float network and dictionary matching for comparison")
    from ..io import read_acquisition

    acq = read_acquisition(phantom.series)
    truth = {k: read_truth_map(p, acq.spatial_shape)
             for k, p in (("t1", phantom.truth_t1), ("t2", phantom.truth_t2))}
    table = {Method.QUANTIZED.value: maps.metrics}
    for method in (Method.FLOAT, Method.MATCHING):
        rec = reconstruct(acq.data, trained.model, mask=maps.recon.maps.mask,
                          options=ReconOptions(method=method, uncertainty=False))
        table[method.value] = {k: error_metrics(getattr(rec.maps, f"{k}_ms"), truth[k],
                                                mask=rec.maps.mask) for k in ("t1", "t2")}
    summary = maps.summary
    result = {"output": str(output), "model": str(model_path), "report": str(maps.report),
              "metrics": table, "reference_work": REFERENCE_TABLE, "summary": summary.to_dict(),
              "retrain": trained.summary, "seconds": round(time.perf_counter() - t0, 1)}
    if as_json:
        print_json(result)
        return
    info("\n  vs truth (in the mask)  T1: MAPE%   MPE%  RMSE ms  T2: MAPE%   MPE%  RMSE ms")
    rows = list(table.items()) + [(f"reference, {k}", v) for k, v in REFERENCE_TABLE.items()]
    for label, m in rows:
        info(f"  {label[:22]:22s} {m['t1']['mape']:10.2f} {m['t1']['mpe']:6.2f} "
             f"{m['t1']['rmse_ms']:8.1f} {m['t2']['mape']:10.2f} {m['t2']['mpe']:6.2f} "
             f"{m['t2']['rmse_ms']:8.1f}")
    if summary.t1_sd_ms is not None and summary.t2_sd_ms is not None \
            and summary.t1_sd_ms.median is not None:
        info(f"\n  uncertainty: median T1 SD {summary.t1_sd_ms.median:.1f} ms, T2 SD "
             f"{summary.t2_sd_ms.median:.1f} ms (sqrt CRB, noise sigma "
             f"{summary.noise_sigma:.4g} estimated from the data)")
    for line in summary.warnings:
        warn(line)
    info(f"\n  maps: {output / 'maps'}   report: {maps.report}   ({result['seconds']} s)")
