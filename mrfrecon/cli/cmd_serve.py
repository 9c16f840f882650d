"""``mrfrecon serve``: the DICOM node (Storage SCP -> maps -> PACS)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

import typer

from ._errors import handle_errors
from ._output import info

CONFIG_HELP = "Configuration file (TOML; see mrfrecon/serve/config.py for every key)."


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


@handle_errors
def serve(
    config: Path = typer.Option(Path("/etc/mrfrecon/mrfrecon.toml"), "--config", "-c",
                                help=CONFIG_HELP),
    check: bool = typer.Option(False, "--check", help="Validate the configuration and exit."),
    log_level: str | None = typer.Option(None, "--log-level",
                                         help="debug, info, warning or error (default: config)."),
) -> None:
    """Receive MRF series over DICOM, reconstruct T1/T2/M0 maps (ms) and send them to the PACS.

    Runs until SIGTERM or Ctrl-C. Logs go to stderr and never contain patient or study
    identifiers (they are hashed).
    """
    from ..serve.config import load_config
    from ..serve.models import ModelCache
    from ..serve.node import Node

    settings = load_config(config)
    if check:  # touches nothing: no spool, no port
        cache = ModelCache()
        models = [cache.get(rule.model) for rule in settings.models]
        server = settings.server
        info(f"configuration OK: {server.ae_title} on {server.host}:{server.port}, "
             f"PACS {settings.pacs.ae_title}@{settings.pacs.host}:{settings.pacs.port}")
        for rule, loaded in zip(settings.models, models, strict=True):
            info(f"  model {rule.model} ({loaded.n_timepoints} time points, "
                 f"sha256 {loaded.sha256[:12]})")
        return
    level = (log_level or settings.server.log_level).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"unknown --log-level '{log_level}'")
    # other libraries (numba, pynetdicom) stay at warnings: their debug output is noise and
    # pynetdicom's may quote identifiers
    # force: the CLI's silent default handler (cli/__init__) must give way to the service log
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("mrfrecon").setLevel(level)
    node = Node(settings)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        node.run(stop)
    finally:  # the CLI may run inside another program (tests): give its handlers back
        for sig, handler in previous.items():
            signal.signal(sig, handler)
