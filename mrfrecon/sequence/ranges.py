"""Value ranges in sequence files: one notation written, two read.

Written (by :meth:`~mrfrecon.sequence.Sequence.to_full_dict`, the shipped files and the CLI's
``--t1``/``--t2``): ``"START:STOP:STEP"`` in the field's unit, STOP included, comma-separated
pieces, e.g. ``"100:2000:20,2300:5000:300"``; a bare number is one value.

Also read, for files written before the notation was unified and for hand-written files: a
mapping ``{min: START, max: STOP, step: STEP}`` (``step`` defaults to a tenth of the span), a
list of such mappings (pieces), or a list of numbers. Every range field — ``dictionary.t1_ms``,
``dictionary.t2_ms``, ``b1``, ``df_hz`` — accepts all of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SequenceError
from ..limits import check_count


def parse_ranges(text: Any, label: str = "range") -> np.ndarray:
    """Any accepted range notation -> sorted unique values (STOP included), float64 ``(n,)``.

    ``"100:2000:20,2300:5000:300"``, a mapping ``{min, max[, step]}``, a list of mappings, a
    bare number or a list of numbers (see the module doc).
    """
    return _values(range_text(text, label), label)


def range_text(spec: Any, label: str = "range") -> str:
    """Any accepted range notation -> the written ``"START:STOP:STEP,..."`` form (validated)."""
    if isinstance(spec, bool):
        raise SequenceError(f"{label}: expected a range, got {spec!r}")
    if isinstance(spec, int | float):
        text = _number(float(spec))
    elif isinstance(spec, Mapping):
        text = _mapping_text(spec, label)
    elif isinstance(spec, list | tuple):
        if spec and all(isinstance(piece, Mapping) for piece in spec):
            text = ",".join(_mapping_text(piece, label) for piece in spec)
        else:
            try:
                numbers = np.asarray(spec, dtype=np.float64)
            except (TypeError, ValueError):
                raise SequenceError(f"{label}: expected numbers, got {spec!r}") from None
            if numbers.ndim != 1 or numbers.size == 0:
                raise SequenceError(f"{label}: expected a non-empty list of numbers")
            text = ",".join(_number(float(v)) for v in np.unique(numbers))
    elif isinstance(spec, str):
        text = ",".join(p.strip() for p in spec.split(",") if p.strip())
    else:
        raise SequenceError(
            f"{label}: expected 'START:STOP:STEP' or {{min, max, step}}, got {spec!r}"
        )
    _values(text, label)  # validate once, where the text is made
    return text


@dataclass(frozen=True)
class ParameterRange:
    """A validated range of one tissue parameter (B1 as a unitless scale, off-resonance in Hz).

    text: the written ``"START:STOP:STEP,..."`` form (see :func:`range_text`).
    """

    text: str

    @classmethod
    def parse(cls, spec: Any, label: str = "range") -> ParameterRange:
        """From any accepted notation (string, mapping, list)."""
        return cls(range_text(spec, label))

    def values(self) -> np.ndarray:
        """The values of the range, sorted, shape ``(n,)``."""
        return _values(self.text, "range")

    @property
    def min(self) -> float:
        return float(self.values()[0])

    @property
    def max(self) -> float:
        return float(self.values()[-1])

    def __str__(self) -> str:
        return self.text


def _mapping_text(spec: Mapping[str, Any], label: str) -> str:
    if not {"min", "max"} <= set(spec) or not set(spec) <= {"min", "max", "step"}:
        raise SequenceError(f"{label}: a range mapping has keys min, max[, step], got {dict(spec)}")
    try:
        lo, hi = float(spec["min"]), float(spec["max"])
        step = float(spec["step"]) if "step" in spec else ((hi - lo) / 10 or 1.0)
    except (TypeError, ValueError):
        raise SequenceError(f"{label}: min, max and step must be numbers") from None
    if not (hi >= lo and step > 0):
        raise SequenceError(f"{label}: needs max >= min and step > 0")
    return f"{_number(lo)}:{_number(hi)}:{_number(step)}"


def _number(value: float) -> str:
    """Shortest text that reads back as the same float (``20`` rather than ``20.0``)."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _values(text: str, label: str) -> np.ndarray:
    pieces = [p.strip() for p in text.split(",") if p.strip()]
    if not pieces:
        raise SequenceError(f"{label}: empty range '{text}'")
    out = []
    for piece in pieces:
        parts = piece.split(":")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise SequenceError(f"{label}: cannot read '{piece}' as START:STOP:STEP") from None
        if not all(map(math.isfinite, nums)):
            raise SequenceError(f"{label}: '{piece}' is not finite")
        if len(nums) == 1:
            out.append(np.array(nums))
            continue
        if len(nums) != 3:
            raise SequenceError(f"{label}: '{piece}' must be START:STOP:STEP")
        start, stop, step = nums
        if not all(map(math.isfinite, nums)) or step <= 0 or stop < start:
            raise SequenceError(f"{label}: '{piece}' needs STEP > 0 and STOP >= START")
        ratio = (stop - start) / step
        if not math.isfinite(ratio):
            raise SequenceError(f"{label}: '{piece}' has too many values")
        n = math.floor(ratio + 1e-9) + 1
        check_count(n, "max_range_values", f"{label}: '{piece}' values")
        out.append(start + step * np.arange(n))
    check_count(sum(len(o) for o in out), "max_range_values", f"{label}: values")
    return np.unique(np.concatenate(out))
