"""The DICOM node: the Storage SCP, acquisition assembly and the job worker together."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mrfrecon.errors import MrfreconError
from mrfrecon.serve.assembly import SeriesState, read_series_state
from mrfrecon.serve.config import ServeConfig
from mrfrecon.serve.models import ModelCache, choose_rule
from mrfrecon.serve.scp import start_scp
from mrfrecon.serve.spool import Spool
from mrfrecon.serve.uids import phi_hash
from mrfrecon.serve.worker import Outcome, Worker

log = logging.getLogger("mrfrecon.serve")


@dataclass
class NodeStats:
    """Counts since start: instances stored, jobs claimed / done / dead-lettered."""

    stored: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class Node:
    """``mrfrecon serve``: receive, assemble, reconstruct, send.

    Parameters
    ----------
    config
        Validated configuration.
    poll_s
        How often (s) series are checked for completeness and the queue for due jobs.
    """

    def __init__(self, config: ServeConfig, poll_s: float = 0.2) -> None:
        self.config = config
        self.poll_s = poll_s
        self.spool = Spool(config.server.spool_dir, int(config.server.max_spool_mb * 2**20))
        self.spool.recover()
        self.models = ModelCache()
        self.worker = Worker(config, self.spool, self.models)
        self.stats = NodeStats()
        self._lock = threading.Lock()
        self._series: dict[str, SeriesState] = {}
        for uid in self.spool.incoming():  # received before a restart: quiet time restarts
            self._series[uid] = read_series_state(uid, self.spool.incoming_files(uid))
        self._server: Any = None

    # -- reception (SCP threads) ---------------------------------------------------------

    def store(self, series_uid: str, sop_uid: str, encoded: bytes, ds: Any) -> None:
        """Spool one instance (durably) and account it to its series."""
        with self._lock:  # a claim must not happen between the spool write and the count
            self.spool.store(series_uid, sop_uid, encoded)
            state = self._series.get(series_uid)
            if state is None:
                state = self._series[series_uid] = SeriesState(series_uid)
                log.info("series %s: receiving (study %s)", phi_hash(series_uid),
                         phi_hash(ds.get("StudyInstanceUID", "")))
            state.add(ds)
            self.stats.stored += 1

    # -- assembly and queue (main thread) ------------------------------------------------

    def claim_ready(self, now: float | None = None) -> list[str]:
        """Turn every ready series into a job; returns the job ids."""
        acq = self.config.acquisition
        claimed = []
        for uid in list(self._series):
            state = self._series[uid]
            rule = choose_rule(self.config.models, state.tags)
            n_timepoints = self._n_timepoints(rule.model) if rule else None
            if not state.is_ready(n_timepoints, acq.settle_s, acq.idle_timeout_s, now):
                continue
            with self._lock:
                if not state.is_ready(n_timepoints, acq.settle_s, acq.idle_timeout_s, now):
                    continue  # an instance arrived meanwhile
                del self._series[uid]
                n_instances = len(state.instances)
                job = self.spool.claim(
                    uid, model=None if rule is None else str(rule.model),
                    study=phi_hash(state.study_uid), patient=phi_hash(state.patient_id),
                    n_instances=n_instances,
                    complete=state.is_complete(n_timepoints))
            self.stats.claimed += 1
            claimed.append(job.job_id)
            log.info("series %s: %d instances (%s) queued as job %s", phi_hash(uid), n_instances,
                     "complete" if state.is_complete(n_timepoints) else "idle timeout",
                     job.job_id)
        return claimed

    def _n_timepoints(self, path: Any) -> int | None:
        """The model's frame count, or None if it cannot be loaded (the job then fails with
        the reason, after the idle timeout)."""
        try:
            return self.models.get(path).n_timepoints
        except (MrfreconError, OSError):
            return None

    def step(self, now: float | None = None) -> Outcome:
        """One round: claim ready series, then process one due job."""
        self.claim_ready(now)
        outcome = self.worker.step()
        if outcome.kind != "idle":
            self.stats.outcomes[outcome.kind] = self.stats.outcomes.get(outcome.kind, 0) + 1
        return outcome

    # -- life cycle ----------------------------------------------------------------------

    def load_models(self) -> list[Any]:
        """Load every configured model (a broken one fails here, not at the first series)."""
        return [self.models.get(rule.model) for rule in self.config.models]

    def start(self) -> None:
        """Load the models, then start listening (background threads)."""
        for loaded in self.load_models():
            log.info("model %s: sequence of %d time points", loaded.sha256[:12],
                     loaded.n_timepoints)
        self._server = start_scp(self.config.server, self.store)
        host, port = self._server.server_address[:2]
        log.info("listening as %s on %s:%d (TLS %s), spool %s", self.config.server.ae_title,
                 host, port, "on" if self.config.server.tls else "off",
                 self.config.server.spool_dir)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set."""
        self.start()
        try:
            while not stop.is_set():
                try:
                    idle = self.step().kind == "idle"
                except Exception:  # a bug must not stop reception; jobs stay in the spool
                    log.exception("internal error in the job loop")
                    idle = True
                if idle:
                    stop.wait(self.poll_s)
        finally:
            self.stop()
            log.info("stopped")

    def wait_idle(self, timeout_s: float) -> bool:
        """Step until no series is pending and no job is due (tests, benchmarks)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.step().kind == "idle" and not self._series and not self.spool.jobs():
                return True
            time.sleep(0.05)
        return False


__all__ = ["Node", "NodeStats"]
