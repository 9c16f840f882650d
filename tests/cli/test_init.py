"""The command line starts fast: importing it, ``--help`` and ``sequence show`` load none of the
heavy libraries (each is imported by the command or library function that needs it).

Checked through ``sys.modules`` in a fresh interpreter, which can fail, unlike a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "brevitas", "numba", "h5py", "scipy", "matplotlib", "pydicom", "nibabel")

RUN_COMMAND = """
import contextlib, io
from mrfrecon.cli import app
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        app({args!r}, prog_name="mrfrecon")
    except SystemExit as exit:
        assert exit.code in (0, None), exit.code
"""


def _heavy_modules_after(code: str) -> list[str]:
    """The heavy top-level packages in ``sys.modules`` after running ``code`` afresh."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_library():
    assert _heavy_modules_after("import mrfrecon.cli") == []


@pytest.mark.parametrize(
    "args",
    [["--help"], ["sequence", "show", "fisp_jiang2015"], ["retrain", "--help"]],
    ids=["help", "sequence-show", "retrain-help"],
)
def test_light_commands_load_no_heavy_library(args):
    assert _heavy_modules_after(RUN_COMMAND.format(args=args)) == []


def test_heavy_libraries_still_load_where_needed():
    """The probe sees imports: the training entry point brings torch."""
    assert "torch" in _heavy_modules_after("from mrfrecon.training import retrain")
