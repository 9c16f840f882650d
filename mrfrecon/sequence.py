"""MRF schedule definitions: the per-TR flip angle, RF phase, TR and TE of one acquisition.

A schedule is read from our YAML format (TOML and JSON accepted with the same keys), from a CSV
with columns ``fa_deg,tr_ms[,te_ms,phase_deg]``, or from a Pulseq ``.seq`` file
(:mod:`mrfrecon.pulseq`). ``docs``-style reference of the YAML keys::

    name: jiang2015_fisp           # optional, defaults to the file stem
    kind: fisp                     # fisp (unbalanced, gradient spoiled) | bssfp (balanced)
    description: "..."             # free text
    citation: "doi:..."            # where the schedule comes from
    n_timepoints: 1000             # needed when every per-TR field is a scalar or generator
    fa_deg:  [...] | 10.0 | {generator: lobes, ...} | {generator: ma2013, ...}
    tr_ms:   [...] | 12.0 | {generator: smooth_random, min: 11.67, max: 14.33, seed: 1}
    te_ms:   [...] | 2.0  | {fraction_of_tr: 0.5}
    phase_deg: [...] | 0  | {generator: alternating, values: [0, 180]}
    csv: schedule.csv              # per-TR columns from a CSV next to the file (optional)
    inversion: {ti_ms: 20.64, efficiency: 1.0}   # optional adiabatic inversion before TR 1
    b1: {min: 0.7, max: 1.3, step: 0.05}         # optional B1 (flip-angle scale) range
    df_hz: {min: -50, max: 50, step: 5}           # optional off-resonance range, Hz
    dictionary: {t1_ms: "100:2000:20,2300:5000:300", t2_ms: "10:100:5,110:200:10,300:1900:200"}
    slice_profile: {time_bandwidth: 4, n_sub: 16} | {scales: [...], weights: [...]}

Ranges use ``START:STOP:STEP`` in the field's unit, STOP included, comma-separated pieces.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import SequenceError
from .resources import shipped_sequences_dir

KINDS = ("fisp", "bssfp")
DEFAULT_T1_GRID_MS = "100:2000:20,2300:5000:300"
DEFAULT_T2_GRID_MS = "10:100:5,110:200:10,300:1900:200"


@dataclass(frozen=True)
class Inversion:
    """Inversion preparation before the first excitation.

    ti_ms: time from the inversion pulse to the first excitation, ms.
    efficiency: ``Mz -> -efficiency * Mz`` (1 = perfect inversion, 0 = none); transverse
        magnetisation is spoiled.
    """

    ti_ms: float
    efficiency: float = 1.0


@dataclass(frozen=True)
class ParameterRange:
    """An inclusive ``min:max:step`` range (B1 as a unitless scale, off-resonance in Hz)."""

    min: float
    max: float
    step: float

    def values(self) -> np.ndarray:
        return parse_ranges(f"{self.min}:{self.max}:{self.step}", "range")


@dataclass(frozen=True)
class SliceProfile:
    """Sub-slice flip-angle scalings and their weights (weights sum to 1), shape ``(n_sub,)``."""

    scales: np.ndarray
    weights: np.ndarray


@dataclass(frozen=True, eq=False)
class Sequence:
    """One resolved MRF schedule; per-TR arrays have shape ``(n_timepoints,)``.

    fa_deg: nominal flip angle per TR, degrees, in [0, 180].
    phase_deg: RF phase per TR, degrees (the receiver follows the RF phase).
    tr_ms: repetition time per TR, ms.  te_ms: echo time per TR, ms (< tr_ms).
    """

    kind: str
    fa_deg: np.ndarray
    tr_ms: np.ndarray
    te_ms: np.ndarray
    phase_deg: np.ndarray
    inversion: Inversion | None = None
    name: str = "sequence"
    description: str = ""
    citation: str = ""
    t1_grid_ms: str = DEFAULT_T1_GRID_MS
    t2_grid_ms: str = DEFAULT_T2_GRID_MS
    b1_range: ParameterRange | None = None
    df_range_hz: ParameterRange | None = None
    slice_profile: SliceProfile | None = None
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("fa_deg", "tr_ms", "te_ms", "phase_deg"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        validate(self)

    @property
    def n_timepoints(self) -> int:
        return int(self.fa_deg.shape[0])

    @property
    def is_real_valued(self) -> bool:
        """True when every RF phase is a multiple of 180°: the EPG states stay real."""
        return bool(
            np.all(
                np.isclose(np.mod(self.phase_deg, 180.0), 0.0)
                | np.isclose(np.mod(self.phase_deg, 180.0), 180.0)
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """The resolved schedule as plain JSON types (the ``sequence show --json`` shape)."""
        return {
            "kind": self.kind,
            "fa_deg": self.fa_deg.tolist(),
            "tr_ms": self.tr_ms.tolist(),
            "te_ms": self.te_ms.tolist(),
            "phase_deg": self.phase_deg.tolist(),
            "inversion": None
            if self.inversion is None
            else {"ti_ms": self.inversion.ti_ms, "efficiency": self.inversion.efficiency},
            "n_timepoints": self.n_timepoints,
            "sha256": self.sha256,
        }

    def to_full_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this sequence (stored inside model files)."""
        out = self.to_dict()
        out.update(
            name=self.name,
            description=self.description,
            citation=self.citation,
            dictionary={"t1_ms": self.t1_grid_ms, "t2_ms": self.t2_grid_ms},
        )
        if self.b1_range is not None:
            out["b1"] = vars(self.b1_range).copy()
        if self.df_range_hz is not None:
            out["df_hz"] = vars(self.df_range_hz).copy()
        if self.slice_profile is not None:
            out["slice_profile"] = {
                "scales": self.slice_profile.scales.tolist(),
                "weights": self.slice_profile.weights.tolist(),
            }
        return out

    @property
    def sha256(self) -> str:
        """Identifies the resolved schedule (kind, per-TR arrays, inversion, slice profile)."""
        payload = {
            "kind": self.kind,
            "fa_deg": [float(v) for v in self.fa_deg],
            "tr_ms": [float(v) for v in self.tr_ms],
            "te_ms": [float(v) for v in self.te_ms],
            "phase_deg": [float(v) for v in self.phase_deg],
            "inversion": None
            if self.inversion is None
            else [float(self.inversion.ti_ms), float(self.inversion.efficiency)],
        }
        if self.slice_profile is not None:
            payload["slice_profile"] = [
                [float(v) for v in self.slice_profile.scales],
                [float(v) for v in self.slice_profile.weights],
            ]
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def with_timepoints(self, n: int) -> Sequence:
        """The first ``n`` TRs of this schedule (for quick tests)."""
        return replace(
            self,
            fa_deg=self.fa_deg[:n],
            tr_ms=self.tr_ms[:n],
            te_ms=self.te_ms[:n],
            phase_deg=self.phase_deg[:n],
        )


def validate(seq: Sequence) -> None:
    """Raise :class:`SequenceError` naming the first inconsistent field."""
    where = f" in '{seq.source}'" if seq.source else ""
    if seq.kind not in KINDS:
        raise SequenceError(f"unknown kind '{seq.kind}'{where}: expected one of {', '.join(KINDS)}")
    n = seq.fa_deg.shape[0] if seq.fa_deg.ndim == 1 else -1
    if n == 0:
        raise SequenceError(f"empty schedule{where}: fa_deg has no time points")
    for name in ("fa_deg", "tr_ms", "te_ms", "phase_deg"):
        arr = getattr(seq, name)
        if arr.ndim != 1:
            raise SequenceError(f"{name}{where} must be one-dimensional, got shape {arr.shape}")
        if arr.shape[0] != n:
            raise SequenceError(
                f"{name}{where} has {arr.shape[0]} values but fa_deg has {n}: lengths differ"
            )
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise SequenceError(f"{name}{where} is not finite at TR {bad[0] + 1}")
    for name in ("fa_deg", "tr_ms", "te_ms"):
        bad = np.flatnonzero(getattr(seq, name) < 0)
        if bad.size:
            raise SequenceError(
                f"{name}{where} is negative ({getattr(seq, name)[bad[0]]:g}) at TR {bad[0] + 1}"
            )
    bad = np.flatnonzero(seq.fa_deg > 180)
    if bad.size:
        raise SequenceError(
            f"fa_deg{where} ({seq.fa_deg[bad[0]]:g}) outside [0, 180] at TR {bad[0] + 1}"
        )
    bad = np.flatnonzero(seq.tr_ms <= 0)
    if bad.size:
        raise SequenceError(f"tr_ms{where} must be > 0 at TR {bad[0] + 1}")
    bad = np.flatnonzero(seq.te_ms >= seq.tr_ms)
    if bad.size:
        i = bad[0]
        raise SequenceError(
            f"te_ms ({seq.te_ms[i]:g}) must be < tr_ms ({seq.tr_ms[i]:g}) at TR {i + 1}{where}"
        )
    if seq.inversion is not None:
        inv = seq.inversion
        if not (math.isfinite(inv.ti_ms) and inv.ti_ms >= 0):
            raise SequenceError(f"inversion.ti_ms{where} must be >= 0, got {inv.ti_ms}")
        if not (math.isfinite(inv.efficiency) and 0 <= inv.efficiency <= 1):
            raise SequenceError(
                f"inversion.efficiency{where} must be in [0, 1], got {inv.efficiency}"
            )
    for label, grid in (("dictionary.t1_ms", seq.t1_grid_ms), ("dictionary.t2_ms", seq.t2_grid_ms)):
        values = parse_ranges(grid, label)
        if np.any(values <= 0):
            raise SequenceError(f"{label}{where} must be positive")
    if seq.slice_profile is not None:
        sp = seq.slice_profile
        if sp.scales.shape != sp.weights.shape or sp.scales.ndim != 1 or sp.scales.size == 0:
            raise SequenceError(
                f"slice_profile{where}: scales and weights must be equal-length lists"
            )
        if np.any(sp.weights < 0) or not np.isclose(sp.weights.sum(), 1.0):
            raise SequenceError(f"slice_profile.weights{where} must be >= 0 and sum to 1")


# --------------------------------------------------------------------------------------------
# Ranges


def parse_ranges(text: str | float | list, label: str = "range") -> np.ndarray:
    """``"100:2000:20,2300:300:5000"`` -> sorted unique values (STOP included).

    A bare number or a list of numbers gives those values.
    """
    if isinstance(text, (int, float)):
        return np.array([float(text)])
    if isinstance(text, list):
        try:
            return np.unique(np.asarray(text, dtype=np.float64))
        except (TypeError, ValueError):
            raise SequenceError(f"{label}: expected numbers, got {text!r}") from None
    pieces = [p.strip() for p in str(text).split(",") if p.strip()]
    if not pieces:
        raise SequenceError(f"{label}: empty range '{text}'")
    out = []
    for piece in pieces:
        parts = piece.split(":")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise SequenceError(f"{label}: cannot read '{piece}' as START:STOP:STEP") from None
        if len(nums) == 1:
            out.append(np.array(nums))
            continue
        if len(nums) != 3:
            raise SequenceError(f"{label}: '{piece}' must be START:STOP:STEP")
        start, stop, step = nums
        if not all(map(math.isfinite, nums)) or step <= 0 or stop < start:
            raise SequenceError(f"{label}: '{piece}' needs STEP > 0 and STOP >= START")
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        out.append(start + step * np.arange(n))
    return np.unique(np.concatenate(out))


# --------------------------------------------------------------------------------------------
# Generators of per-TR arrays


def lobes(
    n: int, peaks_deg: list[float], lobe_length: int = 200, gap: int = 10, floor_deg: float = 5.0
) -> np.ndarray:
    """Half-sine flip-angle lobes (Jiang et al. 2015, doi:10.1002/mrm.25559).

    Each lobe spans ``lobe_length`` TRs: ``floor + (peak - floor) * sin(pi * i / lobe_length)``;
    its last ``gap`` TRs are 0° when another lobe follows. Returns degrees, shape ``(n,)``.
    """
    out = np.zeros(n)
    i = np.arange(lobe_length)
    for j, peak in enumerate(peaks_deg):
        lobe = floor_deg + (peak - floor_deg) * np.sin(np.pi * i / lobe_length)
        if j < len(peaks_deg) - 1 and gap > 0:
            lobe[lobe_length - gap :] = 0.0
        start = j * lobe_length
        if start >= n:
            break
        stop = min(n, start + lobe_length)
        out[start:stop] = lobe[: stop - start]
    return out


def ma2013(
    n: int, seed: int = 0, block: int = 250, gap: int = 10, noise_deg: float = 5.0
) -> np.ndarray:
    """bSSFP flip-angle train in the style of Ma et al. 2013 (doi:10.1038/nature11971).

    Blocks of ``block`` TRs with ``10 + 50 sin(2 pi i / (2 block))`` degrees plus Gaussian
    jitter, the last ``gap`` TRs of each block at 0°, every other block halved.
    """
    rng = np.random.default_rng(seed)
    i = np.arange(n) % block
    fa = 10.0 + 50.0 * np.sin(2 * np.pi * i / (2 * block)) + noise_deg * rng.standard_normal(n)
    fa[(np.arange(n) // block) % 2 == 1] *= 0.5
    fa[i >= block - gap] = 0.0
    return np.clip(fa, 0.0, 180.0)


def smooth_random(
    n: int,
    min: float,
    max: float,
    seed: int = 0,  # noqa: A002
    n_knots: int | None = None,
) -> np.ndarray:
    """Smooth pseudo-random values in [min, max] (Perlin-like: cosine-interpolated knots)."""
    rng = np.random.default_rng(seed)
    n_knots = n_knots or max_knots(n)
    knots = rng.uniform(0.0, 1.0, n_knots)
    x = np.linspace(0, n_knots - 1, n)
    i0 = np.clip(np.floor(x).astype(int), 0, n_knots - 2) if n_knots > 1 else np.zeros(n, int)
    t = x - i0
    w = (1 - np.cos(np.pi * t)) / 2
    vals = knots[i0] * (1 - w) + knots[np.minimum(i0 + 1, n_knots - 1)] * w
    lo, hi = vals.min(), vals.max()
    vals = (vals - lo) / (hi - lo) if hi > lo else np.full(n, 0.5)
    return min + (max - min) * vals


def max_knots(n: int) -> int:
    return int(np.clip(n // 25, 2, 200))


def alternating(n: int, values: list[float]) -> np.ndarray:
    """Cycle through ``values`` (e.g. RF phase 0, 180 for bSSFP)."""
    return np.resize(np.asarray(values, dtype=np.float64), n)


_GENERATORS = {
    "lobes": lobes,
    "ma2013": ma2013,
    "smooth_random": smooth_random,
    "alternating": alternating,
}


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
        if gen not in _GENERATORS:
            raise SequenceError(
                f"{name} in '{source}': unknown generator {gen!r} "
                f"(known: {', '.join(sorted(_GENERATORS))})"
            )
        if n is None:
            raise SequenceError(f"{name} in '{source}': a generator needs n_timepoints")
        try:
            return _GENERATORS[gen](n, **spec)
        except TypeError as err:
            raise SequenceError(f"{name} in '{source}': bad generator arguments ({err})") from None
    raise SequenceError(f"{name} in '{source}' must be a number, a list or a generator mapping")


# --------------------------------------------------------------------------------------------
# Files


def load_sequence(path: str | Path) -> Sequence:
    """Read a sequence file: ``.yaml``/``.yml``, ``.toml``, ``.json``, ``.csv`` or Pulseq ``.seq``."""
    path = Path(path)
    if not path.is_file():
        raise SequenceError(f"sequence file not found: '{path}'")
    suffix = path.suffix.lower()
    if suffix == ".seq":
        from .pulseq import read_pulseq

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


def read_schedule_csv(text: str, source: str) -> dict[str, list[float]]:
    """CSV with a header naming ``fa_deg,tr_ms[,te_ms,phase_deg]`` -> column lists."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise SequenceError(f"empty schedule: '{source}' has no header")
    fields = [f.strip() for f in reader.fieldnames]
    allowed = {"fa_deg", "tr_ms", "te_ms", "phase_deg"}
    unknown = [f for f in fields if f not in allowed]
    if unknown:
        raise SequenceError(
            f"'{source}': unknown CSV column '{unknown[0]}' (expected fa_deg,tr_ms[,te_ms,phase_deg])"
        )
    for needed in ("fa_deg", "tr_ms"):
        if needed not in fields:
            raise SequenceError(f"'{source}': CSV column '{needed}' is missing")
    columns: dict[str, list[float]] = {f: [] for f in fields}
    for row_no, row in enumerate(reader, start=2):
        for raw_key, value in row.items():
            key = raw_key.strip() if raw_key else raw_key
            if key not in columns:
                continue
            try:
                columns[key].append(float(value))
            except (TypeError, ValueError):
                raise SequenceError(
                    f"'{source}' line {row_no}: {key} value {value!r} is not a number"
                ) from None
    if not columns["fa_deg"]:
        raise SequenceError(f"empty schedule: '{source}' has no rows")
    return columns


def _range(mapping: Any, label: str, source: str) -> ParameterRange | None:
    if mapping is None:
        return None
    if not isinstance(mapping, dict) or not {"min", "max"} <= set(mapping):
        raise SequenceError(f"{label} in '{source}' must be a mapping with min, max[, step]")
    lo, hi = float(mapping["min"]), float(mapping["max"])
    step = float(mapping.get("step", (hi - lo) / 10 or 1.0))
    if not (hi >= lo and step > 0):
        raise SequenceError(f"{label} in '{source}' needs max >= min and step > 0")
    return ParameterRange(lo, hi, step)


def slice_profile_from_tbw(time_bandwidth: float, n_sub: int = 16) -> SliceProfile:
    """Flip-angle scalings across the slice for a Hamming-windowed sinc pulse.

    Small-tip approximation: the excitation profile is the Fourier transform of the RF
    envelope. Sampled at ``n_sub`` positions across twice the nominal slice thickness
    (symmetric, so only one half is kept with doubled weights).
    """
    n_rf = 512
    t = np.linspace(-0.5, 0.5, n_rf)
    envelope = np.sinc(time_bandwidth * t) * (0.54 + 0.46 * np.cos(2 * np.pi * t))
    z = np.linspace(0, 1.0, n_sub)  # position in units of the slice thickness (0 = centre)
    freqs = z * time_bandwidth  # cycles over the pulse
    profile = np.abs(np.exp(-2j * np.pi * np.outer(freqs, t)) @ envelope)
    scales = profile / profile[0]
    weights = np.full(n_sub, 2.0)
    weights[0] = 1.0
    keep = scales > 1e-3
    scales, weights = scales[keep], weights[keep]
    return SliceProfile(scales=scales, weights=weights / weights.sum())


def sequence_from_mapping(mapping: dict[str, Any], path: str | Path | None = None) -> Sequence:
    """Build a :class:`Sequence` from the parsed YAML/TOML/JSON mapping."""
    source = str(path) if path is not None else "<mapping>"
    base = Path(path).parent if path is not None else Path(".")
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
        csv_path = base / str(mapping["csv"])
        if not csv_path.is_file():
            raise SequenceError(f"csv file '{csv_path}' named in '{source}' not found")
        for key, values in read_schedule_csv(csv_path.read_text(), str(csv_path)).items():
            mapping.setdefault(key, values)
    n = mapping.get("n_timepoints")
    if n is not None:
        if not isinstance(n, int) or n <= 0:
            raise SequenceError(f"n_timepoints in '{source}' must be a positive integer")
    for name in ("fa_deg", "tr_ms"):
        if name not in mapping:
            raise SequenceError(f"field '{name}' is missing in '{source}'")
    # First pass: explicit arrays fix the length.
    arrays: dict[str, np.ndarray | float] = {}
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
        te = float(te_spec["fraction_of_tr"]) * resolved["tr_ms"]
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
    slice_profile = None
    sp = mapping.get("slice_profile")
    if sp is not None:
        if not isinstance(sp, dict):
            raise SequenceError(f"slice_profile in '{source}' must be a mapping")
        if "time_bandwidth" in sp:
            slice_profile = slice_profile_from_tbw(
                float(sp["time_bandwidth"]), int(sp.get("n_sub", 16))
            )
        elif "scales" in sp:
            scales = np.asarray(sp["scales"], dtype=np.float64)
            weights = np.asarray(sp.get("weights", np.ones_like(scales)), dtype=np.float64)
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
        t1_grid_ms=str(dictionary.get("t1_ms", DEFAULT_T1_GRID_MS)),
        t2_grid_ms=str(dictionary.get("t2_ms", DEFAULT_T2_GRID_MS)),
        b1_range=_range(mapping.get("b1"), "b1", source),
        df_range_hz=_range(mapping.get("df_hz"), "df_hz", source),
        slice_profile=slice_profile,
        source=source,
    )


def sequence_from_dict(d: dict[str, Any]) -> Sequence:
    """Inverse of :meth:`Sequence.to_full_dict` (used when loading model files)."""
    d = dict(d)
    d.pop("sha256", None)
    d.pop("n_timepoints", None)
    return sequence_from_mapping(d)


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
