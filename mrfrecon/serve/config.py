"""Configuration of ``mrfrecon serve``: dataclasses and a TOML loader that validates everything.

The file (``/etc/mrfrecon/mrfrecon.toml`` on an installed system) has these tables; every key
except ``[[models]]`` and ``[pacs]`` has a default::

    [serve]
    ae_title = "MRFRECON"
    host = "127.0.0.1"            # loopback unless set: "0.0.0.0" listens on every interface
    port = 11112
    allowed_calling_aets = ["SCANNER"]   # only these calling AE titles may associate
    max_associations = 4          # concurrent associations (more are rejected)
    spool_dir = "/var/spool/mrfrecon"
    max_spool_mb = 4096           # stores are refused (status A700) above this
    log_level = "info"

    [serve.tls]                   # optional: DICOM over TLS
    cert_file = "/etc/mrfrecon/tls/server.pem"
    key_file = "/etc/mrfrecon/tls/server.key"
    ca_file = "/etc/mrfrecon/tls/ca.pem"       # optional: require client certificates

    [acquisition]
    settle_s = 2.0                # quiet time after the expected frame count is reached
    idle_timeout_s = 120.0        # incomplete series: reconstruct after this much quiet

    [[models]]                    # first matching rule wins; sequence hash rules before names
    model = "/var/lib/mrfrecon/models/fisp.h5"
    protocol_name = "MRF_FISP*"   # fnmatch pattern on ProtocolName
    series_description = "*MRF*"  # fnmatch pattern on SeriesDescription
    sequence_sha256 = "3f2a9c01"  # hex prefix (>= 8) found in SequenceName or ImageComments

    [recon]
    method = "quantized"          # quantized | float | matching
    threads = 1
    parametric_map = false        # also send DICOM Parametric Maps
    maps = ["T1map", "T2map", "M0map"]   # which derived series are sent

    [pacs]
    host = "127.0.0.1"
    port = 4242
    ae_title = "PACS"
    calling_ae_title = "MRFRECON"  # optional, default serve.ae_title
    timeout_s = 30.0
    max_attempts = 5              # then the job goes to the dead-letter folder
    backoff_s = 5.0               # first retry delay; doubled each time up to backoff_max_s
    backoff_max_s = 300.0
    [pacs.tls]                    # optional: TLS to the PACS
    ca_file = "/etc/mrfrecon/tls/pacs-ca.pem"

Relative paths are resolved against the folder of the configuration file.
"""

from __future__ import annotations

import re
import ssl
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mrfrecon.errors import MrfreconError

#: Derived series names: :data:`mrfrecon.io.maps.DICOM_MAP_NAMES` (not imported: the config
#: loads without numpy; tests/serve checks they agree).
MAP_NAMES = ("T1map", "T2map", "M0map", "desc-sd_T1map", "desc-sd_T2map",
             "desc-offres_fieldmap", "desc-offressd_fieldmap", "desc-quality_M0map")
METHODS = ("quantized", "float", "matching")
_AET = re.compile(r"^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$")
_HEX = re.compile(r"^[0-9a-f]{8,64}$")


class ConfigError(MrfreconError):
    """The serve configuration is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class TlsConfig:
    """TLS files (PEM). For a server ``cert_file``/``key_file`` are required and ``ca_file``
    makes client certificates mandatory; for a client ``ca_file`` verifies the server and
    ``cert_file``/``key_file`` present a client certificate."""

    cert_file: Path | None = None
    key_file: Path | None = None
    ca_file: Path | None = None

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the Storage SCP (TLS 1.2 or later)."""
        if self.cert_file is None or self.key_file is None:
            raise ConfigError("[serve.tls] needs cert_file and key_file")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        _load(context, self)
        if self.ca_file is not None:
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self, server_hostname_check: bool = False) -> ssl.SSLContext:
        """An SSL context for C-STORE to the PACS (verifies it against ``ca_file``)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = server_hostname_check
        _load(context, self)
        return context


def _load(context: ssl.SSLContext, tls: TlsConfig) -> None:
    try:
        if tls.cert_file is not None:
            context.load_cert_chain(str(tls.cert_file),
                                    None if tls.key_file is None else str(tls.key_file))
        if tls.ca_file is not None:
            context.load_verify_locations(cafile=str(tls.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"TLS files cannot be loaded: {exc}") from exc


@dataclass(frozen=True)
class ServerConfig:
    """The Storage SCP: AE title, address, who may connect, limits, spool folder."""

    ae_title: str = "MRFRECON"
    host: str = "127.0.0.1"
    port: int = 11112
    allowed_calling_aets: tuple[str, ...] = ("SCANNER",)
    max_associations: int = 4
    spool_dir: Path = Path("/var/spool/mrfrecon")
    max_spool_mb: float = 4096.0
    log_level: str = "info"
    tls: TlsConfig | None = None


@dataclass(frozen=True)
class AcquisitionConfig:
    """When a series counts as complete: ``settle_s`` quiet seconds after the expected frame
    count (the model's ``n_timepoints`` per slice and component) is reached, otherwise
    ``idle_timeout_s`` quiet seconds."""

    settle_s: float = 2.0
    idle_timeout_s: float = 120.0


@dataclass(frozen=True)
class ModelRule:
    """Which model reconstructs a series: any given field must match (fnmatch patterns for the
    names, a hex prefix for the sequence hash)."""

    model: Path
    protocol_name: str | None = None
    series_description: str | None = None
    sequence_sha256: str | None = None


@dataclass(frozen=True)
class ReconConfig:
    """Reconstruction options and which derived series are sent."""

    method: str = "quantized"
    threads: int = 1
    parametric_map: bool = False
    maps: tuple[str, ...] = ("T1map", "T2map", "M0map")


@dataclass(frozen=True)
class PacsConfig:
    """The C-STORE destination and the retry policy (delays in s)."""

    host: str
    port: int
    ae_title: str
    calling_ae_title: str | None = None
    timeout_s: float = 30.0
    max_attempts: int = 5
    backoff_s: float = 5.0
    backoff_max_s: float = 300.0
    tls: TlsConfig | None = None

    def backoff(self, attempt: int) -> float:
        """Delay in s before retry number ``attempt`` (1-based): doubling, capped."""
        return float(min(self.backoff_s * 2.0 ** (attempt - 1), self.backoff_max_s))


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``mrfrecon serve`` needs; see the module docstring for the TOML layout."""

    server: ServerConfig
    acquisition: AcquisitionConfig
    models: tuple[ModelRule, ...]
    recon: ReconConfig
    pacs: PacsConfig
    source: Path | None = field(default=None, compare=False)


def _table(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def _build(cls: type, values: dict[str, Any], where: str, section: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) in [{section}]: {', '.join(unknown)}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where}: [{section}]: {exc}") from exc


def _path(value: Any, base: Path, where: str, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key} must be a non-empty string path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _number(values: dict[str, Any], key: str, where: str, *, minimum: float,
            integer: bool = False) -> None:
    if key not in values:
        return
    value = values[key]
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{where}: {key} must be {kind} >= {minimum}, got {value!r}")


def _aet(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not _AET.match(value):
        raise ConfigError(f"{where}: {key} {value!r} is not a valid AE title "
                          "(1-16 printable ASCII characters, no backslash)")
    return value


def _tls(values: Any, base: Path, where: str, section: str) -> TlsConfig | None:
    if values is None:
        return None
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: [{section}] must be a table")
    resolved = {}
    for key, value in values.items():
        path = _path(value, base, where, f"{section}.{key}")
        if not path.is_file():
            raise ConfigError(f"{where}: {section}.{key} not found: '{path}'")
        resolved[key] = path
    return _build(TlsConfig, resolved, where, section)


def parse_config(data: dict[str, Any], base: Path, where: str = "config") -> ServeConfig:
    """Validate a parsed TOML document; relative paths are resolved against ``base``.

    Raises
    ------
    ConfigError
        Naming the file (``where``) and the offending key.
    """
    unknown = sorted(set(data) - {"serve", "acquisition", "models", "recon", "pacs"})
    if unknown:
        raise ConfigError(f"{where}: unknown table(s): {', '.join(unknown)}")

    serve = dict(_table(data, "serve", where))
    tls = _tls(serve.pop("tls", None), base, where, "serve.tls")
    if tls is not None:
        tls.server_context()  # fail at start-up, not at the first association
    serve["ae_title"] = _aet(serve.get("ae_title", "MRFRECON"), where, "serve.ae_title")
    aets = serve.get("allowed_calling_aets", ["SCANNER"])
    if not isinstance(aets, list) or not aets:
        raise ConfigError(f"{where}: serve.allowed_calling_aets must be a non-empty list")
    serve["allowed_calling_aets"] = tuple(_aet(a, where, "allowed_calling_aets") for a in aets)
    if "spool_dir" in serve:
        serve["spool_dir"] = _path(serve["spool_dir"], base, where, "serve.spool_dir")
    if not isinstance(serve.get("host", "127.0.0.1"), str):
        raise ConfigError(f"{where}: serve.host must be a string")
    _number(serve, "port", where, minimum=0, integer=True)
    _number(serve, "max_associations", where, minimum=1, integer=True)
    _number(serve, "max_spool_mb", where, minimum=1)
    if serve.get("port", 0) > 65535:
        raise ConfigError(f"{where}: serve.port must be <= 65535")
    level = serve.get("log_level", "info")
    if level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"{where}: serve.log_level must be debug, info, warning or error")
    server = _build(ServerConfig, {**serve, "tls": tls}, where, "serve")

    acq = dict(_table(data, "acquisition", where))
    _number(acq, "settle_s", where, minimum=0)
    _number(acq, "idle_timeout_s", where, minimum=0)
    acquisition = _build(AcquisitionConfig, acq, where, "acquisition")

    rules = data.get("models", [])
    if not isinstance(rules, list) or not rules:
        raise ConfigError(f"{where}: at least one [[models]] rule is needed")
    models = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise ConfigError(f"{where}: [[models]] entry {i + 1} must be a table")
        rule = dict(rule)
        rule["model"] = _path(rule.get("model"), base, where, f"models[{i + 1}].model")
        if not rule["model"].is_file():
            raise ConfigError(f"{where}: model not found: '{rule['model']}'")
        digest = rule.get("sequence_sha256")
        if digest is not None and (not isinstance(digest, str) or not _HEX.match(digest)):
            raise ConfigError(f"{where}: models[{i + 1}].sequence_sha256 must be 8-64 "
                              "lower-case hex digits")
        for key in ("protocol_name", "series_description"):
            if key in rule and not isinstance(rule[key], str):
                raise ConfigError(f"{where}: models[{i + 1}].{key} must be a string pattern")
        models.append(_build(ModelRule, rule, where, f"models[{i + 1}]"))

    recon = dict(_table(data, "recon", where))
    if recon.get("method", "quantized") not in METHODS:
        raise ConfigError(f"{where}: recon.method must be one of {', '.join(METHODS)}")
    _number(recon, "threads", where, minimum=1, integer=True)
    maps = recon.get("maps", ["T1map", "T2map", "M0map"])
    if not isinstance(maps, list) or not maps or any(m not in MAP_NAMES for m in maps):
        raise ConfigError(f"{where}: recon.maps must list some of {', '.join(MAP_NAMES)}")
    recon["maps"] = tuple(maps)
    if not isinstance(recon.get("parametric_map", False), bool):
        raise ConfigError(f"{where}: recon.parametric_map must be true or false")
    recon_config = _build(ReconConfig, recon, where, "recon")

    if "pacs" not in data:
        raise ConfigError(f"{where}: a [pacs] table (host, port, ae_title) is needed")
    pacs = dict(_table(data, "pacs", where))
    pacs_tls = _tls(pacs.pop("tls", None), base, where, "pacs.tls")
    for key in ("host", "port", "ae_title"):
        if key not in pacs:
            raise ConfigError(f"{where}: pacs.{key} is missing")
    pacs["ae_title"] = _aet(pacs["ae_title"], where, "pacs.ae_title")
    if "calling_ae_title" in pacs:
        pacs["calling_ae_title"] = _aet(pacs["calling_ae_title"], where, "pacs.calling_ae_title")
    _number(pacs, "port", where, minimum=1, integer=True)
    _number(pacs, "timeout_s", where, minimum=0.1)
    _number(pacs, "max_attempts", where, minimum=1, integer=True)
    _number(pacs, "backoff_s", where, minimum=0)
    _number(pacs, "backoff_max_s", where, minimum=0)
    if pacs_tls is not None:
        pacs_tls.client_context()
    pacs_config = _build(PacsConfig, {**pacs, "tls": pacs_tls}, where, "pacs")

    return ServeConfig(server, acquisition, tuple(models), recon_config, pacs_config)


def load_config(path: str | Path) -> ServeConfig:
    """Read and validate a TOML configuration file (see the module docstring).

    Raises
    ------
    ConfigError
        The file is missing, not TOML, or a value is invalid (the message names the key).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration '{path}': {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"'{path}' is not valid TOML: {exc}") from exc
    config = parse_config(data, path.resolve().parent, where=f"'{path}'")
    return ServeConfig(config.server, config.acquisition, config.models, config.recon,
                       config.pacs, source=path)


__all__ = ["MAP_NAMES", "AcquisitionConfig", "ConfigError", "ModelRule", "PacsConfig",
           "ReconConfig", "ServeConfig", "ServerConfig", "TlsConfig", "load_config",
           "parse_config"]
