"""DICOM UIDs as file names, hashed identifiers for logs, deterministic derived UIDs.

No DICOM tag value becomes part of a path unless it passes :func:`is_valid_uid` (digits and
dots only, so no ``/``, ``..`` or hidden names); everything else that must reach a log is
hashed with :func:`phi_hash`.
"""

from __future__ import annotations

import hashlib
import re

#: PS3.5 9.1: components of digits without leading zeros, separated by dots, at most 64 chars.
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$")


def is_valid_uid(value: object) -> bool:
    """Whether ``value`` is a string in the DICOM UID grammar (safe as a file name)."""
    return isinstance(value, str) and len(value) <= 64 and bool(_UID.match(value))


def phi_hash(value: object, *, n_chars: int = 12) -> str:
    """A short, stable pseudonym of an identifier (patient ID, study UID, ...) for logs."""
    digest = hashlib.sha256(b"mrfrecon-serve\x00" + str(value).encode("utf-8")).hexdigest()
    return digest[:n_chars]


def derived_uid(*parts: str) -> str:
    """A ``2.25.`` UID that depends only on ``parts``: the same source series and model give
    the same derived series and instances, so a resend replaces instead of duplicating."""
    digest = hashlib.sha256("\x00".join(["mrfrecon-serve", *parts]).encode("utf-8")).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"  # PS3.5 B.2: UUID-derived, <= 44 chars


__all__ = ["derived_uid", "is_valid_uid", "phi_hash"]
