"""One place that turns known exceptions into ``Error: ...`` and exit code 1.

Set ``MRFRECON_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from rich.markup import escape

from ..errors import MrfreconError
from ._output import err_console

F = TypeVar("F", bound=Callable[..., Any])


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def handle_errors(func: F) -> F:
    """Decorator for CLI commands: known errors -> one line on stderr, exit 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (MrfreconError, OSError, ValueError, KeyboardInterrupt) as err:
            if os.environ.get("MRFRECON_DEBUG"):
                raise
            if isinstance(err, KeyboardInterrupt):
                err_console.print("Error: interrupted")
                sys.exit(130)
            message = _one_line(err) or type(err).__name__
            if isinstance(err, OSError) and err.filename and str(err.filename) not in message:
                message = f"{message}: '{err.filename}'"
            err_console.print(
                f"[red]Error:[/red] {escape(message)}", highlight=False, soft_wrap=True
            )
            sys.exit(1)
        except Exception as err:  # a bug: still one line, with the way to the traceback
            if os.environ.get("MRFRECON_DEBUG"):
                raise
            message = _one_line(
                f"internal error ({type(err).__name__}: {err}); "
                "run with MRFRECON_DEBUG=1 for the traceback"
            )
            err_console.print(
                f"[red]Error:[/red] {escape(message)}", highlight=False, soft_wrap=True
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
