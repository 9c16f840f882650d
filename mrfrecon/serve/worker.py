"""The job queue: reconstruct, send, retry with back-off, dead-letter.

Jobs are folders in the spool (:mod:`mrfrecon.serve.spool`) processed oldest first by one
worker. A job is ``queued`` until its output folder is complete (then ``reconstructed``),
and finished once every derived instance is acknowledged (journal ``sent.log``). Whatever
step a crash interrupts is redone on restart with the same derived UIDs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrfrecon.errors import MrfreconError
from mrfrecon.serve.config import ServeConfig
from mrfrecon.serve.models import ModelCache
from mrfrecon.serve.reconstruct import read_output, reconstruct_series
from mrfrecon.serve.sender import SendError, send_files
from mrfrecon.serve.spool import Job, Spool
from mrfrecon.serve.uids import phi_hash

log = logging.getLogger("mrfrecon.serve")

#: Errors that reconstructing again will not cure (bad or incomplete data, model mismatch).
PERMANENT = (MrfreconError, ValueError)


@dataclass(frozen=True)
class Outcome:
    """What one :meth:`Worker.step` did: ``done``, ``retry``, ``dead`` or ``idle``."""

    kind: str
    job_id: str = ""
    detail: str = ""


class Worker:
    """Processes due jobs of a spool, one at a time.

    Parameters
    ----------
    config
        The serve configuration (recon options, PACS, retry policy).
    spool, models
        Where the jobs are; loaded models.
    clock
        Wall-clock time in s since the epoch (``next_try`` survives restarts).
    """

    def __init__(self, config: ServeConfig, spool: Spool, models: ModelCache,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.spool = spool
        self.models = models
        self.clock = clock

    def step(self) -> Outcome:
        """Process the oldest due job, if any."""
        now = self.clock()
        for job in self.spool.jobs():
            state = job.state()
            if float(state.get("next_try", 0.0)) <= now:
                return self.process(job, state)
        return Outcome("idle")

    def process(self, job: Job, state: dict[str, Any]) -> Outcome:
        label = phi_hash(job.series_uid)
        t0 = time.perf_counter()
        try:
            if state.get("state") != "reconstructed":
                model_path = state.get("model")
                if not model_path:
                    raise MrfreconError("no [[models]] rule matches the series")
                loaded = self.models.get(Path(model_path))
                log.info("job %s: reconstructing with model %s", label, loaded.sha256[:12])
                if job.output_dir.exists():  # cannot be partial (renamed into place): redo
                    import shutil

                    shutil.rmtree(job.output_dir)
                reconstruct_series(job.input_dir, loaded.model, loaded.sha256, job.output_dir,
                                   source_series_uid=job.series_uid,
                                   method=self.config.recon.method,
                                   threads=self.config.recon.threads,
                                   maps=self.config.recon.maps,
                                   parametric_map=self.config.recon.parametric_map)
                state = job.write_state(state="reconstructed", model_sha256=loaded.sha256)
            series = read_output(job.output_dir)
            files = [f for s in series for f in s.files]
            calling = self.config.pacs.calling_ae_title or self.config.server.ae_title
            n_sent = send_files(self.config.pacs, calling, files, already_sent=job.sent(),
                                on_sent=job.mark_sent)
        except SendError as err:
            return self._retry(job, state, err)
        except PERMANENT as err:
            return self._dead(job, err)
        except Exception as err:  # disk, a bug: retry, and keep the job if it keeps failing
            return self._retry(job, state, err)
        record = {"job": job.job_id, "series": label, "study": state.get("study", ""),
                  "patient": state.get("patient", ""), "model_sha256": state.get("model_sha256"),
                  "derived_series": [s.series_uid for s in series],
                  "n_source_instances": len(list(job.input_dir.glob("*.dcm"))),
                  "n_instances": len(files), "n_sent_last_attempt": n_sent,
                  "attempts": int(state.get("attempts", 0)) + 1, "finished": self.clock()}
        self.spool.finish(job, record)
        log.info("job %s: %d derived series (%d instances) stored in the PACS (%.1f s)", label,
                 len(series), len(files), time.perf_counter() - t0)
        return Outcome("done", job.job_id)

    def _retry(self, job: Job, state: dict[str, Any], err: Exception) -> Outcome:
        attempts = int(state.get("attempts", 0)) + 1
        if attempts >= self.config.pacs.max_attempts:
            return self._dead(job, err, f"gave up after {attempts} attempts: ")
        delay = self.config.pacs.backoff(attempts)
        reason = f"{type(err).__name__}: {err}"
        job.write_state(attempts=attempts, next_try=self.clock() + delay, last_error=reason)
        # the class name only: messages may quote tag values, logs must not
        log.warning("job %s: attempt %d failed (%s); retry in %.0f s",
                    phi_hash(job.series_uid), attempts, type(err).__name__, delay)
        return Outcome("retry", job.job_id, reason)

    def _dead(self, job: Job, err: Exception, prefix: str = "") -> Outcome:
        reason = f"{prefix}{type(err).__name__}: {err}"
        label = phi_hash(job.series_uid)
        target = self.spool.dead_letter(job, reason)
        log.error("job %s: moved to the dead-letter folder as %s (%s; see reason.txt)",
                  label, target.name, type(err).__name__)
        return Outcome("dead", job.job_id, reason)


__all__ = ["Outcome", "PERMANENT", "Worker"]
