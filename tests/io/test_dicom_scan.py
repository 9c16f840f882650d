"""Pairing DICOM series into MRF acquisitions, in the layouts scanners export.

The images are a simulated phantom fingerprint (a few time points of ``fisp_short400`` on a
16 x 16 Shepp-Logan brain, two slices) written as each vendor does; what is read back must equal
the complex truth up to the stored precision.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mrfrecon.errors import AmbiguousInputError, InputFileError
from mrfrecon.io import list_acquisitions, read_acquisition
from mrfrecon.io.phase import SIEMENS_TO_RAD
from mrfrecon.phantom import brain_phantom, simulate_series
from tests.helpers import Stack, write_component_series, write_enhanced

N_TIME = 8
PEAK = 1000.0  # largest magnitude, data units


@pytest.fixture(scope="module")
def truth(short_fisp) -> np.ndarray:
    """complex64 ``(16, 16, 2, N_TIME)``, |max| = PEAK: two slices with different phase ramps."""
    sequence = short_fisp
    phantom = brain_phantom(16)
    slices = [simulate_series(sequence, phantom, 0.0, phase_rad=p)[..., :N_TIME]
              for p in (1.0, -2.5)]
    series = np.concatenate(slices, axis=2)
    return (series * (PEAK / np.abs(series).max())).astype(np.complex64)


def _siemens(folder: Path, signal: np.ndarray, number: int, **kwargs) -> tuple[str, str]:
    """Magnitude series ``number`` and 12-bit phase series ``number + 1`` (slope 2, -4096)."""
    mag = write_component_series(folder, np.abs(signal), "magnitude", number=number, **kwargs)
    siemens_units = np.minimum(np.angle(signal) / SIEMENS_TO_RAD, 4094.0)
    phase = write_component_series(folder, siemens_units, "phase", number=number + 1, slope=2.0,
                                   intercept=-4096.0, bits_stored=12, **kwargs)
    return mag, phase


def _assert_equal_signal(data: np.ndarray, expected: np.ndarray, phase_step_rad: float) -> None:
    """Equal up to the stored precision: magnitude step 0.5, the given phase step."""
    tolerance = 0.5 + np.abs(expected).max() * phase_step_rad
    np.testing.assert_allclose(data, expected, rtol=0, atol=tolerance)


def test_siemens_magnitude_and_phase_series_are_paired(tmp_path: Path, truth) -> None:
    mag, phase = _siemens(tmp_path, truth, 5)
    acq = read_acquisition(tmp_path)
    assert acq.kind == "complex" and acq.components == ("magnitude", "phase")
    assert acq.phase_scaling == "siemens"
    assert acq.dicom is not None and acq.dicom.series_uids == (mag, phase)
    assert acq.pairing is not None and "series 5" in acq.pairing and "series 6" in acq.pairing
    _assert_equal_signal(acq.data, truth, SIEMENS_TO_RAD)


def test_real_and_imaginary_series_are_paired(tmp_path: Path, truth) -> None:
    write_component_series(tmp_path, truth.imag, "imaginary", number=4, signed=True)
    write_component_series(tmp_path, truth.real, "real", number=3, signed=True)
    acq = read_acquisition(tmp_path)
    assert acq.components == ("real", "imaginary") and acq.phase_scaling is None
    _assert_equal_signal(acq.data, truth, 0.0)


def test_ge_rescaled_phase_with_private_image_type(tmp_path: Path, truth) -> None:
    ge = {"manufacturer": "GE MEDICAL SYSTEMS", "ge_private_type": True}
    write_component_series(tmp_path, np.abs(truth), "magnitude", number=700, **ge)
    write_component_series(tmp_path, np.angle(truth), "phase", number=701, slope=0.001,
                           signed=True, **ge)  # radians after RescaleSlope
    acq = read_acquisition(tmp_path)
    assert acq.components == ("magnitude", "phase") and acq.phase_scaling == "radians"
    _assert_equal_signal(acq.data, truth, 0.001)


def test_ge_integer_milliradian_phase_without_rescale_tags(tmp_path: Path, truth) -> None:
    """GE stores phase as int16 milliradians [-3142, 3142] with no RescaleSlope or RescaleType
    (read as Siemens units it would shrink every phase by 3142/4096)."""
    ge = {"manufacturer": "GE MEDICAL SYSTEMS", "ge_private_type": True}
    write_component_series(tmp_path, np.abs(truth), "magnitude", number=800, **ge)
    write_component_series(tmp_path, 1000.0 * np.angle(truth), "phase", number=801, slope=1.0,
                           signed=True, **ge)
    acq = read_acquisition(tmp_path)
    assert acq.components == ("magnitude", "phase") and acq.phase_scaling == "milliradians"
    _assert_equal_signal(acq.data, truth, 1e-3)


def test_phase_unit_declared_by_rescale_type(tmp_path: Path, truth) -> None:
    write_component_series(tmp_path, np.abs(truth), "magnitude", number=401)
    write_component_series(tmp_path, 1000.0 * np.angle(truth), "phase", number=402, slope=1.5,
                           intercept=-3142.0, rescale_type="mrad")
    acq = read_acquisition(tmp_path)
    assert acq.phase_scaling == "milliradians"
    _assert_equal_signal(acq.data, truth, 1.5e-3)


def test_enhanced_mr_with_magnitude_and_phase_frames(tmp_path: Path, truth) -> None:
    small = truth * np.float32(50.0 / PEAK)  # the file's one rescale must hold both components
    write_enhanced(tmp_path / "enh.dcm", np.abs(small), np.angle(small),
                   components=("MAGNITUDE", "PHASE"), rescale=(0.001, -4.0))
    acq = read_acquisition(tmp_path)
    assert acq.components == ("magnitude", "phase") and acq.phase_scaling == "radians"
    np.testing.assert_allclose(acq.data, small, rtol=0, atol=50 * 1e-3 + 1e-3)


def test_two_acquisitions_listed_selected_and_named_apart(tmp_path: Path, truth) -> None:
    repeat = truth * np.exp(0.5j).astype(np.complex64)  # a repeat, same place: 5+6, 7+8
    _siemens(tmp_path / "a", truth, 5)
    _siemens(tmp_path / "b", repeat, 7)
    entries = list_acquisitions(tmp_path)
    assert [e.label.split(" (")[0] for e in entries] == ["series 5 'MRF FISP'",
                                                        "series 7 'MRF FISP'"]
    assert len({e.stem for e in entries}) == 2
    assert entries[0].stem.endswith("_run-5") and entries[1].stem.endswith("_run-7")
    with pytest.raises(AmbiguousInputError, match="2 MRF acquisitions found") as info:
        read_acquisition(tmp_path)
    assert "series 5" in str(info.value) and "series 8" in str(info.value)
    second = read_acquisition(tmp_path, series="7")
    _assert_equal_signal(second.data, repeat, SIEMENS_TO_RAD)
    assert second.stem == entries[1].stem
    by_uid = read_acquisition(tmp_path, series=entries[0].series)
    _assert_equal_signal(by_uid.data, truth, SIEMENS_TO_RAD)
    by_phase_number = read_acquisition(tmp_path, series=6)
    assert by_phase_number.stem == entries[0].stem
    with pytest.raises(AmbiguousInputError, match="no acquisitions match series '9'"):
        read_acquisition(tmp_path, series="9")


def test_two_slices_acquired_separately(tmp_path: Path, truth) -> None:
    _siemens(tmp_path, truth[:, :, :1], 10)
    _siemens(tmp_path, truth[:, :, 1:], 12, stack=Stack(origin=(-10.0, -20.0, 60.0)))
    # 10 M, 11 P at one place and 12 M, 13 P at another: 11 and 12 are adjacent, but elsewhere
    entries = list_acquisitions(tmp_path)
    assert len(entries) == 2
    for entry, k in zip(entries, (0, 1), strict=True):
        acq = read_acquisition(tmp_path, series=entry.series)
        _assert_equal_signal(acq.data, truth[:, :, k:k + 1], SIEMENS_TO_RAD)


def test_magnitude_alone_is_a_magnitude_acquisition(tmp_path: Path, truth) -> None:
    write_component_series(tmp_path, np.abs(truth), "magnitude", number=5)
    far = write_component_series(tmp_path, np.angle(truth), "phase", number=9, slope=0.001,
                                 signed=True)  # not adjacent: not its phase
    acq = read_acquisition(tmp_path)
    assert acq.kind == "magnitude" and acq.components == ("magnitude",)
    np.testing.assert_allclose(acq.data.real, np.abs(truth), atol=0.5)
    assert len(acq.notes) == 1 and far in acq.notes[0] and "not used" in acq.notes[0]


@pytest.mark.parametrize("what", ["patients", "studies"])
def test_two_patients_or_studies_refused_naming_both(tmp_path: Path, truth, what: str) -> None:
    study_a = "1.2.826.0.1.3680043.8.498.11111111111111111111"
    study_b = "1.2.826.0.1.3680043.8.498.22222222222222222222"
    _siemens(tmp_path, truth, 5, patient_id="P-ONE", study_uid=study_a)
    _siemens(tmp_path, truth, 7, patient_id="P-TWO" if what == "patients" else "P-ONE",
             study_uid=study_b)
    with pytest.raises(InputFileError) as info:
        read_acquisition(tmp_path)
    message = str(info.value)
    assert "\n" not in message and "give one study at a time" in message
    if what == "patients":
        assert "'P-ONE'" in message and "'P-TWO'" in message
    assert "1.2.826....11111111" in message and "1.2.826....22222222" in message


def test_phase_alone_is_refused_naming_it(tmp_path: Path, truth) -> None:
    write_component_series(tmp_path, np.angle(truth), "phase", number=6, slope=0.001,
                           signed=True)
    with pytest.raises(InputFileError, match="cannot form complex data from phase"):
        list_acquisitions(tmp_path)
