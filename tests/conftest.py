"""Shared fixtures: shipped sequences (short ones keep the suite fast), small models, and a
private table cache for every test; the order and grouping of the tests for pytest-xdist."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrfrecon.kernel_cache import configure_numba_cache
from mrfrecon.sequence import Sequence, load_sequence
from tests.helpers import make_model

# Compiled kernels go to the user's cache (kept between sessions), pinned before the per-test
# MRFRECON_CACHE_DIR below could send them to this session's temporary folder.
configure_numba_cache()

ROOT = Path(__file__).resolve().parents[1]
SEQUENCES = ROOT / "sequences"


# rough cost of one test in seconds by marker, to start long work first (HDL simulations: tens
# of seconds to minutes; slow: tens of seconds; most others: well under a second)
_COST = {"hdl": 60.0, "slow": 20.0}
_PLAIN_COST = 0.3


def _unit(item: pytest.Item) -> str:
    """xdist work unit: each HDL simulation alone (they dominate and must spread over the
    workers), every other test with its module (module fixtures are built once)."""
    if item.get_closest_marker("hdl") is not None:
        return item.nodeid
    return item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # before xdist's hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    """Work units (``--dist loadgroup`` of ``make test``) in order of their summed cost, longest
    first, so that no worker is left alone on a long test at the end (``--no-loadscope-reorder``
    keeps this order). Stable: tests of a unit keep their order."""
    cost: dict[str, float] = {}
    for item in items:
        unit = _unit(item)
        weight = max((c for m, c in _COST.items() if item.get_closest_marker(m)),
                     default=_PLAIN_COST)
        cost[unit] = cost.get(unit, 0) + weight
        if unit != item.nodeid:
            item.add_marker(pytest.mark.xdist_group(unit))
    first = {}
    for index, item in enumerate(items):
        first.setdefault(_unit(item), index)
    items.sort(key=lambda item: (-cost[_unit(item)], first[_unit(item)]))


@pytest.fixture(autouse=True)
def _table_cache(tmp_path_factory, monkeypatch):
    """Fingerprint tables go to this session's folder, never the user's cache."""
    monkeypatch.setenv("MRFRECON_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "table-cache"))


@pytest.fixture(scope="session")
def jiang() -> Sequence:
    return load_sequence(SEQUENCES / "fisp_jiang2015.yaml")


@pytest.fixture(scope="session")
def short_fisp() -> Sequence:
    return load_sequence(SEQUENCES / "fisp_short400.yaml")


@pytest.fixture(scope="session")
def ma_bssfp() -> Sequence:
    return load_sequence(SEQUENCES / "bssfp_ma2013.yaml")


@pytest.fixture(scope="session")
def tiny_model(short_fisp):
    """A small but real model: short schedule, few samples and epochs (seconds to train)."""
    from mrfrecon.training import RetrainConfig, retrain

    config = RetrainConfig(
        n_train=4000, n_val=800, seconds=None, max_epochs=(4, 4, 2), patience=100, seed=7
    )
    return retrain(short_fisp, config).model


@pytest.fixture(scope="session")
def tiny_model_path(tiny_model, tmp_path_factory):
    from mrfrecon.model import save_model

    return save_model(tiny_model, tmp_path_factory.mktemp("model") / "tiny_model.h5")


@pytest.fixture
def require_tool():
    """``require_tool(name)`` -> the tool's path; skips when it is missing, unless the env
    variable ``MRFRECON_REQUIRE_TOOLS=1`` (set by ``make test``) turns the skip into a failure."""
    import os
    import shutil
    import sys

    def find(name: str) -> str:
        # console scripts of the running venv first (bids-validator-deno), then PATH
        local = Path(sys.executable).parent / name
        path = str(local) if local.is_file() else shutil.which(name)
        if path is None:
            message = f"'{name}' is not installed (see the Makefile's system/venv targets)"
            if os.environ.get("MRFRECON_REQUIRE_TOOLS") == "1":
                pytest.fail(message)
            pytest.skip(message)
        return path

    return find
@pytest.fixture(scope="session")
def short_model(short_fisp):
    """A model with the real feature map of the short schedule and arbitrary small networks."""
    return make_model(short_fisp)
