"""The durable spool: received instances, job folders, done records and dead letters.

Layout under the spool root (every name below the root is a validated UID or made by us)::

    tmp/                          instances being written (removed at start-up)
    incoming/<series-uid>/<sop-uid>.dcm   received and fsynced, not yet claimed by a job
    jobs/<job-id>/input/          the claimed series (renamed from incoming/ in one step)
    jobs/<job-id>/job.json        series UID, model, state (queued | reconstructed), attempts,
                                  next try (s since the epoch); written before input/ exists
    jobs/<job-id>/output/         derived DICOM files (renamed into place when complete)
    jobs/<job-id>/sent.log        SOP instance UIDs the PACS acknowledged, one per line
    done/<job-id>.json            record of a finished job (hashed identifiers only)
    dead/<job-id>/                a job that failed for good, with reason.txt

Every state change is one ``rename`` (atomic on POSIX) followed by an ``fsync`` of the
directory, so a ``kill -9`` at any point leaves either the old or the new state.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrfrecon.atomic import atomic_write
from mrfrecon.errors import MrfreconError
from mrfrecon.serve.uids import is_valid_uid, phi_hash


class SpoolFullError(MrfreconError):
    """Storing an instance would exceed the configured spool size."""


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tree_bytes(path: Path) -> int:
    """Total size in bytes of the regular files under ``path`` (0 if it is missing)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


@dataclass(frozen=True)
class Job:
    """One claimed series: its folder and id (``<time ns>-<hash of the series UID>``)."""

    path: Path
    job_id: str

    @property
    def series_uid(self) -> str:
        """The source SeriesInstanceUID (recorded in ``job.json`` before the claim)."""
        return str(self.state()["series_uid"])

    @property
    def input_dir(self) -> Path:
        return self.path / "input"

    @property
    def output_dir(self) -> Path:
        return self.path / "output"

    def state(self) -> dict[str, Any]:
        """The job's state (``{"state": "queued", "attempts": 0}`` when none was written)."""
        try:
            return json.loads((self.path / "job.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {"state": "queued", "attempts": 0, "next_try": 0.0}

    def write_state(self, **values: Any) -> dict[str, Any]:
        """Update the state atomically; returns the new state."""
        state = {**self.state(), **values}
        atomic_write(self.path / "job.json", json.dumps(state, indent=1).encode(),
                     overwrite=True)
        return state

    def sent(self) -> set[str]:
        """SOP instance UIDs already acknowledged by the PACS (a torn last line is ignored)."""
        try:
            lines = (self.path / "sent.log").read_text().split("\n")
        except FileNotFoundError:
            return set()
        return {line for line in lines[:-1] if is_valid_uid(line)}

    def mark_sent(self, sop_uid: str) -> None:
        """Record (durably) that the PACS acknowledged ``sop_uid``."""
        with open(self.path / "sent.log", "a", encoding="ascii") as fh:
            fh.write(sop_uid + "\n")
            fh.flush()
            os.fsync(fh.fileno())


class Spool:
    """Thread-safe store of received instances and of the jobs made from them.

    Parameters
    ----------
    root
        Spool folder (created).
    max_bytes
        Stores are refused with :class:`SpoolFullError` once the received instances held
        (incoming, in open jobs and in dead letters, until an operator removes them) would
        exceed this many bytes; derived outputs are not counted.
    """

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        for name in ("tmp", "incoming", "jobs", "done", "dead"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._bytes = 0

    # -- start-up ------------------------------------------------------------------------

    def recover(self) -> None:
        """Clean what a crash can leave behind and count the bytes held.

        Partial instances in ``tmp/`` were never acknowledged (the sender retries them); job
        folders without ``input/`` were never claimed; jobs with a done record had finished.
        """
        for entry in (self.root / "tmp").iterdir():
            entry.unlink()
        for job_dir in (self.root / "jobs").iterdir():
            done = self.root / "done" / f"{job_dir.name}.json"
            if not (job_dir / "input").is_dir() or done.exists():
                shutil.rmtree(job_dir)
            else:
                for leftover in job_dir.glob("output.tmp*"):
                    shutil.rmtree(leftover)
        self._bytes = tree_bytes(self.root / "incoming") + sum(
            tree_bytes(job / "input") for kind in ("jobs", "dead")
            for job in (self.root / kind).iterdir())

    @property
    def used_bytes(self) -> int:
        return self._bytes

    # -- reception -----------------------------------------------------------------------

    def store(self, series_uid: str, sop_uid: str, encoded: bytes) -> Path:
        """Write one instance durably into ``incoming/<series-uid>/<sop-uid>.dcm``.

        Returns only after the file content and its directory entry are on disk, so the
        caller may then acknowledge the C-STORE. A resend of the same instance replaces it.

        Raises
        ------
        ValueError
            A UID is not in the DICOM UID grammar (it would otherwise become a path).
        SpoolFullError
            The spool holds ``max_bytes`` already.
        """
        for name, uid in (("SeriesInstanceUID", series_uid), ("SOPInstanceUID", sop_uid)):
            if not is_valid_uid(uid):
                raise ValueError(f"{name} is not a valid UID")
        if self._bytes + len(encoded) > self.max_bytes:
            raise SpoolFullError(f"spool full ({self._bytes} of {self.max_bytes} bytes)")
        tmp = self.root / "tmp" / f"{sop_uid}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(encoded)
            fh.flush()
            os.fsync(fh.fileno())
        with self._lock:  # a claim renames the series folder: never between mkdir and rename
            folder = self.root / "incoming" / series_uid
            if not folder.is_dir():
                folder.mkdir()
                fsync_dir(folder.parent)
            target = folder / f"{sop_uid}.dcm"
            old = target.stat().st_size if target.exists() else 0
            os.replace(tmp, target)
            fsync_dir(folder)
            self._bytes += len(encoded) - old
        return target

    def incoming(self) -> list[str]:
        """Series UIDs with unclaimed instances."""
        return sorted(p.name for p in (self.root / "incoming").iterdir()
                      if p.is_dir() and is_valid_uid(p.name))

    def incoming_files(self, series_uid: str) -> list[Path]:
        return sorted((self.root / "incoming" / series_uid).glob("*.dcm"))

    # -- jobs ----------------------------------------------------------------------------

    def claim(self, series_uid: str, **info: Any) -> Job:
        """Turn the series' received instances into a new job (one atomic rename).

        ``info`` (e.g. the model path, hashed study and patient IDs) goes into ``job.json``.
        """
        if not is_valid_uid(series_uid):
            raise ValueError("SeriesInstanceUID is not a valid UID")
        with self._lock:
            job_id = f"{time.time_ns():020d}-{phi_hash(series_uid)}"
            job_dir = self.root / "jobs" / job_id
            job_dir.mkdir()
            job = Job(job_dir, job_id)
            job.write_state(state="queued", attempts=0, next_try=0.0, series_uid=series_uid,
                            **info)
            os.rename(self.root / "incoming" / series_uid, job_dir / "input")
            fsync_dir(job_dir)
            fsync_dir(self.root / "incoming")
            fsync_dir(self.root / "jobs")
        return job

    def jobs(self) -> list[Job]:
        """Open jobs (claimed completely), oldest first."""
        return [Job(p, p.name) for p in sorted((self.root / "jobs").iterdir())
                if (p / "input").is_dir()]

    def finish(self, job: Job, record: dict[str, Any]) -> Path:
        """Write the done record, then remove the job folder (its input is processed)."""
        size = tree_bytes(job.input_dir)
        path = atomic_write(self.root / "done" / f"{job.job_id}.json",
                            json.dumps(record, indent=1).encode(), overwrite=True)
        fsync_dir(path.parent)
        shutil.rmtree(job.path)
        with self._lock:
            self._bytes = max(0, self._bytes - size)
        return path

    def dead_letter(self, job: Job, reason: str) -> Path:
        """Move a job to ``dead/<job-id>/`` with ``reason.txt`` (one line, no PHI)."""
        target = self.root / "dead" / job.job_id
        atomic_write(job.path / "reason.txt", (reason.strip() + "\n").encode(), overwrite=True)
        os.rename(job.path, target)
        fsync_dir(target.parent)
        fsync_dir(job.path.parent)
        return target

    def done_records(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((self.root / "done").glob("*.json"))]

    def dead_jobs(self) -> list[Path]:
        return sorted(p for p in (self.root / "dead").iterdir() if p.is_dir())


__all__ = ["Job", "Spool", "SpoolFullError", "fsync_dir", "tree_bytes"]
