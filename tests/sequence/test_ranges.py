"""One range notation: ``START:STOP:STEP`` strings written, ``{min, max, step}`` read too."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from mrfrecon.errors import SequenceError
from mrfrecon.sequence import (
    ParameterRange,
    load_sequence,
    parse_ranges,
    range_text,
    sequence_from_dict,
)

BASE = {"kind": "fisp", "fa_deg": [10.0, 20.0, 30.0], "tr_ms": 12.0}


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        pytest.param("0.7:1.3:0.05", "0.7:1.3:0.05", id="string"),
        pytest.param({"min": 0.7, "max": 1.3, "step": 0.05}, "0.7:1.3:0.05", id="mapping"),
        pytest.param({"min": -50, "max": 50}, "-50:50:10", id="mapping-default-step"),
        pytest.param([{"min": 100, "max": 200, "step": 50}, {"min": 300, "max": 300, "step": 1}],
                     "100:200:50,300:300:1", id="list-of-mappings"),
        pytest.param([3.0, 1.0, 2.5], "1,2.5,3", id="numbers"),
        pytest.param(1.0, "1", id="number"),
        pytest.param(" 100:2000:20 , 2300:5000:300 ", "100:2000:20,2300:5000:300", id="spaces"),
    ],
)
def test_every_notation_gives_the_written_form(spec, text):
    assert range_text(spec) == text
    np.testing.assert_array_equal(parse_ranges(spec), parse_ranges(text))


def test_mapping_and_string_give_the_same_values():
    a = parse_ranges({"min": 0.7, "max": 1.3, "step": 0.05})
    np.testing.assert_allclose(a, np.arange(13) * 0.05 + 0.7, atol=1e-12)
    assert a[-1] == pytest.approx(1.3)  # STOP included once


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        pytest.param({"min": 2, "max": 1, "step": 1}, "max >= min", id="reversed"),
        pytest.param({"min": 0, "max": 1, "step": 0}, "step > 0", id="zero-step"),
        pytest.param({"min": 0, "stop": 1}, "keys min, max", id="bad-keys"),
        pytest.param({"min": "a", "max": 1}, "must be numbers", id="not-a-number"),
        pytest.param("1:2", "START:STOP:STEP", id="two-parts"),
        pytest.param(True, "expected a range", id="bool"),
        pytest.param("", "empty range", id="empty"),
    ],
)
def test_bad_ranges_name_the_field(spec, match):
    with pytest.raises(SequenceError, match=match):
        range_text(spec, "b1")


@pytest.mark.parametrize("field", ["b1", "df_hz"])
def test_parameter_ranges_accept_both_notations(field):
    from_string = sequence_from_dict({**BASE, field: "-0.5:0.5:0.25"})
    from_mapping = sequence_from_dict({**BASE, field: {"min": -0.5, "max": 0.5, "step": 0.25}})
    attr = "b1_range" if field == "b1" else "df_range_hz"
    for seq in (from_string, from_mapping):
        rng = getattr(seq, attr)
        assert rng == ParameterRange("-0.5:0.5:0.25")
        assert (rng.min, rng.max) == (-0.5, 0.5)
        np.testing.assert_allclose(rng.values(), [-0.5, -0.25, 0.0, 0.25, 0.5])
        assert seq.to_full_dict()[field] == "-0.5:0.5:0.25"  # written in one notation


def test_dictionary_grids_accept_mappings():
    seq = sequence_from_dict({**BASE, "dictionary": {
        "t1_ms": [{"min": 100, "max": 2000, "step": 20}, {"min": 2300, "max": 5000, "step": 300}],
        "t2_ms": {"min": 10, "max": 100, "step": 5}}})
    assert seq.t1_grid_ms == "100:2000:20,2300:5000:300"
    assert seq.t2_grid_ms == "10:100:5"
    assert seq.to_full_dict()["dictionary"] == {"t1_ms": seq.t1_grid_ms, "t2_ms": "10:100:5"}


def test_bad_range_in_a_file_names_field_and_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**BASE, "df_hz": {"min": 50, "max": -50, "step": 10}}))
    with pytest.raises(SequenceError, match=r"df_hz in '.*s\.yaml'.*max >= min"):
        load_sequence(path)
    path.write_text(yaml.safe_dump({**BASE, "dictionary": {"t1_ms": "100:50:10"}}))
    with pytest.raises(SequenceError, match=r"dictionary\.t1_ms in '.*s\.yaml'"):
        load_sequence(path)


def test_old_mapping_form_round_trips(ma_bssfp):
    """A model file written with ``{min, max, step}`` still loads, and writes the string form."""
    full = ma_bssfp.to_full_dict()
    assert full["df_hz"] == "-50:50:10"
    old = json.loads(json.dumps({**full, "df_hz": {"min": -50.0, "max": 50.0, "step": 10.0}}))
    back = sequence_from_dict(old)
    assert back.sha256 == ma_bssfp.sha256
    assert back.df_range_hz == ma_bssfp.df_range_hz
    assert back.to_full_dict() == full


def test_parse_ranges_includes_stop_once():
    values = parse_ranges("100:2000:20,2000:5000:100")
    assert values[0] == 100 and values[-1] == 5000
    assert np.sum(values == 2000) == 1
    assert len(parse_ranges("10:100:5")) == 19
    with pytest.raises(SequenceError, match="STEP > 0"):
        parse_ranges("10:5:1", "t1")
