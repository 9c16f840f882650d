"""Derived map series: accepted by dciodvfy, read back by dcm2niix, SDs keep their decimals."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.sr.codedict import codes

from mrfrecon.io import read_acquisition, write_maps
from mrfrecon.io.dicom_write import quantize
from tests.helpers import (
    OBLIQUE,
    assert_same_world_image,
    random_maps,
    random_series,
    write_classic_series,
)

SHAPE = (5, 4, 3, 2)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Maps of a DICOM input, with Parametric Maps: (acquisition, maps, MapFiles)."""
    root = tmp_path_factory.mktemp("dicom_maps")
    magnitude, phase = random_series(SHAPE)
    write_classic_series(root / "in", magnitude, phase, stack=OBLIQUE)
    acq = read_acquisition(root / "in")
    maps = random_maps(SHAPE[:3])
    return acq, maps, write_maps(maps, acq, root / "out", parametric_map=True)


def dciodvfy_errors(tool: str, path: Path) -> list[str]:
    result = subprocess.run([tool, str(path)], capture_output=True, text=True)
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if line.startswith("Error")]


def test_every_map_series_passes_dciodvfy(written, require_tool) -> None:
    tool = require_tool("dciodvfy")
    _, _, files = written
    assert set(files.dicom_series) == {"T1map", "T2map", "M0map", "desc-sd_T1map",
                                       "desc-sd_T2map", "desc-quality_M0map"}
    checked = [paths[0] for paths in files.dicom_series.values()]
    checked += list(files.parametric_maps.values())
    for path in checked:
        assert dciodvfy_errors(tool, path) == [], path


@pytest.mark.parametrize(
    ("name", "image_type_3", "quantity", "sd"),
    [
        pytest.param("T1map", "T1 MAP", codes.DCM.T1, False, id="T1"),
        pytest.param("T2map", "T2 MAP", codes.DCM.T2, False, id="T2"),
        pytest.param("M0map", "DENSITY MAP", codes.DCM.ProtonDensity, False, id="M0"),
        pytest.param("desc-sd_T2map", "OTHER", codes.DCM.T2, True, id="T2 SD"),
    ],
)
def test_image_type_and_coded_quantity(written, name, image_type_3, quantity, sd) -> None:
    _, _, files = written
    ds = pydicom.dcmread(files.dicom_series[name][0])
    assert list(ds.ImageType)[:3] == ["DERIVED", "PRIMARY", image_type_3]
    items = ds.RealWorldValueMappingSequence[0].QuantityDefinitionSequence
    concepts = {(i.ConceptNameCodeSequence[0].CodeValue, i.ConceptCodeSequence[0].CodeValue)
                for i in items}
    assert ("246205007", quantity.value) in concepts  # Quantity = T1/T2/PD
    assert (("121401", codes.SCT.StandardDeviation.value) in concepts) == sd  # Derivation


def test_sd_maps_keep_sub_millisecond_precision(written) -> None:
    acq, maps, files = written
    expected = np.where(maps.mask, maps.t2_sd_ms, 0)  # 0.2-5 ms
    series = [pydicom.dcmread(p) for p in files.dicom_series["desc-sd_T2map"]]
    slope = float(series[0].RescaleSlope)
    rwvm = series[0].RealWorldValueMappingSequence[0]
    assert slope == pytest.approx(0.01) and float(rwvm.RealWorldValueSlope) == slope
    back = read_acquisition(files.dicom_series["desc-sd_T2map"][0].parent)
    np.testing.assert_allclose(back.data[..., 0].real, expected, atol=0.005 + 1e-9)
    inside = expected > 0
    error = np.abs(back.data[..., 0].real - expected)[inside] / expected[inside]
    assert error.max() < 0.03  # whole ms would be up to 100 % off at 0.5 ms


def test_large_sds_get_a_coarser_slope_not_clipped() -> None:
    values = np.array([0.0, 0.37, 900.0, 2000.0])
    ints, slope, signed = quantize(values, resolution=0.01)
    assert slope == pytest.approx(0.1) and not signed
    np.testing.assert_allclose(ints * slope, values, atol=slope / 2)


def test_dcm2niix_reads_maps_in_the_same_world_geometry(written, require_tool, tmp_path) -> None:
    tool = require_tool("dcm2niix")
    acq, maps, files = written
    for name, values in (("T1map", maps.t1_ms), ("desc-sd_T2map", maps.t2_sd_ms)):
        out = tmp_path / name
        out.mkdir()
        result = subprocess.run(
            [tool, "-z", "n", "-b", "n", "-f", "conv", "-o", str(out),
             str(files.dicom_series[name][0].parent)],
            capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        converted = nib.load(out / "conv.nii")
        expected = np.where(maps.mask, values, 0)
        atol = 0.5 if name == "T1map" else 0.005 + 1e-6  # 1 ms steps, 0.01 ms steps
        assert_same_world_image(expected, acq.affine, converted.get_fdata(), converted.affine,
                                atol=atol)
