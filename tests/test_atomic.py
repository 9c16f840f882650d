"""Atomic, no-clobber writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import pytest

from mrfrecon.atomic import atomic_folder
from mrfrecon.errors import OutputExistsError
from mrfrecon.io import atomic_write


def test_bytes_and_writer(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.bin", b"abc")

    def writer(fh: BinaryIO) -> None:
        fh.write(b"xyz")

    atomic_write(tmp_path / "b.bin", writer)
    assert (tmp_path / "a.bin").read_bytes() == b"abc"
    assert (tmp_path / "b.bin").read_bytes() == b"xyz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin"]


def test_no_overwrite_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_text("old")
    with pytest.raises(OutputExistsError, match="a.json"):
        atomic_write(target, b"new")
    assert target.read_text() == "old"
    atomic_write(target, b"new", overwrite=True)
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_failed_writer_leaves_nothing(tmp_path: Path) -> None:
    def broken(fh: BinaryIO) -> None:
        fh.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(tmp_path / "x.nii.gz", broken)
    assert list(tmp_path.iterdir()) == []


def test_permissions_follow_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        path = atomic_write(tmp_path / "p.txt", b"1")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640  # not mkstemp's 0o600


# --- result sets: atomic_folder


def _stage(folder, files):
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


def test_set_appears_whole(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out) as staging:
        _stage(staging, {"a.nii.gz": b"a", "sub/b.dcm": b"b"})
        assert not out.exists()  # nothing visible before the block ends
    assert (out / "a.nii.gz").read_bytes() == b"a" and (out / "sub/b.dcm").read_bytes() == b"b"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_one_conflict_moves_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "b").write_bytes(b"theirs")
    (out / "same").write_bytes(b"x")
    with pytest.raises(OutputExistsError, match="'.*b'"):
        with atomic_folder(out) as staging:
            _stage(staging, {"a": b"a", "b": b"mine", "same": b"x"})
    assert sorted(p.name for p in out.iterdir()) == ["b", "same"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_shared_files_keep_the_existing_one(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dataset_description.json").write_bytes(b"first")
    with atomic_folder(out, keep_existing=["dataset_description.json"]) as staging:
        _stage(staging, {"dataset_description.json": b"second", "a": b"a"})
    assert (out / "dataset_description.json").read_bytes() == b"first"
    assert (out / "a").read_bytes() == b"a"


def test_failure_inside_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_folder(out) as staging:
            _stage(staging, {"a": b"a"})
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
