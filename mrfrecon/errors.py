"""Exceptions raised by mrfrecon.

Every error a user can cause derives from :class:`MrfreconError`; the CLI turns these into a
one-line ``Error: ...`` message and exit code 1. Messages name the offending value and file.
"""


class MrfreconError(Exception):
    """Base class of every user-facing mrfrecon error."""


class SequenceError(MrfreconError):
    """An MRF sequence definition is malformed or inconsistent."""


class InputFileError(MrfreconError):
    """An input file is missing, unreadable or of the wrong kind."""


class AmbiguousInputError(InputFileError):
    """An input holds several acquisitions (or none matches the one asked for)."""
class SimulationError(MrfreconError):
    """A simulation produced non-finite fingerprints (never returned as results)."""


class DictionaryError(MrfreconError):
    """A dictionary file or grid is malformed."""


class ModelError(MrfreconError):
    """A model file is malformed, of an unknown version or corrupted."""


class ModelMismatchError(MrfreconError):
    """Data does not match the model (number of time points, sequence)."""


class OutputExistsError(MrfreconError):
    """An output exists already and overwriting was not allowed."""


class OutputInsideInputError(MrfreconError):
    """An output folder is an input folder or lies inside one."""


class EngineUnavailableError(MrfreconError):
    """A requested training engine or device is not available on this machine."""


class MissingDependencyError(MrfreconError):
    """An optional dependency (pyxrt, GHDL, ...) is needed but not installed."""


class EngineRunError(MrfreconError):
    """A training device ran but failed or returned an invalid result."""


# What a user can cause and fix: reported as their message; anything else is a bug.
USER_ERRORS: tuple[type[BaseException], ...] = (MrfreconError, OSError, ValueError)


# Failures of the machine or of a truncated file rather than bugs: said in words, not as
# "internal error (MemoryError)".
RESOURCE_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (MemoryError, "out of memory (the input or an option asks for more than this machine has)"),
    (EOFError, "a file ended early (truncated or corrupt input)"),
    (RecursionError, "an input is nested too deeply"),
)


def one_line_message(err: BaseException) -> str:
    """``err`` as one line for a person (the CLI's ``Error: ...``, a batch study's error).

    The message with its whitespace collapsed, the file name of an :class:`OSError` appended
    when the message lacks it; any exception outside :data:`USER_ERRORS` (a bug) becomes
    ``internal error (TypeName: message)``.
    """
    message = " ".join(str(err).split())
    for kind, text in RESOURCE_ERRORS:
        if isinstance(err, kind):
            return f"{text}{': ' + message if message else ''}"
    if not isinstance(err, USER_ERRORS):
        return f"internal error ({type(err).__name__}: {message})"
    message = message or type(err).__name__
    filename = getattr(err, "filename", None)
    if isinstance(err, OSError) and filename and str(filename) not in message:
        message = f"{message}: '{filename}'"
    return message
