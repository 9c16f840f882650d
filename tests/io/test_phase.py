"""Phase unit detection."""

from __future__ import annotations

import numpy as np
import pytest

from mrfrecon.io.phase import detect_phase_scaling, phase_to_radians, polar_to_complex


@pytest.mark.parametrize(
    ("lo", "hi", "siemens_rescale", "expected"),
    [
        (-np.pi, np.pi - 1e-3, False, "radians"),
        (0.0, 2 * np.pi, False, "radians"),
        (-4096.0, 4094.0, False, "siemens"),
        (-2.0, 2.0, True, "siemens"),  # nearly constant phase: the declared rescale wins
        (-5000.0, 10.0, False, None),
        (-3142.0, 3141.0, False, "milliradians"),
    ],
    ids=["pm-pi", "0-2pi", "siemens-range", "siemens-declared", "unknown", "mrad-range"],
)
def test_detect(lo: float, hi: float, siemens_rescale: bool, expected: str | None) -> None:
    assert detect_phase_scaling(lo, hi, siemens_rescale=siemens_rescale) == expected


@pytest.mark.parametrize(
    ("manufacturer", "expected"),
    [("GE MEDICAL SYSTEMS", "milliradians"), ("Philips Medical Systems", "milliradians"),
     ("SIEMENS", "siemens"), ("", "milliradians")],
)
def test_vendor_decides_within_3142(manufacturer: str, expected: str) -> None:
    assert detect_phase_scaling(-3000.0, 3100.0, manufacturer=manufacturer) == expected
    # beyond +-3142 only Siemens units fit, whatever the vendor
    assert detect_phase_scaling(-4096.0, 4094.0, manufacturer=manufacturer) == "siemens"


def test_siemens_to_radians_and_complex() -> None:
    values = np.array([-4096.0, 0.0, 2048.0, 4094.0], dtype=np.float32)
    rad = phase_to_radians(values, "siemens")
    np.testing.assert_allclose(rad, [-np.pi, 0.0, np.pi / 2, np.pi * 4094 / 4096], rtol=1e-6)
    z = polar_to_complex(np.full(4, 2.0, np.float32), rad)
    assert z.dtype == np.complex64
    np.testing.assert_allclose(z, 2.0 * np.exp(1j * rad.astype(float)), atol=1e-6)
