"""kernel_cache: where the compiled kernels go (the cache folder rules, the fallback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mrfrecon.kernel_cache import numba_cache_dir, user_cache_dir
from tests.helpers import ROOT


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({"MRFRECON_CACHE_DIR": "/c/m", "XDG_CACHE_HOME": "/x"}, "/c/m/numba",
                     id="override"),
        pytest.param({"XDG_CACHE_HOME": "/x"}, "/x/mrfrecon/numba", id="xdg"),
        pytest.param({"HOME": "/h"}, "/h/.cache/mrfrecon/numba", id="home"),
        pytest.param({"NUMBA_CACHE_DIR": "/n", "MRFRECON_CACHE_DIR": "/c"}, "/n",
                     id="numba-explicit"),
    ],
)
def test_numba_cache_dir_rules(monkeypatch, env, expected):
    for key in ("MRFRECON_CACHE_DIR", "XDG_CACHE_HOME", "NUMBA_CACHE_DIR"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert numba_cache_dir() == Path(expected)
    if "NUMBA_CACHE_DIR" not in env:
        assert numba_cache_dir().parent == user_cache_dir()


def _configure_in_fresh_process(tmp_path: Path, cache: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(MRFRECON_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
    code = ("import os; from mrfrecon.kernel_cache import configure_numba_cache; "
            "from numba.core import config; p = configure_numba_cache(); "
            "print(p); print(config.CACHE_DIR); print(os.environ['NUMBA_CACHE_DIR'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_configure_points_numba_at_the_user_cache(tmp_path):
    lines = _configure_in_fresh_process(tmp_path, str(tmp_path / "cache"))
    assert lines == [str(tmp_path / "cache" / "numba")] * 3
    assert (tmp_path / "cache" / "numba").is_dir()


def test_unwritable_cache_falls_back_to_a_temp_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # mkdir below it fails, even for root
    lines = _configure_in_fresh_process(tmp_path, str(blocker / "cache"))
    assert len(set(lines)) == 1 and f"mrfrecon-{os.getuid()}" in lines[0]
    assert Path(lines[0]).name == "numba" and not lines[0].startswith(str(blocker))
