"""DICOM value helpers: TM/DT times through pydicom's valuerep."""

from __future__ import annotations

import datetime as dt

import pytest

from mrfrecon.io.dicom_tags import time_of_day_s


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("101010.5", 10 * 3600 + 10 * 60 + 10.5, id="TM with fraction"),
        pytest.param("1010", 10 * 3600 + 10 * 60, id="TM without seconds"),
        pytest.param("235959.999999", 86399.999999, id="TM last microsecond"),
        pytest.param(dt.time(1, 2, 3), 3723.0, id="already a time"),
    ],
)
def test_tm_to_seconds_since_midnight(value, seconds) -> None:
    assert time_of_day_s(value) == pytest.approx(seconds, abs=1e-6)


def test_dt_orders_across_midnight_and_time_zones() -> None:
    before = time_of_day_s("20240101235959.5")
    after = time_of_day_s("20240102000000.25")
    assert after - before == pytest.approx(0.75)
    # the same instant written in two zones
    assert time_of_day_s("20240101110000+0100") == time_of_day_s("20240101100000")


@pytest.mark.parametrize("value", ["", "  ", None, "garbage", "25:00"])
def test_empty_or_invalid_times_are_none(value) -> None:
    assert time_of_day_s(value) is None
