"""Real DICOM peers on loopback for the serve tests and benchmark: Orthanc, dcmtk, serve.

Every process started here has a deadline and is killed by its context manager.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 10) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Orthanc:
    """A running Orthanc: DICOM port, REST base URL."""

    dicom_port: int
    http_port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            body = response.read()
        return json.loads(body) if path.split("?")[0].rsplit("/", 1)[-1] != "file" else body

    def series(self) -> list[dict]:
        return [self.get(f"/series/{sid}") for sid in self.get("/series")]


@contextlib.contextmanager
def orthanc(folder: Path, ae_title: str = "PACS", dicom_port: int | None = None
            ) -> Iterator[Orthanc]:
    """Start Orthanc with a generated configuration (loopback, own storage, no plugins)."""
    folder.mkdir(parents=True, exist_ok=True)
    dicom_port, http_port = dicom_port or free_port(), free_port()
    config = {"Name": "mrfrecon-test", "StorageDirectory": str(folder / "storage"),
              "IndexDirectory": str(folder / "storage"), "HttpPort": http_port,
              "DicomPort": dicom_port, "DicomAet": ae_title, "RemoteAccessAllowed": False,
              "AuthenticationEnabled": False, "HttpBindAddress": "127.0.0.1",
              "DicomBindAddress": "127.0.0.1", "Plugins": [], "DicomCheckCalledAet": True,
              "StableAge": 1}
    config_dir = folder / "config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "orthanc.json").write_text(json.dumps(config))
    log = open(folder / "orthanc.log", "wb")
    proc = subprocess.Popen([orthanc_binary() or "Orthanc", f"{config_dir}/"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: port_open(http_port) and port_open(dicom_port), 30, "Orthanc")
        yield Orthanc(dicom_port, http_port, folder)
    finally:
        stop_process(proc)
        log.close()


def write_config(path: Path, *, model: Path, spool: Path, port: int, pacs_port: int,
                 settle_s: float = 0.5, idle_timeout_s: float = 30.0, extra: str = "",
                 backoff_s: float = 0.5, max_attempts: int = 5,
                 series_description: str = "MRF*", parametric_map: bool = False) -> Path:
    path.write_text(f"""
[serve]
ae_title = "MRFRECON"
port = {port}
allowed_calling_aets = ["SCANNER"]
max_associations = 4
spool_dir = "{spool}"
max_spool_mb = 200
{extra}
[acquisition]
settle_s = {settle_s}
idle_timeout_s = {idle_timeout_s}

[[models]]
model = "{model}"
series_description = "{series_description}"

[recon]
method = "quantized"
threads = 1
maps = ["T1map", "T2map", "M0map"]
parametric_map = {"true" if parametric_map else "false"}

[pacs]
host = "127.0.0.1"
port = {pacs_port}
ae_title = "PACS"
timeout_s = 10
max_attempts = {max_attempts}
backoff_s = {backoff_s}
backoff_max_s = 2
""")
    return path


@contextlib.contextmanager
def serve_process(config: Path, log_path: Path, port: int) -> Iterator[subprocess.Popen]:
    """``mrfrecon serve --config`` as a child process, listening when yielded."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = open(log_path, "ab")
    proc = subprocess.Popen([sys.executable, "-c", "from mrfrecon.cli import main; main()",
                             "serve", "--config", str(config), "--log-level", "debug"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        wait_for(lambda: proc.poll() is not None or port_open(port), 120, "mrfrecon serve")
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited: {log_path.read_text()[-2000:]}")
        yield proc
    finally:
        stop_process(proc)
        log.close()


def storescu(port: int, files: list[Path] | Path, *, calling: str = "SCANNER",
             called: str = "MRFRECON", timeout_s: float = 120,
             check: bool = True) -> subprocess.CompletedProcess:
    """dcmtk storescu: send a folder (or files) to 127.0.0.1:port."""
    targets = [str(files)] if isinstance(files, Path) else [str(f) for f in files]
    args = ["storescu", "-v", "-aet", calling, "-aec", called, "-to", "20", "-ta", "20", "-td", "20"]
    if isinstance(files, Path) and files.is_dir():
        args += ["+sd", "+r"]
    # dcmtk as packaged leaves Nagle's algorithm on: ~45 ms per instance on loopback
    env = {**os.environ, "TCP_NODELAY": "1"}
    result = subprocess.run(args + ["127.0.0.1", str(port), *targets], capture_output=True,
                            text=True, timeout=timeout_s, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"storescu failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


def orthanc_binary() -> str | None:
    """Orthanc's path: Debian installs it in /usr/sbin, which a user's PATH may lack."""
    found = shutil.which("Orthanc")
    if found is None and os.access("/usr/sbin/Orthanc", os.X_OK):
        found = "/usr/sbin/Orthanc"
    return found


@dataclass
class RecordingPacs:
    """An in-process pynetdicom Storage SCP that records SOP instance UIDs."""

    port: int
    received: list[str]
    fail_after: int | None = None  # answer 0xA700 after this many stores


@contextlib.contextmanager
def recording_pacs(fail_after: int | None = None) -> Iterator[RecordingPacs]:
    from pynetdicom import AE, evt
    from pynetdicom.presentation import DEFAULT_TRANSFER_SYNTAXES

    state = RecordingPacs(free_port(), [], fail_after)

    def handle(event):
        if state.fail_after is not None and len(state.received) >= state.fail_after:
            return 0xA700
        state.received.append(str(event.dataset.SOPInstanceUID))
        return 0x0000

    ae = AE(ae_title="PACS")
    for sop_class in ("1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.30"):
        ae.add_supported_context(sop_class, DEFAULT_TRANSFER_SYNTAXES)
    server = ae.start_server(("127.0.0.1", state.port), block=False,
                             evt_handlers=[(evt.EVT_C_STORE, handle)])
    try:
        yield state
    finally:
        server.shutdown()
