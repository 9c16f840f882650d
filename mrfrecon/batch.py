"""``run_batch``: reconstruct every acquisition under a folder tree, resumably.

Studies: every 4-D NIfTI file (``.nii``/``.nii.gz``; 3-D images such as maps or masks are not
studies), and every folder that directly holds DICOM files (its files form one acquisition,
e.g. a magnitude and a phase series). Outputs go to ``OUTPUT/<path of the study relative to
INPUT_DIR>`` (the NIfTI file's folder), named by :func:`mrfrecon.io.write_maps`.

Robustness:

- a failing study is recorded (one line) and skipped; the others go on. Empty or all-zero
  inputs fail. A failure is recorded as such (``<id>.failed``), never as an interrupted run;
- each study's outputs appear as a whole or not at all (:func:`mrfrecon.atomic.atomic_folder`);
  a study is marked done (``OUTPUT/.mrfrecon-batch/<id>.json``, written last) only once all
  its outputs exist. The done-marker records a fingerprint of the model's sha256 and the
  options that change the outputs: a rerun with another model, units or options redoes the
  study (replacing its own outputs) instead of reporting it "previously done";
- two studies never write the same output file: each output path is claimed for its study
  (``OUTPUT/.mrfrecon-batch/claims/``, created exclusively) before anything is moved into place;
  a study whose names are taken (``x.nii`` and ``x.nii.gz``, ``sub-01_part-mag_...`` and
  ``sub-01_part-phase_...``) fails, saying which study owns them;
- a run killed half-way leaves finished studies marked; the next run skips them and redoes
  the unfinished one (a ``.started`` marker lets it replace its own outputs);
- a lock (``fcntl.flock`` on ``OUTPUT/.mrfrecon-batch.lock``, released by the kernel even when the
  process is killed) refuses a second batch run on the same output folder;
- the output folder must not be INPUT_DIR or inside it, and must be writable.

:func:`process_one` does one study from picklable arguments: ``run_batch(scheduler=...)`` runs
it on a Dask cluster (:mod:`mrfrecon.cluster`), where the same rules hold.
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
from typing import TYPE_CHECKING, Any

from .atomic import atomic_write, check_writable_folder, refuse_output_inside_inputs
from .errors import InputFileError, MrfreconError, OutputExistsError, one_line_message
from .io.bids import json_bytes
from .io.load import is_dicom_file, is_nifti_path
from .io.maps import Units
from .limits import is_regular_file
from .recon.core import ReconOptions
from .recon.pipeline import file_sha256, run_maps_each

if TYPE_CHECKING:
    from .model import MrfModel

STATE_DIR = ".mrfrecon-batch"
CLAIMS_DIR = "claims"
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
    def id_text(self) -> str:
        """``id`` for messages, JSON and markers (undecodable name bytes as ``\\xNN``)."""
        return _display(self.id)

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
    except Exception:  # unreadable: let the study fail with the reader's message
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
            if not is_regular_file(path):  # FIFOs, devices: never opened
                continue
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
    return hashlib.sha256(study.id.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _display(text: str) -> str:
    """A name for messages and JSON: undecodable bytes of file names as ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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


@dataclass(frozen=True)
class BatchOptions:
    """What every study of one batch run shares (picklable: paths and plain values).

    model_path: the model file; model_sha256: its sha256 (hex).  state_dir: the batch's
    ``.mrfrecon-batch`` folder.  units: NIfTI T1/T2 unit, ``"s"`` or ``"ms"``.
    """

    model_path: Path
    model_sha256: str
    state_dir: Path
    recon: ReconOptions = ReconOptions()
    units: Units = "s"
    dicom: bool | None = None
    overwrite: bool = False

    @property
    def fingerprint(self) -> str:
        """sha256 of the model and of every option that changes the outputs (not threads or
        chunk sizes)."""
        recon = {k: v for k, v in self.recon.__dict__.items()
                 if k not in ("n_threads", "chunk_size")}
        payload = {"model_sha256": self.model_sha256, "units": self.units, "dicom": self.dicom,
                   "recon": {k: str(v) for k, v in sorted(recon.items())}}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@lru_cache(maxsize=2)
def _model(path: Path, sha256: str) -> MrfModel:
    from .model import load_model

    return load_model(path)


def _claim(state_dir: Path, study: Study, paths: list[Path]) -> None:
    """Claim ``paths`` for ``study`` (exclusive create); raise if another study owns one."""
    folder = state_dir / CLAIMS_DIR
    folder.mkdir(exist_ok=True)
    for path in paths:
        key = hashlib.sha256(os.fsencode(path)).hexdigest()[:32]
        claim = folder / key
        try:
            fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = claim.read_bytes().decode("utf-8", "backslashreplace")
            if owner != study.id_text:
                raise OutputExistsError(
                    f"output '{_display(str(path))}' of study '{study.id_text}' is also an output "
                    f"of study '{owner}': rename one of the inputs") from None
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(study.id_text.encode())


def process_one(study: Study, options: BatchOptions) -> StudyResult:
    """Reconstruct one study into ``study.output_dir``; every failure becomes that study's
    ``failed`` result (never an exception), with a one-line message. Runs in a thread here or
    on a Dask worker."""
    from .cluster import threads_per_task

    state = options.state_dir
    marker = state / f"{_state_name(study)}.json"
    started = state / f"{_state_name(study)}.started"
    failed = state / f"{_state_name(study)}.failed"
    fingerprint = options.fingerprint
    t_study = time.perf_counter()
    try:
        done = _read_marker(marker)
        if done is not None and done.get("fingerprint") == fingerprint:
            return StudyResult(study.id_text, "previously done")
        # outputs of an earlier run of this study (other options, or killed) are its own
        redo = done is not None or started.is_file()
        atomic_write(started, json_bytes({"study": study.id_text}), overwrite=True)
        marker.unlink(missing_ok=True)
        failed.unlink(missing_ok=True)
        recon = replace(options.recon, n_threads=options.recon.n_threads or threads_per_task())
        # a DICOM folder may hold several acquisitions: each gets its own outputs
        each = run_maps_each(study.source, _model(options.model_path, options.model_sha256),
                             study.output_dir, options=recon, units=options.units,
                             dicom=options.dicom, overwrite=options.overwrite or redo,
                             model_sha256=options.model_sha256,
                             layout="flat",  # mirrors the input tree
                             before_commit=lambda paths: _claim(state, study, paths))
        outputs = [_display(str(p)) for maps in each for p in maps.outputs]
        summary = {**each[0].summary.to_dict(), "input": study.id_text}
        if len(each) > 1:
            summary = {"input": study.id_text, "acquisitions": [
                {**m.summary.to_dict(), "acquisition": m.acquisition} for m in each]}
        atomic_write(marker, json_bytes({"study": study.id_text, "fingerprint": fingerprint,
                                         "outputs": outputs, "summary": _jsonable(summary)}),
                     overwrite=True)
        started.unlink(missing_ok=True)
        return StudyResult(study.id_text, "done", time.perf_counter() - t_study,
                           summary, None, len(outputs))
    except Exception as err:  # one failing study never stops the others
        message = one_line_message(err)
        try:
            atomic_write(failed, json_bytes({"study": study.id_text, "error": message,
                                             "fingerprint": fingerprint}), overwrite=True)
            started.unlink(missing_ok=True)  # a failure is not an interrupted run
        except OSError:
            pass
        return StudyResult(study.id_text, "failed", time.perf_counter() - t_study,
                           error=message)


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        content = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


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
        (see :mod:`mrfrecon.cluster`); the lock, claims and done-markers work the same.
    on_study: called after each study (for progress output).
    """
    from .cluster import open_executor, parse_scheduler

    t0 = time.perf_counter()
    spec = parse_scheduler(scheduler, jobs)
    output_dir = Path(output_dir).resolve()
    if not Path(input_dir).is_dir():
        raise InputFileError(f"input folder not found: '{input_dir}'")
    if units not in ("s", "ms"):
        raise InputFileError(f"units must be 's' or 'ms', not '{units}'")
    refuse_output_inside_inputs(output_dir, [input_dir])
    check_writable_folder(output_dir)
    model_path = Path(model_path).resolve()  # workers elsewhere read the same path
    model_sha = file_sha256(model_path) if model_path.is_file() else ""
    _model(model_path, model_sha)  # a broken model fails the run once, not every study
    studies = find_studies(input_dir, output_dir)
    # studies on this machine share its cores; a remote worker divides its own (threads_per_task)
    threads = None if spec.kind == "remote" else max(1, (os.cpu_count() or 1) // spec.workers)
    study_options = replace(options, n_threads=options.n_threads or threads)
    result = BatchResult()
    with batch_lock(output_dir):
        state = output_dir / STATE_DIR
        state.mkdir(exist_ok=True)
        batch_options = BatchOptions(model_path, model_sha, state, study_options, units, dicom,
                                     overwrite)

        def record(done: StudyResult) -> None:
            result.studies.append(done)  # only from this thread
            if on_study is not None:
                on_study(done)

        if not spec.distributed and spec.workers <= 1:
            for study in studies:
                record(process_one(study, batch_options))
        else:
            with open_executor(spec, model_path) as pool:
                futures = {pool.submit(process_one, s, batch_options): s for s in studies}
                try:
                    for future in as_completed(futures):
                        try:
                            record(future.result())
                        except Exception as err:  # the worker itself died (e.g. out of memory)
                            record(StudyResult(futures[future].id_text, "failed",
                                               error=f"worker lost: {one_line_message(err)}"))
                finally:  # on SIGTERM/Ctrl-C: queued studies never start (they stay undone)
                    for future in futures:
                        future.cancel()
    order = {s.id_text: i for i, s in enumerate(studies)}
    result.studies.sort(key=lambda s: order.get(s.study, len(order)))
    result.seconds = time.perf_counter() - t0
    return result


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item")
                                 else str(v)))
