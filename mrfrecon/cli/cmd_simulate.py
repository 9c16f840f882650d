"""``mrfrecon simulate``: simulate, compress and store a dictionary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from ..physics.epg import DEFAULT_N_STATES
from ._common import SEQUENCE_HELP, JsonOption, OverwriteOption, check_output, read_sequence
from ._errors import handle_errors
from ._output import info, print_json, progress_bar


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


@handle_errors
def simulate(
    sequence: str = typer.Option("fisp_jiang2015", "--sequence", "-s", help=SEQUENCE_HELP),
    output: Path | None = typer.Option(None, "--output", "-o", help="Dictionary file (.h5)."),
    t1: str | None = typer.Option(
        None,
        "--t1",
        help="T1 grid in ms: START:STOP:STEP[,...] (STOP included). Default: the sequence's grid.",
    ),
    t2: str | None = typer.Option(None, "--t2", help="T2 grid in ms, like --t1."),
    b1: str | None = typer.Option(None, "--b1", help="B1 (flip-angle scale) grid, like --t1."),
    df: str | None = typer.Option(None, "--df", help="Off-resonance grid in Hz, like --t1."),
    rank: int | None = typer.Option(
        None, "--rank", min=1, help="SVD rank K (default: keep 99.999% of the energy)."
    ),
    n_states: int = typer.Option(
        DEFAULT_N_STATES, "--states", min=1, help="EPG dephasing orders kept (FISP)."
    ),
    as_json: bool = JsonOption,
    overwrite: bool = OverwriteOption,
) -> None:
    """Simulate a sequence's dictionary (T1/T2 in ms) and print its summary."""
    from ..dictionary import DEFAULT_ENERGY, build_dictionary, make_grid, save_dictionary

    seq = read_sequence(sequence)
    if output is not None:
        check_output(output, overwrite)
    grid = make_grid(seq, t1, t2, b1, df)
    start = time.perf_counter()
    with progress_bar(f"Simulating {grid.n_atoms} atoms", enabled=not as_json) as progress:
        dictionary = build_dictionary(
            seq, grid, n_states=n_states, rank=rank, energy=DEFAULT_ENERGY, progress=progress
        )
    seconds = time.perf_counter() - start
    if output is not None:
        save_dictionary(dictionary, output, overwrite=overwrite)
    sv = dictionary.singular_values
    assert sv is not None  # build_dictionary compresses: an energy is given
    energy = float((sv**2).sum() / max((abs(dictionary.atoms) ** 2).sum(), 1e-300))
    summary: dict[str, Any] = {
        "sequence": seq.name,
        "kind": seq.kind,
        "sequence_sha256": seq.sha256,
        "n_atoms": dictionary.n_atoms,
        "n_timepoints": dictionary.n_timepoints,
        "t1_ms": [float(grid.t1_ms.min()), float(grid.t1_ms.max())],
        "t2_ms": [float(grid.t2_ms.min()), float(grid.t2_ms.max())],
        "rank": dictionary.rank,
        "retained_energy": energy,
        "n_states": n_states,
        "seconds": round(seconds, 3),
        "atoms_x_timepoints_per_s": dictionary.n_atoms * dictionary.n_timepoints / seconds,
        "output": str(output) if output else None,
    }
    if as_json:
        print_json(summary)
        return
    info(
        f"[bold]{seq.name}[/bold] ({seq.kind}): {summary['n_atoms']} atoms x "
        f"{summary['n_timepoints']} time points in {seconds:.2f} s"
    )
    info(
        f"  T1 {summary['t1_ms'][0]:g}-{summary['t1_ms'][1]:g} ms, "
        f"T2 {summary['t2_ms'][0]:g}-{summary['t2_ms'][1]:g} ms (T2 <= T1)"
    )
    info(f"  SVD rank {dictionary.rank} keeps {100 * energy:.4f}% of the energy")
    if output is not None:
        info(f"  written: {output}")
