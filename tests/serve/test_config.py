"""serve configuration: the documented example parses, bad values are refused by name."""

from __future__ import annotations

import re
import textwrap

import pytest

from mrfrecon.serve import config as config_module
from mrfrecon.serve.config import ConfigError, load_config


def _example(tmp_path):
    """The module docstring's example with its absolute paths moved under tmp_path."""
    doc = config_module.__doc__
    text = doc[doc.rindex("\n", 0, doc.index("[serve]")) + 1:doc.index("Relative paths")]
    text = textwrap.dedent(text)
    (tmp_path / "fisp.h5").write_bytes(b"model")
    text = text.replace('"/var/lib/mrfrecon/models/fisp.h5"', '"fisp.h5"')
    text = text.replace('"/var/spool/mrfrecon"', '"spool"')
    text = re.sub(r"(?m)^\[serve\.tls\].*\n(.*\n){3}", "", text)
    text = re.sub(r"(?m)^\[pacs\.tls\].*\n.*\n", "", text)
    return text


def _write(tmp_path, text):
    path = tmp_path / "mrfrecon.toml"
    path.write_text(text)
    return path


def test_documented_example_parses(tmp_path):
    config = load_config(_write(tmp_path, _example(tmp_path)))
    assert config.server.host == "127.0.0.1" and config.server.port == 11112
    assert config.server.allowed_calling_aets == ("SCANNER",)
    assert config.server.spool_dir == tmp_path / "spool"
    assert config.models[0].model == tmp_path / "fisp.h5"
    assert config.models[0].sequence_sha256 == "3f2a9c01"
    assert config.recon.maps == ("T1map", "T2map", "M0map")
    assert config.pacs.backoff(1) == 5.0 and config.pacs.backoff(3) == 20.0
    assert config.pacs.backoff(20) == 300.0
    assert config.server.tls is None


def test_defaults_bind_loopback(tmp_path):
    (tmp_path / "m.h5").write_bytes(b"x")
    config = load_config(_write(tmp_path, '[[models]]\nmodel = "m.h5"\n'
                                '[pacs]\nhost = "127.0.0.1"\nport = 4242\nae_title = "PACS"\n'))
    assert config.server.host == "127.0.0.1"
    assert config.server.max_associations >= 1 and config.server.max_spool_mb > 0


@pytest.mark.parametrize("change, message", [
    pytest.param(("port = 11112", "port = 70000"), "port", id="port-range"),
    pytest.param(('ae_title = "MRFRECON"', 'ae_title = "THIS_AE_IS_TOO_LONG"'), "AE title",
                 id="long-aet"),
    pytest.param(('allowed_calling_aets = ["SCANNER"]', "allowed_calling_aets = []"),
                 "allowed_calling_aets", id="no-callers"),
    pytest.param(("max_associations = 4", "max_associations = 0"), "max_associations",
                 id="associations"),
    pytest.param(('method = "quantized"', 'method = "magic"'), "recon.method", id="method"),
    pytest.param(('sequence_sha256 = "3f2a9c01"', 'sequence_sha256 = "xyz"'), "sequence_sha256",
                 id="hash"),
    pytest.param(('model = "fisp.h5"', 'model = "missing.h5"'), "model not found", id="model"),
    pytest.param(("settle_s = 2.0", "settle_s = 2.0\nsettle = 1"), "unknown key", id="typo"),
    pytest.param(('maps = ["T1map", "T2map", "M0map"]', 'maps = ["T3map"]'), "recon.maps",
                 id="maps"),
])
def test_bad_values_are_refused_by_name(tmp_path, change, message):
    text = _example(tmp_path)
    assert change[0] in text
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text.replace(change[0], change[1], 1)))


def test_missing_pacs_and_bad_toml(tmp_path):
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"\[pacs\]"):
        load_config(_write(tmp_path, '[[models]]\nmodel = "m.h5"\n'))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[serve\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_tls_files_are_checked(tmp_path):
    text = _example(tmp_path).replace("[acquisition]", '[serve.tls]\ncert_file = "server.pem"\n'
                                      'key_file = "server.key"\n\n[acquisition]')
    with pytest.raises(ConfigError, match="server.pem"):
        load_config(_write(tmp_path, text))
    (tmp_path / "server.pem").write_text("not a certificate")
    (tmp_path / "server.key").write_text("not a key")
    with pytest.raises(ConfigError, match="TLS files cannot be loaded"):
        load_config(_write(tmp_path, text))


def test_map_names_are_the_dicom_maps_write_maps_writes() -> None:
    from mrfrecon.io.maps import DICOM_MAP_NAMES
    from mrfrecon.serve.config import MAP_NAMES

    assert MAP_NAMES == DICOM_MAP_NAMES
