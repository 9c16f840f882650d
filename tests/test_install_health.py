"""What ``mrfrecon doctor`` says about the install (in-process); shipped files resolve."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mrfrecon import __version__, resources
from mrfrecon.cli import app
from mrfrecon.install_health import install_health
from mrfrecon.sequence import resolve_sequence_path
from tests.helpers import ROOT

runner = CliRunner()


def test_shipped_files_resolve_through_the_package():
    assert resources.shipped_sequences_dir() == ROOT / "mrfrecon" / "data" / "sequences"
    shipped = resolve_sequence_path("fisp_short400")
    assert shipped.resolve() == ROOT / "sequences" / "fisp_short400.yaml"
    assert (resources.hw_dir() / "rtl").resolve() == ROOT / "hw" / "rtl"


def test_install_health_of_this_checkout(monkeypatch, tmp_path):
    monkeypatch.setenv("MRFRECON_CACHE_DIR", str(tmp_path / "cache"))
    health = install_health(kernels=False)
    assert health.problems == [] and health.version == __version__ and health.source_checkout
    assert health.sequence_names == sorted(p.stem for p in (ROOT / "sequences").glob("*.yaml"))
    assert health.hw_missing == [] and health.cache.writable
    assert health.cache.path == str(tmp_path / "cache")


def test_doctor_reports_a_broken_install_and_exits_1(monkeypatch, tmp_path):
    """An install without its data (a wheel built without package data) is reported."""
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setattr(resources, "data_dir", lambda: empty)
    health = install_health(kernels=False)
    assert any("no shipped sequences" in p for p in health.problems)
    assert any("hw sources missing" in p and "mrf_train_kernel.vhd" in p
               for p in health.problems)
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["install"]["problems"] == health.problems
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("Error: install problems: no shipped sequences")
