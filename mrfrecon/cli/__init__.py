"""The ``mrfrecon`` command line: one module per command on top of the Python API.

Every ``cmd_*.py`` module in this package has ``register(app)``, which adds its command(s).
Each command parses its options, calls one library function and renders the result. Module-level
imports stay light (no torch, brevitas, numba, h5py, scipy, matplotlib, pydicom, nibabel: the
commands import what they need), so that ``--help`` and ``sequence show`` start fast;
``tests/cli/test_init.py`` holds this.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

import typer

from .. import __version__
from ._output import info

app = typer.Typer(
    name="mrfrecon",
    help="MR fingerprinting reconstruction: simulate sequences, retrain the quantised network "
    "(CPU/GPU/FPGA) and reconstruct quantitative T1/T2/M0 maps (times in ms).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mrfrecon {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """MR fingerprinting reconstruction."""


class _InfoHandler(logging.Handler):
    """Library notices meant for the user (the first kernel compilation) on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape

        info(escape(record.getMessage()))


# Library log records (nibabel's header checks print through their own stream handler,
# pydicom's would reach Python's last-resort handler) never print ahead of our one-line error:
# nibabel's are silenced, and the root logger's null handler keeps the last resort away.
logging.getLogger("nibabel").setLevel(logging.CRITICAL + 10)
if not logging.getLogger().handlers:
    logging.getLogger().addHandler(logging.NullHandler())

_logger = logging.getLogger("mrfrecon.kernels")
if not any(isinstance(h, _InfoHandler) for h in _logger.handlers):
    _logger.addHandler(_InfoHandler(logging.INFO))
    _logger.setLevel(logging.INFO)

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("cmd_"):
        importlib.import_module(f"{__name__}.{_info.name}").register(app)


def main() -> None:
    app()
