"""errors.one_line_message: one neutral line for any exception."""

from __future__ import annotations

import errno

import pytest

from mrfrecon.errors import SequenceError, one_line_message


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (SequenceError("fa_deg (200)\n  must be <= 180"), "fa_deg (200) must be <= 180"),
        (FileNotFoundError(errno.ENOENT, "No such file", "/x/y.h5"),
         "[Errno 2] No such file: '/x/y.h5'"),
        (ValueError(""), "ValueError"),
        (RuntimeError("boom\nagain"), "internal error (RuntimeError: boom again)"),
    ],
    ids=["collapsed", "oserror-file", "empty", "bug"],
)
def test_one_line_message(err, expected):
    assert one_line_message(err) == expected
