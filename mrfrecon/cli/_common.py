"""Options and helpers shared by several commands."""

from __future__ import annotations

from pathlib import Path

import typer

from ..atomic import check_writable_folder
from ..errors import OutputExistsError
from ..sequence import Sequence, load_sequence, resolve_sequence_path

SEQUENCE_HELP = (
    "Sequence definition: YAML/TOML/JSON/CSV or Pulseq .seq file, or the name of a "
    "shipped sequence (fisp_jiang2015, bssfp_ma2013, fisp_short400)."
)

JsonOption = typer.Option(False, "--json", help="Print the result as JSON on stdout only.")
OverwriteOption = typer.Option(False, "--overwrite", help="Replace existing outputs.")


SEED_MAX = 2**32 - 1  # numpy and torch both take it; larger ints overflow inside torch
COUNT_MAX = 10**6  # epochs and similar repeat counts


def check_int_option(value: int | None, flag: str, lo: int, hi: int) -> None:
    """Refuse, in one line naming the flag, an integer option outside ``[lo, hi]``."""
    if value is not None and not lo <= value <= hi:
        raise ValueError(f"{flag} must be in [{lo}, {hi}], got {value}")


def read_sequence(name_or_path: str) -> Sequence:
    return load_sequence(resolve_sequence_path(name_or_path))


def check_output(path: Path, overwrite: bool) -> None:
    """Refuse (one line, before any work) an output whose folder is missing, not writable or
    nearly full, or that exists already without ``--overwrite``."""
    if not path.parent.exists():
        raise FileNotFoundError(f"output folder does not exist: '{path.parent}'")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"output exists already: '{path}'")
    if path.is_dir():
        raise IsADirectoryError(f"output '{path}' is a folder, not a file name")
    check_writable_folder(path.parent)
