"""storescu -> mrfrecon serve -> Orthanc with real processes on loopback, and kill -9 / restart.

The phantom series (32x32, 1 slice, fisp_short400: 400 magnitude + 400 phase instances) is
sent by dcmtk's storescu to ``mrfrecon serve`` running as a child process; the maps arrive in
a real Orthanc, which the tests query through its REST API.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from mrfrecon.cli import app
from mrfrecon.recon.pipeline import file_sha256
from mrfrecon.serve.uids import derived_uid
from tests.serve.peers import (
    free_port,
    orthanc,
    orthanc_binary,
    serve_process,
    stop_process,
    storescu,
    wait_for,
    write_config,
)

pytestmark = [
    pytest.mark.skipif(shutil.which("storescu") is None or orthanc_binary() is None,
                       reason="dcmtk (storescu) or Orthanc is not installed"),
    pytest.mark.slow,  # real processes: about 40 s each here
]

MAPS = ("T1map", "T2map", "M0map")
N_INSTANCES = 800


@pytest.fixture(scope="module")
def source(phantom_dicom):
    """The phantom's DICOM folder and its patient / study / series identifiers."""
    folder = Path(phantom_dicom["dicom"])
    ds = pydicom.dcmread(next(folder.glob("*.dcm")), stop_before_pixels=True)
    return {"folder": folder, "study": str(ds.StudyInstanceUID),
            "series": str(ds.SeriesInstanceUID), "patient_id": str(ds.PatientID),
            "patient_name": str(ds.PatientName)}


@pytest.fixture(scope="module")
def local_t1(source, tiny_model_path, tmp_path_factory):
    """T1 (integer ms) of the same series and model by ``mrfrecon maps`` (no network)."""
    out = tmp_path_factory.mktemp("local-maps")
    result = CliRunner().invoke(app, ["maps", str(source["folder"]), "--model",
                                      str(tiny_model_path), "--output", str(out), "--units",
                                      "ms", "--threads", "1"])
    assert result.exit_code == 0, result.output
    (t1_dir,) = [p for p in (out / "dicom").glob("*_T1map") if "desc-" not in p.name]
    return pydicom.dcmread(t1_dir / "0001.dcm").pixel_array


def _spool_state(spool: Path) -> dict:
    return {"done": sorted(p.name for p in (spool / "done").glob("*.json")),
            "dead": sorted(p.name for p in (spool / "dead").iterdir()),
            "jobs": sorted(p.name for p in (spool / "jobs").iterdir()),
            "incoming": sorted(p.name for p in (spool / "incoming").iterdir())}


def _finished(spool: Path, n_done: int = 1):
    state = _spool_state(spool)
    settled = not state["jobs"] and not state["incoming"]
    return state if settled and len(state["done"]) + len(state["dead"]) >= n_done else None


def _check_pacs(pacs, source, model_sha256, names=MAPS) -> dict[str, dict]:
    """Exactly the expected derived series, one instance per slice, in the source study."""
    series = {s["MainDicomTags"]["SeriesInstanceUID"]: s for s in pacs.series()}
    expected = {derived_uid(source["series"], model_sha256, name): name for name in names}
    assert set(series) == set(expected), [s["MainDicomTags"] for s in series.values()]
    for item in series.values():
        assert len(item["Instances"]) == 1
        study = pacs.get(f"/studies/{item['ParentStudy']}")
        assert study["MainDicomTags"]["StudyInstanceUID"] == source["study"]
    return {expected[uid]: item for uid, item in series.items()}


def test_storescu_serve_orthanc_roundtrip(tmp_path, source, tiny_model_path, local_t1):
    spool = tmp_path / "spool"
    with orthanc(tmp_path / "orthanc") as pacs:
        port = free_port()
        config = write_config(tmp_path / "serve.toml", model=tiny_model_path, spool=spool,
                              port=port, pacs_port=pacs.dicom_port, parametric_map=True)
        with serve_process(config, tmp_path / "serve.log", port):
            echo = subprocess.run(["echoscu", "-aet", "SCANNER", "-aec", "MRFRECON",
                                   "127.0.0.1", str(port)], capture_output=True, timeout=30)
            assert echo.returncode == 0
            storescu(port, source["folder"])
            state = wait_for(lambda: _finished(spool), 180, "the job to finish")
            assert len(state["done"]) == 1 and not state["dead"], state
            model_sha256 = file_sha256(tiny_model_path)
            names = MAPS + tuple(f"{m}_pmap" for m in MAPS)
            by_name = _check_pacs(pacs, source, model_sha256, names)

            # the values: the T1 instance equals what `mrfrecon maps` computes locally
            t1_id = by_name["T1map"]["Instances"][0]
            t1 = pydicom.dcmread(_bytes_io(pacs.get(f"/instances/{t1_id}/file")))
            assert list(t1.ImageType) == ["DERIVED", "PRIMARY", "T1 MAP", "T1"]
            unit = t1.RealWorldValueMappingSequence[0].MeasurementUnitsCodeSequence[0]
            assert unit.CodeValue == "ms"
            np.testing.assert_array_equal(t1.pixel_array, local_t1)
            assert np.count_nonzero(local_t1) > 100
            pmap_id = by_name["T1map_pmap"]["Instances"][0]
            pmap = pydicom.dcmread(_bytes_io(pacs.get(f"/instances/{pmap_id}/file")))
            assert pmap.SOPClassUID == "1.2.840.10008.5.1.4.1.1.30"
            np.testing.assert_allclose(pmap.pixel_array.astype(float).squeeze(),
                                       local_t1.astype(float), atol=0.5)

            # the scanner sends the same acquisition again: replaced, not duplicated
            storescu(port, source["folder"])
            state = wait_for(lambda: _finished(spool, 2), 180, "the second job")
            assert len(state["done"]) == 2 and not state["dead"], state
            _check_pacs(pacs, source, model_sha256, names)

    records = [json.loads((spool / "done" / name).read_text()) for name in state["done"]]
    assert [r["n_instances"] for r in records] == [2 * len(MAPS)] * 2
    log = (tmp_path / "serve.log").read_text()
    assert "stored in the PACS" in log
    for secret in (source["patient_id"], source["patient_name"], "Phantom", source["study"],
                   source["series"]):
        assert secret not in log, f"identifier in the log: {secret!r}"
    assert (tmp_path / "serve.log").stat().st_size < 200_000


def _bytes_io(data: bytes):
    from io import BytesIO

    return BytesIO(data)


def _jobs_with(spool: Path, predicate) -> bool:
    return any(predicate(p) for p in (spool / "jobs").iterdir())


def _job_state(job: Path) -> dict:
    try:
        return json.loads((job / "job.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


@pytest.mark.parametrize("phase", ["reception", "reconstruction", "sending"])
def test_kill_and_restart_processes_every_instance_once(tmp_path, source, tiny_model_path,
                                                        phase):
    spool = tmp_path / "spool"
    pacs_port, port = free_port(), free_port()
    config = write_config(tmp_path / "serve.toml", model=tiny_model_path, spool=spool,
                          port=port, pacs_port=pacs_port, backoff_s=0.5, max_attempts=20)
    log = tmp_path / "serve.log"
    model_sha256 = file_sha256(tiny_model_path)
    incoming = spool / "incoming" / source["series"]

    if phase == "sending":  # the PACS is down until after the kill: the job waits to send
        with serve_process(config, log, port) as proc:
            storescu(port, source["folder"])
            wait_for(lambda: _jobs_with(spool, lambda j: _job_state(j).get("attempts", 0) >= 1
                                        and _job_state(j).get("state") == "reconstructed"),
                     180, "a failed send")
            stop_process(proc, signal.SIGKILL)
        with orthanc(tmp_path / "orthanc", dicom_port=pacs_port) as pacs:
            with serve_process(config, log, port):
                state = wait_for(lambda: _finished(spool), 180, "the job after restart")
            _check_pacs(pacs, source, model_sha256)
    else:
        with orthanc(tmp_path / "orthanc", dicom_port=pacs_port) as pacs:
            with serve_process(config, log, port) as proc:
                if phase == "reception":
                    sender = subprocess.Popen(
                        ["storescu", "-aet", "SCANNER", "-aec", "MRFRECON", "+sd", "+r",
                         "127.0.0.1", str(port), str(source["folder"])],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        env={"TCP_NODELAY": "1", "PATH": "/usr/bin:/bin"})
                    try:
                        wait_for(lambda: incoming.is_dir() and
                                 len(list(incoming.iterdir())) >= 200, 120, "200 instances")
                        stop_process(proc, signal.SIGKILL)
                        assert sender.wait(60) != 0  # the scanner saw the failure
                    finally:
                        stop_process(sender, signal.SIGKILL)
                    assert 200 <= len(list(incoming.iterdir())) < N_INSTANCES
                else:
                    storescu(port, source["folder"])
                    wait_for(lambda: _jobs_with(spool, lambda j: (j / "input").is_dir()),
                             120, "a claimed job", interval_s=0.01)
                    stop_process(proc, signal.SIGKILL)
                    assert _jobs_with(spool, lambda j: not (j / "output").exists())
            assert pacs.series() == []
            with serve_process(config, log, port):
                if phase == "reception":
                    storescu(port, source["folder"])  # the scanner resends the acquisition
                state = wait_for(lambda: _finished(spool), 180, "the job after restart")
            _check_pacs(pacs, source, model_sha256)

    assert len(state["done"]) == 1 and not state["dead"], state
    record = json.loads((spool / "done" / state["done"][0]).read_text())
    assert record["n_instances"] == len(MAPS)
    # every received instance went into that one job: nothing left behind, nothing twice
    assert not list((spool / "tmp").iterdir())
    assert record["n_source_instances"] == N_INSTANCES
    assert log.read_text().count("queued as job") <= 1  # (a kill can beat the log line)
