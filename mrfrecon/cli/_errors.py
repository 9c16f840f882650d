"""One place that turns known exceptions into ``Error: ...`` and exit code 1.

The library's messages are neutral (they name values and files, not command-line flags); the
hints that name flags or commands are added here. Usage errors (a bad option value) stay
typer's, exit code 2. Set ``MRFRECON_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import typer
from rich.markup import escape

from ..errors import (
    USER_ERRORS,
    AmbiguousInputError,
    EngineUnavailableError,
    MissingDependencyError,
    OutputExistsError,
    one_line_message,
)
from ._output import err_console

F = TypeVar("F", bound=Callable[..., Any])

# The command-line way out of a library error, by exception type (first match wins).
HINTS: tuple[tuple[type[BaseException], str], ...] = (
    (OutputExistsError, "use --overwrite"),
    (AmbiguousInputError, "choose one with --series NUMBER|UID"),
    (EngineUnavailableError, "choose another --device; `mrfrecon doctor` lists what this "
                             "machine offers"),
    (MissingDependencyError, "`mrfrecon doctor` lists what this machine offers"),
)
DEBUG_HINT = "run with MRFRECON_DEBUG=1 for the traceback"


def error_line(err: BaseException) -> str:
    """The text after ``Error:`` for ``err``: its one-line message and the CLI's hint."""
    message = one_line_message(err)
    if not isinstance(err, USER_ERRORS):
        return f"{message}; {DEBUG_HINT}"
    for kind, hint in HINTS:
        if isinstance(err, kind):
            return f"{message} ({hint})"
    return message


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that staged outputs are cleaned up on the way out."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Library warnings (numpy, pydicom, nibabel) once each, after the result, one line."""
    seen = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in seen:
            seen.add(text)
            err_console.print(f"[yellow]Warning:[/yellow] {escape(text)}", highlight=False,
                              soft_wrap=True)


def handle_errors(func: F) -> F:
    """Decorator for CLI commands: errors -> one line on stderr, exit 1 (130 if interrupted).

    SIGTERM is handled like Ctrl-C (clean-up runs, exit 143). Library warnings are held back
    and shown after a successful result; on an error only the error line is printed.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if main else None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                result = func(*args, **kwargs)
            _show_warnings(caught)
            return result
        except (typer.Exit, typer.Abort):  # a command's own exit code, not an error
            raise
        except typer.BadParameter:  # a bad option value found in the body: still exit 2
            raise
        except Terminated:
            if os.environ.get("MRFRECON_DEBUG"):
                raise
            err_console.print("Error: terminated (SIGTERM); nothing partial was kept")
            sys.exit(143)
        except KeyboardInterrupt:
            if os.environ.get("MRFRECON_DEBUG"):
                raise
            err_console.print("Error: interrupted")
            sys.exit(130)
        except Exception as err:  # known errors and bugs alike: one line, never a traceback
            if os.environ.get("MRFRECON_DEBUG"):
                raise
            err_console.print(
                f"[red]Error:[/red] {escape(error_line(err))}", highlight=False, soft_wrap=True
            )
            sys.exit(1)
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)

    return cast(F, wrapper)  # wraps() keeps func's signature, which typer reads
