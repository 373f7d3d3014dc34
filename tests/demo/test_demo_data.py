"""The demo's generated comments."""

from __future__ import annotations

import pytest

from dawn.demo import generate_comments
from dawn.errors import DataError


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = generate_comments(500, seed=3), generate_comments(500, seed=3), generate_comments(
        500, seed=4)
    assert a.equals(b)
    assert not a["text"].equals(c["text"])


def test_rows_classes_and_spam_rate():
    df = generate_comments(4000, spam_rate=0.25, seed=0)
    assert len(df) == 4000 and df["comment_id"].is_unique
    assert set(df["label"]) == {"ham", "spam"}
    assert 0.22 < (df["label"] == "spam").mean() < 0.28
    assert not df["text"].str.contains("{", regex=False).any()  # every slot filled


def test_text_and_label_overlap_so_rules_are_imperfect():
    df = generate_comments(4000, seed=0)
    has_link = df["n_links"] > 0
    # links are mostly spam, but some fans post links too
    assert 0.6 < (df.loc[has_link, "label"] == "spam").mean() < 0.99
    new = df["account_age_days"] < 30
    assert 0.5 < (df.loc[new, "label"] == "spam").mean() < 0.99


def test_needs_at_least_one_row():
    with pytest.raises(DataError, match="n=0"):
        generate_comments(0)
