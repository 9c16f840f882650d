"""``mrfrecon phantom``: a numerical brain-like MRF phantom with truth maps."""

from __future__ import annotations

from pathlib import Path

import typer

from ..limits import check_memory
from ..phantom import DEFAULT_NOISE, DEFAULT_SIZE, TISSUES, write_phantom
from ._common import (
    SEED_MAX,
    SEQUENCE_HELP,
    JsonOption,
    OverwriteOption,
    check_int_option,
    read_sequence,
)
from ._errors import handle_errors
from ._output import info, print_json, progress_bar


def register(app: typer.Typer) -> None:
    app.command("phantom")(phantom)


@handle_errors
def phantom(
    sequence: str = typer.Option("fisp_jiang2015", "--sequence", "-s", help=SEQUENCE_HELP),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder."),
    noise: float = typer.Option(DEFAULT_NOISE, "--noise", min=0.0,
                                help="Noise SD per channel (real, imaginary), M0 = 1 units."),
    size: int = typer.Option(DEFAULT_SIZE, "--size", min=16, help="Matrix size (n x n, 1 slice)."),
    dicom: bool = typer.Option(False, "--dicom", help="Also write a DICOM magnitude+phase series."),
    seed: int = typer.Option(0, "--seed", help="Noise seed."),
    b1_amplitude: float = typer.Option(0.0, "--b1-amplitude", min=0.0, max=0.9,
                                       help="B1 field 1 +- this along x (0.3: +-30 %), written "
                                       "as a truth B1 map for maps --b1-map."),
    df_amplitude: float = typer.Option(0.0, "--df-amplitude", min=0.0,
                                       help="Off-resonance field +- this many Hz along y."),
    as_json: bool = JsonOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """Simulate a brain-like phantom (WM, GM, CSF, fat, skull; T1/T2 in ms) through a sequence.

    Writes the complex series (NIfTI), truth T1/T2 (BIDS seconds) and M0 maps, tissue labels and,
    with --dicom, a DICOM series.
    """
    check_int_option(seed, "--seed", 0, SEED_MAX)
    seq = read_sequence(sequence)
    # complex64 series, a float64 working copy and the magnitude/phase written: ~4 copies
    check_memory(size * size * seq.n_timepoints * 8 * 4, f"--size {size}")
    with progress_bar("Writing DICOM", enabled=not as_json and dicom) as bar:
        files = write_phantom(seq, output, noise_sigma=noise, size=size, dicom=dicom, seed=seed,
                              overwrite=overwrite, b1_amplitude=b1_amplitude,
                              df_amplitude_hz=df_amplitude, progress=bar)
    if as_json:
        print_json(files.to_dict() | {"sequence": seq.name, "noise_sigma": noise})
        return
    info(f"[bold]phantom[/bold] {size}x{size}x1 x {seq.n_timepoints} ({seq.name}), "
         f"noise sigma {noise:g}")
    for name, (t1, t2, m0) in TISSUES.items():
        info(f"  {name:13s} T1 {t1:6.0f} ms  T2 {t2:6.0f} ms  M0 {m0:.2f}")
    info(f"  series: {files.series}")
    info(f"  truth:  {files.truth_t1}, {files.truth_t2}")
    if files.dicom is not None:
        info(f"  DICOM:  {files.dicom}")
