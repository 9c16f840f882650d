"""Named limits on what hostile or broken inputs may make mrfrecon do, and the checks that
enforce them *before* any work starts.

A workstation runs mrfrecon unattended on files from anywhere: a 1 kB file must not be able
to ask for terabytes (YAML aliases, a huge ``n_timepoints``, a ``.nii.gz`` bomb, a chunked HDF5
dataset), nor to make mrfrecon read a device, a FIFO or ``/proc``. Every check raises
:class:`LimitError` with one line naming the value, the limit and where the value came from.
The limits are one frozen dataclass (:data:`LIMITS`); tests and embedders may pass their own.
"""

from __future__ import annotations

import math
import os
import resource
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputFileError, MrfreconError

MiB = 1 << 20
GiB = 1 << 30


class LimitError(MrfreconError):
    """A value asks for more than a named limit allows (refused before the work starts)."""


@dataclass(frozen=True)
class Limits:
    """Upper bounds on sizes an input file or option may ask for.

    max_timepoints: TRs of a schedule (``n_timepoints``, list lengths, generator lengths).
    max_range_values: values in one ``START:STOP:STEP`` range (T1/T2/B1/df grids).
    max_atoms: dictionary atoms (T1 x T2 x B1 x df after T2 <= T1).
    max_states: EPG dephasing orders (``--states``).
    max_sub_slices: slice-profile sub-slices (``n_sub``, ``scales``).
    max_yaml_aliases: YAML alias uses in one sequence file (billion-laughs guard).
    max_text_file_bytes: size of a sequence/CSV/Pulseq file, bytes.
    max_hdf5_dataset_bytes: one dataset of a model or dictionary file, bytes.
    max_hdf5_attribute_bytes: one attribute of a model or dictionary file, bytes.
    memory_fraction: share of the available memory one array may take.
    min_free_output_bytes: free space an output folder must have before long work, bytes.
    """

    max_timepoints: int = 100_000
    max_range_values: int = 1_000_000
    max_atoms: int = 5_000_000
    max_states: int = 1_000
    max_sub_slices: int = 256
    max_yaml_aliases: int = 256
    max_text_file_bytes: int = 16 * MiB
    max_hdf5_dataset_bytes: int = 4 * GiB
    max_hdf5_attribute_bytes: int = 16 * MiB
    memory_fraction: float = 0.5
    min_free_output_bytes: int = 64 * MiB


LIMITS = Limits()


def check_count(value: int, limit_name: str, what: str, where: str = "",
                limits: Limits = LIMITS) -> None:
    """Raise :class:`LimitError` if the count ``value`` exceeds ``limits.<limit_name>``.

    what: the value's name for the message (``"n_timepoints"``); where: ``" in 'file'"`` or ``""``.
    """
    limit = getattr(limits, limit_name)
    if value > limit:
        raise LimitError(f"{what}{where} ({value:,}) exceeds the limit {limit_name} = {limit:,}")


def available_memory_bytes() -> int:
    """Memory this process may still use, bytes: MemAvailable, capped by ``RLIMIT_AS``."""
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            available = 1 << 62
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/statm", encoding="ascii") as fh:
                used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            used = 0
        available = min(available, max(0, soft - used))
    return int(available)


def check_memory(n_bytes: float, what: str, limits: Limits = LIMITS) -> None:
    """Refuse an allocation of ``n_bytes`` larger than ``memory_fraction`` of what is free."""
    budget = limits.memory_fraction * available_memory_bytes()
    if not math.isfinite(n_bytes) or n_bytes > budget:
        raise LimitError(
            f"{what} needs {_size(n_bytes)}, more than the limit memory_fraction = "
            f"{limits.memory_fraction:g} of the available memory ({_size(budget)})"
        )


def _size(n_bytes: float) -> str:
    if not math.isfinite(n_bytes):
        return "an unbounded amount"
    for unit, scale in (("TiB", 1 << 40), ("GiB", GiB), ("MiB", MiB)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} bytes"


_SPECIAL_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
_SHARED_MEMORY = Path("/dev/shm")  # a tmpfs of regular files: inputs may live there


def check_regular_file(path: str | Path, what: str = "input",
                       max_bytes: int | None = None) -> int:
    """Refuse anything but a regular file outside ``/proc``, ``/sys`` and ``/dev`` (``/dev/shm``
    allowed); return its size in bytes.

    FIFOs would block, devices never end and ``/proc`` files claim size 0: none is an input.

    Raises
    ------
    InputFileError
        Missing, special, or (with ``max_bytes``) larger than ``max_bytes``; names ``path``.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError:
        raise InputFileError(f"{what} not found or not readable: '{path}'") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{what} '{path}' is not a regular file (device, FIFO or folder)")
    resolved = Path(os.path.realpath(path))
    if (any(resolved == root or root in resolved.parents for root in _SPECIAL_ROOTS)
            and _SHARED_MEMORY not in resolved.parents):
        raise InputFileError(f"{what} '{path}' is a system file ({resolved.parts[1]}), refused")
    if max_bytes is not None and info.st_size > max_bytes:
        raise LimitError(f"{what} '{path}' ({info.st_size:,} bytes) exceeds the limit "
                         f"of {max_bytes:,} bytes")
    return int(info.st_size)


def is_regular_file(path: str | Path) -> bool:
    """True for a regular file outside ``/proc``, ``/sys``, ``/dev`` (never opens it)."""
    try:
        check_regular_file(path)
    except InputFileError:
        return False
    return True


def check_hdf5_layout(h5file: Any, path: str | Path, error: type[MrfreconError],
                      limits: Limits = LIMITS) -> None:
    """Validate an open HDF5 file's layout before any data is read.

    Only hard links, contiguous or compact numeric datasets stored in the file itself (no
    soft/external links, no external storage, no virtual or chunked datasets: a chunked,
    compressed dataset can expand without bound), each within ``max_hdf5_dataset_bytes``, all
    together within the memory budget, and attributes within ``max_hdf5_attribute_bytes``.

    Raises
    ------
    error
        One line naming the file, the object and the limit.
    """
    import h5py

    problems: list[str] = []
    total = 0

    def check_attrs(obj: Any, name: str) -> None:
        for key in obj.attrs:
            size = obj.attrs.get_id(key).get_storage_size()
            if size > limits.max_hdf5_attribute_bytes:
                problems.append(f"attribute '{name}@{key}' ({size:,} bytes) exceeds the limit "
                                f"max_hdf5_attribute_bytes = {limits.max_hdf5_attribute_bytes:,}")

    def visit(name: str, link: Any) -> None:
        nonlocal total
        if problems:
            return
        if not isinstance(link, h5py.HardLink):
            problems.append(f"'{name}' is a {type(link).__name__} (links are not followed)")
            return
        obj = h5file[name]
        check_attrs(obj, name)
        if not isinstance(obj, h5py.Dataset):
            return
        if obj.external or obj.is_virtual:
            problems.append(f"dataset '{name}' is stored outside the file")
        elif obj.chunks is not None:
            problems.append(f"dataset '{name}' is chunked (only contiguous data is read)")
        elif obj.dtype.kind not in "biufc":
            problems.append(f"dataset '{name}' has the non-numeric type {obj.dtype}")
        else:
            n_bytes = int(obj.size) * obj.dtype.itemsize
            total += n_bytes
            if n_bytes > limits.max_hdf5_dataset_bytes:
                problems.append(f"dataset '{name}' ({n_bytes:,} bytes) exceeds the limit "
                                f"max_hdf5_dataset_bytes = {limits.max_hdf5_dataset_bytes:,}")

    check_attrs(h5file, "/")
    if not problems:
        h5file.visititems_links(visit)
    if problems:
        raise error(f"'{path}': {problems[0]}")
    try:
        check_memory(total, f"'{path}'", limits)
    except LimitError as err:
        raise error(str(err)) from None
