"""The health of this installation, for ``mrfrecon doctor``: version, where the shipped files and
the caches live, whether they can be read and written, and whether the kernels are compiled.

Nothing here raises on a broken install: every finding is data, and :attr:`InstallHealth.problems`
lists what would make a command fail (empty on a healthy install).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from . import __version__
from .kernel_cache import KERNEL_MODULES, configure_numba_cache, is_writable_dir, user_cache_dir

#: ``hw`` files the engine opens (``--device hdl`` and the core harness), relative to ``hw/``.
HW_BENCH_FILES = ("tb/kernel/kernel_tb.py", "tb/core/core_tb.py", "tb/core/mrf_tb_core_files.vhd")


@dataclass(frozen=True)
class PathHealth:
    """A folder mrfrecon reads or writes: ``path``, and whether it exists, can be read (listed)
    and written by this user (caches are created when missing, to find out)."""

    path: str
    exists: bool
    readable: bool
    writable: bool

    @classmethod
    def probe(cls, path: Path, *, create: bool = False) -> PathHealth:
        writable = is_writable_dir(path) if create else os.access(path, os.W_OK)
        return cls(str(path), path.is_dir(), os.access(path, os.R_OK | os.X_OK), writable)


@dataclass(frozen=True)
class InstallHealth:
    """Findings about this installation (``mrfrecon doctor``).

    version: mrfrecon's version.  python: the interpreter running it.  package: the installed
    ``mrfrecon`` package folder (``writable`` false for a read-only install).  source_checkout:
    whether it runs from a git clone rather than an installed wheel.  sequences: shipped
    sequence folder and ``sequence_names``.  hw: the shipped ``hw`` folder; ``hw_missing`` the
    RTL and bench files absent from it.  cache, numba_cache: mrfrecon's cache folder (tables)
    and the compiled kernels' folder.  kernels: cached compiled variants per kernel (0: the
    next use compiles; None: unknown).  problems: what would make a command fail.
    """

    version: str
    python: str
    package: PathHealth
    source_checkout: bool
    sequences: PathHealth
    sequence_names: list[str]
    hw: PathHealth
    hw_missing: list[str]
    cache: PathHealth
    numba_cache: PathHealth
    kernels: dict[str, int | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def kernels_cached(self) -> bool:
        return bool(self.kernels) and all(self.kernels.values())


def kernel_cache_status() -> dict[str, int | None]:
    """Compiled variants numba would load from disk for each cached kernel, by
    ``"module.function"`` (0: the next call compiles; None: numba's cache could not be read)."""
    import importlib

    configure_numba_cache()
    status: dict[str, int | None] = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for attr, obj in sorted(vars(module).items()):
            cache: Any = getattr(obj, "_cache", None)
            if getattr(obj, "py_func", None) is None or type(cache).__name__ == "NullCache":
                continue
            try:  # numba internals (stable since 0.49): an index keyed by the source's stamp
                status[f"{name}.{attr}"] = len(cache._cache_file._load_index())
            except Exception:  # noqa: BLE001 - "unknown" rather than a failing doctor
                status[f"{name}.{attr}"] = None
    return status


def install_health(*, kernels: bool = True) -> InstallHealth:
    """Probe this installation (never raises). ``kernels``: also read the kernel cache (imports
    numba and the kernel modules, no compilation)."""
    from .engine.hdl_sim import RTL_FILES
    from .errors import MrfreconError
    from .resources import data_dir

    problems: list[str] = []
    package = Path(__file__).resolve().parent
    try:
        data = data_dir()
    except MrfreconError as err:
        data = package / "data"
        problems.append(str(err))
    sequences, hw = data / "sequences", data / "hw"
    names = sorted(p.stem for p in sequences.glob("*.yaml")) if sequences.is_dir() else []
    if not names:
        problems.append(f"no shipped sequences in '{sequences}' (reinstall the wheel)")
    for name in names:
        if not os.access(sequences / f"{name}.yaml", os.R_OK):
            problems.append(f"shipped sequence not readable: '{sequences / name}.yaml'")
    missing = [f"rtl/{n}" for n in RTL_FILES if not (hw / "rtl" / n).is_file()]
    missing += [n for n in HW_BENCH_FILES if not (hw / n).is_file()]
    if missing:
        problems.append(f"hw sources missing in '{hw}': {', '.join(missing)} (--device hdl)")
    cache = PathHealth.probe(user_cache_dir(), create=True)
    numba_cache = PathHealth.probe(configure_numba_cache(), create=True)
    for label, probe in (("cache", cache), ("compiled-kernel cache", numba_cache)):
        if not probe.writable:
            problems.append(f"{label} '{probe.path}' is not writable (set MRFRECON_CACHE_DIR)")
    return InstallHealth(
        version=__version__,
        python=sys.executable,
        package=PathHealth.probe(package),
        source_checkout=(package.parent / "pyproject.toml").is_file(),
        sequences=PathHealth.probe(sequences),
        sequence_names=names,
        hw=PathHealth.probe(hw),
        hw_missing=missing,
        cache=cache,
        numba_cache=numba_cache,
        kernels=kernel_cache_status() if kernels else {},
        problems=problems,
    )


def warm_kernels(progress: Callable[[int, int], None] | None = None) -> dict[str, int | None]:
    """Compile every cached kernel for the argument types mrfrecon uses; returns
    :func:`kernel_cache_status` afterwards.

    Runs tiny simulations (FISP real and complex EPG, bSSFP Bloch; float32 and float64), a
    short fixed-point emulator run and the card/HDL host's weight decoding, so that later
    processes load the kernels from the cache.
    progress: called as ``progress(steps_done, steps_total)``.
    """
    import numpy as np

    from .engine import EngineFormat, EngineState, FixedPointConfig
    from .engine.emu import train_emu
    from .engine.kernel import build_job, decode_weights
    from .engine.random_net import random_data, random_network
    from .engine.stream import build_stream
    from .physics import Tissue, epg_fisp, simulate_fingerprints
    from .resources import shipped_sequences_dir
    from .sequence import load_sequence

    tissue = Tissue.make(np.array([800.0, 1200.0]), np.array([60.0, 90.0]))
    sequences = [load_sequence(p) for p in sorted(shipped_sequences_dir().glob("*.yaml"))]
    n_tr = 8
    steps: list[Callable[[], object]] = []
    for dtype in (np.float32, np.float64):
        steps += [partial(simulate_fingerprints, s, tissue, dtype=dtype) for s in sequences]
        steps.append(partial(epg_fisp,  # RF phases other than 0/180: complex kernel
                             np.full(n_tr, 20.0), np.full(n_tr, 10.0), np.full(n_tr, 2.0), tissue,
                             phase_deg=np.arange(n_tr) * 30.0, dtype=dtype))
    rng = np.random.default_rng(0)
    net, config = random_network(rng), FixedPointConfig()
    fmt = EngineFormat.derive(net, config)
    x_int, t_int = build_stream(net, *random_data(rng, 64), config, fmt.target_frac)
    state = EngineState.from_network(net, config)
    steps.append(lambda: train_emu(state, fmt, config, x_int, t_int))
    job = build_job(state, fmt, config, x_int, t_int)
    steps.append(lambda: decode_weights(job.buffers["weights_out"], state, config,
                                        x_int.shape[0] // config.batch))
    for index, step in enumerate(steps):
        step()
        if progress is not None:
            progress(index + 1, len(steps))
    return kernel_cache_status()
