"""Shared fixtures: shipped sequences (short ones keep the suite fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrfrecon.sequence import Sequence, load_sequence

ROOT = Path(__file__).resolve().parents[1]
SEQUENCES = ROOT / "sequences"


@pytest.fixture(scope="session")
def jiang() -> Sequence:
    return load_sequence(SEQUENCES / "fisp_jiang2015.yaml")


@pytest.fixture(scope="session")
def short_fisp() -> Sequence:
    return load_sequence(SEQUENCES / "fisp_short400.yaml")


@pytest.fixture(scope="session")
def ma_bssfp() -> Sequence:
    return load_sequence(SEQUENCES / "bssfp_ma2013.yaml")
