"""DICOM Parametric Maps: dciodvfy-clean (see test_dicom_write), coded SD quantities, slice
spacing for readers, and highdicom reading back the real-world values at the right places."""

from __future__ import annotations

import os
import subprocess

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.sr.codedict import codes

from mrfrecon.io import read_acquisition, write_maps
from mrfrecon.io.geometry import LPS_TO_RAS
from tests.helpers import (
    OBLIQUE,
    Stack,
    assert_same_world_image,
    random_maps,
    random_series,
    write_classic_series,
)

SHAPE = (5, 4, 3, 2)
THICK = Stack(orientation=OBLIQUE.orientation, slice_step=5.0)  # 5 mm slices


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("pmaps")
    magnitude, _ = random_series(SHAPE)
    write_classic_series(root / "in", magnitude, stack=THICK)
    acq = read_acquisition(root / "in")
    maps = random_maps(SHAPE[:3])
    return acq, maps, write_maps(maps, acq, root / "out", parametric_map=True)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        pytest.param("T1map", "t1_ms", id="T1"),
        pytest.param("desc-sd_T2map", "t2_sd_ms", id="T2 SD"),
        pytest.param("desc-quality_M0map", "quality", id="quality"),
    ],
)
def test_highdicom_reads_back_the_real_world_values(written, name, field) -> None:
    acq, maps, files = written
    pm = hd.pm.ParametricMap.from_dataset(pydicom.dcmread(files.parametric_maps[name]))
    volume = pm.get_volume(apply_real_world_transform=True)  # (slices, rows, columns), LPS
    expected = np.where(maps.mask, getattr(maps, field), 0)
    assert_same_world_image(expected, LPS_TO_RAS @ acq.affine, volume.array, volume.affine,
                            atol=1e-4 * float(expected.max()))


def test_sd_map_is_coded_as_the_sd_of_its_quantity(written) -> None:
    _, _, files = written
    for name, quantity, sd in (("T2map", codes.DCM.T2, False),
                               ("desc-sd_T2map", codes.DCM.T2, True),
                               ("desc-sd_T1map", codes.DCM.T1, True)):
        ds = pydicom.dcmread(files.parametric_maps[name])
        mapping = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
        concepts = {hd.sr.CodedConcept.from_dataset(i.ConceptNameCodeSequence[0]):
                    hd.sr.CodedConcept.from_dataset(i.ConceptCodeSequence[0])
                    for i in mapping.QuantityDefinitionSequence}
        assert concepts[codes.SCT.Quantity] == quantity
        derivation = concepts.get(codes.DCM.Derivation)
        assert (derivation is not None and derivation == codes.SCT.StandardDeviation) == sd


def test_series_description_window_and_slice_spacing(written, require_tool, tmp_path) -> None:
    acq, _, files = written
    for path in files.parametric_maps.values():
        ds = pydicom.dcmread(path)
        assert ds.SeriesDescription.startswith("MRF FISP ")
        voi = ds.SharedFunctionalGroupsSequence[0].FrameVOILUTSequence[0]
        # a width below 1 (the quality map, 0.5-1) needs LINEAR_EXACT
        assert float(voi.WindowWidth) >= 1 or voi.VOILUTFunction == "LINEAR_EXACT"
        measures = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
        assert float(measures.SpacingBetweenSlices) == pytest.approx(5.0)
    tool = require_tool("dcm2niix")
    result = subprocess.run(
        [tool, "-z", "n", "-b", "n", "-f", "conv", "-o", str(tmp_path),
         str(files.parametric_maps["T1map"])],
        capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    converted = nib.load(tmp_path / "conv.nii")
    np.testing.assert_allclose(sorted(converted.header.get_zooms()[:3]),
                               sorted(acq.voxel_size_mm), rtol=1e-4)
