"""qc.metrics: summarize -> MapSummary (a dataclass whose to_dict() is the JSON), warnings,
Stats, and the ground-truth maps' units."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
from numpy.testing import assert_allclose

from mrfrecon.qc.metrics import MapSummary, Stats, read_truth_map, summarize
from tests.helpers import make_recon_result


def test_summary_fields_and_json():
    summary = summarize(make_recon_result(with_sd=True))
    assert isinstance(summary, MapSummary) and summary.method == "float"
    assert summary.n_voxels == 10
    inside = np.linspace(500, 1500, 20)[5:15]
    assert_allclose(summary.t1_ms.median, np.median(inside))
    assert_allclose(summary.t1_ms.iqr, np.subtract(*np.percentile(inside, [75, 25])))
    assert_allclose(summary.t1_relative_sd_median, 0.02)
    # the given warning, low quality (0.5), 20 % of T1 at the range limits
    assert summary.warnings[0] == "given" and len(summary.warnings) == 3
    payload = json.loads(json.dumps(summary.to_dict()))
    assert set(payload) == {"method", "n_voxels", "t1_ms", "t2_ms", "m0", "quality",
                            "noise_sigma", "noise_method", "range_ms",
                            "fraction_at_range_limits", "t1_sd_ms", "t2_sd_ms",
                            "t1_relative_sd_median", "warnings", "input_representation"}
    assert payload["input_representation"] == "complex"
    assert set(payload["t1_ms"]) == {"median", "q1", "q3", "iqr"}
    assert payload["range_ms"]["t1"] == [100.0, 4000.0]


def test_summary_without_uncertainty_has_no_sd_entries():
    payload = summarize(make_recon_result(with_sd=False)).to_dict()
    assert "t1_sd_ms" not in payload and "t1_relative_sd_median" not in payload


def test_empty_mask_and_sequence_mismatch_warnings():
    result = make_recon_result(with_sd=False)
    result.maps.mask[:] = False
    result.quality_deficit = 0.2
    summary = summarize(result)
    assert summary.n_voxels == 0 and summary.t1_ms == Stats()  # no statistics of nothing
    assert summary.t1_ms.iqr is None
    assert any("mask is empty" in w for w in summary.warnings)
    assert any("0.200 below what the noise level explains" in w for w in summary.warnings)
    result.quality_deficit = 0.01  # within what the noise explains: no hint
    assert not any("noise level" in w for w in summarize(result).warnings)


@pytest.mark.parametrize(
    ("stored", "sidecar", "expected_ms"),
    [
        pytest.param(1.2, {"Units": "s"}, 1200.0, id="seconds-by-sidecar"),
        pytest.param(1200.0, {"Units": "ms"}, 1200.0, id="ms-by-sidecar"),
        pytest.param(15.0, {"Units": "ms"}, 15.0, id="sidecar-wins-over-the-guess"),
        pytest.param(1.2, None, 1200.0, id="small-values-are-seconds"),
        pytest.param(80.0, None, 80.0, id="large-values-are-ms"),
    ],
)
def test_truth_map_units(tmp_path, stored, sidecar, expected_ms):
    values = np.zeros((3, 4, 2), np.float32)
    values[1:, 1:] = stored
    path = tmp_path / "truth_T1map.nii.gz"
    nib.save(nib.Nifti1Image(values, np.eye(4)), path)
    if sidecar is not None:
        (tmp_path / "truth_T1map.json").write_text(json.dumps(sidecar))
    got = read_truth_map(path, (3, 4, 2))
    assert_allclose(got[1:, 1:], expected_ms, rtol=1e-6)
    assert not got[0].any()
