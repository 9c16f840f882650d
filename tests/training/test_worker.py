"""A training path in a second process: its value, its progress and its errors come back."""

from __future__ import annotations

import pytest

from mrfrecon.training import worker


def count_to(n: int, report) -> int:
    """A path function (module level, so that the child can import it)."""
    for i in range(1, n + 1):
        report("count", i, n)
    return n * n


def refuse(message: str, report) -> None:
    raise ValueError(message)


@pytest.mark.parametrize("parallel", [True, False], ids=["child", "inline"])
def test_value_and_progress_come_back(parallel):
    seen = []
    handle = worker.start(count_to, lambda *args: seen.append(args), parallel=parallel)
    handle.submit(3)
    assert handle.result() == 9
    assert seen == [("count", 1, 3), ("count", 2, 3), ("count", 3, 3)]
    assert (handle.cpu_seconds > 0) == parallel  # the child's own CPU time, imports included
    handle.close()


@pytest.mark.parametrize("parallel", [True, False], ids=["child", "inline"])
def test_an_error_in_the_path_is_raised_in_the_caller(parallel):
    handle = worker.start(refuse, lambda *args: None, parallel=parallel)
    handle.submit("bad job 42")
    with pytest.raises(ValueError, match="bad job 42"):
        handle.result()


def test_a_child_that_dies_is_reported_and_close_stops_a_running_one():
    handle = worker.start(count_to, lambda *args: None)
    handle.close()  # killed before it had a job
    with pytest.raises(RuntimeError, match="ended .* without a result"):
        handle.result()
