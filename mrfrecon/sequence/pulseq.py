"""Read an MRF schedule from a Pulseq ``.seq`` file (https://pulseq.github.io, format 1.2-1.5).

The file is read with pypulseq (imported lazily; ``pip install pypulseq``) and its blocks are
walked in time order. Every RF event opens a *window* that lasts until the next RF event.

Time points
    An excitation RF event followed by at least one ADC event in its window is one time point
    (one TR). RF events with ``use`` ``excitation`` or ``undefined`` qualify. When a window
    holds several ADC events (multi-echo) the first one gives TE. A 0° TR must be written as an
    RF event (it may have zero amplitude); an ADC without its own RF event is taken as a
    further readout of the previous TR.
Flip angle, degrees
    ``|∫ B1(t) dt| * 360`` with the RF envelope in Hz: ``sum(signal) * dwell`` for shapes on the
    default RF raster (each sample held for one raster period, exact for pypulseq's pulses),
    ``sum(signal[:-1] * diff(t))`` for shapes with an explicit time shape (Pulseq test report).
RF phase, degrees
    ``rf.phase_offset`` plus the phase of the envelope's integral (a negative envelope is 180°),
    wrapped to ``[0, 360)`` and rounded to 0.001° (the file stores 6 significant digits, so a
    stored ``3.14159`` reads back as 180°). Frequency offsets and ``phase_ppm`` are ignored.
Receiver phase
    mrfrecon's signal models demodulate each TR by its RF phase ("the receiver follows the RF
    phase", as Pulseq's RF-spoiled and bSSFP demos write their ADC phase). A receiver phase that
    differs from the RF phase by the *same* amount in every TR is a global phase and is accepted;
    one that varies from TR to TR (for instance ADC phase 0 under 0/180° RF cycling) cannot be
    represented by :class:`~mrfrecon.sequence.Sequence` and is refused with a
    :class:`~mrfrecon.errors.SequenceError`. Per-sample ADC phase modulation is ignored.
TR and TE, ms
    TR is the time between successive excitation RF centres (block start + ``rf.delay`` + RF
    centre); the last TR runs from the start of the last excitation block to the end of the
    sequence, i.e. up to where the next RF centre would be if one more excitation block with the
    same timing followed (the previous TR when that is not longer than TE; the last TR does not
    change the simulated signal). TE is the centre of the first ADC
    (block start + ``adc.delay`` + ``num_samples * dwell / 2``) minus the RF centre.
Inversion
    An RF event with ``use == 'inversion'``, or, when ``use`` is ``undefined``, a pulse of more
    than 90° (or a phase-modulated, adiabatic one) without ADC before the first excitation.
    ``ti_ms`` is the first excitation centre minus the inversion centre; the efficiency is 1
    for a labelled or adiabatic inversion, else ``max(0, -cos(flip))``. Only one inversion
    before TR 1 is supported.
Kind
    The definition ``MrfKind`` (or ``Kind``; ``fisp`` | ``bssfp``) when present. Otherwise the
    gradient moments are summed per TR window (excitation block up to the next excitation
    block): when every axis sums to ~0 in every TR but the last (the last may carry an
    end-of-sequence spoiler) the sequence is balanced, ``bssfp``; else ``fisp``.
Metadata
    ``name`` from the definition ``Name`` (else the file stem), ``description`` from
    ``Description``, ``citation`` from ``Citation`` (or ``DOI``).

Other RF uses (refocusing, saturation, preparation, other) are refused: the schedule could not
simulate them.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependencyError, SequenceError
from .model import Inversion, Sequence
from .validation import KINDS

#: Net gradient moment per TR (1/m) below which an axis counts as balanced, relative to the sum
#: of the absolute moments in that TR, plus an absolute floor.
BALANCE_RTOL = 1e-3
BALANCE_ATOL_PER_M = 1e-3

_KIND_KEYS = ("mrfkind", "kind")


@dataclass(frozen=True)
class _RfEvent:
    block: int  # block id as written in the file
    ordinal: int  # position of the block in time order
    block_start_s: float
    centre_s: float
    flip_deg: float
    phase_deg: float  # unwrapped: phase_offset + phase of the envelope integral
    use: str
    adiabatic: bool


@dataclass(frozen=True)
class _AdcEvent:
    block: int
    ordinal: int
    centre_s: float
    phase_deg: float


@dataclass(frozen=True)
class _Scan:
    """What the block walk collects: events, per-block gradient moments, total duration."""

    rfs: list[_RfEvent]
    adcs: list[_AdcEvent]
    moments: np.ndarray  # (n_blocks, 3) net gradient area per block and axis, 1/m
    abs_moments: np.ndarray  # (n_blocks, 3) absolute gradient area, 1/m
    duration_s: float
    definitions: dict[str, Any]


def read_pulseq(path: str | Path) -> Sequence:
    """Read the MRF schedule of the Pulseq file ``path`` (see the module docstring for rules).

    Raises :class:`MissingDependencyError` without pypulseq and :class:`SequenceError` for a file
    that cannot be read or does not hold an inversion + excitation/readout schedule.
    """
    path = Path(path)
    source = str(path)
    pp = _import_pypulseq()
    scan = _scan(pp, path)

    rf_centres = np.array([rf.centre_s for rf in scan.rfs])
    adc_centres = np.array([adc.centre_s for adc in scan.adcs])
    if not scan.rfs:
        raise SequenceError(
            f"no excitation with an ADC readout found in '{source}': it has no RF events"
        )
    if not scan.adcs:
        raise SequenceError(
            f"no excitation with an ADC readout found in '{source}': it has no ADC events"
        )

    # First ADC in each RF window (RF centre, next RF centre].
    window_end = np.append(rf_centres[1:], np.inf)
    first_adc = np.searchsorted(adc_centres, rf_centres, side="right")
    has_adc = (first_adc < len(adc_centres)) & (
        adc_centres[np.minimum(first_adc, len(adc_centres) - 1)] < window_end
    )

    excitations: list[int] = []
    inversions: list[int] = []
    for i, rf in enumerate(scan.rfs):
        where = f"RF pulse in block {rf.block} (t = {rf.centre_s * 1e3:.3f} ms, {rf.flip_deg:.1f}°)"
        before_first = not excitations
        if rf.use == "inversion" or (
            rf.use == "undefined"
            and not has_adc[i]
            and before_first
            and (rf.flip_deg > 90.0 or rf.adiabatic)
        ):
            if not before_first:
                raise SequenceError(
                    f"{where} in '{source}' is an inversion after the first excitation: "
                    "mrfrecon models a single inversion before TR 1"
                )
            inversions.append(i)
        elif rf.use in ("excitation", "undefined"):
            if not has_adc[i]:
                raise SequenceError(
                    f"{where} in '{source}' has no ADC before the next RF pulse: "
                    "mrfrecon needs one readout per excitation (no dummy excitations)"
                )
            excitations.append(i)
        else:
            raise SequenceError(
                f"{where} in '{source}' has use '{rf.use}', which mrfrecon cannot simulate "
                "(supported: inversion, excitation)"
            )
    if not excitations:
        raise SequenceError(f"no excitation with an ADC readout found in '{source}'")
    if len(inversions) > 1:
        blocks = ", ".join(str(scan.rfs[i].block) for i in inversions)
        raise SequenceError(
            f"'{source}' has {len(inversions)} inversion pulses before the first excitation "
            f"(blocks {blocks}): mrfrecon models one"
        )

    exc = [scan.rfs[i] for i in excitations]
    centres = rf_centres[excitations]
    adcs = [scan.adcs[first_adc[i]] for i in excitations]
    te_s = np.array([adc.centre_s for adc in adcs]) - centres
    tr_s = np.empty(len(exc))
    tr_s[:-1] = np.diff(centres)
    # As if the next excitation followed at the end with the same timing inside its block.
    last = scan.duration_s - exc[-1].block_start_s
    tr_s[-1] = last if (last > te_s[-1] or len(exc) == 1) else tr_s[-2]

    rf_phase = np.array([rf.phase_deg for rf in exc])
    adc_phase = np.array([adc.phase_deg for adc in adcs])
    _check_receiver_phase(rf_phase, adc_phase, [rf.block for rf in exc], source)

    inversion = None
    if inversions:
        inv = scan.rfs[inversions[0]]
        if inv.use == "inversion" or inv.adiabatic:
            efficiency = 1.0
        else:
            efficiency = max(0.0, -math.cos(math.radians(inv.flip_deg)))
        inversion = Inversion(ti_ms=_ms(centres[0] - inv.centre_s), efficiency=efficiency)

    defs = scan.definitions
    kind = _kind_from_definitions(defs, source)
    if kind is None:
        ordinals = [rf.ordinal for rf in exc]
        kind = "bssfp" if _is_balanced(scan, ordinals) else "fisp"

    return Sequence(
        kind=kind,
        fa_deg=np.array([rf.flip_deg for rf in exc]),
        tr_ms=_ms(tr_s),
        te_ms=_ms(te_s),
        phase_deg=_wrap_phase(rf_phase),
        inversion=inversion,
        name=_definition_text(defs, "name") or path.stem,
        description=_definition_text(defs, "description"),
        citation=_definition_text(defs, "citation") or _definition_text(defs, "doi"),
        source=source,
    )


# --------------------------------------------------------------------------------------------
# Reading


def _import_pypulseq():
    try:
        with _quiet():
            import pypulseq
    except ImportError:
        raise MissingDependencyError(
            "reading Pulseq .seq files needs pypulseq: pip install pypulseq"
        ) from None
    return pypulseq


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence pypulseq's prints and warnings (it warns about rasters, versions, open files)."""
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        yield


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _scan(pp, path: Path) -> _Scan:
    """Read ``path`` with pypulseq and collect RF/ADC events and gradient moments per block."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SequenceError(f"cannot read Pulseq file '{source}': {_first_line(err)}") from None
    if b"\x00" in data[:65536]:
        raise SequenceError(f"'{source}' is not a Pulseq file: it is binary")
    try:
        with _quiet(), tempfile.TemporaryDirectory(prefix="mrfrecon-seq-") as tmp:
            # pypulseq's section readers loop forever when a file ends inside [SHAPES] (a
            # truncated file): a trailing blank line ends every section.
            padded = Path(tmp) / path.name
            padded.write_bytes(data + b"\n\n")
            raw = pp.Sequence()
            raw.read(str(padded), detect_rf_use=False)
            if not raw.block_events:
                raise SequenceError(f"'{source}' is not a Pulseq file: it has no [BLOCKS]")
            return _walk(pp, raw)
    except SequenceError:
        raise
    except KeyError as err:
        raise SequenceError(
            f"cannot read Pulseq file '{source}': it refers to an undefined event or shape "
            f"{_first_line(err)} (truncated or malformed file?)"
        ) from None
    except Exception as err:  # pypulseq raises anything from ValueError to IndexError
        raise SequenceError(
            f"cannot read Pulseq file '{source}': {type(err).__name__}: {_first_line(err)}"
        ) from None


def _walk(pp, raw) -> _Scan:
    rfs: list[_RfEvent] = []
    adcs: list[_AdcEvent] = []
    block_ids = list(raw.block_events)
    moments = np.zeros((len(block_ids), 3))
    abs_moments = np.zeros((len(block_ids), 3))
    start = 0.0
    for ordinal, block_id in enumerate(block_ids):
        block = raw.get_block(block_id)
        duration = float(raw.block_durations[block_id])
        rf = block.rf
        if rf is not None:
            flip_deg, integral_phase, adiabatic = _rf_flip(rf, float(raw.rf_raster_time))
            centre = start + float(rf.delay) + float(pp.calc_rf_center(rf)[0])
            rfs.append(
                _RfEvent(
                    block=int(block_id),
                    ordinal=ordinal,
                    block_start_s=start,
                    centre_s=centre,
                    flip_deg=flip_deg,
                    phase_deg=math.degrees(float(rf.phase_offset) + integral_phase),
                    use=str(getattr(rf, "use", "undefined") or "undefined"),
                    adiabatic=adiabatic,
                )
            )
        adc = block.adc
        if adc is not None:
            centre = start + float(adc.delay) + int(adc.num_samples) * float(adc.dwell) / 2
            adcs.append(
                _AdcEvent(
                    block=int(block_id),
                    ordinal=ordinal,
                    centre_s=centre,
                    phase_deg=math.degrees(float(adc.phase_offset)),
                )
            )
        for axis, name in enumerate(("gx", "gy", "gz")):
            grad = getattr(block, name, None)
            if grad is not None:
                area = _grad_area(grad)
                moments[ordinal, axis] = area
                abs_moments[ordinal, axis] = abs(area)
        start += duration
    definitions = {str(k): v for k, v in dict(raw.definitions).items()}
    return _Scan(rfs, adcs, moments, abs_moments, start, definitions)


def _rf_flip(rf, raster_s: float) -> tuple[float, float, bool]:
    """Flip angle (degrees), phase of the envelope integral (rad), phase-modulated?"""
    signal = np.asarray(rf.signal, dtype=np.complex128).ravel()
    t = np.asarray(rf.t, dtype=np.float64).ravel()
    if signal.size == 0:
        return 0.0, 0.0, False
    steps = np.diff(t)
    on_raster = (
        signal.size > 2
        and np.allclose(steps, steps[0], rtol=1e-6, atol=0)
        and math.isclose(t[0], steps[0] / 2, rel_tol=1e-3)
    )
    if on_raster:
        integral = complex(np.sum(signal) * steps[0])
    elif signal.size > 1:
        integral = complex(np.sum(signal[:-1] * steps))
    else:
        integral = complex(signal[0] * raster_s)
    flip_deg = abs(integral) * 360.0
    phase = math.atan2(integral.imag, integral.real) if flip_deg > 0 else 0.0
    # Phase-modulated (adiabatic) when the envelope leaves the line of its integral's phase.
    peak = float(np.max(np.abs(signal)))
    rotated = signal * np.exp(-1j * phase)
    adiabatic = peak > 0 and float(np.max(np.abs(rotated.imag))) > 1e-3 * peak
    return flip_deg, phase, adiabatic


def _grad_area(grad) -> float:
    """Gradient moment of one event, 1/m (Hz/m * s)."""
    if getattr(grad, "type", "") == "trap":
        return float(grad.amplitude) * (
            float(grad.rise_time) / 2 + float(grad.flat_time) + float(grad.fall_time) / 2
        )
    area = getattr(grad, "area", None)
    if area is not None and np.isfinite(area):
        return float(area)
    tt = np.asarray(grad.tt, dtype=np.float64)
    wave = np.asarray(grad.waveform, dtype=np.float64)
    return float(np.trapezoid(wave, tt))


# --------------------------------------------------------------------------------------------
# Interpretation


def _ms(seconds):
    """Seconds -> ms, rounded to 1 ps to drop the noise of summing block durations."""
    out = np.round(np.asarray(seconds, dtype=np.float64) * 1e3, 9)
    return float(out) if out.ndim == 0 else out


def _wrap_phase(phase_deg: np.ndarray) -> np.ndarray:
    out = np.round(np.mod(phase_deg, 360.0), 3)
    out[out >= 360.0] = 0.0
    return out + 0.0  # no -0.0


def _check_receiver_phase(
    rf_phase: np.ndarray, adc_phase: np.ndarray, blocks: list[int], source: str
) -> None:
    """Refuse a receiver phase that does not follow the RF phase up to one global offset."""
    diff = np.mod(rf_phase - adc_phase - (rf_phase[0] - adc_phase[0]) + 180.0, 360.0) - 180.0
    # Phases are stored with 6 significant digits in rad.
    tol = 0.01 + np.degrees(
        1e-5 * np.maximum(np.abs(np.radians(rf_phase)), np.abs(np.radians(adc_phase)))
    )
    bad = np.flatnonzero(np.abs(diff) > tol)
    if bad.size:
        i = int(bad[0])
        raise SequenceError(
            f"ADC phase ({np.mod(adc_phase[i], 360):.3f}°) does not follow the RF phase "
            f"({np.mod(rf_phase[i], 360):.3f}°) at TR {i + 1} (block {blocks[i]}) in '{source}': "
            "mrfrecon assumes the receiver follows the RF phase (set adc.phase_offset = "
            "rf.phase_offset)"
        )


def _is_balanced(scan: _Scan, ordinals: list[int]) -> bool:
    """Zero net gradient moment on every axis in every TR window but the last."""
    bounds = list(ordinals) + [scan.moments.shape[0]]
    windows = range(len(ordinals) - 1) if len(ordinals) > 1 else range(1)
    for k in windows:
        lo, hi = bounds[k], bounds[k + 1]
        net = np.abs(scan.moments[lo:hi].sum(axis=0))
        tol = BALANCE_RTOL * scan.abs_moments[lo:hi].sum(axis=0) + BALANCE_ATOL_PER_M
        if np.any(net > tol):
            return False
    return True


def _definition(defs: dict[str, Any], key: str) -> tuple[str, Any] | None:
    """``(name as written, value)`` of the definition matching ``key`` case-insensitively."""
    for name, value in defs.items():
        if name.lower().replace("_", "") == key:
            return name, value
    return None


def _definition_text(defs: dict[str, Any], key: str) -> str:
    found = _definition(defs, key)
    if found is None:
        return ""
    value = found[1]
    if isinstance(value, np.ndarray):
        return " ".join(f"{v:g}" for v in value.ravel())
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value).strip()


def _kind_from_definitions(defs: dict[str, Any], source: str) -> str | None:
    for key in _KIND_KEYS:
        found = _definition(defs, key)
        if found is None:
            continue
        text = _definition_text(defs, key)
        kind = text.lower()
        if kind not in KINDS:
            raise SequenceError(
                f"definition {found[0]} '{text}' in '{source}': expected one of {', '.join(KINDS)}"
            )
        return kind
    return None
