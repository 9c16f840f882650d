"""Spool, UIDs, assembly and model rules: the pieces restart safety and path safety rest on."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from mrfrecon.serve.assembly import SeriesState
from mrfrecon.serve.config import ModelRule
from mrfrecon.serve.models import choose_rule
from mrfrecon.serve.spool import Spool, SpoolFullError
from mrfrecon.serve.uids import derived_uid, is_valid_uid, phi_hash

SERIES = "1.2.826.0.1.3680043.8.498.1"


@pytest.mark.parametrize("value, valid", [
    pytest.param("1.2.840.10008.5.1.4.1.1.4", True, id="mr-storage"),
    pytest.param("2.25.0", True, id="zero-component"),
    pytest.param("1.02.3", False, id="leading-zero"),
    pytest.param("../../etc/passwd", False, id="traversal"),
    pytest.param("1.2/3", False, id="slash"),
    pytest.param("1", False, id="one-component"),
    pytest.param("1." + "2" * 63, False, id="too-long"),
    pytest.param(".hidden", False, id="hidden"),
    pytest.param(12, False, id="not-a-string"),
])
def test_uid_grammar(value, valid):
    assert is_valid_uid(value) is valid


def test_derived_uids_are_deterministic_and_distinct():
    a = derived_uid(SERIES, "abc", "T1map")
    assert a == derived_uid(SERIES, "abc", "T1map") and is_valid_uid(a) and len(a) <= 64
    assert len({a, derived_uid(SERIES, "abd", "T1map"), derived_uid(SERIES, "abc", "T2map"),
                derived_uid(SERIES + "1", "abc", "T1map")}) == 4
    assert phi_hash("PATIENT-1") == phi_hash("PATIENT-1") != phi_hash("PATIENT-2")
    assert "PATIENT" not in phi_hash("PATIENT-1")


def test_store_claim_finish(tmp_path):
    spool = Spool(tmp_path / "spool", max_bytes=10_000)
    spool.recover()
    path = spool.store(SERIES, SERIES + ".1", b"a" * 100)
    assert path == tmp_path / "spool" / "incoming" / SERIES / f"{SERIES}.1.dcm"
    spool.store(SERIES, SERIES + ".1", b"b" * 100)  # a resend replaces
    spool.store(SERIES, SERIES + ".2", b"c" * 100)
    assert spool.used_bytes == 200 and spool.incoming() == [SERIES]
    assert path.read_bytes() == b"b" * 100
    job = spool.claim(SERIES, model="m.h5")
    assert spool.incoming() == [] and job.series_uid == SERIES
    assert sorted(p.name for p in job.input_dir.iterdir()) == [f"{SERIES}.1.dcm",
                                                                f"{SERIES}.2.dcm"]
    assert SERIES not in job.job_id  # hashed: job ids appear in logs
    assert job.state()["model"] == "m.h5" and spool.jobs() == [job]
    job.mark_sent("1.2.3")
    with (job.path / "sent.log").open("a") as fh:
        fh.write("1.2.")  # torn last line after a crash
    assert job.sent() == {"1.2.3"}
    spool.finish(job, {"n": 2})
    assert spool.jobs() == [] and spool.done_records() == [{"n": 2}]
    assert spool.used_bytes == 0


@pytest.mark.parametrize("series, sop", [
    pytest.param("../../outside", "1.2.3", id="series-traversal"),
    pytest.param(SERIES, "../1.2", id="sop-traversal"),
    pytest.param(SERIES, "", id="empty"),
])
def test_tag_values_never_become_paths(tmp_path, series, sop):
    spool = Spool(tmp_path / "spool", max_bytes=10_000)
    with pytest.raises(ValueError, match="not a valid UID"):
        spool.store(series, sop, b"x")
    assert not list((tmp_path / "spool" / "incoming").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spool"]


def test_spool_size_is_bounded(tmp_path):
    spool = Spool(tmp_path / "spool", max_bytes=250)
    spool.store(SERIES, SERIES + ".1", b"x" * 200)
    with pytest.raises(SpoolFullError, match="spool full"):
        spool.store(SERIES, SERIES + ".2", b"x" * 100)
    assert spool.used_bytes == 200


def test_recover_cleans_what_a_crash_leaves(tmp_path):
    spool = Spool(tmp_path / "spool", max_bytes=10_000)
    spool.store(SERIES, SERIES + ".1", b"x" * 10)
    job = spool.claim(SERIES)
    (tmp_path / "spool" / "tmp" / "partial.tmp").write_bytes(b"half")  # killed mid-store
    half_claim = tmp_path / "spool" / "jobs" / "00000000000000000001-abc"
    half_claim.mkdir()  # killed between mkdir and rename: incoming/ still has the files
    (job.path / "output.tmp").mkdir()  # killed mid-reconstruction
    again = Spool(tmp_path / "spool", max_bytes=10_000)
    again.recover()
    assert not list((tmp_path / "spool" / "tmp").iterdir())
    assert not half_claim.exists() and not (job.path / "output.tmp").exists()
    assert again.jobs() == [job] and again.used_bytes == 10


def _instance(sop: str, z: float, component: str, **tags) -> pydicom.Dataset:
    ds = pydicom.Dataset()
    ds.SOPInstanceUID = sop
    ds.ImagePositionPatient = [0, 0, z]
    ds.ImageType = ["ORIGINAL", "PRIMARY", component]
    for key, value in tags.items():
        setattr(ds, key, value)
    return ds


def test_series_complete_when_every_stack_has_the_model_frames():
    state = SeriesState(SERIES)
    n_t = 3
    for t in range(n_t):
        state.add(_instance(f"1.2.{t}", 0.0, "M"), now=10.0)
        state.add(_instance(f"1.3.{t}", 0.0, "P"), now=10.0)
    state.add(_instance("1.4.0", 5.0, "M"), now=11.0)  # a second slice has begun
    assert not state.is_complete(n_t)
    assert not state.is_ready(n_t, settle_s=1.0, idle_timeout_s=60.0, now=20.0)
    assert state.is_ready(n_t, settle_s=1.0, idle_timeout_s=60.0, now=71.0)  # idle timeout
    for t in range(1, n_t):
        state.add(_instance(f"1.4.{t}", 5.0, "M"), now=12.0)
        state.add(_instance(f"1.5.{t - 1}", 5.0, "P"), now=12.0)
    state.add(_instance("1.5.2", 5.0, "P"), now=12.0)
    state.add(_instance("1.5.2", 5.0, "P"), now=12.5)  # a resend counts once
    assert state.is_complete(n_t) and not state.is_complete(4) and not state.is_complete(None)
    assert not state.is_ready(n_t, settle_s=1.0, idle_timeout_s=60.0, now=13.0)  # settling
    assert state.is_ready(n_t, settle_s=1.0, idle_timeout_s=60.0, now=13.6)


def test_multiframe_series_counts_frames():
    state = SeriesState(SERIES)
    ds = _instance("1.2.1", 0.0, "M")
    ds.NumberOfFrames = 800
    state.add(ds, now=0.0)
    assert state.is_complete(400) and not state.is_complete(300)


def test_model_rules_hash_first_then_names_then_default():
    rules = (ModelRule(Path("by_protocol.h5"), protocol_name="MRF_*"),
             ModelRule(Path("by_description.h5"), series_description="*fisp*"),
             ModelRule(Path("by_hash.h5"), sequence_sha256="3f2a9c01"),
             ModelRule(Path("default.h5")))
    tags = {"ProtocolName": "MRF_FISP", "SeriesDescription": "a fisp series",
            "SequenceName": "", "ImageComments": "mrfrecon sequence sha256:3F2A9C01deadbeef"}
    assert choose_rule(rules, tags).model.name == "by_hash.h5"
    assert choose_rule(rules, {**tags, "ImageComments": ""}).model.name == "by_protocol.h5"
    assert choose_rule(rules, {"SeriesDescription": "my fisp"}).model.name == "by_description.h5"
    assert choose_rule(rules, {"SeriesDescription": "FISP"}).model.name == "default.h5"
    assert choose_rule(rules[:3], {"SeriesDescription": "other"}) is None
