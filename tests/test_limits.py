"""Limits: special files, HDF5 layouts a model or dictionary may not have, memory budget."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from mrfrecon.dictionary import load_dictionary
from mrfrecon.errors import DictionaryError, InputFileError, ModelError
from mrfrecon.limits import LimitError, check_memory, check_regular_file
from mrfrecon.model import load_model


def test_special_files_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for path in (tmp_path / "fifo", "/dev/zero", "/proc/self/environ", tmp_path):
        with pytest.raises(InputFileError, match="regular file|system file"):
            check_regular_file(path)


def test_memory_budget_names_the_limit():
    with pytest.raises(LimitError, match="memory_fraction"):
        check_memory(float(1 << 62), "a test array")


def _h5(path, build):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "mrfrecon-model"
        f.attrs["format_version"] = 1
        build(f)
    return path


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda f: f.create_dataset("atoms", shape=(10**6, 10**4), dtype="c16", chunks=(1, 16),
                                    compression="gzip"), "chunked"),
        (lambda f: f.__setitem__("atoms", h5py.ExternalLink("/etc/other.h5", "/x")),
         "ExternalLink"),
        (lambda f: (f.create_dataset("x", data=np.ones(3)),
                    f.__setitem__("atoms", h5py.SoftLink("/x"))), "SoftLink"),
        (lambda f: f.create_dataset("atoms", shape=(4,), dtype="f8",
                                    external=[("/etc/passwd", 0, 32)]), "outside the file"),
        (lambda f: f.create_dataset("atoms", data=np.array([b"x"], dtype="S1")), "non-numeric"),
    ],
    ids=["chunked", "external-link", "soft-link", "external-storage", "strings"],
)
def test_hostile_hdf5_layouts_are_refused_before_reading(tmp_path, build, match):
    path = _h5(tmp_path / "m.h5", build)
    with pytest.raises(ModelError, match=match):
        load_model(path)
    with pytest.raises(DictionaryError, match=match):
        load_dictionary(path)


def test_huge_contiguous_dataset_names_the_limit(tmp_path, monkeypatch):
    import mrfrecon.limits as limits

    path = _h5(tmp_path / "m.h5", lambda f: f.create_dataset("atoms", data=np.ones(1000)))
    monkeypatch.setattr(limits, "LIMITS", limits.Limits(max_hdf5_dataset_bytes=100))
    monkeypatch.setattr(limits.check_hdf5_layout, "__defaults__", (limits.LIMITS,))
    with pytest.raises(ModelError, match="max_hdf5_dataset_bytes"):
        load_model(path)


def test_shared_memory_files_are_inputs(tmp_path):
    import tempfile

    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    with tempfile.NamedTemporaryFile(dir="/dev/shm") as fh:
        fh.write(b"abc")
        fh.flush()
        assert check_regular_file(fh.name) == 3
