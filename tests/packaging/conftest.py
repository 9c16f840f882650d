"""Session fixtures of the packaging tests: the wheel, and a fresh venv with it installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import build_wheel, make_venv, pip_install


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """``mrfrecon-*.whl`` built (offline) from a copy of this source tree."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def installed(tmp_path_factory, wheel) -> Path:
    """``bin/`` of a fresh venv with the wheel installed."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    pip_install(make_venv(venv), wheel)
    return venv / "bin"
