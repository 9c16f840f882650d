"""``mrfrecon maps``: reconstruct T1/T2/M0 maps from an MRF acquisition."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..io.maps import Layout, Units
from ..method import Method
from ._common import JsonOption, OverwriteOption
from ._errors import handle_errors
from ._output import info, print_json, progress_bar, warn

if TYPE_CHECKING:
    from ..qc.metrics import MapSummary, Stats

METHOD_HELP = ("quantized: quantized network, integer datapath (bit-exact with the FPGA); "
               "float: float network; matching: dictionary matching in the model's SVD basis.")
UNITS_HELP = "Unit of the NIfTI T1/T2 maps: s (BIDS, default) or ms. DICOM maps are always ms."
LAYOUT_HELP = ("bids: a BIDS derivative dataset, maps in sub-<label>/[ses-<label>/]anat/ "
               "(default when the input names a subject); flat: every map in the output folder.")
NOISE_HELP = ("Noise sigma per channel: auto, residual (energy outside the model's subspace), "
              "background (outside the mask), or a number in data units.")

SERIES_HELP = ("DICOM input holding several MRF acquisitions (default: each into its own "
               "outputs): the SeriesNumber or SeriesInstanceUID of the one to reconstruct.")


def register(app: typer.Typer) -> None:
    app.command("maps")(maps)


def parse_noise(text: str) -> str | float:
    try:
        return float(text)
    except ValueError:
        return text


@handle_errors
def maps(
    input_path: Path = typer.Argument(..., metavar="INPUT",
                                      help="NIfTI file, DICOM file or folder of a DICOM series."),
    model: Path = typer.Option(..., "--model", "-m", help="Model file (from mrfrecon retrain)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder."),
    method: Method = typer.Option(Method.QUANTIZED, "--method", help=METHOD_HELP),
    mask: Path | None = typer.Option(None, "--mask", help="Mask NIfTI (non-zero = fit); "
                                     "default: automatic from the signal energy."),
    units: Units = typer.Option("s", "--units", help=UNITS_HELP),
    dicom: bool | None = typer.Option(None, "--dicom/--no-dicom",
                                      help="Also write DICOM maps (default: for DICOM inputs)."),
    parametric_map: bool = typer.Option(False, "--parametric-map", help="Also write each map as "
                                        "a DICOM Parametric Map (float32; DICOM inputs only)."),
    layout: Layout | None = typer.Option(None, "--layout", help=LAYOUT_HELP),
    patient_id: str | None = typer.Option(None, "--patient-id", help="PatientID of the DICOM "
                                          "maps of a NIfTI input (default: the BIDS subject, "
                                          "sub-<label>, else the output name)."),
    patient_name: str | None = typer.Option(None, "--patient-name", help="PatientName (DICOM "
                                            "PN, e.g. Doe^Jane) of the DICOM maps of a NIfTI "
                                            "input (default: the patient ID)."),
    truth_t1: Path | None = typer.Option(None, "--truth-t1", help="True T1 map (NIfTI) for "
                                         "MAPE/MPE/RMSE."),
    truth_t2: Path | None = typer.Option(None, "--truth-t2", help="True T2 map (NIfTI)."),
    report: Path | None = typer.Option(None, "--report", help="Write an HTML QC report here."),
    dictionary: Path | None = typer.Option(None, "--dictionary", help="Dictionary (.h5) for "
                                           "--method matching (default: simulated)."),
    noise: str = typer.Option("auto", "--noise", help=NOISE_HELP),
    series: str | None = typer.Option(None, "--series", metavar="NUMBER|UID", help=SERIES_HELP),
    b1_map: Path | None = typer.Option(None, "--b1-map", help="Measured B1 map (flip-angle "
                                       "scale, 1 = nominal; NIfTI or DICOM, any geometry) for "
                                       "models/dictionaries that span B1."),
    chunk_size: int = typer.Option(4096, "--chunk-size", min=1, help="Voxels per chunk."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="Worker threads "
                                       "(default: all cores)."),
    as_json: bool = JsonOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """Reconstruct T1, T2, M0, quality and uncertainty (sqrt CRB) maps.

    NIfTI maps are written in BIDS seconds unless --units ms. DICOM magnitude and phase
    (or real and imaginary) series are paired automatically; a folder with several
    acquisitions gives one set of outputs each (or --series picks one).
    """
    from ..recon import ReconOptions, run_maps_each

    options = ReconOptions(method=method, chunk_size=chunk_size, n_threads=threads,
                           noise=parse_noise(noise))
    with progress_bar("Reconstructing", enabled=not as_json) as bar:
        results = run_maps_each(input_path, model, output, series=series, options=options,
                                mask_path=mask, truth_t1=truth_t1, truth_t2=truth_t2,
                                units=units, dicom=dicom, overwrite=overwrite,
                                report_dir=report, dictionary_path=dictionary, progress=bar,
                                layout=layout, parametric_map=parametric_map,
                                patient_id=patient_id, patient_name=patient_name,
                                b1_map_path=b1_map)
    if as_json:
        if len(results) == 1:
            print_json(results[0].to_dict())
        else:
            print_json({"acquisitions": [r.to_dict() for r in results]})
        return
    for result in results:
        if result.acquisition is not None:
            info(f"[bold]input[/bold] {result.acquisition}")
        render_summary(result.summary, result.metrics)
        for line in result.summary.warnings:
            warn(line)
        info(f"  {len(result.outputs)} files in {output} ({result.seconds['total']:.2f} s)")
        if result.report is not None:
            info(f"  report: {result.report}")


def render_summary(summary: MapSummary, metrics: dict | None) -> None:
    """Human summary on stderr."""

    def fmt(stats: Stats) -> str:
        if stats.median is None:
            return "-"
        return f"{stats.median:.4g} (IQR {stats.q1:.4g}-{stats.q3:.4g})"

    info(f"[bold]{summary.n_voxels} voxels[/bold] ({summary.method}, "
         f"{summary.input_representation} input)")
    info(f"  T1 {fmt(summary.t1_ms)} ms; T2 {fmt(summary.t2_ms)} ms; "
         f"quality {fmt(summary.quality)}")
    if summary.df_hz is not None:
        sd = "" if summary.df_sd_hz is None else f"; SD (sqrt CRB) {fmt(summary.df_sd_hz)} Hz"
        info(f"  off-resonance {fmt(summary.df_hz)} Hz{sd}")
    if summary.t1_sd_ms is not None and summary.t2_sd_ms is not None:
        info(f"  SD (sqrt CRB): T1 {fmt(summary.t1_sd_ms)} ms; T2 {fmt(summary.t2_sd_ms)} ms;"
             f" noise sigma {summary.noise_sigma:.4g} ({summary.noise_method})")
    if metrics:
        info("           MAPE %    MPE %   RMSE ms")
        for name in ("t1", "t2"):
            m = metrics[name]
            info(f"  {name.upper()}   {m['mape']:9.2f} {m['mpe']:8.2f} {m['rmse_ms']:9.1f}")
