"""``mrfrecon batch``: reconstruct every acquisition under a folder tree (resumable)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..io.maps import Units
from ..method import Method
from ._common import JsonOption, OverwriteOption
from ._errors import handle_errors
from ._output import info, print_json
from .cmd_maps import METHOD_HELP, UNITS_HELP

if TYPE_CHECKING:
    from ..batch import StudyResult


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)


@handle_errors
def batch(
    input_dir: Path = typer.Argument(..., metavar="INPUT_DIR",
                                     help="Folder tree of NIfTI files and/or DICOM series."),
    model: Path = typer.Option(..., "--model", "-m", help="Model file (from mrfrecon retrain)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1,
                             help="Studies processed at once on this machine (threads)."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", metavar="local:N|tcp://HOST:PORT",
        help="Run the studies on a Dask cluster: local:N starts N worker processes here; "
             "tcp://HOST:PORT joins a running scheduler (shared file system needed)."),
    method: Method = typer.Option(Method.QUANTIZED, "--method", help=METHOD_HELP),
    units: Units = typer.Option("s", "--units", help=UNITS_HELP),
    dicom: bool | None = typer.Option(None, "--dicom/--no-dicom",
                                      help="Also write DICOM maps (default: for DICOM inputs)."),
    as_json: bool = JsonOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """Reconstruct every study; a failing study is reported and skipped.

    Resumable: a rerun skips finished studies. A lock refuses two runs on one output folder.
    """
    from ..batch import run_batch
    from ..cluster import parse_scheduler
    from ..recon import ReconOptions

    if scheduler is not None and jobs != 1:
        raise typer.BadParameter("--jobs is for local threads; with --scheduler the cluster's "
                                 "workers set the parallelism", param_hint="--jobs")
    try:
        parse_scheduler(scheduler)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--scheduler") from None

    def show(study: StudyResult) -> None:
        if not as_json:
            tail = f": {study.error}" if study.error else f" ({study.seconds:.1f} s)"
            info(f"  {study.status:15s} {study.study}{tail}")

    result = run_batch(input_dir, model, output, options=ReconOptions(method=method), jobs=jobs,
                       scheduler=scheduler,
                       units=units, dicom=dicom, overwrite=overwrite, on_study=show)
    if as_json:
        print_json(result.to_dict())
    else:
        info(f"\n{'study':40s} {'status':15s} {'voxels':>7s} {'T1 ms':>8s} {'T2 ms':>8s} "
             f"{'quality':>7s}")
        for s in result.studies:
            if s.summary:
                sm = s.summary
                med = [sm["t1_ms"]["median"], sm["t2_ms"]["median"], sm["quality"]["median"]]
                cells = " ".join(f"{v:8.4g}" if v is not None else f"{'-':>8s}" for v in med)
                info(f"{s.study:40s} {s.status:15s} {sm['n_voxels']:7d} {cells}")
            else:
                info(f"{s.study:40s} {s.status:15s} {s.error or ''}")
        counts = result.counts()
        info(f"{counts['done']} done, {counts['previously done']} previously done, "
             f"{counts['failed']} failed in {result.seconds:.1f} s")
    if result.counts()["failed"]:
        raise typer.Exit(1)
