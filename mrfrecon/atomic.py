"""Atomic, no-clobber file writes.

A file is first written to a temporary file in the destination directory and then moved into
place with one atomic call, so a reader never sees a half-written output and an interrupted run
leaves no partial file behind (at worst a hidden ``.<name>.*.tmp`` file that is removed on error).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from mrfrecon.errors import OutputExistsError

Writer = Callable[[BinaryIO], None]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_outputs_free(paths: Iterable[Path], *, overwrite: bool) -> None:
    """Raise before anything is written if one of ``paths`` exists and ``overwrite`` is false.

    Raises
    ------
    OutputExistsError
        Naming the first existing path.
    """
    if overwrite:
        return
    for path in paths:
        if Path(path).exists():
            raise OutputExistsError(f"Output exists already: '{path}'")


def atomic_write(path: str | Path, content: bytes | Writer, *, overwrite: bool = False) -> Path:
    """Write ``content`` to ``path`` atomically.

    Parameters
    ----------
    path
        Destination file; its parent directory must exist.
    content
        The bytes to write, or a function that writes into the binary file object it is given.
    overwrite
        Replace an existing file. Without it an existing ``path`` is never touched, even if it
        appears while the content is being written (the final step is a hard link, which fails
        if the name is taken; on file systems without hard links it falls back to a check
        followed by a rename).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    check_outputs_free([path], overwrite=overwrite)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(content, bytes | bytearray | memoryview):
                fh.write(content)
            else:
                content(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        if overwrite:
            os.replace(tmp, path)
        else:
            _move_no_clobber(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _move_no_clobber(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExistsError(f"Output exists already: '{path}'") from None
    except OSError:  # no hard links here (some network / FAT file systems)
        check_outputs_free([path], overwrite=False)
        os.replace(tmp, path)
        return
    tmp.unlink()
