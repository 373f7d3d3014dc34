"""model_lf: votes from a prediction column or a fitted model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from dawn.data import as_frame
from dawn.errors import ColumnNotFoundError, LabelError, LabelingFunctionError
from dawn.label.model_lf import model_lf


def test_prediction_column_with_mapping_and_confidence():
    frame = as_frame({"pred": ["spam", "ham", "maybe", None, "spam"],
                      "p": [0.9, 0.95, 0.99, 0.9, 0.5]})
    lf = model_lf("m", column="pred", labels={"spam": "spam", "ham": "ham"})
    assert lf.apply_frame(frame, ["ham", "spam"]).tolist() == [1, 0, -1, -1, 1]
    gated = model_lf("g", column="pred", labels={"spam": 1, "ham": 0}, confidence="p",
                     min_confidence=0.8)
    votes = gated.apply_frame(frame)
    assert votes.tolist() == [1, 0, -1, -1, -1] and votes.dtype == np.int8
    rows = frame.to_pandas().to_dict("records")
    assert [gated(r) for r in rows] == [1, 0, -1, -1, -1]
    assert gated.columns == ("pred", "p")


def test_prediction_column_without_mapping():
    frame = as_frame({"pred": [0, 1, None, 1]})
    assert model_lf("m", column="pred").apply_frame(frame).tolist() == [0, 1, -1, 1]
    names = as_frame({"pred": ["ham", None, "spam"]})
    assert model_lf("m", column="pred").apply_frame(names, ["ham", "spam"]).tolist() == [0, -1, 1]
    with pytest.raises(LabelError, match=r"prediction 2.5.*labels="):
        model_lf("m", column="pred").apply_frame(as_frame({"pred": [2.5]}))
    with pytest.raises(LabelError, match=r"'eggs'.*not among"):
        model_lf("m", column="pred").apply_frame(as_frame({"pred": ["eggs"]}), ["ham", "spam"])


def test_fitted_model_one_predict_call():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    df = pd.DataFrame(X, columns=["a", "b"])
    df.loc[3, "a"] = np.nan
    lf = model_lf("clf", model=clf, features=["a", "b"], min_confidence=0.8)
    votes = lf.apply_frame(as_frame(df))
    proba = clf.predict_proba(np.nan_to_num(X))
    expect = np.where(proba.max(1) >= 0.8, proba.argmax(1), -1)
    expect[3] = -1
    assert votes.tolist() == expect.tolist()
    assert [lf(r) for _, r in df.head(10).iterrows()] == expect[:10].tolist()
    assert lf.columns == ("a", "b")


def test_model_with_string_classes_and_mapping_and_named_features():
    df = pd.DataFrame({"n_links": [0, 0, 3, 4], "age": [100, 200, 1, 2]})
    tree = DecisionTreeClassifier().fit(df, ["ham", "ham", "spam", "spam"])
    lf = model_lf("tree", model=tree, features=["n_links", "age"])
    assert lf.apply_frame(as_frame(df), ["ham", "spam"]).tolist() == [0, 0, 1, 1]
    mapped = model_lf("tree", model=tree, features=["n_links", "age"], labels={"spam": 1})
    assert mapped.apply_frame(as_frame(df)).tolist() == [-1, -1, 1, 1]


def test_predict_only_model_and_failures():
    class Rule:
        def predict(self, X):
            return (np.asarray(X)[:, 0] > 1).astype(int)

    lf = model_lf("rule", model=Rule(), features="x")
    assert lf.apply_frame(as_frame({"x": [0.0, 2.0]})).tolist() == [0, 1]

    class Broken:
        def predict(self, X):
            raise RuntimeError("boom")

    with pytest.raises(LabelingFunctionError, match=r"'b'.*Broken failed.*boom"):
        model_lf("b", model=Broken(), features=["x"]).apply_frame(as_frame({"x": [1.0]}))
    with pytest.raises(ColumnNotFoundError, match="labeling function 'rule'"):
        lf.apply_frame(as_frame({"y": [1.0]}))


def test_empty_frame():
    lf = model_lf("m", column="pred")
    assert lf.apply_frame(as_frame({"pred": np.array([], dtype=float)})).shape == (0,)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "exactly one of column= .* or model="),
    ({"column": "p", "model": LogisticRegression()}, "exactly one of"),
    ({"model": LogisticRegression()}, "needs features="),
    ({"model": LogisticRegression(), "features": [1]}, "needs features="),
    ({"model": object(), "features": ["a"]}, "neither predict_proba nor predict"),
    ({"column": "p", "features": ["a"]}, "features= goes with model="),
    ({"column": "p", "min_confidence": 0.5}, "needs confidence="),
    ({"column": "p", "confidence": "c", "min_confidence": 1.5}, r"probability in \[0, 1\]"),
    ({"column": "p", "labels": ["a"]}, "labels must be a dict"),
    ({"model": LogisticRegression(), "features": ["a"], "confidence": "c"}, "only goes with"),
    ({"column": 3}, "column must be a non-empty"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(LabelingFunctionError, match=match):
        model_lf("m", **kwargs)


def test_min_confidence_needs_predict_proba():
    class Rule:
        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    with pytest.raises(LabelingFunctionError, match="needs a model with predict_proba"):
        model_lf("m", model=Rule(), features=["x"], min_confidence=0.9)
