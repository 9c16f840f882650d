"""Per-TR columns from a CSV schedule (``fa_deg,tr_ms[,te_ms,phase_deg]``, a header row first)."""

from __future__ import annotations

import csv
import io

from ..errors import SequenceError


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

