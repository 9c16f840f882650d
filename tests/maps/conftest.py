"""Fixtures for the reconstruction tests: a private table cache, a small model."""

from __future__ import annotations

import pytest
from maps_helpers import make_model


@pytest.fixture(autouse=True)
def _table_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MRFRECON_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "table-cache"))


@pytest.fixture(scope="session")
def short_model(short_fisp):
    return make_model(short_fisp)
