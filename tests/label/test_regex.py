"""regex_lf: votes exactly where re.search matches, rejects dangerous patterns."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dawn.data import as_frame
from dawn.errors import ColumnNotFoundError, LabelError, LabelingFunctionError, RegexError
from dawn.label import regex as regex_module
from dawn.label.regex import RegexLF, regex_lf

ATOMS = ["a", "b", "K", "_", " ", "-", r"\n", r"\d", r"\w", r"\s", r"\W", r"\S", r"\b", r"\B",
         ".", "[a-c]", "[^b]", "^", "$", r"\A", r"\Z", r"[\s\d_]", "é", "ſ", r"\.", "ab"]
TEXT_ALPHABET = "abcABK_ -.\n\t\x0b\x1c09éſ\u212aİ😀"


def _patterns():
    atom = st.sampled_from(ATOMS)
    return st.recursive(atom, lambda inner: st.one_of(
        st.tuples(inner, inner).map("".join),
        st.tuples(inner, inner).map(lambda t: f"(?:{t[0]}|{t[1]})"),
        inner.map(lambda x: f"({x})"),
        st.tuples(inner, st.sampled_from(["*", "+", "?", "{1,3}", "*?", "{2}"])).map(
            lambda t: f"(?:{t[0]}){t[1]}"),
        inner.map(lambda x: f"(?i:{x})"),
        inner.map(lambda x: f"(?-i:{x})"),
    ), max_leaves=6)


def _compiles_safely(pattern, flags):
    try:
        regex_lf("p", pattern, 1, flags=flags)
    except RegexError:
        return False
    return True


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(_patterns(), min_size=1, max_size=4),
       st.lists(st.one_of(st.none(), st.text(TEXT_ALPHABET, max_size=12)), min_size=1,
                max_size=12),
       st.sampled_from([0, re.IGNORECASE, re.MULTILINE, re.DOTALL | re.IGNORECASE, re.ASCII]))
def test_group_equals_re_search(monkeypatch, patterns, texts, flags):
    patterns = [p for p in patterns if _compiles_safely(p, flags)]
    assume(patterns)
    monkeypatch.setattr(regex_module, "_FEW_ROWS", 0)  # exercise the RE2 path on tiny data
    lfs = [regex_lf(f"r{j}", p, 1, flags=flags) for j, p in enumerate(patterns)]
    frame = as_frame({"text": pd.array(texts * 3, dtype=object)})
    votes = RegexLF.apply_many(lfs, frame)
    for j, lf in enumerate(lfs):
        expect = [re.search(lf.pattern, t or "", flags) is not None for t in texts * 3]
        assert (votes[:, j] == 1).tolist() == expect, (lf.pattern, lf.re2, lf.literals)


def test_literal_prefilter_and_python_only_constructs():
    texts = ["FREE now", "freedom", "win win", "abcabc", "ab", "café ab", None, ""]
    lfs = [regex_lf("a", r"\b(free|win)\b", 0), regex_lf("b", r"(ab)c\1", 1),
           regex_lf("c", r"ab(?!c)", 1), regex_lf("d", r"^$", 0), regex_lf("e", r"a++b", 1)]
    assert lfs[0].literals == [("free", False), ("win", False)]
    assert lfs[1].re2 is None and lfs[2].re2 is None and lfs[4].re2 is None
    votes = RegexLF.apply_many(lfs, as_frame({"text": texts}))
    for j, lf in enumerate(lfs):
        expect = [re.search(lf.pattern, t or "", re.I) is not None for t in texts]
        assert (votes[:, j] >= 0).tolist() == expect
    assert votes.dtype == np.int8


def test_flags_and_compiled_patterns():
    frame = as_frame({"text": ["Spam", "spam"]})
    assert regex_lf("cs", "Spam", 1, flags=0).apply_frame(frame).tolist() == [1, -1]
    compiled = regex_lf("c", re.compile("SPAM"), 1)
    assert compiled.apply_frame(frame).tolist() == [-1, -1]
    assert regex_lf("ci", "SPAM", 1).apply_frame(frame).tolist() == [1, 1]


def test_call_non_string_column_and_empty_frame():
    lf = regex_lf("num", r"^1\d$", "big", column="n")
    assert lf({"n": 12}) == "big" and lf({"n": None}) == -1
    assert lf.apply_frame(as_frame({"n": [12, 3, None]}), classes=["small", "big"]).tolist() \
        == [1, -1, -1]
    assert lf.apply_frame(as_frame({"n": np.array([], dtype=float)}), ["a", "big"]).shape == (0,)
    assert lf.columns == ("n",)


def test_missing_column_and_bad_label():
    lf = regex_lf("spammy", "free", "spam", column="txt")
    with pytest.raises(ColumnNotFoundError, match=r"labeling function 'spammy'.*Did you mean"):
        lf.apply_frame(as_frame({"text": ["free"]}), classes=["ham", "spam"])
    with pytest.raises(LabelError, match=r"'spammy'.*'spam'.*not among"):
        lf.apply_frame(as_frame({"txt": ["free"]}), classes=["ham", "eggs"])


def test_bad_patterns():
    with pytest.raises(RegexError, match=r"'broken'.*'\(free' does not compile: missing \)"):
        regex_lf("broken", "(free", 1)
    with pytest.raises(RegexError, match="must be a str"):
        regex_lf("b", b"free", 1)
    with pytest.raises(LabelingFunctionError, match="flags must be re flags"):
        regex_lf("f", "free", 1, flags="i")
    with pytest.raises(RegexError, match="cannot be used with flags"):
        regex_lf("f", "free", 1, flags=re.LOCALE)


@pytest.mark.parametrize("pattern", [r"(a+)+", r"(a|aa)*", r"(\w+\s?)*$", r"(.*a){20}",
                                     r"(a*)*b", r"^(\d+)*$", r"(?=(x+)+y)", r"([a-z]+)*@",
                                     r".*a.*b.*c"])
def test_catastrophic_patterns_are_rejected(pattern):
    with pytest.raises(RegexError, match=r"'bad'.*backtrack.*(possessive|negated class)"):
        regex_lf("bad", pattern, 1)


@pytest.mark.parametrize("pattern", [r"\b(free|win)\b", r"https?://\S+", r"(\d{3})-\d{4}",
                                     r"[a-z]+@[a-z]+\.com", r"(a++)+", r"(?>a+)+b",
                                     r"(\d{1,3}\.){3}\d{1,3}", r"\d+-\d+-\d+", r"(\w+\s)*",
                                     r".*foo.*", r"(?:\w+\.)+com", r"^\s*hi\s*there\s*$"])
def test_common_safe_patterns_are_accepted(pattern):
    regex_lf("ok", pattern, 1)


def test_error_names_the_offending_part():
    with pytest.raises(RegexError, match=r"in '\(x\+\)\+'"):
        regex_lf("bad", r"hello (x+)+ world", 1)
