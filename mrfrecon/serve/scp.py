"""The Storage SCP (pynetdicom): C-ECHO, and C-STORE of MR images into the spool.

A C-STORE is acknowledged only after the instance is durably in the spool; a refused one gets
a failure status (the scanner keeps it and retries): ``0xA700`` out of resources (spool
full, disk error), ``0xC000`` cannot understand (no SeriesInstanceUID/SOPInstanceUID in the
UID grammar). Only the configured calling AE titles may associate, and only with our AE title.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mrfrecon.io.dicom_tags import (
    ENHANCED_MR_IMAGE_STORAGE,
    LEGACY_ENHANCED_MR_IMAGE_STORAGE,
    MR_IMAGE_STORAGE,
)
from mrfrecon.serve.config import ServerConfig
from mrfrecon.serve.spool import SpoolFullError
from mrfrecon.serve.uids import is_valid_uid

log = logging.getLogger("mrfrecon.serve")

STATUS_SUCCESS = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_CANNOT_UNDERSTAND = 0xC000
VERIFICATION = "1.2.840.10008.1.1"
ACCEPTED_SOP_CLASSES = (MR_IMAGE_STORAGE, ENHANCED_MR_IMAGE_STORAGE,
                        LEGACY_ENHANCED_MR_IMAGE_STORAGE)

#: ``store(series_uid, sop_uid, encoded_file_bytes, dataset)``: raises ValueError for bad
#: UIDs, SpoolFullError / OSError when the instance cannot be kept.
StoreFn = Callable[[str, str, bytes, Any], None]


def quiet_pynetdicom() -> None:
    """pynetdicom logs identifiers (and, at debug level, whole datasets): keep it to warnings."""
    from pynetdicom import _config

    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)


def make_ae(config: ServerConfig) -> Any:
    """A pynetdicom AE with the configured AE title, callers, limits and contexts."""
    from pynetdicom import AE
    from pynetdicom.presentation import DEFAULT_TRANSFER_SYNTAXES

    quiet_pynetdicom()
    ae = AE(ae_title=config.ae_title)
    ae.require_called_aet = True
    ae.require_calling_aet = list(config.allowed_calling_aets)
    ae.maximum_associations = config.max_associations
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
    ae.add_supported_context(VERIFICATION)
    for sop_class in ACCEPTED_SOP_CLASSES:
        ae.add_supported_context(sop_class, DEFAULT_TRANSFER_SYNTAXES)
    return ae


def store_handler(store: StoreFn) -> Callable[[Any], int]:
    """A pynetdicom ``EVT_C_STORE`` handler that calls ``store`` before acknowledging."""

    def handle(event: Any) -> int:
        try:
            ds = event.dataset
            series_uid = str(ds.get("SeriesInstanceUID", ""))
            sop_uid = str(ds.get("SOPInstanceUID", ""))
        except Exception:  # undecodable data set: refuse it, keep serving
            return STATUS_CANNOT_UNDERSTAND
        if not (is_valid_uid(series_uid) and is_valid_uid(sop_uid)):
            log.warning("refused an instance without valid Series/SOP instance UIDs")
            return STATUS_CANNOT_UNDERSTAND
        try:
            store(series_uid, sop_uid, event.encoded_dataset(include_meta=True), ds)
        except SpoolFullError:
            log.warning("refused an instance: spool full")
            return STATUS_OUT_OF_RESOURCES
        except ValueError:
            return STATUS_CANNOT_UNDERSTAND
        except OSError as err:
            log.error("refused an instance: cannot write the spool (%s)", type(err).__name__)
            return STATUS_OUT_OF_RESOURCES
        return STATUS_SUCCESS

    return handle


def start_scp(config: ServerConfig, store: StoreFn) -> Any:
    """Start the SCP in background threads; returns the server (``.shutdown()`` stops it)."""
    from pynetdicom import evt

    ae = make_ae(config)
    ssl_context = config.tls.server_context() if config.tls is not None else None
    handlers = [(evt.EVT_C_ECHO, lambda event: STATUS_SUCCESS),
                (evt.EVT_C_STORE, store_handler(store))]
    return ae.start_server((config.host, config.port), block=False, ssl_context=ssl_context,
                           evt_handlers=handlers)


__all__ = ["ACCEPTED_SOP_CLASSES", "make_ae", "quiet_pynetdicom", "start_scp", "store_handler"]
