"""The numba keyword kernel agrees with Python's ``re`` on any text."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dawn.label._text_kernels import (
    N_CODEPOINTS,
    Trie,
    WordTable,
    trie_hits,
    trie_hits_reference,
    unicode_tables,
    utf8_column,
    word_hits,
)

ALPHABET = "abcKksSiIl_ 0129.,!-'\n" + "éßİıſ\u212aﬁ😀ΣσςÉ\u00a0"
texts_st = st.lists(st.one_of(st.none(), st.text(ALPHABET, max_size=25)), max_size=12)
keywords_st = st.lists(st.text(ALPHABET, min_size=1, max_size=4), min_size=1, max_size=6)


def _run(texts, keywords, whole_word, fold):
    arr = pa.array(texts, pa.string())
    data, offsets, valid = utf8_column(arr)
    entries = [(kw, i % 3) for i, kw in enumerate(keywords)]
    return (trie_hits(data, offsets, valid, Trie.build(entries, fold=fold), 3, whole_word),
            trie_hits_reference(texts, entries, 3, whole_word, fold))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts_st, keywords_st, st.booleans(), st.booleans())
def test_kernel_agrees_with_re(texts, keywords, whole_word, fold):
    (hits, fb), (ref_hits, ref_fb) = _run(texts, keywords, whole_word, fold)
    np.testing.assert_array_equal(fb, ref_fb)
    np.testing.assert_array_equal(hits, ref_hits)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts_st, keywords_st, st.booleans())
def test_word_table_kernel_agrees_with_re(texts, keywords, fold):
    entries = [(kw, i % 3) for i, kw in enumerate(keywords) if WordTable.accepts(kw)]
    data, offsets, valid = utf8_column(pa.array(texts, pa.string()))
    hits, fb = word_hits(data, offsets, valid, WordTable.build(entries, fold=fold), 3)
    ref_hits, ref_fb = trie_hits_reference(texts, entries, 3, True, fold)
    np.testing.assert_array_equal(fb, ref_fb)
    np.testing.assert_array_equal(hits, ref_hits)


def test_word_table_takes_keywords_that_start_with_a_word_character():
    assert WordTable.accepts("free") and WordTable.accepts("check out") and WordTable.accepts("é!")
    assert not WordTable.accepts("$$$") and not WordTable.accepts(" free")


def test_tricky_case_folding_matches_re():
    texts = ["\u212aelvin", "ſale", "İstanbul", "ıi", "STRASSE", "ﬁne", "x_free", "free_", "€free€"]
    (hits, _), (ref, _) = _run(texts, ["kelvin", "SALE", "istanbul", "ii", "strasse", "fine",
                                       "free"], True, True)
    np.testing.assert_array_equal(hits, ref)
    assert hits[0, 0] == 1 and hits[1, 1] == 1  # Kelvin sign ~ k, long s ~ s, like re


def test_rows_beyond_tables_are_flagged():
    texts = ["free \U00020000", "free"]
    (hits, fb), _ = _run(texts, ["free"], True, True)
    assert fb.tolist() == [True, False]
    assert hits[:, 0].tolist() == [0, 1]


def test_sliced_and_large_and_null_columns():
    arr = pa.array(["a free b", None, "free", "nope", "FREE"], pa.large_string()).slice(1, 4)
    data, offsets, valid = utf8_column(arr)
    hits, _ = trie_hits(data, offsets, valid, Trie.build([("free", 0)], fold=True), 1, True)
    assert hits[:, 0].tolist() == [0, 1, 0, 1]
    data, offsets, valid = utf8_column(pa.array([None, None], pa.null()))
    assert len(offsets) == 3 and valid.tolist() == [0, 0]


def test_threaded_split_agrees(monkeypatch):
    import dawn.label._text_kernels as k

    rng = np.random.default_rng(0)
    words = np.array(["free", "win", "song", "café", "ſtop", "x", "FREE!"])
    texts = [" ".join(rng.choice(words, 6)) for _ in range(3000)]
    data, offsets, valid = utf8_column(pa.array(texts))
    trie = Trie.build([("free", 0), ("stop", 1), ("café", 2)], fold=True)
    one = trie_hits(data, offsets, valid, trie, 3, True)
    monkeypatch.setattr(k, "_PARALLEL_BYTES", 10)
    two = trie_hits(data, offsets, valid, trie, 3, True)
    np.testing.assert_array_equal(one[0], two[0])


@pytest.mark.parametrize("cp", [0x41, 0xDF, 0x130, 0x131, 0x17F, 0x212A, 0x3A3, 0x1F600])
def test_fold_table_matches_re(cp):
    import re

    fold, word = unicode_tables()
    assert len(fold) == N_CODEPOINTS
    assert re.fullmatch(re.escape(chr(int(fold[cp]))), chr(cp), re.IGNORECASE)
    assert bool(word[cp]) == bool(re.fullmatch(r"\w", chr(cp)))
