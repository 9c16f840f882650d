"""Files shipped inside the package: sequence definitions and the ``hw`` sources.

Both are found through :mod:`importlib.resources`, so they resolve the same way in a git
clone (where ``mrfrecon/data/sequences`` and ``mrfrecon/data/hw`` are symlinks to the
top-level ``sequences/`` and ``hw/``) and in an installed wheel (where they are real folders
inside ``site-packages/mrfrecon/data``).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import EngineUnavailableError


def data_dir() -> Path:
    """``mrfrecon/data`` of the installed (or cloned) package, as a filesystem path."""
    root = files("mrfrecon") / "data"
    path = Path(str(root))
    if not path.is_dir():  # e.g. imported from a zip archive: GHDL needs real files
        raise EngineUnavailableError(f"mrfrecon's data folder is not on disk: '{root}'")
    return path


def shipped_sequences_dir() -> Path:
    """Folder of the sequence definitions shipped with mrfrecon (``*.yaml``)."""
    return data_dir() / "sequences"


def hw_dir() -> Path:
    """Folder holding ``rtl/`` and ``tb/`` of the training kernel (VHDL and cocotb benches)."""
    path = data_dir() / "hw"
    if not (path / "rtl").is_dir():
        raise EngineUnavailableError(
            f"RTL sources not found in '{path / 'rtl'}' (reinstall mrfrecon from its wheel)"
        )
    return path
