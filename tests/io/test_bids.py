"""BIDS names from the schema: entities, stems, subject folders, source URIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrfrecon.io.bids import parse_name, source_uris, stem_from_filename, subject_folder


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        pytest.param("sub-01_acq-fisp_part-mag_MRF.nii.gz", "sub-01_acq-fisp", id="part dropped"),
        pytest.param("sub-01_run-2_ses-pre_echo-1_MRF.nii", "sub-01_ses-pre_run-2",
                     id="schema order, echo dropped"),
        pytest.param("sub-01_desc-raw_MRF.nii", "sub-01", id="desc dropped (ours added)"),
        pytest.param("my scan.nii", "myscan", id="not BIDS"),
        pytest.param("scan_sub-01.nii.gz", "scan_sub01", id="entity not first"),
    ],
)
def test_stem_keeps_the_entities_a_map_may_carry(name, stem) -> None:
    assert stem_from_filename(name) == stem


def test_parse_name_entities_and_suffix() -> None:
    assert parse_name("sub-01_ses-a_acq-x_T1map.nii.gz") == (
        {"sub": "01", "ses": "a", "acq": "x"}, "T1map")
    assert parse_name("notbids_T1map.nii") == ({}, None)


def test_subject_folder() -> None:
    assert subject_folder("sub-01_ses-2_acq-fisp") == Path("sub-01/ses-2/anat")
    assert subject_folder("sub-01") == Path("sub-01/anat")
    assert subject_folder("maps") is None


def test_source_uris_inside_and_outside_a_bids_dataset(tmp_path) -> None:
    root = tmp_path / "raw"
    (root / "sub-01" / "anat").mkdir(parents=True)
    (root / "dataset_description.json").write_text("{}")
    inside = root / "sub-01" / "anat" / "sub-01_MRF.nii.gz"
    outside = tmp_path / "elsewhere" / "scan.nii"
    uris, links = source_uris([inside, outside])
    assert uris == ["bids:raw:sub-01/anat/sub-01_MRF.nii.gz", "bids:input:scan.nii"]
    assert links == {"raw": root.resolve().as_uri(),
                     "input": outside.parent.resolve().as_uri()}


def test_a_second_input_folder_gets_its_own_link_name(tmp_path) -> None:
    first = tmp_path / "a" / "scan.nii"
    second = tmp_path / "b" / "scan.nii"
    _, links = source_uris([first])
    uris, more = source_uris([second], known=links)
    assert uris == ["bids:input2:scan.nii"]
    assert more == {"input2": second.parent.resolve().as_uri()}
    assert source_uris([first], known=links)[0] == ["bids:input:scan.nii"]  # same folder


def test_long_and_non_ascii_ids_give_distinct_valid_labels():
    from mrfrecon.io.bids import MAX_LABEL_LENGTH, sanitize_label

    ids = ["José", "Jose", "张三", "李四", "A" * 200, "A" * 199 + "B"]
    labels = [sanitize_label(i) for i in ids]
    assert len(set(labels)) == len(ids)
    assert all(lab.isascii() and lab.isalnum() and len(lab) <= MAX_LABEL_LENGTH
               for lab in labels)
