"""qc.summarize -> MapSummary, evaluate -> Evaluation: dataclasses whose to_dict() is the JSON."""

from __future__ import annotations

import io
import json

import numpy as np
from numpy.testing import assert_allclose

from mrfrecon.evaluate import Evaluation, evaluate, plot_errors
from mrfrecon.mapset import MapSet
from mrfrecon.method import Method
from mrfrecon.metrics import METRIC_KEYS
from mrfrecon.qc.metrics import MapSummary, summarize
from mrfrecon.recon.core import ReconResult
from mrfrecon.sequence import Sequence


def _result(with_sd: bool) -> ReconResult:
    shape = (4, 5, 1)
    mask = np.zeros(shape, bool)
    mask[1:3] = True  # 10 voxels
    t1 = np.where(mask, np.linspace(500, 1500, 20).reshape(shape), 0.0)
    sd = np.where(mask, 0.02 * t1, 0.0) if with_sd else None
    maps = MapSet(t1, t1 / 10, np.where(mask, 1 + 0j, 0), np.where(mask, 0.5, 0).astype(
        np.float32), mask, sd, sd)
    return ReconResult(maps, Method.FLOAT, 0.01, "residual", 10, {"t1": (100.0, 4000.0),
                       "t2": (10.0, 1500.0)}, {"t1": 0.2, "t2": 0.0}, warnings=["given"])


def test_summary_fields_and_json():
    summary = summarize(_result(with_sd=True))
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
    payload = summarize(_result(with_sd=False)).to_dict()
    assert "t1_sd_ms" not in payload and "t1_relative_sd_median" not in payload


def test_model_sequence_is_parsed_and_evaluation_is_a_dataclass(short_model, short_fisp):
    assert isinstance(short_model.sequence, Sequence)
    assert short_model.sequence_sha256 == short_fisp.sha256
    result = evaluate(short_model, noise=0.01, n=40, methods=("quantized", Method.FLOAT))
    assert isinstance(result, Evaluation)
    assert list(result.estimates) == [Method.FLOAT, Method.QUANTIZED]  # fixed order
    assert result.estimates[Method.QUANTIZED][0].shape == (40,)
    payload = json.loads(json.dumps(result.to_dict()))
    assert not [k for k in payload if k.startswith("_")]
    assert list(payload["methods"]) == ["float", "quantized"]
    assert tuple(payload["methods"]["float"]["t1"]) == METRIC_KEYS
    assert payload["methods"]["float"]["t1"]["n"] == 40
    png = io.BytesIO()
    plot_errors(result, png, n_bins=3)
    assert png.getvalue().startswith(b"\x89PNG")
