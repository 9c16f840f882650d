"""MRF schedule definitions: the per-TR flip angle, RF phase, TR and TE of one acquisition.

A schedule is read from our YAML format (TOML and JSON accepted with the same keys), from a CSV
with columns ``fa_deg,tr_ms[,te_ms,phase_deg]``, or from a Pulseq ``.seq`` file
(:mod:`mrfrecon.sequence.pulseq`). ``docs``-style reference of the YAML keys::

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
    b1: "0.7:1.3:0.05"                           # optional B1 (flip-angle scale) range
    df_hz: "-50:50:5"                            # optional off-resonance range, Hz
    dictionary: {t1_ms: "100:2000:20,2300:5000:300", t2_ms: "10:100:5,110:200:10,300:1900:200"}
    slice_profile: {time_bandwidth: 4, n_sub: 16} | {scales: [...], weights: [...]}

Ranges use ``START:STOP:STEP`` in the field's unit, STOP included, comma-separated pieces;
``{min, max, step}`` mappings are read too (:mod:`mrfrecon.sequence.ranges`).

Modules, each importing only those listed above it (numpy and yaml at most: pypulseq is
imported inside the Pulseq reader, so that ``mrfrecon sequence show`` starts quickly)::

    ranges        range notation: parse_ranges, range_text, ParameterRange
    validation    KINDS, validate(Sequence)
    generators    per-TR generators (lobes, ma2013, smooth_random, alternating)
    model         Sequence, Inversion, SliceProfile
    schedule_csv  CSV columns
    mapping       file keys -> Sequence (sequence_from_mapping, sequence_from_dict)
    pulseq        Pulseq .seq reader (read_pulseq)
    files         load_sequence by file type, shipped sequences
"""

from .files import load_sequence, resolve_sequence_path, shipped_sequences_dir
from .generators import GENERATORS, alternating, lobes, ma2013, max_knots, smooth_random
from .mapping import sequence_from_dict, sequence_from_mapping
from .model import (
    DEFAULT_T1_GRID_MS,
    DEFAULT_T2_GRID_MS,
    Inversion,
    Sequence,
    SliceProfile,
    slice_profile_from_tbw,
)
from .pulseq import read_pulseq
from .ranges import ParameterRange, parse_ranges, range_text
from .schedule_csv import read_schedule_csv
from .validation import KINDS, validate

__all__ = [
    "DEFAULT_T1_GRID_MS",
    "DEFAULT_T2_GRID_MS",
    "GENERATORS",
    "KINDS",
    "Inversion",
    "ParameterRange",
    "Sequence",
    "SliceProfile",
    "alternating",
    "load_sequence",
    "lobes",
    "ma2013",
    "max_knots",
    "parse_ranges",
    "range_text",
    "read_pulseq",
    "read_schedule_csv",
    "resolve_sequence_path",
    "sequence_from_dict",
    "sequence_from_mapping",
    "shipped_sequences_dir",
    "slice_profile_from_tbw",
    "smooth_random",
    "validate",
]
