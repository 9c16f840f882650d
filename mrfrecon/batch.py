"""``run_batch``: reconstruct every acquisition under a folder tree, resumably.

Studies: every 4-D NIfTI file (``.nii``/``.nii.gz``; 3-D images such as maps or masks are not
studies), and every folder that directly holds DICOM files (its series are paired into
acquisitions, e.g. a magnitude and a phase series; several acquisitions get one set of outputs
each). Outputs go to ``OUTPUT/<path of the study relative to
INPUT_DIR>`` (the NIfTI file's folder), named by :func:`mrfrecon.io.write_maps`.

Robustness:

- a failing study is recorded (one line) and skipped; the others go on;
- every file is written atomically, and a study is marked done (``OUTPUT/.mrfrecon-batch/
  <id>.json``, written last) only once all its outputs exist. A run killed half-way leaves
  finished studies marked, and at worst some complete files of the unfinished study; the next
  run skips the marked studies, and redoes the unfinished one (it may replace the outputs that
  an earlier run *of this batch* started: a ``.started`` marker says so), removing stray
  temporary files;
- a lock (``fcntl.flock`` on ``OUTPUT/.mrfrecon-batch.lock``, released by the kernel even when the
  process is killed) refuses a second batch run on the same output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .atomic import atomic_write
from .errors import InputFileError, MrfreconError, one_line_message
from .io.bids import json_bytes
from .io.load import is_dicom_file, is_nifti_path
from .io.maps import Units
from .recon.core import ReconOptions
from .recon.pipeline import file_sha256, run_maps_each

STATE_DIR = ".mrfrecon-batch"
LOCK_NAME = ".mrfrecon-batch.lock"

StudyCallback = Callable[["StudyResult"], None]


class BatchLockedError(MrfreconError):
    """Another batch run holds the lock on the output folder."""


@dataclass(frozen=True)
class Study:
    """One acquisition: ``paths`` to read (one NIfTI file, or the DICOM files of a folder)."""

    id: str
    paths: tuple[Path, ...]
    output_dir: Path
    kind: str  # "nifti" | "dicom"

    @property
    def source(self) -> Path | list[Path]:
        return self.paths[0] if self.kind == "nifti" else list(self.paths)


@dataclass
class StudyResult:
    """status: ``done`` | ``failed`` | ``previously done``."""

    study: str
    status: str
    seconds: float = 0.0
    summary: dict[str, Any] | None = None
    error: str | None = None
    n_outputs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "status": self.status, "seconds": round(self.seconds, 3),
                "error": self.error, "n_outputs": self.n_outputs, "summary": self.summary}


@dataclass
class BatchResult:
    studies: list[StudyResult] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        out = {"done": 0, "failed": 0, "previously done": 0}
        for s in self.studies:
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts(), "seconds": round(self.seconds, 3),
                "studies": [s.to_dict() for s in self.studies]}


def _is_series_nifti(path: Path) -> bool:
    from .io.nifti import nifti_shape  # nibabel only when a folder holds NIfTI files

    try:
        shape = nifti_shape(path)
    except InputFileError:  # unreadable: let the study fail with the reader's message
        return True
    shape = tuple(n for i, n in enumerate(shape) if i < 4 or n != 1)
    return len(shape) == 4 and shape[3] > 1


def find_studies(input_dir: str | Path, output_dir: str | Path) -> list[Study]:
    """The studies under ``input_dir`` (sorted), skipping anything inside ``output_dir``.

    Files are told apart by the file-type tests of :mod:`mrfrecon.io.load`
    (:func:`~mrfrecon.io.load.is_nifti_path`, :func:`~mrfrecon.io.load.is_dicom_file`).
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise InputFileError(f"input folder not found: '{root}'")
    output_dir = Path(output_dir).resolve()
    studies = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here.resolve() == output_dir or output_dir in here.resolve().parents:
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = here.relative_to(root)
        dicoms = []
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = here / name
            if is_nifti_path(path):
                if _is_series_nifti(path):
                    studies.append(Study(str(rel / name), (path,), output_dir / rel, "nifti"))
            elif is_dicom_file(path):
                dicoms.append(path)
        if dicoms:
            studies.append(Study(str(rel), tuple(dicoms),
                                 output_dir / rel, "dicom"))
    return sorted(studies, key=lambda s: s.id)


def _state_name(study: Study) -> str:
    return hashlib.sha256(study.id.encode()).hexdigest()[:16]


@contextmanager
def batch_lock(output_dir: Path) -> Iterator[None]:
    """Hold the batch lock of ``output_dir`` (raises :class:`BatchLockedError` if taken)."""
    import fcntl

    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise BatchLockedError(
                f"another mrfrecon batch (pid {holder}) is writing to '{output_dir}'") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _remove_stray_temporaries(folder: Path) -> None:
    if not folder.is_dir():
        return
    for path in folder.rglob(".*.tmp"):
        if path.is_file():
            path.unlink(missing_ok=True)


@dataclass(frozen=True)
class BatchJob:
    """What every study of one batch run shares; picklable, so a Dask worker can run it."""

    model_path: Path
    model_sha256: str
    state_dir: Path
    options: ReconOptions
    units: str = "s"
    dicom: bool | None = None
    overwrite: bool = False


@lru_cache(maxsize=2)
def _load_model_cached(path: Path, sha256: str):
    """One model load per process (the sha256 keys the cache: a replaced file is reloaded)."""
    from .model import load_model

    return load_model(path)


def process_study(study: Study, job: BatchJob) -> StudyResult:
    """Reconstruct one study and mark it done; runs in a thread here or on a Dask worker.

    Never raises for the study's own failure: it is returned as a ``failed`` result.
    """
    from .cluster import threads_per_task

    marker = job.state_dir / f"{_state_name(study)}.json"
    started = job.state_dir / f"{_state_name(study)}.started"
    if marker.is_file():
        return StudyResult(study.id, "previously done")
    resume = started.is_file()
    if resume:
        _remove_stray_temporaries(study.output_dir)
    t_study = time.perf_counter()
    try:
        options = replace(job.options, n_threads=job.options.n_threads or threads_per_task())
        atomic_write(started, json_bytes({"study": study.id}), overwrite=True)
        # a DICOM folder may hold several acquisitions: each gets its own outputs
        each = run_maps_each(study.source, _load_model_cached(job.model_path, job.model_sha256),
                             study.output_dir, options=options, units=job.units,
                             dicom=job.dicom, overwrite=job.overwrite or resume,
                             model_sha256=job.model_sha256,
                             layout="flat")  # mirrors the input tree
        outputs = [str(p) for maps in each for p in maps.outputs]
        summary = {**each[0].summary.to_dict(), "input": study.id}
        if len(each) > 1:
            summary = {"input": study.id, "acquisitions": [
                {**m.summary.to_dict(), "acquisition": m.acquisition} for m in each]}
        atomic_write(marker, json_bytes({"study": study.id, "outputs": outputs,
                                         "summary": _jsonable(summary)}),
                     overwrite=True)
        started.unlink(missing_ok=True)
        return StudyResult(study.id, "done", time.perf_counter() - t_study,
                           summary, None, len(outputs))
    except Exception as err:  # one failing study never stops the others
        return StudyResult(study.id, "failed", time.perf_counter() - t_study,
                           error=one_line_message(err))


def run_batch(
    input_dir: str | Path,
    model_path: str | Path,
    output_dir: str | Path,
    *,
    options: ReconOptions = ReconOptions(),
    jobs: int = 1,
    scheduler: str | None = None,
    units: Units = "s",
    dicom: bool | None = None,
    overwrite: bool = False,
    on_study: StudyCallback | None = None,
) -> BatchResult:
    """Reconstruct every study under ``input_dir`` into ``output_dir`` (see the module doc).

    jobs: studies processed at once (threads here); each uses ``cpu_count / jobs`` threads.
    scheduler: ``local:N`` or ``tcp://HOST:PORT`` runs the studies on a Dask cluster instead
        (see :mod:`mrfrecon.cluster`); the lock and the done-markers work the same.
    on_study: called after each study (for progress output).
    """
    from .cluster import open_executor, parse_scheduler

    t0 = time.perf_counter()
    spec = parse_scheduler(scheduler, jobs)
    output_dir = Path(output_dir).resolve()
    model_path = Path(model_path).resolve()
    model_sha = file_sha256(model_path)
    _load_model_cached(model_path, model_sha)  # a bad model fails here, before any study
    studies = find_studies(input_dir, output_dir)
    # studies on this machine share its cores; a remote worker divides its own (threads_per_task)
    threads = None if spec.kind == "remote" else max(1, (os.cpu_count() or 1) // spec.workers)
    job = BatchJob(model_path, model_sha, output_dir / STATE_DIR,
                   replace(options, n_threads=options.n_threads or threads),
                   units=units, dicom=dicom, overwrite=overwrite)
    result = BatchResult()
    with batch_lock(output_dir):
        job.state_dir.mkdir(exist_ok=True)

        def record(done: StudyResult) -> None:
            result.studies.append(done)
            if on_study is not None:
                on_study(done)

        if not spec.distributed and spec.workers <= 1:
            for study in studies:
                record(process_study(study, job))
        else:
            with open_executor(spec, model_path) as pool:
                futures = {pool.submit(process_study, s, job): s for s in studies}
                for future in as_completed(futures):
                    try:
                        record(future.result())
                    except Exception as err:  # the worker itself died (e.g. out of memory)
                        record(StudyResult(futures[future].id, "failed",
                                           error=f"worker lost: {one_line_message(err)}"))
    order = {s.id: i for i, s in enumerate(studies)}
    result.studies.sort(key=lambda s: order[s.study])
    result.seconds = time.perf_counter() - t0
    return result


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item")
                                 else str(v)))
