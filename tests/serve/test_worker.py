"""The job worker: journalled sends resume, back-off, dead letters with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from mrfrecon.serve.config import parse_config
from mrfrecon.serve.models import ModelCache
from mrfrecon.serve.spool import Spool
from mrfrecon.serve.uids import derived_uid
from mrfrecon.serve.worker import Worker
from tests.serve.peers import free_port, recording_pacs

SERIES = "1.2.826.0.1.3680043.8.498.7"


def _config(tmp_path: Path, pacs_port: int, model: Path | None = None, max_attempts: int = 3):
    if model is None:
        model = tmp_path / "model.h5"
        model.write_bytes(b"not read in these tests")
    data = {"serve": {"spool_dir": str(tmp_path / "spool")},
            "models": [{"model": str(model)}],
            "pacs": {"host": "127.0.0.1", "port": pacs_port, "ae_title": "PACS",
                     "timeout_s": 5, "max_attempts": max_attempts, "backoff_s": 10,
                     "backoff_max_s": 25}}
    return parse_config(data, tmp_path)


def _mr_file(path: Path, sop_uid: str, series_uid: str) -> Path:
    ds = pydicom.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID, ds.SeriesInstanceUID = sop_uid, series_uid
    ds.StudyInstanceUID = "1.2.3.4"
    ds.Modality = "MR"
    ds.Rows = ds.Columns = 2
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.arange(4, dtype="<u2").tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _reconstructed_job(spool: Spool, n: int = 4):
    spool.store(SERIES, SERIES + ".1", b"source instance")
    job = spool.claim(SERIES, model="unused")
    derived = derived_uid(SERIES, "model", "T1map")
    uids = [derived_uid(derived, str(k)) for k in range(n)]
    for uid in uids:
        _mr_file(job.output_dir / "T1map" / f"{uid}.dcm", uid, derived)
    job.write_state(state="reconstructed", model_sha256="model")
    return job, uids


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_send_resumes_from_the_journal(tmp_path):
    with recording_pacs() as pacs:
        config = _config(tmp_path, pacs.port)
        spool = Spool(config.server.spool_dir, 10**7)
        job, uids = _reconstructed_job(spool)
        for uid in uids[:2]:  # acknowledged before a crash
            job.mark_sent(uid)
        outcome = Worker(config, spool, ModelCache()).step()
        assert outcome.kind == "done", outcome
        assert sorted(pacs.received) == sorted(uids[2:])
    record = spool.done_records()[0]
    assert record["n_instances"] == 4 and record["n_sent_last_attempt"] == 2
    assert spool.jobs() == [] and not spool.incoming()


def test_refused_stores_back_off_then_dead_letter(tmp_path):
    with recording_pacs(fail_after=1) as pacs:
        config = _config(tmp_path, pacs.port, max_attempts=3)
        spool = Spool(config.server.spool_dir, 10**7)
        job, uids = _reconstructed_job(spool)
        clock = Clock()
        worker = Worker(config, spool, ModelCache(), clock=clock)
        first = worker.step()
        assert first.kind == "retry" and "0xA700" in first.detail
        assert job.state()["next_try"] == clock.now + 10 and len(job.sent()) == 1
        assert worker.step().kind == "idle"  # not due yet
        clock.now += 10
        assert worker.step().kind == "retry"
        assert job.state()["next_try"] == clock.now + 20  # doubled
        clock.now += 20
        last = worker.step()
        assert last.kind == "dead" and len(pacs.received) == 1 and pacs.received[0] in uids
    dead = spool.dead_jobs()
    assert [p.name for p in dead] == [job.job_id] and spool.jobs() == []
    reason = (dead[0] / "reason.txt").read_text()
    assert reason.startswith("gave up after 3 attempts: SendError") and "0xA700" in reason
    assert (dead[0] / "input").is_dir()  # kept for the operator


def test_unreachable_pacs_is_retried(tmp_path):
    config = _config(tmp_path, free_port())
    spool = Spool(config.server.spool_dir, 10**7)
    job, _ = _reconstructed_job(spool)
    outcome = Worker(config, spool, ModelCache(), clock=Clock()).step()
    assert outcome.kind == "retry" and "SendError" in outcome.detail
    assert job.state()["attempts"] == 1 and spool.dead_jobs() == []


def test_bad_input_goes_to_dead_letter_at_once(tmp_path, tiny_model_path):
    config = _config(tmp_path, free_port(), model=tiny_model_path)
    spool = Spool(config.server.spool_dir, 10**7)
    spool.store(SERIES, SERIES + ".1", b"this is not DICOM")
    spool.claim(SERIES, model=str(tiny_model_path))
    outcome = Worker(config, spool, ModelCache()).step()
    assert outcome.kind == "dead"
    reason = (spool.dead_jobs()[0] / "reason.txt").read_text()
    assert reason.startswith("InputFileError")


def test_series_without_model_rule_goes_to_dead_letter(tmp_path):
    config = _config(tmp_path, free_port())
    spool = Spool(config.server.spool_dir, 10**7)
    spool.store(SERIES, SERIES + ".1", b"x")
    spool.claim(SERIES, model=None)
    assert Worker(config, spool, ModelCache()).step().kind == "dead"
    assert "no [[models]] rule" in (spool.dead_jobs()[0] / "reason.txt").read_text()
