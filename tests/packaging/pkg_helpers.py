"""Helpers of the packaging tests: build the wheel from a copy of this source tree, make a fresh
venv and install it there (not editable), run commands with the working directory outside the
clone.

Offline and fast: the wheel is built without build isolation, the venv is created without pip
and sees the test interpreter's dependencies through a ``.pth`` file (the dependencies' site
folder is appended after the venv's own, so the installed ``mrfrecon`` wins; ``.pth`` files in
that folder, such as an editable install's finder, are not processed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# never copied into the build tree: outputs, caches and a stale build/ whose files would leak
# into the wheel
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
    "sim_build*", "mrfrecon-demo", "out", "demo_out", "*.whl",
)


def run(cmd: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; fail the test with its output when it exits non-zero."""
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} -> {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def clean_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an installed command: no PYTHONPATH (it would put the clone first),
    no inherited numba cache, mrfrecon's caches in ``cache_dir``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR", "MRFRECON_CACHE_DIR")}
    env["MRFRECON_CACHE_DIR"] = str(cache_dir)
    env.update(extra)
    return env


def make_venv(path: Path) -> Path:
    """A fresh venv (no pip) that sees this interpreter's dependencies; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "_mrfrecon_test_deps.pth").write_text("".join(f"{d}\n" for d in deps))
    return python


def pip_install(python: Path, wheel_file: Path) -> None:
    """Install ``wheel_file`` (no dependencies, offline) into the venv of ``python``.

    ``--ignore-installed``: the test environment's own (editable) mrfrecon is visible through
    the ``.pth`` file; pip must neither skip the install for it nor touch it.
    """
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", "--ignore-installed", wheel_file], cwd=wheel_file.parent)




def build_wheel(dest: Path) -> Path:
    """``mrfrecon-*.whl`` built offline from a copy of this source tree, in ``dest``."""
    src = dest / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=COPY_IGNORE)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", ".", "-w", dest / "dist"], cwd=src)
    (found,) = (dest / "dist").glob("mrfrecon-*.whl")
    return found
