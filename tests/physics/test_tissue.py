"""Tissue: the parameters shared by the EPG and Bloch simulators."""

from __future__ import annotations

import pytest

from mrfrecon.physics import Tissue


def test_tissue_rejects_nonpositive_times():
    with pytest.raises(ValueError, match="t1_ms and t2_ms"):
        Tissue.make([0.0], [10.0])
