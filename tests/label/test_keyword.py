"""keyword_lf: votes exactly where Python's re would find a keyword."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dawn.data import as_frame
from dawn.errors import ColumnNotFoundError, LabelError, LabelingFunctionError
from dawn.label.keyword import KeywordLF, keyword_lf

ALPHABET = "abcKkSsIiéß_ 09.,!-'" + "İıſ\u212aﬁ😀Σς"


def _reference(texts, keywords, whole_word, case_sensitive):
    flags = 0 if case_sensitive else re.IGNORECASE
    pats = [(r"(?<!\w)" + re.escape(k) + r"(?!\w)") if whole_word else re.escape(k)
            for k in keywords]
    return [any(re.search(p, t or "", flags) for p in pats) for t in texts]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.text(ALPHABET, max_size=30)), max_size=10),
       st.lists(st.lists(st.text(ALPHABET, min_size=1, max_size=5), min_size=1, max_size=4),
                min_size=1, max_size=4),
       st.lists(st.booleans(), min_size=8, max_size=8))
def test_group_equals_re_reference(texts, keyword_lists, modes):
    lfs = [keyword_lf(f"lf{j}", kws, j % 2, whole_word=modes[2 * j],
                      case_sensitive=modes[2 * j + 1]) for j, kws in enumerate(keyword_lists)]
    frame = as_frame({"text": pd.array(texts, dtype=object)})
    votes = KeywordLF.apply_many(lfs, frame)
    assert votes.shape == (len(texts), len(lfs))
    for j, lf in enumerate(lfs):
        expect = _reference(texts, lf.keywords, lf.whole_word, lf.case_sensitive)
        assert (votes[:, j] >= 0).tolist() == expect
        np.testing.assert_array_equal(lf.apply_frame(frame), votes[:, j])
        assert [lf({"text": t}) != -1 for t in texts] == expect


def test_whole_word_phrases_and_class_names():
    df = pd.DataFrame({"body": ["Check out my channel!", "checkout now", "SUB to me", "subway"]})
    lf = keyword_lf("promo", ["check out", "sub"], "spam", column="body")
    votes = lf.apply_frame(as_frame(df), classes=["ham", "spam"])
    assert votes.tolist() == [1, -1, 1, -1]
    assert votes.dtype == np.int8
    assert lf.columns == ("body",)
    substring = keyword_lf("sub", "sub", 0, column="body", whole_word=False)
    assert substring.apply_frame(as_frame(df)).tolist() == [-1, -1, 0, 0]


def test_case_sensitive():
    lf = keyword_lf("caps", ["FREE"], 1, case_sensitive=True)
    assert lf.apply_frame(as_frame({"text": ["FREE stuff", "free stuff"]})).tolist() == [1, -1]


def test_call_on_rows_like_objects():
    lf = keyword_lf("w", ["win"], 1)
    row = pd.Series({"text": "You WIN"})
    assert lf(row) == 1
    assert lf(pd.DataFrame({"text": ["no"]}).itertuples().__next__()) == -1
    assert lf({"text": None}) == -1
    with pytest.raises(ColumnNotFoundError, match=r"'text'.*'w'"):
        lf({"body": "win"})


def test_empty_frame_and_non_string_column():
    lf = keyword_lf("n", ["1"], 0, column="n")
    assert lf.apply_frame(as_frame({"n": np.array([], dtype=float)})).shape == (0,)
    assert lf.apply_frame(as_frame({"n": [1, 2, 11]})).tolist() == [0, -1, -1]
    empty = KeywordLF.apply_many([lf, keyword_lf("m", ["x"], 1, column="n")],
                                 as_frame({"n": np.array([], dtype=np.int64)}))
    assert empty.shape == (0, 2)


def test_many_columns_and_modes_in_one_group():
    frame = as_frame({"a": ["Free Win", "x"], "b": ["nothing", "FREEDOM"]})
    lfs = [keyword_lf("a1", ["free"], 0, column="a"),
           keyword_lf("b1", ["free"], 1, column="b", whole_word=False),
           keyword_lf("b2", ["FREE"], 1, column="b", case_sensitive=True)]
    votes = KeywordLF.apply_many(lfs, frame)
    assert votes.tolist() == [[0, -1, -1], [-1, 1, -1]]
    # the compiled plan is cached on the group's first LF and reused
    assert len(lfs[0]._plans) == 1
    KeywordLF.apply_many(lfs, frame)
    assert len(lfs[0]._plans) == 1


def test_missing_column_and_bad_label_at_apply_time():
    lf = keyword_lf("spammy", ["free"], "spam", column="txt")
    with pytest.raises(ColumnNotFoundError, match=r"labeling function 'spammy'.*Did you mean"):
        lf.apply_frame(as_frame({"text": ["free"]}), classes=["ham", "spam"])
    lf2 = keyword_lf("spammy", ["free"], "spma")
    with pytest.raises(LabelError, match=r"'spammy'.*'spma'"):
        lf2.apply_frame(as_frame({"text": ["free"]}), classes=["ham", "spam"])
    with pytest.raises(LabelError, match="no classes were given"):
        lf2.apply_frame(as_frame({"text": ["free"]}))
    with pytest.raises(LabelError, match="outside"):
        keyword_lf("big", ["x"], 5).apply_frame(as_frame({"text": ["x"]}), classes=["a", "b"])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"keywords": []}, "empty keyword list"),
    ({"keywords": ["ok", 3]}, "keyword 3 is a int"),
    ({"keywords": ["ok", ""]}, "empty keyword"),
    ({"keywords": 5}, "list of strings"),
    ({"column": 3}, "column must be a non-empty"),
    ({"column": ""}, "column must be a non-empty"),
    ({"whole_word": "yes"}, "whole_word must be True or False"),
    ({"case_sensitive": None}, "case_sensitive must be True or False"),
])
def test_bad_arguments(kwargs, match):
    args = {"name": "lf", "keywords": ["free"], "label": 1, **kwargs}
    with pytest.raises(LabelingFunctionError, match=match):
        keyword_lf(**args)


@pytest.mark.parametrize(("label", "match"), [(True, "not True/False"), (-3, "outside"),
                                               (1.5, "of type float"), ("", "empty class")])
def test_bad_labels(label, match):
    with pytest.raises(LabelError, match=match):
        keyword_lf("lf", ["x"], label)


def test_bad_name():
    with pytest.raises(LabelError, match="non-empty string name"):
        keyword_lf("", ["x"], 1)


def test_int16_votes_for_many_classes():
    lf = keyword_lf("lf", ["x"], 200)
    votes = lf.apply_frame(as_frame({"text": ["x", "y"]}))
    assert votes.dtype == np.int16 and votes.tolist() == [200, -1]
