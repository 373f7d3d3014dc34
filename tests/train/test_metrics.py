"""evaluate / classification_report_frame agree with scikit-learn's metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax
from sklearn import metrics as skm

from dawn.errors import LabelError, SchemaError
from dawn.train.metrics import classification_report_frame, evaluate


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 5), st.integers(1, 60), st.integers(0, 10**6), st.booleans())
def test_hard_predictions_with_abstains_match_sklearn(k, n, seed, abstain):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    pred = rng.integers(-1 if abstain else 0, k, n)
    r = evaluate(y, pred, classes=list(range(k)))
    labels = list(range(k))
    p, rec, f1, sup = skm.precision_recall_fscore_support(y, pred, labels=labels,
                                                          zero_division=0)
    assert r["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    cov = pred >= 0
    assert r["coverage"] == pytest.approx(cov.mean())
    if cov.any():
        assert r["accuracy_covered"] == pytest.approx(skm.accuracy_score(y[cov], pred[cov]))
    else:
        assert np.isnan(r["accuracy_covered"])
    assert r["macro_f1"] == pytest.approx(skm.f1_score(y, pred, labels=labels, average="macro",
                                                       zero_division=0))
    assert r["weighted_f1"] == pytest.approx(skm.f1_score(y, pred, labels=labels,
                                                          average="weighted", zero_division=0))
    for c in range(k):
        pc = r["per_class"][c]
        assert (pc["precision"], pc["recall"], pc["f1"], pc["support"]) == pytest.approx(
            (p[c], rec[c], f1[c], sup[c]))
    expected = skm.confusion_matrix(y[cov], pred[cov], labels=labels) if cov.any() else \
        np.zeros((k, k), int)
    np.testing.assert_array_equal(r["confusion"], expected)
    assert r["log_loss"] is None and r["ece"] is None


def test_probabilities_match_sklearn_and_names_are_used():
    rng = np.random.default_rng(0)
    proba = softmax(rng.normal(size=(500, 3)), axis=1)
    y = rng.integers(0, 3, 500)
    r = evaluate(y, proba, classes=["a", "b", "c"])
    assert r["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=[0, 1, 2]))
    assert r["accuracy"] == pytest.approx(skm.accuracy_score(y, proba.argmax(axis=1)))
    assert r["coverage"] == 1.0 and r["accuracy_covered"] == r["accuracy"]
    assert set(r["per_class"]) == {"a", "b", "c"}
    assert 0 <= r["ece"] <= 1
    frame = classification_report_frame(y, proba, classes=["a", "b", "c"])
    assert frame.index.tolist() == ["a", "b", "c"]
    assert frame.loc["b", "f1"] == pytest.approx(r["per_class"]["b"]["f1"])
    assert frame["support"].sum() == 500


def test_class_never_predicted_and_missing_classes():
    y = np.array([0, 1, 2, 2])
    pred = np.array([0, 0, 2, 2])
    r = evaluate(y, pred)
    assert r["per_class"][1] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1,
                                 "predicted": 0}
    # all abstains: accuracy 0, covered accuracy undefined
    r = evaluate(np.array([0, 1]), np.array([-1, -1]))
    assert r["accuracy"] == 0.0 and r["coverage"] == 0.0 and np.isnan(r["accuracy_covered"])
    # classes= widens the class list beyond the labels seen
    assert len(evaluate(np.array([0, 1]), np.array([0, 1]), classes=["x", "y", "z"])
               ["per_class"]) == 3


def test_float_labels_that_are_integers_are_accepted():
    r = evaluate(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    assert r["accuracy"] == 1.0


@pytest.mark.parametrize(("y", "pred", "kw", "error", "match"), [
    (np.array([0, -1]), np.array([0, 1]), {}, LabelError, "gold label -1"),
    (np.array([0, 5]), np.array([0, 1]), {"classes": ["a", "b"]}, LabelError, "gold label 5"),
    (np.array([0, 1]), np.array([0, 2]), {"classes": ["a", "b"]}, LabelError, "predicted"),
    (np.array([0, 1]), np.array([0, -2]), {}, LabelError, "predicted label -2"),
    (np.array([0, 1]), np.array([0, 1, 1]), {}, SchemaError, "rows"),
    (np.array([]), np.array([]), {}, SchemaError, "non-empty"),
    (np.array([[0, 1]]), np.array([0]), {}, SchemaError, "1-D"),
    (np.array(["a", "b"]), np.array([0, 1]), {}, LabelError, "integer"),
    (np.array([0.5, 1]), np.array([0, 1]), {}, LabelError, "integer"),
    (np.array([0, 1]), np.array([0.5, 1]), {}, LabelError, "integer"),
    (np.array([0, 1]), np.array([[np.nan, 1], [0, 1]]), {}, SchemaError, "NaN"),
    (np.array([0, 1]), np.array([[0.5, 0.5], [0, 1]]), {"classes": ["a"]}, SchemaError,
     "class names"),
    (np.array([0, 1]), np.zeros((2, 2, 2)), {}, SchemaError, "shape"),
])
def test_bad_inputs(y, pred, kw, error, match):
    with pytest.raises(error, match=match):
        evaluate(y, pred, **kw)
    with pytest.raises(error, match=match):
        classification_report_frame(y, pred, **kw)
