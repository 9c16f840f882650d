"""Reading sequence files by type (YAML/TOML/JSON, CSV, Pulseq) and the shipped sequences."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import yaml

from ..errors import InputFileError, SequenceError
from ..limits import LIMITS, LimitError, check_count, check_regular_file
from ..resources import shipped_sequences_dir
from .mapping import sequence_from_mapping
from .model import Sequence
from .pulseq import read_pulseq
from .schedule_csv import read_schedule_csv


def load_sequence(path: str | Path) -> Sequence:
    """Read a sequence file: ``.yaml``/``.yml``, ``.toml``, ``.json``, ``.csv`` or Pulseq ``.seq``."""
    path = Path(path)
    if not path.exists():
        raise SequenceError(f"sequence file not found: '{path}'")
    try:
        check_regular_file(path, "sequence file", LIMITS.max_text_file_bytes)
    except InputFileError as err:  # a sequence problem for the sequence error hints
        raise SequenceError(str(err)) from None
    suffix = path.suffix.lower()
    if suffix == ".seq":
        return read_pulseq(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.reason if isinstance(err, UnicodeDecodeError) else err.strerror
        raise SequenceError(f"cannot read sequence file '{path}': {reason}") from None
    if suffix == ".csv":
        columns = read_schedule_csv(text, str(path))
        return sequence_from_mapping({"kind": "fisp", **columns}, path)
    try:
        if suffix == ".toml":
            mapping = tomllib.loads(text)
        elif suffix == ".json":
            mapping = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            mapping = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader)
        else:
            raise SequenceError(
                f"unknown sequence file type '{suffix}' for '{path}' "
                "(expected .yaml, .yml, .toml, .json, .csv or .seq)"
            )
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SequenceError(f"cannot parse '{path}': {first}") from None
    except RecursionError:
        raise SequenceError(f"cannot parse '{path}': nested too deeply") from None
    except LimitError as err:
        raise LimitError(f"'{path}': {err}") from None
    if not isinstance(mapping, dict):
        raise SequenceError(f"'{path}' must contain a mapping of sequence fields")
    return sequence_from_mapping(mapping, path)



class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses more than ``max_yaml_aliases`` alias uses: a few lines of
    nested aliases ("billion laughs") expand to gigabytes once the lists are walked."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.n_aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.n_aliases += 1
            check_count(self.n_aliases, "max_yaml_aliases", "YAML alias uses")
        return super().compose_node(parent, index)


def resolve_sequence_path(name_or_path: str | Path) -> Path:
    """A path, or the name of a shipped sequence (``fisp_jiang2015``)."""
    p = Path(name_or_path)
    if p.exists() or p.is_symlink() or p.name != str(name_or_path):
        return p
    # a plain name only: "*" or "[a]" must not pick a shipped file by pattern
    if all(c.isalnum() or c in "_-" for c in p.name):
        for candidate in sorted(shipped_sequences_dir().glob(f"{p.name}.*")):
            return candidate
    raise SequenceError(
        f"sequence file not found: '{name_or_path}' (shipped: "
        + ", ".join(sorted(q.stem for q in shipped_sequences_dir().glob("*.yaml")))
        + ")"
    )
