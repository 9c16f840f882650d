"""Phase units: radians, the Siemens 12-bit convention, or a declared RescaleType.

Siemens stores phase images as integers 0..4095 with ``RescaleSlope 2`` and
``RescaleIntercept -4096``; after rescaling the values lie in [-4096, 4094] and map linearly to
[-pi, pi): ``phase_rad = value * pi / 4096``. GE (and Philips after its rescale) store integer
milliradians, [-3142, 3142], often without RescaleType; others rescale to radians (float data,
or a ``RescaleSlope`` of 0.001), or declare the unit in ``RescaleType`` (Philips: ``mrad``).
The value range tells radians from the integer conventions; it cannot tell Siemens units from
milliradians when the phase stays within +-3142, so there the scanner's vendor decides, and
without one milliradians are assumed (Siemens files declare their rescale, which wins).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

PhaseScaling = Literal["radians", "siemens", "milliradians", "degrees"]

SIEMENS_PHASE_MIN = -4096.0
SIEMENS_PHASE_MAX = 4095.0
SIEMENS_TO_RAD = np.pi / 4096.0
#: Largest magnitude of integer milliradian phase (GE, Philips): round(1000 * pi).
MILLIRADIAN_PHASE_MAX = 3142.0
_RAD_TOL = 1e-3
#: Multiply by this to get radians.
TO_RADIANS: dict[str, float] = {
    "radians": 1.0,
    "siemens": SIEMENS_TO_RAD,
    "milliradians": 1e-3,
    "degrees": np.pi / 180.0,
}
#: DICOM RescaleType values (upper case) that declare a phase unit.
RESCALE_TYPE_UNITS: dict[str, PhaseScaling] = {
    "RAD": "radians",
    "RADIAN": "radians",
    "RADIANS": "radians",
    "MRAD": "milliradians",
    "MILLIRADIANS": "milliradians",
    "DEG": "degrees",
    "DEGREES": "degrees",
}


def declared_phase_unit(rescale_types: set[str]) -> PhaseScaling | None:
    """The phase unit that all frames declare in RescaleType (``None`` if none or mixed)."""
    units = {RESCALE_TYPE_UNITS.get(t.strip().upper()) for t in rescale_types}
    return units.pop() if len(units) == 1 else None


def detect_phase_scaling(
    value_min: float, value_max: float, *, siemens_rescale: bool = False, manufacturer: str = ""
) -> PhaseScaling | None:
    """Decide the unit of a phase image from its value range (after rescaling).

    Parameters
    ----------
    value_min, value_max
        Smallest and largest phase value of the whole series.
    siemens_rescale
        The file declares the Siemens rescale (slope 2, intercept -4096); this wins over the
        range test, which is ambiguous for phase images that are nearly constant.
    manufacturer
        DICOM Manufacturer of the phase series (``""`` when unknown): decides between Siemens
        units and milliradians for values within +-3142.

    Returns
    -------
    ``"radians"`` for values within [-pi, 2*pi] (either the [-pi, pi) or the [0, 2*pi) convention);
    within [-3142, 3142] ``"siemens"`` for a Siemens scanner, else ``"milliradians"`` (GE and
    Philips); ``"siemens"`` for values within [-4096, 4095]; ``None`` if none of these.
    """
    if siemens_rescale:
        return "siemens"
    if value_min >= -np.pi * (1 + _RAD_TOL) and value_max <= 2 * np.pi * (1 + _RAD_TOL):
        return "radians"
    if max(-value_min, value_max) <= MILLIRADIAN_PHASE_MAX:
        return "siemens" if "SIEMENS" in manufacturer.upper() else "milliradians"
    if value_min >= SIEMENS_PHASE_MIN and value_max <= SIEMENS_PHASE_MAX:
        return "siemens"
    return None


def phase_to_radians(phase: np.ndarray, scaling: PhaseScaling) -> np.ndarray:
    """Convert ``phase`` (any shape) to radians as float32, in place where possible."""
    phase = np.asarray(phase, dtype=np.float32)
    if scaling != "radians":
        phase *= np.float32(TO_RADIANS[scaling])
    return phase


def polar_to_complex(magnitude: np.ndarray, phase_rad: np.ndarray) -> np.ndarray:
    """``magnitude * exp(1j * phase_rad)`` as complex64 (same shape as the inputs)."""
    out = np.empty(np.broadcast_shapes(magnitude.shape, phase_rad.shape), dtype=np.complex64)
    np.multiply(np.cos(phase_rad, dtype=np.float32), magnitude, out=out.real, casting="unsafe")
    np.multiply(np.sin(phase_rad, dtype=np.float32), magnitude, out=out.imag, casting="unsafe")
    return out
