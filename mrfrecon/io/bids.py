"""BIDS-like derivative names and the derivative ``dataset_description.json``.

Output names (``<stem>`` from :attr:`Acquisition.stem`)::

    <stem>_T1map.nii.gz               T1 in s (or ms, see the sidecar's Units)
    <stem>_T2map.nii.gz               T2 in s (or ms)
    <stem>_M0map.nii.gz               |M0|, arbitrary units
    <stem>_part-phase_M0map.nii.gz    arg(M0) in rad (only for complex M0)
    <stem>_desc-sd_T1map.nii.gz       standard deviation of T1, same unit as T1map (optional)
    <stem>_desc-sd_T2map.nii.gz       standard deviation of T2 (optional)
    <stem>_desc-quality_statmap.nii.gz  fit quality (e.g. normalised inner product), unitless
    <stem>_desc-fitted_mask.nii.gz    1 where the voxel was fitted, else 0

each with a ``.json`` sidecar. BIDS has no MRF-specific suffix; ``T1map``, ``T2map`` and
``M0map`` are the BIDS quantitative-MRI suffixes (seconds for relaxation times).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from mrfrecon import __version__

_ENTITY = re.compile(r"^[a-zA-Z0-9]+-[a-zA-Z0-9]+$")
_UNSAFE = re.compile(r"[^a-zA-Z0-9]+")


MAX_LABEL_LENGTH = 32


def sanitize_label(text: str, *, default: str = "unknown") -> str:
    """A BIDS label: ASCII letters and digits only (other runs of characters are dropped).

    Labels that would lose non-ASCII characters or exceed :data:`MAX_LABEL_LENGTH` end with
    8 hex digits of the text's sha256, so that distinct IDs (``José``/``Jose``, two long IDs
    with one prefix, two names in another script) keep distinct, valid, bounded names.
    """
    label = _UNSAFE.sub("", text)
    if text.isascii() and len(label) <= MAX_LABEL_LENGTH:
        return label or default
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return label[: MAX_LABEL_LENGTH - 8] + digest


def stem_from_filename(name: str) -> str:
    """Derivative stem from an input file name.

    Strips ``.nii``/``.nii.gz``; for a BIDS name drops the suffix (``_T1w``, ``_MRF``...) and any
    ``part-`` entity: ``sub-01_acq-fisp_part-mag_MRF.nii.gz`` -> ``sub-01_acq-fisp``.
    A non-BIDS name is kept, made safe: ``my scan.nii`` -> ``myscan``.
    """
    for ext in (".nii.gz", ".nii", ".hdr", ".img", ".gz"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    parts = name.split("_")
    if len(parts) > 1 and _ENTITY.match(parts[0]):
        entities = [p for p in parts if _ENTITY.match(p) and not p.startswith("part-")]
        if entities:
            return "_".join(entities)
    return "_".join(sanitize_label(p) for p in parts if sanitize_label(p, default="")) or "mrf"


def dataset_description(generated_by: dict[str, Any] | None = None) -> dict[str, Any]:
    """Content of a derivative ``dataset_description.json`` written by mrfrecon."""
    return {
        "Name": "mrfrecon MRF maps",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "mrfrecon", "Version": __version__, **(generated_by or {})}],
    }


def json_bytes(content: dict[str, Any]) -> bytes:
    """Pretty, sorted-key JSON as UTF-8 bytes (raises TypeError for non-JSON values)."""
    return (json.dumps(content, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def sidecar_path(image_path: Path) -> Path:
    """``x.nii.gz`` -> ``x.json``."""
    name = image_path.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return image_path.with_name(name[: -len(ext)] + ".json")
    return image_path.with_suffix(".json")
