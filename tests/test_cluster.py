"""Batch on a Dask cluster: same results as the local run; lock, resume and failures still hold."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from typer.testing import CliRunner

from mrfrecon.batch import BatchLockedError, batch_lock, run_batch
from mrfrecon.cli import app
from mrfrecon.cluster import SchedulerSpec, parse_scheduler
from mrfrecon.model import save_model
from mrfrecon.phantom import brain_phantom, simulate_series
from tests.helpers import save_series

runner = CliRunner()


@pytest.mark.parametrize("spec, expected", [
    (None, SchedulerSpec("threads", 3)),
    ("local:2", SchedulerSpec("local", 2)),
    ("tcp://10.0.0.5:8786", SchedulerSpec("remote", address="tcp://10.0.0.5:8786")),
    ("tls://scheduler.example.org:8786",
     SchedulerSpec("remote", address="tls://scheduler.example.org:8786")),
])
def test_parse_scheduler(spec, expected):
    assert parse_scheduler(spec, jobs=3) == expected


@pytest.mark.parametrize("spec", ["local:0", "local:x", "tcp://host", "http://h:1", "h:8786"])
def test_parse_scheduler_refuses(spec):
    with pytest.raises(ValueError, match="scheduler"):
        parse_scheduler(spec)


@pytest.fixture(scope="module")
def tree(tmp_path_factory, short_fisp, short_model):
    root = tmp_path_factory.mktemp("cluster")
    model = root / "model.h5"
    save_model(short_model, model)
    inputs = root / "in"
    phantom = brain_phantom(16)
    for i, noise in enumerate([0.002, 0.004, 0.006], start=1):
        folder = inputs / f"sub-0{i}"
        folder.mkdir(parents=True)
        save_series(folder / f"sub-0{i}_MRF.nii.gz", simulate_series(short_fisp, phantom, noise))
    (inputs / "sub-09").mkdir()
    (inputs / "sub-09" / "sub-09_MRF.nii.gz").write_bytes(b"not a nifti file")
    return model, inputs


def _maps(folder):
    return {p.relative_to(folder).as_posix(): np.asarray(nib.load(p).dataobj)
            for p in sorted(folder.rglob("*.nii.gz"))}


@pytest.mark.slow
def test_local_cluster_matches_local_run(tree, tmp_path):
    model, inputs = tree
    local = run_batch(inputs, model, tmp_path / "local")
    cluster = run_batch(inputs, model, tmp_path / "dask", scheduler="local:2")
    assert cluster.counts() == local.counts() == {"done": 3, "failed": 1, "previously done": 0}
    failed = [s for s in cluster.studies if s.status == "failed"]
    assert [s.study for s in failed] == ["sub-09/sub-09_MRF.nii.gz"]
    assert "\n" not in failed[0].error
    a, b = _maps(tmp_path / "local"), _maps(tmp_path / "dask")
    assert len(a) >= 9 and a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    # resume: finished studies are skipped, the failed one is tried again
    again = run_batch(inputs, model, tmp_path / "dask", scheduler="local:2")
    assert again.counts() == {"done": 0, "failed": 1, "previously done": 3}
    # the lock still refuses a second run on the same output, before any cluster starts
    with batch_lock(tmp_path / "dask"), pytest.raises(BatchLockedError):
        run_batch(inputs, model, tmp_path / "dask", scheduler="local:2")


def test_cli_scheduler_errors(tree, tmp_path):
    model, inputs = tree
    base = ["batch", str(inputs), "--model", str(model), "--output", str(tmp_path / "o")]
    bad = runner.invoke(app, [*base, "--scheduler", "somewhere"])
    assert bad.exit_code == 2 and "local:N" in bad.output
    both = runner.invoke(app, [*base, "--scheduler", "local:2", "--jobs", "2"])
    assert both.exit_code == 2 and "--jobs" in both.output
    unreachable = runner.invoke(app, [*base, "--scheduler", "tcp://127.0.0.1:9", "--json"])
    lines = [ln for ln in unreachable.output.splitlines() if ln.strip()]
    assert unreachable.exit_code == 1, unreachable.output
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0]
    assert not list((tmp_path / "o").rglob("*.nii.gz"))


@pytest.mark.slow
def test_remote_scheduler_address(tree, tmp_path):
    """tcp://HOST:PORT joins a running scheduler (here one started on loopback by the test)."""
    import logging

    distributed = pytest.importorskip("distributed")
    model, inputs = tree
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        result = run_batch(inputs, model, tmp_path / "out", scheduler=address)
    assert result.counts() == {"done": 3, "failed": 1, "previously done": 0}
    done = [s for s in result.studies if s.status == "done"]
    assert all(s.n_outputs > 0 and s.summary["n_voxels"] > 0 for s in done)
