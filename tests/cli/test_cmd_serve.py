"""CLI: mrfrecon serve --check, and one-line errors for bad configurations and busy ports."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from mrfrecon.cli import app
from tests.serve.peers import write_config

runner = CliRunner()


def _one_error_line(result) -> str:
    """The one error line; the service's own timestamped log lines (INFO) may precede it."""
    lines = [line for line in result.stderr.splitlines()
             if line.strip() and " INFO mrfrecon." not in line]
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error:"), \
        result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_check_loads_the_models_and_touches_nothing(tmp_path, tiny_model_path):
    config = write_config(tmp_path / "serve.toml", model=tiny_model_path,
                          spool=tmp_path / "spool", port=11112, pacs_port=4242)
    result = runner.invoke(app, ["serve", "--config", str(config), "--check"])
    assert result.exit_code == 0, result.output
    assert "configuration OK: MRFRECON on 127.0.0.1:11112" in result.stderr
    assert "400 time points" in " ".join(result.stderr.split())  # wrapped after the long path
    assert not (tmp_path / "spool").exists()


def test_bad_configuration_is_one_line(tmp_path, tiny_model_path):
    assert "cannot read the configuration" in _one_error_line(
        runner.invoke(app, ["serve", "--config", str(tmp_path / "absent.toml")]))
    config = write_config(tmp_path / "serve.toml", model=tiny_model_path,
                          spool=tmp_path / "spool", port=11112, pacs_port=4242)
    config.write_text(config.read_text().replace('ae_title = "PACS"', 'ae_title = ""'))
    assert "pacs.ae_title" in _one_error_line(
        runner.invoke(app, ["serve", "--config", str(config), "--check"]))
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not HDF5")
    config = write_config(tmp_path / "serve2.toml", model=broken, spool=tmp_path / "spool",
                          port=11112, pacs_port=4242)
    assert "broken.h5" in _one_error_line(
        runner.invoke(app, ["serve", "--config", str(config), "--check"]))


def test_busy_port_is_one_line(tmp_path, tiny_model_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = write_config(tmp_path / "serve.toml", model=tiny_model_path,
                              spool=tmp_path / "spool", port=port, pacs_port=4242)
        line = _one_error_line(runner.invoke(app, ["serve", "--config", str(config)]))
    assert "Address already in use" in line
