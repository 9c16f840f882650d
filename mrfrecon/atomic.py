"""Atomic, no-clobber file writes, and result sets that appear whole or not at all.

A file is first written to a temporary file in the destination directory and then moved into
place with one atomic call, so a reader never sees a half-written output and an interrupted run
leaves no partial file behind (at worst a hidden ``.<name>.*.tmp`` file that is removed on error).
A set of outputs (:func:`atomic_folder`) is written into a staging folder beside the output
folder and moved in only when every file is complete; staging folders of killed runs are
removed by the next run. :func:`check_writable_folder` and :func:`refuse_output_inside_inputs`
refuse a bad output folder before the work starts.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from mrfrecon.errors import OutputExistsError, OutputInsideInputError

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


# --------------------------------------------------------------------------------------------
# Result sets: a whole output folder appears complete, or not at all

STAGING_MARK = ".partial-"


def check_writable_folder(folder: str | Path, *, need_bytes: int | None = None) -> None:
    """Refuse, before long work, an output folder that cannot be created or written, or whose
    file system has less than ``need_bytes`` free (default: the ``min_free_output_bytes`` limit).

    Raises
    ------
    OSError
        Naming the folder (not writable, not a folder, or too little free space).
    """
    from mrfrecon.limits import LIMITS

    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"output '{folder}': '{existing}' is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"output folder '{folder}' is not writable")
    need = LIMITS.min_free_output_bytes if need_bytes is None else need_bytes
    free = shutil.disk_usage(existing).free
    if free < need:
        raise OSError(errno.ENOSPC, f"output folder '{folder}' has {free // (1 << 20)} MiB free, "
                      f"less than the {need // (1 << 20)} MiB needed (limit "
                      "min_free_output_bytes)")


def refuse_output_inside_inputs(output_dir: str | Path, inputs: Iterable[str | Path]) -> None:
    """Refuse an output folder that is an input folder or lies inside one (the outputs would
    be read back as inputs, or mix with them), or that is the folder of an input file."""
    out = Path(os.path.realpath(output_dir))
    for item in inputs:
        path = Path(os.path.realpath(item))
        if path.is_dir():
            if out == path or path in out.parents:
                raise OutputInsideInputError(
                    f"output folder '{output_dir}' is the input folder '{item}' or inside it")
        elif out == path.parent:
            raise OutputInsideInputError(
                f"output folder '{output_dir}' is the folder of the input '{item}'")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(output_dir: str | Path) -> None:
    """Remove staging folders of ``output_dir`` left by killed runs (their process is gone),
    and stray ``.*.tmp`` files of :func:`atomic_write` inside ``output_dir``."""
    output_dir = Path(output_dir)
    parent = output_dir.parent
    prefix = f".{output_dir.name}{STAGING_MARK}"
    if parent.is_dir():
        for path in parent.iterdir():
            if not path.name.startswith(prefix) or not path.is_dir():
                continue
            pid = path.name[len(prefix):].split("-")[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(path, ignore_errors=True)
    if output_dir.is_dir():
        for path in output_dir.rglob(".*.tmp"):
            if path.is_file():
                path.unlink(missing_ok=True)


@contextmanager
def atomic_folder(output_dir: str | Path, *, overwrite: bool = False,
                  keep_existing: Iterable[str] = ()) -> Iterator[Path]:
    """Stage a set of outputs beside ``output_dir``; move them in only when all are complete.

    Yields an empty staging folder ``.<name>.partial-<pid>-<random>`` next to ``output_dir``;
    whatever the block writes there moves into ``output_dir`` when it ends normally (one
    ``rename`` when ``output_dir`` does not exist or is empty, else file by file, each
    atomically, with SIGINT/SIGTERM held back meanwhile). On an exception (ENOSPC, a signal
    turned into an exception) the staging folder is removed and ``output_dir`` is untouched.
    Staging folders of killed runs are removed first. ``keep_existing``: names (relative to
    ``output_dir``) whose existing file wins over the staged one (shared files such as a
    ``dataset_description.json``).

    Raises
    ------
    OutputExistsError
        A staged file exists in ``output_dir`` with other content and ``overwrite`` is false
        (checked for every file before any is moved; identical files are not a conflict).
    """
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(output_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}{STAGING_MARK}{os.getpid()}-",
                                    dir=output_dir.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp's 0700 would become the output's mode
    try:
        yield staging
        with _signals_held():
            _commit(staging, output_dir, overwrite=overwrite, keep=set(keep_existing))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def staged_to_final(paths: Iterable[Path], staging: Path, output_dir: Path) -> list[Path]:
    """Paths written inside ``staging`` -> where :func:`atomic_folder` puts them."""
    return [Path(output_dir) / Path(p).relative_to(staging) for p in paths]


def _same_content(a: Path, b: Path) -> bool:
    if not b.is_file() or a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            block = fa.read(1 << 20)
            if block != fb.read(1 << 20):
                return False
            if not block:
                return True


def _commit(staging: Path, output_dir: Path, *, overwrite: bool, keep: set[str]) -> None:
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    moves = []
    for src in files:
        rel = src.relative_to(staging)
        dst = output_dir / rel
        if dst.exists() or dst.is_symlink():
            if str(rel) in keep or _same_content(src, dst):
                continue
            if not overwrite:
                raise OutputExistsError(f"Output exists already: '{dst}'")
        moves.append((src, dst))
    if not output_dir.is_symlink():  # renaming would replace the link itself
        try:
            os.rename(staging, output_dir)  # the whole set at once (output_dir absent or empty)
            os.mkdir(staging)  # for the caller's clean-up
            return
        except OSError:
            pass
    for src, dst in moves:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if overwrite:
            os.replace(src, dst)
        else:
            _move_no_clobber(src, dst)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back (main thread only) so a set is never half moved."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
