"""The fingerprint-table cache and the bilinear interpolation of ``recon.table``.

The cache tests count the simulations by replacing ``build_table`` with a cheap builder whose
arrays depend on what it was asked for, so a stale entry would be visible in the values.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from mrfrecon.recon import table as table_module
from mrfrecon.recon.table import SignalTable, bilinear, cached_table, log_axis
from mrfrecon.sequence import sequence_from_dict

SHAPE, CRB_SHAPE = (6, 5), (4, 3)
T1_MS, T2_MS = (100.0, 3000.0), (10.0, 500.0)


def _sequence(fa_first_deg: float = 10.0):
    return sequence_from_dict({"name": "tiny", "kind": "fisp",
                               "fa_deg": [fa_first_deg, 20.0, 30.0, 40.0],
                               "tr_ms": [12.0, 12.0, 12.0, 12.0]})


@pytest.fixture
def builds(tmp_path, monkeypatch):
    """Calls of the table simulation; the cache in ``tmp_path``."""
    monkeypatch.setenv("MRFRECON_CACHE_DIR", str(tmp_path))
    calls = []

    def fake_build(sequence, project, t1_range_ms, t2_range_ms, *, shape, crb_shape, n_states):
        calls.append((sequence.sha256, shape))
        seed = int(hashlib.sha256(f"{sequence.sha256}{shape}".encode()).hexdigest()[:8], 16)
        rng = np.random.default_rng(seed)
        coef = (rng.standard_normal((*shape, 3)) + 1j).astype(np.complex64)
        return SignalTable(log_axis(*t1_range_ms, shape[0]), log_axis(*t2_range_ms, shape[1]),
                           coef, log_axis(*t1_range_ms, crb_shape[0]),
                           log_axis(*t2_range_ms, crb_shape[1]),
                           rng.standard_normal((*crb_shape, 2)))

    monkeypatch.setattr(table_module, "build_table", fake_build)
    return calls


def _cached(sequence, basis=None, shape=SHAPE, **kwargs):
    basis = np.eye(4, 3, dtype=np.complex64) if basis is None else basis
    return cached_table(sequence, basis, lambda s: s @ basis, T1_MS, T2_MS, shape=shape,
                        crb_shape=CRB_SHAPE, **kwargs)


def _assert_same(a: SignalTable, b: SignalTable) -> None:
    for name in ("log_t1", "log_t2", "coef", "crb_log_t1", "crb_log_t2", "log_sd"):
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype, name


def test_hit_returns_the_identical_table_without_simulating(builds, tmp_path):
    first = _cached(_sequence())
    (entry,) = tmp_path.glob("table-*.npz")
    second = _cached(_sequence())
    assert len(builds) == 1
    _assert_same(first, second)
    assert list(tmp_path.glob("table-*.npz")) == [entry]


def test_changed_sequence_basis_or_grid_is_a_new_entry(builds, tmp_path):
    base = _cached(_sequence())
    other_fa = _cached(_sequence(fa_first_deg=11.0))
    other_basis = _cached(_sequence(), basis=np.eye(4, 3, k=1, dtype=np.complex64))
    other_grid = _cached(_sequence(), shape=(7, 5))
    assert len(builds) == 4
    assert not np.array_equal(base.coef, other_fa.coef)  # not the first sequence's table
    assert other_grid.coef.shape[:2] == (7, 5)
    assert other_basis.coef.shape == base.coef.shape
    assert len(list(tmp_path.glob("table-*.npz"))) == 4


@pytest.mark.parametrize("damage", [
    pytest.param(lambda data: b"not a table", id="garbage"),
    pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
    pytest.param(lambda data: b"", id="empty"),
])
def test_a_damaged_entry_is_rebuilt_not_trusted(builds, tmp_path, damage):
    good = _cached(_sequence())
    (entry,) = tmp_path.glob("table-*.npz")
    entry.write_bytes(damage(entry.read_bytes()))
    rebuilt = _cached(_sequence())
    assert len(builds) == 2
    _assert_same(good, rebuilt)
    _assert_same(good, SignalTable.from_bytes(entry.read_bytes()))  # the entry was rewritten


def test_an_entry_of_another_shape_is_rebuilt(builds, tmp_path):
    good = _cached(_sequence())
    (entry,) = tmp_path.glob("table-*.npz")
    wrong = SignalTable(good.log_t1[:3], good.log_t2, good.coef[:3], good.crb_log_t1,
                        good.crb_log_t2, good.log_sd)
    entry.write_bytes(wrong.to_bytes())
    _assert_same(good, _cached(_sequence()))
    assert len(builds) == 2


def test_without_cache_nothing_is_read_or_written(builds, tmp_path):
    _cached(_sequence(), use_cache=False)
    _cached(_sequence(), use_cache=False)
    assert len(builds) == 2 and not list(tmp_path.iterdir())


def test_bilinear_is_exact_for_bilinear_functions_and_clamps():
    x_axis, y_axis = np.linspace(0.0, 2.0, 5), np.linspace(-1.0, 1.0, 4)
    gx, gy = np.meshgrid(x_axis, y_axis, indexing="ij")

    def f(x, y):
        return 1.0 + 2.0 * x - 3.0 * y + 0.5 * x * y

    values = np.stack([f(gx, gy), -f(gx, gy)], axis=-1)  # (nx, ny, 2)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0.0, 2.0, 50), rng.uniform(-1.0, 1.0, 50)
    got = bilinear(x_axis, y_axis, values, x, y)
    # the weights are float32 (memory), so exact to ~1e-7
    assert_allclose(got[:, 0], f(x, y), rtol=1e-6, atol=1e-6)
    assert_allclose(got[:, 1], -f(x, y), rtol=1e-6, atol=1e-6)
    # outside the axes the edge value is used
    outside = bilinear(x_axis, y_axis, values, np.array([-5.0, 9.0]), np.array([0.0, 7.0]))
    assert_allclose(outside[:, 0], [f(0.0, 0.0), f(2.0, 1.0)], rtol=1e-6)
