"""mypy finds no type error in ``mrfrecon/`` (its settings: ``[tool.mypy]`` in pyproject.toml).

Run in a subprocess from the repository root so that the project's configuration and its
incremental cache (``.mypy_cache``) are used: a warm run takes seconds, a cold one under a minute.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # a cold cache (a fresh clone) takes ~30 s of CPU
def test_mypy_is_clean():
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
