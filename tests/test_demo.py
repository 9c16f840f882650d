"""run_demo: the library does the demo's work, reports progress, never prints."""

from __future__ import annotations

import pytest

from mrfrecon.demo import DEMO_STEPS, DemoConfig, run_demo
from mrfrecon.errors import OutputExistsError


def test_refuses_a_folder_with_files_before_any_work(tmp_path):
    (tmp_path / "mine.txt").write_text("x")
    steps = []
    with pytest.raises(OutputExistsError, match="exists"):
        run_demo(tmp_path, progress=lambda step, done, total: steps.append(step))
    assert steps == [] and [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_runs_in_order_and_prints_nothing(tmp_path, short_fisp, tiny_model, monkeypatch, capfd):
    """The whole demo on the short schedule; retraining is replaced by the session's tiny model
    (the full run, retraining included, is the slow CLI test)."""
    import mrfrecon.training
    from mrfrecon.training import RetrainResult

    def fake_retrain(sequence, config, progress):
        assert sequence is short_fisp and config.seconds == 2.0
        progress("float", 1, 2)
        return RetrainResult(tiny_model, {"seconds_total": 0.0})

    monkeypatch.setattr(mrfrecon.training, "retrain", fake_retrain)
    seen: list[tuple[str, int, int]] = []
    result = run_demo(tmp_path / "demo", DemoConfig(seconds=2.0, size=24), sequence=short_fisp,
                      progress=lambda step, done, total: seen.append((step, done, total)))
    assert list(dict.fromkeys(step for step, _, _ in seen)) == list(DEMO_STEPS)
    assert ("retrain", 1, 2) in seen and all(0 <= d <= t for _, d, t in seen)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    payload = result.to_dict()
    assert set(payload) == {"output", "model", "report", "metrics", "reference_work", "summary",
                            "retrain", "seconds", "magnitude"}
    assert set(payload["metrics"]) == {"quantized", "float", "matching"}
    assert set(payload["magnitude"]["inputs"]) == {"complex", "magnitude"}
    assert payload["magnitude"]["metrics"]["quantized"]["t1"]["n"] > 0
    assert payload["metrics"]["matching"]["t1"]["mape"] < 10
    assert result.model.is_file() and result.report is not None and result.report.exists()
    anat = tmp_path / "demo" / "maps" / "sub-phantom" / "anat"  # a BIDS derivative
    assert (anat / "sub-phantom_desc-sd_T1map.nii.gz").is_file()
