"""BIDS-like names: labels from IDs that are long, non-ASCII or differ only in dropped characters."""

from __future__ import annotations


def test_long_and_non_ascii_ids_give_distinct_valid_labels():
    from mrfrecon.io.bids import MAX_LABEL_LENGTH, sanitize_label

    ids = ["José", "Jose", "张三", "李四", "A" * 200, "A" * 199 + "B"]
    labels = [sanitize_label(i) for i in ids]
    assert len(set(labels)) == len(ids)
    assert all(lab.isascii() and lab.isalnum() and len(lab) <= MAX_LABEL_LENGTH
               for lab in labels)
