"""qc.report: the HTML page and its PNG figures are written and carry the run's numbers."""

from __future__ import annotations

import html

import numpy as np
import pytest

from mrfrecon.errors import OutputExistsError
from mrfrecon.mapset import MapSet
from mrfrecon.metrics import error_metrics
from mrfrecon.qc.metrics import REFERENCE_TABLE, summarize
from mrfrecon.qc.report import write_report
from tests.helpers import make_recon_result

PNG = b"\x89PNG\r\n\x1a\n"


def _truth(maps: MapSet) -> dict[str, np.ndarray]:
    return {"t1": maps.t1_ms * 1.1, "t2": maps.t2_ms * 0.8}


def test_report_with_truth_has_every_figure_and_the_numbers(tmp_path):
    result = make_recon_result(with_sd=True)
    summary = summarize(result)
    truth = _truth(result.maps)
    metrics = {p: error_metrics(getattr(result.maps, f"{p}_ms"), truth[p], mask=result.maps.mask)
               for p in ("t1", "t2")}
    written = write_report(tmp_path / "qc", result.maps, summary, metrics=metrics, truth=truth,
                           title="run <1>")
    names = {p.name for p in written}
    assert names == {"index.html", "maps.png", "histograms.png", "errors.png", "agreement.png"}
    for path in written:
        assert path.parent == tmp_path / "qc" and path.stat().st_size > 0
        if path.suffix == ".png":
            assert path.read_bytes().startswith(PNG)
    page = (tmp_path / "qc" / "index.html").read_text()
    assert "<title>run &lt;1&gt;</title>" in page  # the title is escaped
    assert f"<td>{summary.n_voxels}</td>" in page
    assert f"{summary.t1_ms.median:.4g} (IQR {summary.t1_ms.q1:.4g}-{summary.t1_ms.q3:.4g})" in page
    # T1 is 1/1.1 of the truth everywhere: MAPE 9.09 %, MPE -9.09 %
    assert f"<td>{metrics['t1']['mape']:.2f}</td>" in page and "<td>9.09</td>" in page
    assert f"<td>{metrics['t1']['mpe']:.2f}</td>" in page and "<td>-9.09</td>" in page
    assert f"<td>{REFERENCE_TABLE['quantized']['t2']['mape']:.2f}</td>" in page
    assert summary.warnings and all(html.escape(w) in page for w in summary.warnings)
    for image in ("maps.png", "histograms.png", "errors.png", "agreement.png"):
        assert f'src="{image}"' in page


def test_existing_report_is_refused_then_replaced_with_overwrite(tmp_path):
    result = make_recon_result(with_sd=False)
    summary = summarize(result)
    first = write_report(tmp_path, result.maps, summary)
    assert {p.name for p in first} == {"index.html", "maps.png", "histograms.png"}
    before = {p: p.read_bytes() for p in first}
    with pytest.raises(OutputExistsError):
        write_report(tmp_path, result.maps, summary, title="second")
    assert {p: p.read_bytes() for p in first} == before
    write_report(tmp_path, result.maps, summary, title="second", overwrite=True)
    assert "<h1>second</h1>" in (tmp_path / "index.html").read_text()


def test_maps_without_mask_or_quality_are_drawn_whole(tmp_path):
    result = make_recon_result(with_sd=False)
    summary = summarize(result)
    bare = MapSet(result.maps.t1_ms, result.maps.t2_ms, result.maps.m0)
    written = write_report(tmp_path, bare, summary, truth=_truth(bare))
    assert all(p.read_bytes().startswith(PNG) for p in written if p.suffix == ".png")
