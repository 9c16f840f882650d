"""The Storage SCP with real dcmtk peers: who may associate, what is refused, TLS, limits."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import pydicom
import pytest

from mrfrecon.serve.config import parse_config
from mrfrecon.serve.node import Node
from tests.serve.peers import free_port, storescu

pytestmark = pytest.mark.skipif(shutil.which("storescu") is None,
                                reason="dcmtk (storescu/echoscu) is not installed")


def _node(tmp_path: Path, model: Path, **serve) -> Node:
    data = {"serve": {"spool_dir": str(tmp_path / "spool"), "port": free_port(), **serve},
            "models": [{"model": str(model), "series_description": "MRF*"}],
            "pacs": {"host": "127.0.0.1", "port": free_port(), "ae_title": "PACS"}}
    return Node(parse_config(data, tmp_path))


@pytest.fixture
def model_file(tiny_model_path):
    return tiny_model_path  # loaded when the node starts


def _echo(port: int, calling: str, called: str = "MRFRECON") -> int:
    return subprocess.run(["echoscu", "-aet", calling, "-aec", called, "-to", "10", "-ta", "10",
                           "127.0.0.1", str(port)], capture_output=True, timeout=30).returncode


def test_echo_only_from_configured_callers(tmp_path, model_file):
    node = _node(tmp_path, model_file, allowed_calling_aets=["SCANNER", "CONSOLE"])
    node.start()
    try:
        assert node._server.server_address[0] == "127.0.0.1"  # loopback unless configured
        assert _echo(node.port, "SCANNER") == 0
        assert _echo(node.port, "CONSOLE") == 0
        assert _echo(node.port, "INTRUDER") != 0
        assert _echo(node.port, "SCANNER", called="OTHER") != 0
    finally:
        node.stop()


def _bad_uid_file(tmp_path: Path, source: Path) -> Path:
    ds = pydicom.dcmread(source)
    out = tmp_path / "bad.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the invalid UI value
        ds.SeriesInstanceUID = "../../../escaped"
        ds.save_as(out, enforce_file_format=True)
    return out


def test_store_spools_valid_and_refuses_bad_uids(tmp_path, model_file, phantom_dicom):
    files = sorted(Path(phantom_dicom["dicom"]).glob("*.dcm"))[:5]
    node = _node(tmp_path, model_file)
    node.start()
    try:
        storescu(node.port, files)
        bad = storescu(node.port, [_bad_uid_file(tmp_path, files[0])], check=False)
    finally:
        node.stop()
    series = pydicom.dcmread(files[0]).SeriesInstanceUID
    assert node.spool.incoming() == [series]
    stored = node.spool.incoming_files(series)
    assert sorted(p.stem for p in stored) == sorted(pydicom.dcmread(f).SOPInstanceUID
                                                    for f in files)
    assert stored[0].read_bytes()[128:132] == b"DICM"  # a DICOM file with meta, as received
    assert "Received Store Response (Error: CannotUnderstand)" in bad.stdout + bad.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.dcm", "spool"]
    assert node.stats.stored == 5


def test_spool_size_is_bounded(tmp_path, model_file, phantom_dicom):
    files = sorted(Path(phantom_dicom["dicom"]).glob("*.dcm"))[:600]
    assert sum(f.stat().st_size for f in files) > 2**20
    node = _node(tmp_path, model_file, max_spool_mb=1)
    node.start()
    try:
        result = storescu(node.port, files, check=False)
    finally:
        node.stop()
    assert "Received Store Response (Refused: OutOfResources)" in result.stdout + result.stderr
    assert 0 < node.stats.stored < len(files)
    assert node.spool.used_bytes <= 2**20


def test_concurrent_associations_are_bounded(tmp_path, model_file):
    from pynetdicom import AE

    node = _node(tmp_path, model_file, max_associations=2)
    node.start()
    ae = AE(ae_title="SCANNER")
    ae.add_requested_context("1.2.840.10008.1.1")
    held = []
    try:
        held = [ae.associate("127.0.0.1", node.port, ae_title="MRFRECON") for _ in range(2)]
        assert all(a.is_established for a in held)
        third = ae.associate("127.0.0.1", node.port, ae_title="MRFRECON")
        assert third.is_rejected
    finally:
        for assoc in held:
            assoc.release()
        node.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_tls_association(tmp_path, model_file):
    from pynetdicom import AE

    from mrfrecon.serve.config import TlsConfig

    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=60)
    node = _node(tmp_path, model_file, tls={"cert_file": "server.pem", "key_file": "server.key"})
    assert node.config.server.tls == TlsConfig(cert_file=cert, key_file=key)
    node.start()
    try:
        client = TlsConfig(ca_file=cert).client_context()
        ae = AE(ae_title="SCANNER")
        ae.add_requested_context("1.2.840.10008.1.1")
        assoc = ae.associate("127.0.0.1", node.port, ae_title="MRFRECON",
                             tls_args=(client, "localhost"))
        assert assoc.is_established
        assert int(assoc.send_c_echo().Status) == 0
        assoc.release()
        assert _echo(node.port, "SCANNER") != 0  # plain DICOM is not spoken on a TLS port
    finally:
        node.stop()
