"""Sequence files: formats, shipped schedules, generators and validation messages."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from mrfrecon.errors import SequenceError
from mrfrecon.sequence import load_sequence, sequence_from_dict


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_jiang_schedule_shape(jiang):
    assert jiang.kind == "fisp" and jiang.n_timepoints == 1000
    lobes = jiang.fa_deg.reshape(5, 200)
    np.testing.assert_allclose(lobes.max(axis=1), [35, 43, 70, 45, 27], atol=0.05)
    assert np.all(lobes[:4, -10:] == 0)  # 10-TR gaps between lobes
    assert np.all(lobes[:, :190] >= 5.0 - 1e-9)  # 5° floor
    assert jiang.tr_ms.min() == pytest.approx(11.67) and jiang.tr_ms.max() == pytest.approx(14.33)
    assert np.abs(np.diff(jiang.tr_ms)).max() < 0.5  # smooth
    assert jiang.inversion is not None and jiang.inversion.efficiency == 1.0


def test_shipped_sequences_are_valid(short_fisp, ma_bssfp):
    assert 200 <= short_fisp.n_timepoints <= 500 and short_fisp.kind == "fisp"
    assert ma_bssfp.kind == "bssfp" and ma_bssfp.df_range_hz is not None
    np.testing.assert_allclose(ma_bssfp.te_ms, ma_bssfp.tr_ms / 2)
    assert set(np.unique(ma_bssfp.phase_deg)) == {0.0, 180.0}


def test_formats_resolve_to_the_same_schedule(tmp_path):
    fa = [10.0, 20.0, 30.0, 15.0]
    tr = [12.0, 12.5, 13.0, 12.0]
    mapping = {
        "kind": "fisp",
        "fa_deg": fa,
        "tr_ms": tr,
        "te_ms": 2.0,
        "phase_deg": 0.0,
        "inversion": {"ti_ms": 20.0, "efficiency": 0.95},
    }
    y = write(tmp_path, "s.yaml", yaml.safe_dump(mapping))
    j = write(tmp_path, "s.json", json.dumps(mapping))
    t = write(
        tmp_path,
        "s.toml",
        'kind = "fisp"\nfa_deg = [10.0, 20.0, 30.0, 15.0]\n'
        "tr_ms = [12.0, 12.5, 13.0, 12.0]\nte_ms = 2.0\nphase_deg = 0.0\n"
        "[inversion]\nti_ms = 20.0\nefficiency = 0.95\n",
    )
    c = write(
        tmp_path,
        "sched.csv",
        "fa_deg,tr_ms,te_ms\n" + "".join(f"{a},{b},2.0\n" for a, b in zip(fa, tr, strict=True)),
    )
    yc = write(
        tmp_path, "c.yaml", "kind: fisp\ncsv: sched.csv\ninversion: {ti_ms: 20, efficiency: 0.95}\n"
    )
    hashes = {load_sequence(p).sha256 for p in (y, j, t, yc)}
    assert len(hashes) == 1
    plain_csv = load_sequence(c)
    np.testing.assert_array_equal(plain_csv.fa_deg, fa)
    assert plain_csv.inversion is None


def test_sha_changes_with_one_flip_angle(tmp_path):
    a = load_sequence(write(tmp_path, "a.yaml", "kind: fisp\nfa_deg: [10, 20]\ntr_ms: 12\n"))
    b = load_sequence(write(tmp_path, "b.yaml", "kind: fisp\nfa_deg: [10, 20.001]\ntr_ms: 12\n"))
    assert a.sha256 != b.sha256


def test_full_dict_round_trip(jiang):
    again = sequence_from_dict(json.loads(json.dumps(jiang.to_full_dict())))
    assert again.sha256 == jiang.sha256 and again.t1_grid_ms == jiang.t1_grid_ms


@pytest.mark.parametrize(
    "text,match",
    [
        ("kind: fisp\nfa_deg: [10, 20]\ntr_ms: [12, 12, 12]\n", "lengths differ"),
        (
            "kind: fisp\nfa_deg: [10, 20]\ntr_ms: 12\nte_ms: [2, 12]\n",
            r"te_ms \(12\) must be < tr_ms \(12\) at TR 2",
        ),
        ("kind: fisp\nfa_deg: [10, -5]\ntr_ms: 12\n", r"fa_deg.*negative \(-5\) at TR 2"),
        ("kind: fisp\nfa_deg: [10, .nan]\ntr_ms: 12\n", "fa_deg.*not finite at TR 2"),
        ("kind: fisp\nfa_deg: [10, 190]\ntr_ms: 12\n", r"outside \[0, 180\] at TR 2"),
        ("kind: flash\nfa_deg: [10]\ntr_ms: 12\n", "unknown kind 'flash'"),
        ("kind: fisp\nfa_deg: []\ntr_ms: 12\n", "empty schedule"),
        ("kind: fisp\nfa_deg: [10]\n", "field 'tr_ms' is missing"),
        ("kind: fisp\nfa_deg: [10]\ntr_ms: 12\nfoo: 1\n", "unknown field 'foo'"),
        ("kind: fisp\nfa_deg: [10]\ntr_ms: 12\ninversion: {ti_ms: -1}\n", "inversion.ti_ms"),
        (
            "kind: fisp\nfa_deg: {generator: nope}\ntr_ms: 12\nn_timepoints: 3\n",
            "unknown generator",
        ),
        ("kind: [unclosed\n", "cannot parse"),
    ],
)
def test_validation_errors_name_the_field(tmp_path, text, match):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(SequenceError, match=match) as info:
        load_sequence(path)
    assert "\n" not in str(info.value)


def test_csv_errors(tmp_path):
    with pytest.raises(SequenceError, match="column 'tr_ms' is missing"):
        load_sequence(write(tmp_path, "a.csv", "fa_deg\n10\n"))
    with pytest.raises(SequenceError, match="line 3: tr_ms value 'x'"):
        load_sequence(write(tmp_path, "b.csv", "fa_deg,tr_ms\n10,12\n10,x\n"))
    with pytest.raises(SequenceError, match="unknown sequence file type"):
        load_sequence(write(tmp_path, "c.txt", "x"))


# --- hostile sequence files: refused early, one line, nothing outside the file's folder read

from mrfrecon.limits import LIMITS, LimitError  # noqa: E402

VALID = "kind: fisp\nfa_deg: [10, 20, 30]\ntr_ms: 10\n"


def test_yaml_alias_bomb_is_refused(tmp_path):
    lines = ["kind: fisp", "tr_ms: 10", "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append("fa_deg: *a29")
    path = write(tmp_path, "laughs.yaml", "\n".join(lines) + "\n")
    with pytest.raises(LimitError, match="laughs.yaml.*max_yaml_aliases"):
        load_sequence(path)


@pytest.mark.parametrize("spec", ["../secret.csv", "/etc/passwd", "link.csv", "sub/../../x.csv"],
                         ids=["dotdot", "absolute", "symlink-out", "nested-dotdot"])
def test_csv_stays_inside_the_sequence_folder(tmp_path, spec):
    (tmp_path / "secret.csv").write_text("fa_deg,tr_ms\n10,10\n")
    folder = tmp_path / "seq"
    folder.mkdir()
    (folder / "link.csv").symlink_to(tmp_path / "secret.csv")
    path = write(folder, "s.yaml", f"kind: fisp\ncsv: {spec}\n")
    with pytest.raises(SequenceError, match="inside the sequence file's folder") as info:
        load_sequence(path)
    assert spec not in str(info.value) and "secret" not in str(info.value)


def test_csv_special_files_are_refused(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.csv")
    path = write(tmp_path, "s.yaml", "kind: fisp\ncsv: pipe.csv\n")
    with pytest.raises(SequenceError, match="inside the sequence file's folder"):
        load_sequence(path)  # would block forever if the FIFO were opened


def test_csv_in_a_model_mapping_is_refused():
    with pytest.raises(SequenceError, match="only allowed in a sequence file"):
        sequence_from_dict({"kind": "fisp", "csv": "x.csv"})


def test_sequence_file_must_be_regular(tmp_path):
    with pytest.raises(SequenceError, match="not a regular file"):
        load_sequence("/dev/zero")


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("kind: fisp\nn_timepoints: 1000000000\nfa_deg: 10\ntr_ms: 10\n", "max_timepoints"),
        ("kind: fisp\nn_timepoints: 100\nfa_deg: {generator: lobes, peaks_deg: [30],"
         " lobe_length: 10000000000}\ntr_ms: 10\n", "max_timepoints"),
        ("kind: fisp\nn_timepoints: 100\nfa_deg: 10\ntr_ms: {generator: smooth_random, min: 10,"
         " max: 12, n_knots: 1000000000}\n", "max_timepoints"),
        (VALID + "dictionary: {t1_ms: '1:1000000000:1'}\n", "max_range_values"),
        (VALID + "slice_profile: {time_bandwidth: 4, n_sub: 100000000}\n", "max_sub_slices"),
    ],
    ids=["n_timepoints", "lobe_length", "n_knots", "grid", "n_sub"],
)
def test_size_bombs_name_the_limit(tmp_path, text, limit):
    with pytest.raises(LimitError, match=limit):
        load_sequence(write(tmp_path, "bomb.yaml", text))


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("slice_profile: {scales: [1, .nan], weights: [0.5, 0.5]}\n", "finite"),
        ("slice_profile: {time_bandwidth: .nan}\n", "time_bandwidth"),
        ("dictionary: {t1_ms: .nan}\n", "not finite"),
    ],
    ids=["nan-scale", "nan-tbw", "nan-grid"],
)
def test_nan_values_are_refused(tmp_path, extra, match):
    with pytest.raises(SequenceError, match=match):
        load_sequence(write(tmp_path, "nan.yaml", VALID + extra))


def test_all_zero_flip_angles_are_refused(tmp_path):
    with pytest.raises(SequenceError, match="0 at every TR"):
        load_sequence(write(tmp_path, "zero.yaml", "kind: fisp\nfa_deg: [0, 0, 0]\ntr_ms: 10\n"))


def test_limits_are_one_dataclass():
    assert LIMITS.max_timepoints >= 1000  # the shipped sequences fit


@pytest.mark.parametrize("name", ["*", "fisp_*", "[fb]*"])
def test_patterns_do_not_pick_a_shipped_sequence(name, tmp_path, monkeypatch):
    from mrfrecon.sequence import resolve_sequence_path

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SequenceError, match="not found"):
        resolve_sequence_path(name)
