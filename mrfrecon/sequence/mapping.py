"""The keys of a sequence file (YAML/TOML/JSON, see :mod:`mrfrecon.sequence`) -> :class:`Sequence`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputFileError, SequenceError
from ..limits import LIMITS, check_count, check_regular_file
from .generators import GENERATORS
from .model import (
    DEFAULT_T1_GRID_MS,
    DEFAULT_T2_GRID_MS,
    Inversion,
    Sequence,
    SliceProfile,
    slice_profile_from_tbw,
)
from .ranges import ParameterRange, range_text
from .schedule_csv import read_schedule_csv
from .validation import KINDS


def _resolve_array(name: str, spec: Any, n: int | None, source: str) -> np.ndarray | float:
    """Turn one per-TR field into an array (or a scalar to broadcast later)."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return float(spec)
    if isinstance(spec, list):
        try:
            return np.asarray(spec, dtype=np.float64)
        except (TypeError, ValueError):
            raise SequenceError(f"{name} in '{source}' must be a list of numbers") from None
    if isinstance(spec, dict):
        spec = dict(spec)
        gen = spec.pop("generator", None)
        if gen not in GENERATORS:
            raise SequenceError(
                f"{name} in '{source}': unknown generator {gen!r} "
                f"(known: {', '.join(sorted(GENERATORS))})"
            )
        if n is None:
            raise SequenceError(f"{name} in '{source}': a generator needs n_timepoints")
        _check_generator_arguments(name, spec, source)
        try:
            values = GENERATORS[gen](n, **spec)
        except (TypeError, ValueError, IndexError, OverflowError, ZeroDivisionError) as err:
            raise SequenceError(f"{name} in '{source}': bad generator arguments ({err})") from None
        if np.shape(values) != (n,):
            raise SequenceError(f"{name} in '{source}': the generator gave shape "
                                f"{np.shape(values)}, not ({n},)")
        return values
    raise SequenceError(f"{name} in '{source}' must be a number, a list or a generator mapping")



def _check_generator_arguments(name: str, spec: dict[str, Any], source: str) -> None:
    """Generator arguments are numbers or lists of numbers, each within ``max_timepoints``
    (a lobe length, a block, a knot count or a list of values sizes an allocation)."""
    for key, value in spec.items():
        where = f" in '{source}'"
        values = value if isinstance(value, list) else [value]
        check_count(len(values), "max_timepoints", f"{name}.{key} length", where)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise SequenceError(f"{name}.{key}{where} must be a number or a list of numbers")
            if not np.isfinite(v):
                raise SequenceError(f"{name}.{key}{where} must be finite")
            check_count(int(abs(v)), "max_timepoints", f"{name}.{key}", where)


def _csv_path(spec: Any, path: str | Path | None, source: str) -> Path:
    """The ``csv:`` file, which must be a regular file inside the sequence file's folder.

    The value is never echoed (it may point anywhere); a relative name without ``..`` whose
    real path (symlinks followed) stays in the folder is the only thing accepted.
    """
    refused = SequenceError(
        f"the csv named in '{source}' must be a file inside the sequence file's folder")
    if path is None:  # a mapping from a model file: there is no folder to read from
        raise SequenceError(f"'csv' is only allowed in a sequence file ({source})")
    if not isinstance(spec, str) or not spec or "\0" in spec:
        raise refused
    name = Path(spec)
    if name.is_absolute() or ".." in name.parts:
        raise refused
    base = Path(path).parent.resolve()
    target = (base / name).resolve()
    if base not in target.parents:
        raise refused
    try:
        check_regular_file(target, "csv", LIMITS.max_text_file_bytes)
    except InputFileError:
        raise refused from None
    return target


def sequence_from_mapping(mapping: dict[str, Any], path: str | Path | None = None) -> Sequence:
    """Build a :class:`Sequence` from the parsed YAML/TOML/JSON mapping."""
    source = str(path) if path is not None else "<mapping>"
    mapping = dict(mapping)
    known = {
        "name",
        "kind",
        "description",
        "citation",
        "n_timepoints",
        "fa_deg",
        "tr_ms",
        "te_ms",
        "phase_deg",
        "csv",
        "inversion",
        "b1",
        "df_hz",
        "dictionary",
        "slice_profile",
    }
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise SequenceError(f"unknown field '{unknown[0]}' in '{source}'")
    if "kind" not in mapping:
        raise SequenceError(f"field 'kind' is missing in '{source}' (fisp or bssfp)")
    kind = str(mapping["kind"]).lower()
    if kind not in KINDS:
        raise SequenceError(
            f"unknown kind '{mapping['kind']}' in '{source}': expected one of {', '.join(KINDS)}"
        )
    if "csv" in mapping:
        csv_path = _csv_path(mapping["csv"], path, source)
        try:
            text = csv_path.read_text()
        except (OSError, UnicodeDecodeError):
            raise SequenceError(f"the csv named in '{source}' cannot be read as text") from None
        for key, values in read_schedule_csv(text, f"csv of {source}").items():
            mapping.setdefault(key, values)
    n = mapping.get("n_timepoints")
    if n is not None:
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise SequenceError(f"n_timepoints in '{source}' must be a positive integer")
        check_count(n, "max_timepoints", "n_timepoints", f" in '{source}'")
    for name in ("fa_deg", "tr_ms", "te_ms", "phase_deg"):
        if isinstance(mapping.get(name), list):
            check_count(len(mapping[name]), "max_timepoints", f"{name} length", f" in '{source}'")
    for name in ("fa_deg", "tr_ms"):
        if name not in mapping:
            raise SequenceError(f"field '{name}' is missing in '{source}'")
    # First pass: explicit arrays fix the length.
    # per-TR arrays or scalars; a range mapping stays as given until the length is known
    arrays: dict[str, Any] = {}
    te_spec = mapping.get("te_ms", None)
    for name in ("fa_deg", "tr_ms", "phase_deg"):
        spec = mapping.get(name, 0.0)
        if isinstance(spec, list) and n is None:
            n = len(spec)
        arrays[name] = _resolve_array(name, spec, n, source) if not isinstance(spec, dict) else spec
    if isinstance(te_spec, list) and n is None:
        n = len(te_spec)
    if n is None:
        raise SequenceError(f"'{source}': give n_timepoints or at least one per-TR list")
    for name in ("fa_deg", "tr_ms", "phase_deg"):
        if isinstance(arrays[name], dict):
            arrays[name] = _resolve_array(name, arrays[name], n, source)
    resolved = {
        k: np.broadcast_to(v, (n,)).copy() if np.ndim(v) == 0 else v for k, v in arrays.items()
    }
    if te_spec is None:
        te = np.minimum(2.0, 0.5 * resolved["tr_ms"])
    elif isinstance(te_spec, dict) and "fraction_of_tr" in te_spec:
        fraction = te_spec["fraction_of_tr"]
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise SequenceError(f"te_ms.fraction_of_tr in '{source}' must be a number")
        te = float(fraction) * resolved["tr_ms"]
    else:
        te_val = _resolve_array("te_ms", te_spec, n, source)
        te = np.broadcast_to(te_val, (n,)).copy() if np.ndim(te_val) == 0 else te_val
    inversion = None
    if mapping.get("inversion") is not None:
        inv = mapping["inversion"]
        if not isinstance(inv, dict) or "ti_ms" not in inv:
            raise SequenceError(
                f"inversion in '{source}' must be a mapping with ti_ms[, efficiency]"
            )
        try:
            inversion = Inversion(float(inv["ti_ms"]), float(inv.get("efficiency", 1.0)))
        except (TypeError, ValueError):
            raise SequenceError(
                f"inversion in '{source}': ti_ms and efficiency must be numbers"
            ) from None
    dictionary = mapping.get("dictionary") or {}
    if not isinstance(dictionary, dict):
        raise SequenceError(f"dictionary in '{source}' must be a mapping with t1_ms, t2_ms")
    grids = {
        key: range_text(dictionary.get(key, default), f"dictionary.{key} in '{source}'")
        for key, default in (("t1_ms", DEFAULT_T1_GRID_MS), ("t2_ms", DEFAULT_T2_GRID_MS))
    }
    slice_profile = None
    sp = mapping.get("slice_profile")
    if sp is not None:
        if not isinstance(sp, dict):
            raise SequenceError(f"slice_profile in '{source}' must be a mapping")
        where = f" in '{source}'"
        if "time_bandwidth" in sp:
            tbw, n_sub = sp["time_bandwidth"], sp.get("n_sub", 16)
            if isinstance(n_sub, bool) or not isinstance(n_sub, int) or n_sub < 1:
                raise SequenceError(f"slice_profile.n_sub{where} must be a positive integer")
            check_count(n_sub, "max_sub_slices", "slice_profile.n_sub", where)
            if (isinstance(tbw, bool) or not isinstance(tbw, int | float)
                    or not np.isfinite(tbw) or tbw <= 0):
                raise SequenceError(f"slice_profile.time_bandwidth{where} must be a finite "
                                    "number > 0")
            slice_profile = slice_profile_from_tbw(float(tbw), n_sub)
        elif "scales" in sp:
            for key in ("scales", "weights"):
                if isinstance(sp.get(key), list):
                    check_count(len(sp[key]), "max_sub_slices", f"slice_profile.{key} length",
                                where)
            try:
                scales = np.asarray(sp["scales"], dtype=np.float64)
                weights = np.asarray(sp.get("weights", np.ones_like(scales)), dtype=np.float64)
            except (TypeError, ValueError):
                raise SequenceError(f"slice_profile{where}: scales and weights must be lists "
                                    "of numbers") from None
            slice_profile = SliceProfile(
                scales, weights / weights.sum() if weights.sum() > 0 else weights
            )
        else:
            raise SequenceError(f"slice_profile in '{source}' needs time_bandwidth or scales")
    return Sequence(
        kind=kind,
        fa_deg=resolved["fa_deg"],
        tr_ms=resolved["tr_ms"],
        te_ms=te,
        phase_deg=resolved["phase_deg"],
        inversion=inversion,
        name=str(mapping.get("name", Path(path).stem if path else "sequence")),
        description=str(mapping.get("description", "")).strip(),
        citation=str(mapping.get("citation", "")).strip(),
        t1_grid_ms=grids["t1_ms"],
        t2_grid_ms=grids["t2_ms"],
        b1_range=_parameter_range(mapping.get("b1"), "b1", source),
        df_range_hz=_parameter_range(mapping.get("df_hz"), "df_hz", source),
        slice_profile=slice_profile,
        source=source,
    )


def sequence_from_dict(d: dict[str, Any]) -> Sequence:
    """Inverse of :meth:`Sequence.to_full_dict` (used when loading model files)."""
    d = dict(d)
    d.pop("sha256", None)
    d.pop("n_timepoints", None)
    return sequence_from_mapping(d)


def _parameter_range(spec: Any, label: str, source: str) -> ParameterRange | None:
    return None if spec is None else ParameterRange.parse(spec, f"{label} in '{source}'")
