"""Featurisers: TF-IDF equal to scikit-learn, tabular standardisation and one-hot, saving."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from dawn.errors import (
    ColumnNotFoundError,
    ConfigError,
    DataError,
    EmptyDataError,
    NotFittedError,
)
from dawn.train._text_kernels import VocabTable, tfidf_reference, tfidf_transform
from dawn.train.features import Featurizer, TabularFeaturizer, TextFeaturizer

ALPHABET = "abcAB_0 1.,!-'\n\téÉßİıΣσ😀\u00a0ﬁ"
words = st.sampled_from(["free", "Free", "FREE", "prize", "win", "a", "lunch", "café", "CAFÉ",
                         "über", "x_y", "42", "İstanbul", "ΣΟΦΙΑ", "naïve", "don't"])
texts_st = st.lists(
    st.one_of(st.text(ALPHABET, max_size=30),
              st.lists(words, max_size=8).map(" ".join),
              st.lists(words, max_size=6).map(lambda w: ", ".join(w) + "!!")),
    min_size=1, max_size=15)


def _save_load(obj, cls):
    arrays, meta = obj.to_arrays()
    meta = json.loads(json.dumps(meta))  # must survive JSON
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in arrays.values())
    return cls.from_arrays({k: np.array(v) for k, v in arrays.items()}, meta)


# --------------------------------------------------------------------------- TF-IDF

@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts_st, texts_st, st.sampled_from([(1, 1), (1, 2), (2, 2)]), st.booleans(),
       st.booleans())
def test_tfidf_equals_sklearn(train, test, ngram, sublinear, lowercase):
    vec = TfidfVectorizer(ngram_range=ngram, min_df=1, sublinear_tf=sublinear,
                          lowercase=lowercase)
    try:
        vec.fit(train)
    except ValueError:  # no terms at all: sklearn refuses, so does dawn
        with pytest.raises(DataError, match="no terms"):
            TextFeaturizer(ngram_range=ngram, min_df=1, sublinear_tf=sublinear,
                           lowercase=lowercase).fit({"text": train})
        return
    ours = TextFeaturizer(ngram_range=ngram, min_df=1, sublinear_tf=sublinear,
                          lowercase=lowercase, dtype="float64").fit({"text": train})
    assert ours.feature_names_out() == list(vec.get_feature_names_out())
    np.testing.assert_allclose(ours.idf_, vec.idf_)
    got = ours.transform({"text": test})
    want = vec.transform(test)
    assert isinstance(got, sp.csr_matrix) and got.dtype == np.float64
    np.testing.assert_allclose(got.toarray(), want.toarray(), atol=1e-12)
    # the kernel also agrees with the plain-Python reference
    ref = tfidf_reference(test, ours.feature_names_out(), ours.idf_, ngram, lowercase,
                          sublinear)
    np.testing.assert_allclose(got.toarray(), ref, atol=1e-12)


def test_tfidf_default_settings_match_sklearn_float32():
    rng = np.random.default_rng(0)
    vocab = ["spam", "Ham", "free", "prize", "win", "call", "now", "ok", "lunch", "déjà", "vu"]
    train = [" ".join(rng.choice(vocab, size=rng.integers(0, 9))) for _ in range(300)]
    test = [" ".join(rng.choice([*vocab, "unseen", "zzz"], size=6)) + "!" for _ in range(50)]
    ours = TextFeaturizer().fit(pd.DataFrame({"text": train}))
    vec = TfidfVectorizer(min_df=2, max_features=50000, sublinear_tf=True).fit(train)
    X = ours.transform(pd.DataFrame({"text": test}))
    assert X.dtype == np.float32 and X.shape == (50, len(vec.idf_))
    np.testing.assert_allclose(X.toarray(), vec.transform(test).toarray(), atol=1e-6)


def test_min_df_and_max_features_as_in_sklearn():
    texts = ["a1 b1 c1", "a1 b1", "a1 zz", "b1 c1 dd", "ee"] * 3 + ["rare"]
    for kw in ({"min_df": 2}, {"max_features": 2, "min_df": 1}, {"min_df": 0.5}):
        ours = TextFeaturizer(**kw).fit({"text": texts})
        vec = TfidfVectorizer(sublinear_tf=True, **{"min_df": 2, "max_features": 50000, **kw})
        vec.fit(texts)
        assert ours.feature_names_out() == list(vec.get_feature_names_out())


def test_unseen_empty_and_null_texts_give_zero_rows():
    tf = TextFeaturizer(min_df=1).fit({"text": ["free prize", "free lunch"]})
    X = tf.transform(pa.table({"text": pa.array(["", None, "nothing we know", "!!!", "free"])}))
    assert X.shape == (5, 3)
    assert X[:4].nnz == 0
    assert X[4].toarray().tolist() == [[1.0, 0.0, 0.0]]


def test_non_ascii_rows_are_tokenised_like_python_re():
    tf = TextFeaturizer(min_df=1, dtype="float64").fit(
        {"text": ["Über café", "ÜBER naïve", "İstanbul", "über"]})
    vec = TfidfVectorizer(min_df=1, sublinear_tf=True).fit(
        ["Über café", "ÜBER naïve", "İstanbul", "über"])
    test = ["ÜBER über café!", "naïve—über", "İSTANBUL istanbul", "über cafe"]
    np.testing.assert_allclose(tf.transform({"text": test}).toarray(),
                               vec.transform(test).toarray(), atol=1e-12)


def test_text_accepts_frames_of_any_kind_and_lists():
    tf = TextFeaturizer(min_df=1).fit(["free prize", "lunch"])
    a = tf.transform(pd.DataFrame({"text": ["free lunch"]})).toarray()
    b = tf.transform(pa.table({"text": ["free lunch"]})).toarray()
    c = tf.transform(["free lunch"]).toarray()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_text_save_load_round_trip():
    texts = ["free prize now", "lunch at noon", "free lunch", "naïve café", "Prize!"]
    tf = TextFeaturizer(ngram_range=(1, 2), min_df=1).fit({"text": texts})
    back = _save_load(tf, TextFeaturizer)
    assert back.feature_names_out() == tf.feature_names_out()
    test = {"text": [*texts, "free café lunch", None]}
    np.testing.assert_array_equal(back.transform(test).toarray(), tf.transform(test).toarray())


def test_from_sklearn_copies_vocabulary_and_checks_settings():
    texts = ["free prize now", "lunch at noon", "free lunch"]
    vec = TfidfVectorizer(ngram_range=(1, 2)).fit(texts)
    tf = TextFeaturizer.from_sklearn(vec, dtype="float64")
    np.testing.assert_allclose(tf.transform({"text": texts}).toarray(),
                               vec.transform(texts).toarray())
    with pytest.raises(ConfigError, match="stop_words"):
        TextFeaturizer.from_sklearn(TfidfVectorizer(stop_words="english").fit(texts))
    with pytest.raises(NotFittedError, match="not fitted"):
        TextFeaturizer.from_sklearn(TfidfVectorizer())


def test_text_bad_inputs():
    with pytest.raises(NotFittedError, match=r"call fit\(data\) first"):
        TextFeaturizer().transform({"text": ["x"]})
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'text'"):
        TextFeaturizer(column="txt").fit({"text": ["free prize"]})
    tf = TextFeaturizer(min_df=1).fit({"text": ["free prize"]})
    with pytest.raises(ColumnNotFoundError, match="'text'"):
        tf.transform({"body": ["free"]})
    with pytest.raises(DataError, match="lower min_df"):
        TextFeaturizer(min_df=5).fit({"text": ["free prize", "lunch"]})
    with pytest.raises(EmptyDataError, match="no rows"):
        TextFeaturizer().fit({"text": pa.array([], pa.string())})
    with pytest.raises(ConfigError, match="ngram_range"):
        TextFeaturizer(ngram_range=(2, 1)).fit({"text": ["a b"]})
    with pytest.raises(ConfigError, match="dtype"):
        TextFeaturizer(dtype="int8").fit({"text": ["a b"]})


def test_kernel_handles_ngrams_across_many_rows():
    table = VocabTable.build(["ab", "ab cd", "cd", "cd ab"])
    col = pa.array(["AB cd ab", "x ab  cd!", "cd", None] * 50)
    X = tfidf_transform(col, table, np.ones(4), ngram_range=(1, 2), dtype=np.float64)
    ref = tfidf_reference(col.to_pylist(), table.terms(), np.ones(4), (1, 2))
    np.testing.assert_allclose(X.toarray(), ref)


# --------------------------------------------------------------------------- tabular

def test_tabular_standardises_one_hots_and_flags_missing():
    df = pd.DataFrame({"age": [20.0, np.nan, 40.0, 30.0], "n": [1, 2, 3, 4],
                       "city": ["a", "b", None, "a"], "vip": [True, False, True, False]})
    tab = TabularFeaturizer(["age", "n", "city", "vip"]).fit(df)
    assert tab.feature_names_out() == ["age", "age__missing", "n", "city=a", "city=b", "vip"]
    X = tab.transform(df).toarray()
    assert X.dtype == np.float32
    age = np.array([20.0, 30.0, 40.0, 30.0])  # NaN -> mean 30
    np.testing.assert_allclose(X[:, 0], (age - 30.0) / np.std([20.0, 40.0, 30.0]), rtol=1e-6)
    np.testing.assert_array_equal(X[:, 1], [0, 1, 0, 0])
    n = np.array([1, 2, 3, 4.0])
    np.testing.assert_allclose(X[:, 2], (n - n.mean()) / n.std(), rtol=1e-6)
    np.testing.assert_array_equal(X[:, 3:5], [[1, 0], [0, 1], [0, 0], [1, 0]])
    np.testing.assert_array_equal(X[:, 5], [1, 0, 1, 0])


def test_tabular_unknown_categories_are_zero_and_new_nans_are_imputed():
    tab = TabularFeaturizer(["x", "c"]).fit({"x": [1.0, 3.0], "c": ["a", "b"]})
    assert tab.feature_names_out() == ["x", "c=a", "c=b"]  # no NaN at fit: no indicator
    X = tab.transform({"x": [np.nan, 5.0], "c": ["zzz", "b"]}).toarray()
    np.testing.assert_array_equal(X, [[0, 0, 0], [3, 0, 1]])


def test_tabular_constant_and_categorical_dictionary_columns():
    df = pd.DataFrame({"k": [7.0, 7.0, 7.0], "c": pd.Categorical(["x", "y", "x"])})
    tab = TabularFeaturizer(["k", "c"]).fit(df)
    X = tab.transform(df).toarray()
    np.testing.assert_array_equal(X, [[0, 1, 0], [0, 0, 1], [0, 1, 0]])


def test_tabular_save_load_round_trip():
    df = pd.DataFrame({"age": [20.0, np.nan, 40.0], "city": ["a", "ü", "a"],
                       "vip": [True, False, True]})
    tab = TabularFeaturizer(["age", "city", "vip"]).fit(df)
    back = _save_load(tab, TabularFeaturizer)
    assert back.feature_names_out() == tab.feature_names_out()
    np.testing.assert_array_equal(back.transform(df).toarray(), tab.transform(df).toarray())


def test_tabular_bad_inputs():
    with pytest.raises(NotFittedError, match="not fitted"):
        TabularFeaturizer(["x"]).transform({"x": [1.0]})
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'age'"):
        TabularFeaturizer(["agee"]).fit({"age": [1.0]})
    with pytest.raises(ConfigError, match="at least one column"):
        TabularFeaturizer([]).fit({"x": [1.0]})
    with pytest.raises(DataError, match="infinite"):
        TabularFeaturizer(["x"]).fit({"x": [1.0, np.inf]})
    tab = TabularFeaturizer(["x"]).fit({"x": [1.0, 2.0]})
    with pytest.raises(DataError, match="numeric column is needed"):
        tab.transform({"x": ["a", "b"]})


# --------------------------------------------------------------------------- combined

def test_featurizer_stacks_text_then_tabular_and_round_trips():
    df = pd.DataFrame({"text": ["free prize now", "see you at lunch", "free lunch", None],
                       "links": [3, 0, 1, 2], "src": ["web", "sms", "sms", "web"]})
    f = Featurizer(text="text", columns=["links", "src"], min_df=1, dtype="float64")
    X = f.fit_transform(df)
    text = TextFeaturizer(min_df=1, dtype="float64").fit(df)
    tab = TabularFeaturizer(["links", "src"], dtype="float64").fit(df)
    want = np.hstack([text.transform(df).toarray(), tab.transform(df).toarray()])
    assert X.shape == (4, f.n_features_) and X.dtype == np.float64
    np.testing.assert_array_equal(X.toarray(), want)
    assert f.feature_names_out() == text.feature_names_out() + tab.feature_names_out()
    back = _save_load(f, Featurizer)
    np.testing.assert_array_equal(back.transform(df).toarray(), X.toarray())


def test_featurizer_text_only_and_tabular_only():
    df = {"text": ["free prize", "free lunch"], "x": [1.0, 2.0]}
    assert Featurizer(min_df=1).fit(df).transform(df).shape == (2, 3)
    assert Featurizer(text=None, columns=["x"]).fit(df).transform(df).shape == (2, 1)


def test_featurizer_bad_inputs():
    with pytest.raises(ConfigError, match="needs a text column"):
        Featurizer(text=None).fit({"x": [1.0]})
    with pytest.raises(ConfigError, match="both the text column"):
        Featurizer(text="t", columns=["t"]).fit({"t": ["a b"]})
    with pytest.raises(NotFittedError, match="not fitted"):
        Featurizer().transform({"text": ["a"]})
    with pytest.raises(ColumnNotFoundError, match="text"):
        Featurizer(min_df=1).fit({"body": ["free prize"]})
