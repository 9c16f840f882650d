"""Where batch work runs: a local thread pool, or a Dask distributed cluster.

``--scheduler`` takes ``local:N`` (a :class:`distributed.LocalCluster` of N worker processes on
this machine, bound to loopback, no dashboard) or the address of a running Dask scheduler
(``tcp://HOST:PORT``, ``tls://HOST:PORT``). Every executor here is a
:class:`concurrent.futures.Executor`, so the batch loop is the same for all of them.

A remote cluster must see the input, model and output paths under the same names (a shared
file system): the workers read and write them directly, and :func:`open_executor` checks that
every worker can read the model file and runs the same mrfrecon version before any study starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import MrfreconError

SCHEMES = ("tcp://", "tls://")


class ClusterError(MrfreconError):
    """The Dask scheduler cannot be used (not installed, unreachable, workers mismatched)."""


@dataclass(frozen=True)
class SchedulerSpec:
    """kind: ``threads`` (``jobs`` threads here), ``local`` (``workers`` processes) or ``remote``."""

    kind: str
    workers: int = 1
    address: str = ""

    @property
    def distributed(self) -> bool:
        return self.kind != "threads"


def parse_scheduler(spec: str | None, jobs: int = 1) -> SchedulerSpec:
    """``None`` → ``jobs`` local threads; ``local:N``; ``tcp://HOST:PORT`` / ``tls://HOST:PORT``."""
    if spec is None or spec == "":
        return SchedulerSpec("threads", max(1, jobs))
    if spec.startswith("local:"):
        count = spec.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"scheduler '{spec}': local:N needs a worker count N >= 1")
        return SchedulerSpec("local", int(count))
    if spec.startswith(SCHEMES):
        host_port = spec.split("://", 1)[1]
        host, _, port = host_port.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"scheduler '{spec}': expected tcp://HOST:PORT")
        return SchedulerSpec("remote", address=spec)
    raise ValueError(f"scheduler '{spec}': expected local:N or tcp://HOST:PORT")


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError("a Dask scheduler needs the 'distributed' package: "
                           "pip install 'mrfrecon[cluster]'") from None
    return distributed


def _check_workers(client, model_path: Path | None) -> None:
    """Every worker runs this mrfrecon version and can read ``model_path``."""
    from . import __version__

    def probe(path: str | None) -> tuple[str, bool]:
        import mrfrecon

        return mrfrecon.__version__, path is None or os.access(path, os.R_OK)

    path = None if model_path is None else str(Path(model_path).resolve())
    answers = client.run(probe, path)
    if not answers:
        raise ClusterError(f"the Dask scheduler at {client.scheduler.address} has no workers")
    for worker, (version, readable) in sorted(answers.items()):
        if version != __version__:
            raise ClusterError(f"Dask worker {worker} runs mrfrecon {version}, this is "
                               f"{__version__}: install the same version on every worker")
        if not readable:
            raise ClusterError(f"Dask worker {worker} cannot read the model file; the cluster "
                               "needs the inputs, model and output on a shared file system")


@contextmanager
def open_executor(spec: SchedulerSpec, model_path: Path | None = None) -> Iterator[Executor]:
    """An executor for ``spec``; a ``local`` cluster is started here and closed on exit."""
    if not spec.distributed:
        with ThreadPoolExecutor(max_workers=spec.workers) as pool:
            yield pool
        return
    distributed = _require_distributed()
    import logging

    cluster = None
    try:
        if spec.kind == "local":
            cluster = distributed.LocalCluster(
                n_workers=spec.workers, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(spec.address, timeout="10s")
    except (OSError, TimeoutError) as err:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the Dask scheduler at {spec.address or 'local'}: "
                           f"{err}") from None
    try:
        _check_workers(client, model_path)
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def threads_per_task(default: int | None = None) -> int:
    """Threads one task may use where it runs: this machine's cores / the worker's task slots."""
    cores = os.cpu_count() or 1
    try:
        from distributed import get_worker

        slots = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):  # not inside a Dask worker
        return default or cores
    return max(1, cores // max(1, slots))


__all__ = ["ClusterError", "SchedulerSpec", "open_executor", "parse_scheduler", "threads_per_task"]
