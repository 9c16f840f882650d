"""BIDS derivative names, folders, URIs and the derivative ``dataset_description.json``.

Output names (``<stem>`` from :attr:`Acquisition.stem`, e.g. ``sub-01_ses-1_acq-fisp``)::

    <stem>_T1map.nii.gz               T1 in s (or ms, see the sidecar's Units)
    <stem>_T2map.nii.gz               T2 in s (or ms)
    <stem>_M0map.nii.gz               |M0|, arbitrary units
    <stem>_desc-phase_M0map.nii.gz    arg(M0) in rad (only for complex M0)
    <stem>_desc-sd_T1map.nii.gz       standard deviation of T1, same unit as T1map (optional)
    <stem>_desc-sd_T2map.nii.gz       standard deviation of T2 (optional)
    <stem>_desc-quality_M0map.nii.gz  fit quality (normalised inner product of the fit), unitless
    <stem>_desc-fitted_mask.nii.gz    1 where the voxel was fitted, else 0
    <stem>_desc-offres_fieldmap.nii.gz    off-resonance in Hz (estimated, bSSFP models)
    <stem>_desc-offressd_fieldmap.nii.gz  its standard deviation (sqrt CRB) in Hz
    <stem>_desc-offres[sd]_magnitude.nii.gz  |M0| beside each field map (BIDS requires one)

each with a ``.json`` sidecar. BIDS has no MRF-specific suffix and no suffix for a fit quality
or an uncertainty: ``T1map``, ``T2map`` and ``M0map`` are the BIDS quantitative-MRI suffixes
(seconds for relaxation times) and the ``desc-`` entity tells the SD, phase and quality maps
apart (the fit quality goes with M0, the scale of the same fit). The off-resonance follows the
BIDS field-map convention (``fieldmap`` suffix, ``Units: Hz``). In the ``bids`` layout the
files go to ``sub-<label>/[ses-<label>/]anat/`` (field maps to ``fmap/``). Entities, their
order and which ones a parametric map may carry come from the BIDS schema (bidsschematools),
not from lists here.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from mrfrecon import __version__

_UNSAFE = re.compile(r"[^a-zA-Z0-9]+")
_EXTENSIONS = (".nii.gz", ".nii", ".hdr", ".img", ".gz", ".json")
#: BIDS derivative rule whose entities the maps may carry (T1map, T2map, M0map, ...)
_MAP_RULE = "anat_parametric_volumetric"
#: Reference of the estimation method (for the sidecars' ``EstimationReference``).
MRF_REFERENCE = (
    "Ma D, et al. Magnetic resonance fingerprinting. Nature 2013;495:187-192, "
    "doi:10.1038/nature11971; Barbieri M, et al. Phys Med 2021;89:80-92 (neural-network MRF)"
)


@cache
def _schema() -> Any:
    from bidsschematools.schema import load_schema

    return load_schema()  # the schema shipped in the package: no network


@cache
def entity_order() -> tuple[str, ...]:
    """Entity keys (``sub``, ``ses``, ``acq``, ...) in the order BIDS names put them."""
    schema = _schema()
    return tuple(schema.objects.entities[e].name for e in schema.rules.entities)


@cache
def map_entities() -> frozenset[str]:
    """Entity keys a derivative parametric map (``T1map``, ...) may carry."""
    schema = _schema()
    rule = schema.rules.files.deriv.imaging[_MAP_RULE]
    return frozenset(schema.objects.entities[e].name for e in rule.entities)


@cache
def _label_format() -> re.Pattern[str]:
    """The schema's pattern of an entity label (``[0-9a-zA-Z+]+`` in BIDS 1.10)."""
    return re.compile(_schema().objects.formats.label.pattern)


MAX_LABEL_LENGTH = 32


def sanitize_label(text: str, *, default: str = "unknown") -> str:
    """A BIDS label: ASCII letters and digits only (other runs of characters are dropped; a
    subset of the schema's label format, safe in file names and DICOM IDs).

    Labels that would lose non-ASCII characters or exceed :data:`MAX_LABEL_LENGTH` end with
    8 hex digits of the text's sha256, so that distinct IDs (``José``/``Jose``, two long IDs
    with one prefix, two names in another script) keep distinct, valid, bounded names.
    """
    label = _UNSAFE.sub("", text)
    if text.isascii() and len(label) <= MAX_LABEL_LENGTH:
        return label or default
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return label[: MAX_LABEL_LENGTH - 8] + digest


def parse_name(name: str) -> tuple[dict[str, str], str | None]:
    """Entities and suffix of a BIDS-like file name (pybids-style ``key-value`` parts).

    ``sub-01_acq-fisp_part-mag_MRF.nii.gz`` -> ``({"sub": "01", "acq": "fisp", "part": "mag"},
    "MRF")``. Parts whose key is not a BIDS entity are ignored; the suffix is the last part if it
    has no ``-``. A name that does not start with an entity gives ``({}, None)``.
    """
    for ext in _EXTENSIONS:
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    known = set(entity_order())
    entities: dict[str, str] = {}
    parts = name.split("_")
    for part in parts:
        key, sep, value = part.partition("-")
        if sep and key in known and _label_format().fullmatch(value):
            entities.setdefault(key, value)
    if not parts or parts[0].partition("-")[0] not in entities:
        return {}, None
    last = parts[-1]
    return entities, (last if "-" not in last and len(parts) > 1 else None)


def join_entities(entities: dict[str, str]) -> str:
    """``key-value`` parts in BIDS order, joined with ``_``."""
    order = entity_order()
    keys = sorted(entities, key=lambda k: order.index(k) if k in order else len(order))
    return "_".join(f"{k}-{entities[k]}" for k in keys)


def stem_from_filename(name: str) -> str:
    """Derivative stem from an input file name.

    Strips ``.nii``/``.nii.gz``; for a BIDS name keeps the entities a parametric map may carry
    (BIDS schema), in BIDS order, and drops the suffix and the others (``part``, ``echo``...):
    ``sub-01_acq-fisp_part-mag_MRF.nii.gz`` -> ``sub-01_acq-fisp``.
    A non-BIDS name is kept, made safe: ``my scan.nii`` -> ``myscan``.
    """
    entities, _ = parse_name(name)
    kept = {k: v for k, v in entities.items() if k in map_entities() and k != "desc"}
    if kept:
        return join_entities(kept)
    for ext in _EXTENSIONS:
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    parts = name.split("_")
    return "_".join(sanitize_label(p) for p in parts if sanitize_label(p, default="")) or "mrf"


def subject_folder(stem: str, datatype: str = "anat") -> Path | None:
    """``sub-<label>/[ses-<label>/]<datatype>`` for a stem with a subject, else ``None``."""
    entities, _ = parse_name(stem + "_x")
    if "sub" not in entities:
        return None
    folder = Path(f"sub-{entities['sub']}")
    if "ses" in entities:
        folder = folder / f"ses-{entities['ses']}"
    return folder / datatype


def find_dataset_root(path: Path) -> Path | None:
    """The closest folder above ``path`` holding a ``dataset_description.json``, or None."""
    for parent in Path(path).resolve().parents:
        if (parent / "dataset_description.json").is_file():
            return parent
    return None


def source_uris(
    paths: list[Path] | tuple[Path, ...], known: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """BIDS URIs of input files and the ``DatasetLinks`` they need.

    A file inside a BIDS dataset becomes ``bids:raw:<path in that dataset>``; any other file
    ``bids:input:<file name>`` with ``input`` linked to its folder (a ``file://`` URI). A name
    that ``known`` (the links already in the derivative dataset) gives to another folder gets a
    number: ``input2``...
    """
    taken = dict(known or {})
    uris, links = [], {}
    for path in paths:
        path = Path(path).resolve()
        root = find_dataset_root(path)
        if root is not None:
            base, rel = "raw", path.relative_to(root).as_posix()
        else:
            root, base, rel = path.parent, "input", path.name
        name, n = base, 1
        while taken.get(name, root.as_uri()) != root.as_uri():
            n += 1
            name = f"{base}{n}"
        taken[name] = links[name] = root.as_uri()
        uris.append(f"bids:{name}:{rel}")
    return uris, links


def dataset_description(
    generated_by: dict[str, Any] | None = None, links: dict[str, str] | None = None
) -> dict[str, Any]:
    """Content of a derivative ``dataset_description.json`` written by mrfrecon."""
    content: dict[str, Any] = {
        "Name": "mrfrecon MRF maps",
        "BIDSVersion": "1.10.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{
            "Name": "mrfrecon",
            "Version": __version__,
            "Description": "MR fingerprinting T1/T2/M0 maps",
            **(generated_by or {}),
        }],
    }
    if links:
        content["DatasetLinks"] = dict(links)
    return content


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
