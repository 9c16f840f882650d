"""Fixtures for the serve tests: a 32x32 phantom DICOM series."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mrfrecon.cli import app


@pytest.fixture(scope="session")
def phantom_dicom(tmp_path_factory):
    """A 32x32, 1-slice, 400-frame magnitude+phase series (800 files) and its truth maps."""
    out = tmp_path_factory.mktemp("phantom")
    result = CliRunner().invoke(app, ["phantom", "--sequence", "fisp_short400", "--output",
                                      str(out), "--size", "32", "--noise", "0.002", "--dicom",
                                      "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
