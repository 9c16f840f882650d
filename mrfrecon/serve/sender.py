"""C-STORE of derived series to the PACS (pynetdicom SCU), journalled per instance."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from mrfrecon.errors import MrfreconError
from mrfrecon.serve.config import PacsConfig

#: C-STORE statuses that mean "stored": success and the three warning codes (PS3.4 B.2.3).
_STORED = {0x0000, 0xB000, 0xB006, 0xB007}


class SendError(MrfreconError):
    """The PACS could not be reached or refused an instance (worth retrying later)."""


def send_files(
    pacs: PacsConfig,
    calling_ae_title: str,
    files: Sequence[Path],
    *,
    already_sent: set[str],
    on_sent: Callable[[str], None],
) -> int:
    """C-STORE every file whose SOP instance UID is not in ``already_sent`` in one association.

    ``on_sent(sop_uid)`` is called after each acknowledged instance (the caller journals it),
    so an interrupted send resumes where it stopped; instances are re-sent with the same UIDs,
    so a PACS that got one whose acknowledgement was lost keeps a single copy.

    Returns
    -------
    int
        Instances sent now.

    Raises
    ------
    SendError
        Association refused or aborted, or a failure status (the message names the status).
    """
    import pydicom
    from pynetdicom import AE

    pending = []
    for path in files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        if str(ds.SOPInstanceUID) not in already_sent:
            pending.append((path, str(ds.SOPClassUID), str(ds.SOPInstanceUID),
                            str(ds.file_meta.TransferSyntaxUID)))
    if not pending:
        return 0
    try:  # pynetdicom leaks its socket when the connection is refused: try TCP first
        socket.create_connection((pacs.host, pacs.port), timeout=pacs.timeout_s).close()
    except OSError as exc:
        raise SendError(f"PACS {pacs.ae_title}@{pacs.host}:{pacs.port} not reachable "
                        f"({exc.strerror or type(exc).__name__})") from exc
    ae = AE(ae_title=calling_ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = pacs.timeout_s
    for sop_class in sorted({p[1] for p in pending}):
        syntaxes = sorted({p[3] for p in pending if p[1] == sop_class})
        ae.add_requested_context(sop_class, syntaxes)
    tls_args = None
    if pacs.tls is not None:
        tls_args = (pacs.tls.client_context(), pacs.host)
    assoc = ae.associate(pacs.host, pacs.port, ae_title=pacs.ae_title, tls_args=tls_args)
    if not assoc.is_established:
        reason = "rejected" if assoc.is_rejected else "aborted" if assoc.is_aborted else \
            "not reachable"
        raise SendError(f"association with PACS {pacs.ae_title}@{pacs.host}:{pacs.port} {reason}")
    n_sent = 0
    try:
        for path, _, sop_uid, _ in pending:
            status = assoc.send_c_store(path)
            code = int(getattr(status, "Status", -1)) if status else -1
            if code not in _STORED:
                text = "no response" if code < 0 else f"status 0x{code:04X}"
                raise SendError(f"PACS {pacs.ae_title} did not store an instance ({text})")
            on_sent(sop_uid)
            n_sent += 1
    finally:
        if assoc.is_established:
            assoc.release()
    return n_sent


__all__ = ["SendError", "send_files"]
