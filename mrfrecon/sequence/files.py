"""Reading sequence files by type (YAML/TOML/JSON, CSV, Pulseq) and the shipped sequences."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import yaml

from ..errors import SequenceError
from ..resources import shipped_sequences_dir
from .mapping import sequence_from_mapping
from .model import Sequence
from .pulseq import read_pulseq
from .schedule_csv import read_schedule_csv


def load_sequence(path: str | Path) -> Sequence:
    """Read a sequence file: ``.yaml``/``.yml``, ``.toml``, ``.json``, ``.csv`` or Pulseq ``.seq``."""
    path = Path(path)
    if not path.is_file():
        raise SequenceError(f"sequence file not found: '{path}'")
    suffix = path.suffix.lower()
    if suffix == ".seq":
        return read_pulseq(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise SequenceError(f"cannot read sequence file '{path}': {err}") from None
    if suffix == ".csv":
        columns = read_schedule_csv(text, str(path))
        return sequence_from_mapping({"kind": "fisp", **columns}, path)
    try:
        if suffix == ".toml":
            mapping = tomllib.loads(text)
        elif suffix == ".json":
            mapping = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            mapping = yaml.safe_load(text)
        else:
            raise SequenceError(
                f"unknown sequence file type '{suffix}' for '{path}' "
                "(expected .yaml, .yml, .toml, .json, .csv or .seq)"
            )
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SequenceError(f"cannot parse '{path}': {first}") from None
    if not isinstance(mapping, dict):
        raise SequenceError(f"'{path}' must contain a mapping of sequence fields")
    return sequence_from_mapping(mapping, path)



def resolve_sequence_path(name_or_path: str | Path) -> Path:
    """A path, or the name of a shipped sequence (``fisp_jiang2015``)."""
    p = Path(name_or_path)
    if p.exists() or p.name != str(name_or_path):
        return p
    for candidate in sorted(shipped_sequences_dir().glob(f"{p.name}.*")):
        return candidate
    raise SequenceError(
        f"sequence file not found: '{name_or_path}' (shipped: "
        + ", ".join(sorted(q.stem for q in shipped_sequences_dir().glob("*.yaml")))
        + ")"
    )
