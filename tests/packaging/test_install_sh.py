"""packaging/: install.sh stages a release into a temporary prefix (DESTDIR style) and the
installed tool's doctor passes from there; the systemd units verify; the configuration files
parse; sysusers/tmpfiles/logrotate entries are what the units expect."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from mrfrecon import __version__
from tests.helpers import ROOT, clean_env, run

PACKAGING = ROOT / "packaging"
PREFIX = "/opt/mrfrecon"
UNITS = ("mrfrecon-serve.service", "mrfrecon-batch.service", "mrfrecon-batch.path",
         "mrfrecon-batch.timer")


@pytest.fixture(scope="module")
def staged(wheel, tmp_path_factory) -> Path:
    """DESTDIR of ``install.sh --destdir`` with the test environment's packages reused."""
    destdir = tmp_path_factory.mktemp("destdir")
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    reuse = [arg for d in deps for arg in ("--reuse-site", d)]
    env = clean_env(destdir / "cache")
    result = run(["sh", PACKAGING / "install.sh", "--wheel", wheel, "--prefix", PREFIX,
                  "--destdir", destdir, "--python", sys.executable, *reuse], cwd=destdir,
                 env=env)
    assert f"installed mrfrecon {__version__}" in result.stderr
    assert "sequences" in result.stderr and "compiled kernels" in result.stderr  # doctor ran
    return destdir


def test_install_sh_stages_a_working_release(staged, tmp_path):
    root = staged / PREFIX.lstrip("/")
    # the venv's scripts run from the final prefix once the stage is copied to /
    assert (root / "bin" / "mrfrecon").read_text().splitlines()[0] == f"#!{PREFIX}/bin/python"
    # the staged interpreter runs the installed package, not the clone's
    env = clean_env(tmp_path / "cache")
    where = run([root / "bin" / "python", "-c", "import mrfrecon; print(mrfrecon.__file__)"],
                cwd=tmp_path, env=env).stdout.strip()
    assert Path(where).is_relative_to(root)
    doctor = json.loads(run([root / "bin" / "python", "-m", "mrfrecon", "doctor", "--json"],
                            cwd=tmp_path, env=env).stdout)
    health = doctor["install"]
    assert health["problems"] == [] and health["version"] == __version__
    assert Path(health["sequences"]["path"]).is_relative_to(root)
    assert Path(health["hw"]["path"]).is_relative_to(root)
    # the service layout, with paths pointing at the prefix
    for unit in UNITS:
        assert (staged / "etc/systemd/system" / unit).is_file(), unit
    for rel in ("usr/lib/sysusers.d/mrfrecon.conf", "usr/lib/tmpfiles.d/mrfrecon.conf",
                "etc/logrotate.d/mrfrecon", "etc/mrfrecon/mrfrecon.toml",
                "etc/mrfrecon/batch.env", "opt/mrfrecon/share/doc/mrfrecon/ADMIN.md"):
        assert (staged / rel).is_file(), rel


def test_install_sh_other_prefix_keeps_an_existing_configuration(wheel, tmp_path):
    """Units follow --prefix; an install over an existing configuration keeps it."""
    destdir = tmp_path / "stage"
    conf = destdir / "etc" / "mrfrecon" / "mrfrecon.toml"
    conf.parent.mkdir(parents=True)
    conf.write_text("# the site's own\n")
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    reuse = [arg for d in deps for arg in ("--reuse-site", d)]
    run(["sh", PACKAGING / "install.sh", "--wheel", wheel, "--destdir", destdir, "--prefix",
         "/srv/mrf", "--python", sys.executable, *reuse], cwd=tmp_path,
        env=clean_env(tmp_path / "cache"))
    serve = (destdir / "etc/systemd/system/mrfrecon-serve.service").read_text()
    assert "ExecStart=/srv/mrf/bin/mrfrecon serve" in serve and "/opt/mrfrecon" not in serve
    assert (destdir / "srv/mrf/bin/mrfrecon").read_text().startswith("#!/srv/mrf/bin/python\n")
    assert conf.read_text() == "# the site's own\n"
    assert conf.with_name("mrfrecon.toml.new").read_text() == (
        PACKAGING / "etc" / "mrfrecon.toml").read_text()


def test_install_sh_refuses_bad_input_in_one_line(tmp_path):
    result = subprocess.run(["sh", str(PACKAGING / "install.sh"), "--wheel",
                             str(tmp_path / "missing.whl"), "--destdir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == f"install.sh: error: wheel not found: '{tmp_path}/missing.whl'"
    assert not (tmp_path / "opt").exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze missing (make system installs it)")
def test_systemd_units_verify(staged, tmp_path):
    """``systemd-analyze verify`` on the installed units, with ExecStart= pointing at the
    staged prefix (verify checks that the executables exist)."""
    root = staged / PREFIX.lstrip("/")
    units = tmp_path / "units"
    units.mkdir()
    for unit in UNITS:
        text = (staged / "etc/systemd/system" / unit).read_text()
        (units / unit).write_text(text.replace(PREFIX, str(root)).replace(
            "/etc/mrfrecon/batch.env", str(staged / "etc/mrfrecon/batch.env")))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no",
                             *[str(units / u) for u in UNITS]],
                            capture_output=True, text=True, cwd=units)
    # verify exits 0 but prints problems it does not count as errors: hold it to no output
    # about our units at all
    ours = [line for line in (result.stdout + result.stderr).splitlines()
            if "mrfrecon" in line]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr


def test_units_are_hardened():
    for unit in ("mrfrecon-serve.service", "mrfrecon-batch.service"):
        text = (PACKAGING / "systemd" / unit).read_text()
        for setting in ("User=mrfrecon", "NoNewPrivileges=yes", "ProtectSystem=strict",
                        "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
                        "Environment=MRFRECON_CACHE_DIR=/var/cache/mrfrecon"):
            assert setting in text, (unit, setting)
        rw = re.search(r"^ReadWritePaths=(.*)$", text, re.M).group(1).split()
        tmpfiles = (PACKAGING / "tmpfiles.d" / "mrfrecon.conf").read_text()
        for path in rw:  # every writable path exists: tmpfiles.d creates it for the user
            assert re.search(rf"^d\s+{re.escape(path)}\s+\d+\s+mrfrecon\s+mrfrecon", tmpfiles,
                             re.M), path
    sysusers = (PACKAGING / "sysusers.d" / "mrfrecon.conf").read_text()
    assert re.search(r"^u\s+mrfrecon\s", sysusers, re.M)


def test_configuration_files_parse():
    config = tomllib.loads((PACKAGING / "etc" / "mrfrecon.toml").read_text())
    assert set(config) <= {"serve", "acquisition", "models", "recon", "pacs"}
    assert config["serve"]["host"] == "127.0.0.1"  # loopback unless the admin opens it
    env = dict(line.split("=", 1) for line in (PACKAGING / "etc" / "batch.env").read_text()
               .splitlines() if line and not line.startswith("#"))
    batch_unit = (PACKAGING / "systemd" / "mrfrecon-batch.service").read_text()
    assert set(env) == set(re.findall(r"\$\{(\w+)\}", batch_unit))
    assert all(" " not in value and value.startswith("/") for value in env.values())


def test_serve_configuration_is_accepted_by_serve(tmp_path):
    """The shipped mrfrecon.toml passes the serve command's own validation (once it exists)."""
    serve_config = pytest.importorskip("mrfrecon.serve.config")
    text = (PACKAGING / "etc" / "mrfrecon.toml").read_text()
    data = tomllib.loads(text)
    model = tmp_path / "model.h5"
    model.write_bytes(b"")
    for rule in data["models"]:
        rule["model"] = str(model)
    config = serve_config.parse_config(data, tmp_path, where="mrfrecon.toml")
    assert config.server.host == "127.0.0.1"


@pytest.mark.skipif(shutil.which("logrotate") is None,
                    reason="logrotate missing (make system installs it)")
def test_logrotate_configuration_parses(tmp_path):
    conf = tmp_path / "mrfrecon"
    conf.write_text((PACKAGING / "logrotate" / "mrfrecon").read_text()
                    .replace("/var/log/mrfrecon", str(tmp_path / "log"))
                    .replace("su mrfrecon mrfrecon", "su root root"))
    result = subprocess.run(["logrotate", "--debug", "--state", str(tmp_path / "state"),
                             str(conf)], capture_output=True, text=True)
    assert result.returncode == 0 and "error" not in result.stderr.lower(), result.stderr
    assert "weekly (12 rotations)" in result.stderr
