"""The wheel is a working tool: shipped sequences and hw sources inside, and the installed
commands (demo, maps, doctor) run from a fresh venv with the working directory outside the clone."""

from __future__ import annotations

import json
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from mrfrecon import __version__
from mrfrecon.engine.hdl_sim import RTL_FILES
from mrfrecon.install_health import HW_BENCH_FILES
from tests.helpers import COPY_IGNORE, ROOT, clean_env, run


def test_wheel_carries_sequences_and_hw_sources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for seq in (ROOT / "sequences").glob("*.yaml"):
        assert f"mrfrecon/data/sequences/{seq.name}" in names
    for rel in [f"rtl/{n}" for n in RTL_FILES] + list(HW_BENCH_FILES):
        assert f"mrfrecon/data/hw/{rel}" in names, rel
        shipped = zipfile.ZipFile(wheel).read(f"mrfrecon/data/hw/{rel}")
        assert shipped == (ROOT / "hw" / rel).read_bytes(), rel
    # data, not modules: no pytest files or synthesis scripts from hw/ in the wheel
    assert not [n for n in names if n.startswith("mrfrecon/data/hw/") and "/test_" in n]
    assert f"mrfrecon-{__version__}.dist-info/entry_points.txt" in names



def test_wheel_built_from_the_sdist_carries_the_same_files(wheel, tmp_path):
    """The release path (sdist, then a wheel from the unpacked sdist, as ``python -m build``
    does): the symlinked folders become real ones in the sdist and nothing is lost."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=COPY_IGNORE)
    run([sys.executable, "-c", "from setuptools import build_meta as b; b.build_sdist('sdist')"],
        cwd=src)
    (sdist,) = (src / "sdist").glob("mrfrecon-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", ".", "-w", tmp_path / "dist"], cwd=unpacked)
    (rebuilt,) = (tmp_path / "dist").glob("mrfrecon-*.whl")

    def contents(path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as z:
            return {n: z.read(n) for n in z.namelist() if not n.endswith("RECORD")}

    assert contents(rebuilt) == contents(wheel)


@pytest.mark.slow
def test_installed_wheel_runs_demo_and_maps_outside_the_clone(installed, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    env = clean_env(tmp_path / "cache")
    mrfrecon = installed / "mrfrecon"

    out = run([mrfrecon, "--version"], cwd=work, env=env).stdout
    assert out.strip() == f"mrfrecon {__version__}"
    out = run([installed / "python", "-m", "mrfrecon", "--version"], cwd=work, env=env).stdout
    assert out.strip() == f"mrfrecon {__version__}"
    where = run([installed / "python", "-c", "import mrfrecon; print(mrfrecon.__file__)"],
                cwd=work, env=env).stdout.strip()
    package = Path(where).parent
    assert package.is_relative_to(installed.parent) and not package.is_relative_to(ROOT)

    shown = json.loads(run([mrfrecon, "sequence", "show", "fisp_jiang2015", "--json"],
                           cwd=work, env=env).stdout)
    assert shown["n_timepoints"] == 1000

    demo = run([mrfrecon, "demo", "--seconds", "5", "--size", "32", "--output", "demo",
                "--json"], cwd=work, env=env)
    payload = json.loads(demo.stdout)
    assert payload["metrics"]["matching"]["t1"]["mape"] < 5
    assert (work / "demo" / "model.h5").is_file()
    # first use compiled the kernels into the user cache, said so once, wrote nothing into
    # the installed package
    assert demo.stderr.count("Compiling mrfrecon's numba kernels") == 1
    # the message is wrapped to the terminal width, also inside the path (no whitespace in it)
    assert str(tmp_path / "cache" / "numba") in "".join(demo.stderr.split())
    assert list((tmp_path / "cache" / "numba").rglob("*.nbi"))
    assert not list(package.rglob("*.nbi")) and not list(package.rglob("*.nbc"))

    (series,) = (work / "demo" / "phantom").glob("*_MRF.nii*")
    maps = json.loads(run([mrfrecon, "maps", series, "--model", "demo/model.h5", "--output",
                           "maps", "--json"], cwd=work, env=env).stdout)
    assert maps
    written = sorted(p.name for p in (work / "maps").rglob("*"))  # sub-*/anat/: BIDS layout
    assert any(n.endswith("_T1map.nii.gz") for n in written), written
    assert any(n.endswith("_T2map.nii.gz") for n in written), written
    # later processes load the kernels: no second notice
    again = run([mrfrecon, "maps", series, "--model", "demo/model.h5", "--output", "maps2",
                 "--json"], cwd=work, env=env)
    assert "Compiling" not in again.stderr

    doctor = json.loads(run([mrfrecon, "doctor", "--json"], cwd=work, env=env).stdout)
    health = doctor["install"]
    assert health["version"] == __version__ and not health["source_checkout"]
    assert health["problems"] == []
    assert Path(health["sequences"]["path"]).is_relative_to(package)
    assert health["sequence_names"] == sorted(p.stem for p in (ROOT / "sequences").glob("*.yaml"))
    assert Path(health["hw"]["path"]).is_relative_to(package) and health["hw_missing"] == []
    assert health["numba_cache"] == {"path": str(tmp_path / "cache" / "numba"), "exists": True,
                                     "readable": True, "writable": True}
    # the demo ran the real-valued EPG kernel (FISP, phase 0) and the emulator's generators?
    # no: it retrains with QAT only; EPG is what it certainly compiled
    assert health["kernels"]["mrfrecon.physics.epg_kernels.real_kernel"] >= 1


@pytest.mark.hdl
@pytest.mark.skipif(shutil.which("ghdl") is None, reason="GHDL not installed")
def test_installed_wheel_trains_on_the_hdl_simulation(installed, tmp_path):
    """``--device hdl`` simulates the RTL and benches shipped inside the installed package."""
    env = clean_env(tmp_path / "cache")
    result = run([installed / "mrfrecon", "retrain", "--sequence", "fisp_short400", "--engine",
                  "fixed", "--device", "hdl", "--epochs", "1", "--samples", "1000",
                  "--fixed-samples", "48", "--fixed-epochs", "1", "--seed", "5", "--output",
                  "model.h5", "--json"], cwd=tmp_path, env=env)
    payload = json.loads(result.stdout)
    assert payload["engine"] == "fixed" and payload["device"] == "hdl", payload
    assert (tmp_path / "model.h5").is_file()
