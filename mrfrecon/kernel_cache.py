"""Where numba keeps mrfrecon's compiled kernels: a user cache folder, not the installed sources.

``numba.njit(cache=True)`` writes next to the source file by default. A read-only install
(system site-packages, ``/opt/mrfrecon``, a container image) cannot write there, so every
process would compile again (tens of seconds). :func:`cached_njit` points numba's cache at
:func:`numba_cache_dir` before any kernel is defined, and the first compilation in a process
logs one notice on the ``mrfrecon.kernels`` logger (the CLI shows it on stderr; the library
never prints). :func:`mrfrecon.install_health.warm_kernels` compiles them ahead of time
(``mrfrecon doctor --warm``, ``packaging/install.sh``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_ENV = "MRFRECON_CACHE_DIR"
NUMBA_ENV = "NUMBA_CACHE_DIR"
#: Modules whose kernels are compiled with ``cache=True`` (through :func:`cached_njit`).
KERNEL_MODULES = (
    "mrfrecon.physics.epg_kernels",
    "mrfrecon.physics.bloch_kernel",
    "mrfrecon.engine.emu",
)

#: The first-compilation notice; the CLI shows this logger's records on stderr.
logger = logging.getLogger("mrfrecon.kernels")
_configured: Path | None = None


def user_cache_dir() -> Path:
    """mrfrecon's cache folder: ``$MRFRECON_CACHE_DIR``, else ``$XDG_CACHE_HOME/mrfrecon``,
    else ``~/.cache/mrfrecon`` (the rule the reconstruction's table cache follows too)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mrfrecon"


def numba_cache_dir() -> Path:
    """Folder of the compiled kernels: ``$NUMBA_CACHE_DIR`` when set, else
    ``user_cache_dir() / "numba"``."""
    explicit = os.environ.get(NUMBA_ENV)
    return Path(explicit) if explicit else user_cache_dir() / "numba"


def is_writable_dir(path: Path) -> bool:
    """Whether ``path`` exists or can be created, and a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return False
    return True


def configure_numba_cache() -> Path:
    """Point numba's cache at :func:`numba_cache_dir` (once per process); returns the folder.

    Must run before a ``cache=True`` kernel is defined: numba fixes a function's cache folder
    when it is decorated. A default folder that cannot be written (no home, read-only home)
    falls back to a per-user folder under the system temp dir; an explicit ``NUMBA_CACHE_DIR``
    is left as the user set it.
    """
    global _configured
    if _configured is not None:
        return _configured
    path = numba_cache_dir()
    if not os.environ.get(NUMBA_ENV) and not is_writable_dir(path):
        path = Path(tempfile.gettempdir()) / f"mrfrecon-{os.getuid()}" / "numba"
    os.environ[NUMBA_ENV] = str(path)
    from numba.core import config, event

    # numba may have read its environment before we set it; config's names are made at run time
    config.CACHE_DIR = str(path)  # type: ignore[attr-defined]

    class CompileNotice(event.Listener):
        """One notice per process when one of our cached kernels is compiled, not loaded."""

        said = False

        def on_start(self, ev: event.Event) -> None:
            dispatcher = ev.data.get("dispatcher") if isinstance(ev.data, dict) else None
            module = getattr(getattr(dispatcher, "py_func", None), "__module__", "")
            if not self.said and module in KERNEL_MODULES:
                self.said = True
                logger.info("Compiling mrfrecon's numba kernels (first use, tens of seconds); "
                            "cached in '%s' for later runs", path)

        def on_end(self, ev: event.Event) -> None:
            pass

    event.register("numba:compile", CompileNotice())
    _configured = path
    return path


def cached_njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)`` with the cache in :func:`numba_cache_dir`."""
    configure_numba_cache()
    import numba

    return numba.njit(cache=True, **options)


