"""Run one training path in a second process, beside the one the caller trains.

The networks are small, so one torch thread trains each fastest (two threads on one network
ran many times slower on a loaded 2-core machine); a second *process* is how ``retrain`` uses
a second core: the complex path trains in the caller while the magnitude path trains here.

The child is a fresh interpreter (``python -c``), not a ``multiprocessing`` one: a fork would
inherit the numba/OpenMP thread pools the simulation used (possibly locked) and cannot carry
CUDA, and ``spawn`` re-imports the caller's main script, which breaks any script that calls
``retrain`` without an ``if __name__ == "__main__"`` guard. The job goes to the child's stdin
as a pickle; progress and the result (or the exception) come back as pickles on its stdout,
read by a thread and forwarded to the caller's callback whenever the caller polls.

Each path seeds its own generators, so the weights are the same whether the path runs in the
child or inline (``parallel=False``).
"""

from __future__ import annotations

import json
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any, Protocol

Report = Callable[[str, int, int], None]
PathFunction = Callable[[Any, Report], Any]

# sys.path as the caller's; the path function's module (torch...) imported before the job comes.
_BOOT = ("import importlib, json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
         "importlib.import_module(sys.argv[2]); from mrfrecon.training.worker import serve; serve()")


class Handle(Protocol):
    cpu_seconds: float

    def submit(self, job: Any) -> None: ...

    def poll(self) -> None: ...

    def result(self) -> Any: ...

    def close(self) -> None: ...


def start(fn: PathFunction, report: Report, *, parallel: bool = True) -> Handle:
    """A runner of ``fn(job, report)`` for the job given later (:meth:`~Handle.submit`): a child
    process, started now so that its imports overlap the caller's work, when ``parallel``;
    else inline when :meth:`~Handle.result` is asked for. ``fn`` must be a module-level
    function and the job picklable."""
    # No interpreter to start (an embedded Python): inline, with the same result.
    return _Child(fn, report) if parallel and sys.executable else _Inline(fn, report)


class _Inline:
    def __init__(self, fn: PathFunction, report: Report):
        self.fn, self.report = fn, report
        self.job: Any = None

    def submit(self, job: Any) -> None:
        self.job = job

    def poll(self) -> None:
        pass

    def result(self) -> Any:
        return self.fn(self.job, self.report)

    cpu_seconds = 0.0  # no process of its own

    def close(self) -> None:
        pass


class _Child:
    def __init__(self, fn: PathFunction, report: Report):
        self.fn, self.report = fn, report
        self.submitted = False
        self.messages: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.outcome: tuple[str, Any] | None = None
        self.cpu_seconds = 0.0  # the child's whole CPU time (start-up included), once done
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, json.dumps([p for p in sys.path if p]), fn.__module__],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def submit(self, job: Any) -> None:
        self.submitted = True
        payload = pickle.dumps((self.fn, job), protocol=pickle.HIGHEST_PROTOCOL)
        # Written by a thread: the child may still be importing torch (seconds).
        threading.Thread(target=self._write, args=(self.process.stdin, payload),
                         daemon=True).start()

    @staticmethod
    def _write(stream: IO[bytes], payload: bytes) -> None:
        try:
            with stream:
                stream.write(payload)
        except OSError:  # the child ended early: _read reports it
            pass

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            try:
                while True:
                    self.messages.put(pickle.load(stream))
            except (EOFError, pickle.UnpicklingError, OSError):
                self.messages.put(("ended", None))

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "progress":
            self.report(*payload)
        elif kind == "cpu":
            self.cpu_seconds = payload
        else:
            self.outcome = (kind, payload)

    def poll(self) -> None:
        """Forward the progress the child has sent so far (never blocks)."""
        while self.outcome is None:
            try:
                self._handle(*self.messages.get_nowait())
            except queue.Empty:
                return

    def result(self) -> Any:
        """Wait for the child: its value, or its exception raised here."""
        while self.outcome is None:
            self._handle(*self.messages.get())
        code = self.process.wait()
        kind, payload = self.outcome
        if kind == "error":
            raise payload
        if kind == "ended":
            raise RuntimeError(f"the training process beside this one ended (exit code {code}) "
                               "without a result")
        return payload

    def close(self) -> None:
        """Stop the child if it still runs (the caller failed or was interrupted)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self.submitted and self.process.stdin is not None:
            self.process.stdin.close()  # else the writer thread closes it


def serve() -> None:
    """The child's side: read ``(fn, job)`` from stdin, send progress and the result."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to stderr, not into the message stream

    def send(kind: str, payload: Any) -> None:
        pickle.dump((kind, payload), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    fn, job = pickle.load(sys.stdin.buffer)
    try:
        value = fn(job, lambda stage, done, total: send("progress", (stage, done, total)))
    except BaseException as exc:  # sent back whole, raised again in the caller
        send("error", exc)
    else:
        send("cpu", time.process_time())
        send("done", value)
    out.close()
