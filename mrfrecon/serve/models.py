"""Which model reconstructs a series: the configuration's rules, and loaded models by path."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mrfrecon.serve.config import ModelRule


def rule_matches(rule: ModelRule, tags: Mapping[str, str]) -> bool:
    """Whether every criterion the rule gives matches the series' tags.

    ``protocol_name`` / ``series_description`` are fnmatch patterns (case-sensitive);
    ``sequence_sha256`` is a hex prefix that must appear in SequenceName or ImageComments
    (scanners can carry the sequence definition's hash there). A rule without criteria
    matches every series (a default).
    """
    if rule.sequence_sha256 is not None:
        text = f"{tags.get('SequenceName', '')} {tags.get('ImageComments', '')}".lower()
        if rule.sequence_sha256 not in text:
            return False
    if rule.protocol_name is not None and not fnmatch.fnmatchcase(
            tags.get("ProtocolName", ""), rule.protocol_name):
        return False
    return rule.series_description is None or fnmatch.fnmatchcase(
        tags.get("SeriesDescription", ""), rule.series_description)


def choose_rule(rules: Sequence[ModelRule], tags: Mapping[str, str]) -> ModelRule | None:
    """The first matching rule; rules naming a sequence hash are tried before the others."""
    ordered = [r for r in rules if r.sequence_sha256] + [r for r in rules if not r.sequence_sha256]
    return next((r for r in ordered if rule_matches(r, tags)), None)


@dataclass(frozen=True)
class LoadedModel:
    """A model file loaded once: the model, its file's sha256 and its ``n_timepoints``."""

    path: Path
    model: object  # mrfrecon.model.MrfModel (imported lazily: torch-free start-up)
    sha256: str
    n_timepoints: int


class ModelCache:
    """Loads each model file once (the file hash identifies it in derived UIDs)."""

    def __init__(self) -> None:
        self._models: dict[Path, LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, path: Path) -> LoadedModel:
        with self._lock:
            if path not in self._models:
                from mrfrecon.serve.reconstruct import load_model_file

                model, sha256 = load_model_file(path)
                self._models[path] = LoadedModel(path, model, sha256, int(model.n_timepoints))
            return self._models[path]


__all__ = ["LoadedModel", "ModelCache", "choose_rule", "rule_matches"]
