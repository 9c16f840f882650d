"""Fuzzing the command line with mutated inputs: every run ends with success or one line.

Property (hypothesis): a valid sequence file, NIfTI series, DICOM file or model file, truncated,
with bytes flipped or overwritten, makes ``mrfrecon`` (a subprocess under ``RLIMIT_AS``) exit 0,
or exit 1 with exactly one ``Error:`` line and no traceback, and leave no output behind on
failure. A few examples per target by default; ``MRFRECON_FUZZ_EXAMPLES=200 make fuzz`` for a
long run.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mrfrecon.model import save_model  # noqa: E402
from tests.helpers import save_series  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
N_EXAMPLES = int(os.environ.get("MRFRECON_FUZZ_EXAMPLES", "2"))
MEMORY_LIMIT = 6 << 30  # bytes of address space for one CLI run
FUZZ = settings(max_examples=N_EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """``data`` truncated, with bytes flipped, or with a run overwritten (sizes, types)."""
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite"]))
    out = bytearray(data)
    if kind == "truncate":
        return bytes(out[: draw(st.integers(0, max(0, len(out) - 1)))])
    n = draw(st.integers(1, 8))
    for _ in range(n):
        at = draw(st.integers(0, len(out) - 1))
        if kind == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        else:
            chunk = draw(st.binary(min_size=1, max_size=8))
            out[at:at + len(chunk)] = chunk
    return bytes(out[: len(data) + 8])


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MRFRECON_DEBUG": "",
           "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("MRFRECON_DEBUG")
    return subprocess.run([sys.executable, "-m", "mrfrecon", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_memory)


def assert_clean(result: subprocess.CompletedProcess, output: Path | None = None) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode in (0, 1), (result.returncode, result.stderr[-2000:])
    if result.returncode == 1:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr[-2000:]
        if output is not None:
            assert not output.exists() or not any(output.iterdir()), list(output.rglob("*"))


@pytest.fixture(scope="module")
def valid(tmp_path_factory, short_fisp, short_model):
    from mrfrecon.phantom import brain_phantom, simulate_series, write_dicom_series

    folder = tmp_path_factory.mktemp("fuzz-valid")
    series = simulate_series(short_fisp, brain_phantom(16), 0.003)
    save_series(folder / "sub-01_MRF.nii", series)
    save_model(short_model, folder / "model.h5")
    write_dicom_series(series, folder / "dicom")
    (folder / "seq.yaml").write_text((ROOT / "sequences" / "fisp_short400.yaml").read_text())
    return folder


def _fresh(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=st.data())
def test_mutated_sequence_file(valid, tmp_path_factory, data):
    work = _fresh(tmp_path_factory)
    path = work / "seq.yaml"
    path.write_bytes(data.draw(mutated((valid / "seq.yaml").read_bytes())))
    assert_clean(run_cli(["sequence", "show", str(path), "--json"], work))


@FUZZ
@given(data=st.data())
def test_mutated_nifti_header(valid, tmp_path_factory, data):
    work = _fresh(tmp_path_factory)
    raw = (valid / "sub-01_MRF.nii").read_bytes()
    head = data.draw(mutated(raw[:352]))
    (work / "sub-01_MRF.nii").write_bytes(head + raw[352:] if len(head) >= 348 else head)
    out = work / "out"
    assert_clean(run_cli(["maps", "sub-01_MRF.nii", "-m", str(valid / "model.h5"), "-o", "out",
                          "--method", "float"], work), out)


@FUZZ
@given(data=st.data())
def test_mutated_model_file(valid, tmp_path_factory, data):
    work = _fresh(tmp_path_factory)
    (work / "model.h5").write_bytes(data.draw(mutated((valid / "model.h5").read_bytes())))
    shutil.copy(valid / "sub-01_MRF.nii", work / "in.nii")
    out = work / "out"
    assert_clean(run_cli(["maps", "in.nii", "-m", "model.h5", "-o", "out", "--method", "float"],
                         work), out)


@FUZZ
@given(data=st.data())
def test_mutated_dicom_file(valid, tmp_path_factory, data):
    work = _fresh(tmp_path_factory)
    shutil.copytree(valid / "dicom", work / "dicom")
    victim = sorted((work / "dicom").rglob("*.dcm"))[0]
    victim.write_bytes(data.draw(mutated(victim.read_bytes())))
    out = work / "out"
    assert_clean(run_cli(["maps", "dicom", "-m", str(valid / "model.h5"), "-o", "out",
                          "--method", "float"], work), out)
