"""LinearModel: learns, takes soft labels, is reproducible, saves, and rejects bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from dawn.errors import (
    ConfigError,
    DataError,
    EmptyDataError,
    LabelError,
    NotFittedError,
    SchemaError,
)
from dawn.train.linear import LinearModel


def _blobs(n=600, d=5, k=3, seed=0, sep=4.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * sep
    y = rng.integers(0, k, size=n)
    X = centers[y] + rng.normal(size=(n, d))
    return X, y


def _round_trip(model):
    arrays, meta = model.to_arrays()
    meta = json.loads(json.dumps(meta))
    return LinearModel.from_arrays({k: np.array(v) for k, v in arrays.items()}, meta)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_learns_a_separable_problem(k, sparse):
    X, y = _blobs(k=k)
    X = sp.csr_matrix(X) if sparse else X
    model = LinearModel(epochs=10).fit(X, y)
    assert model.fit(X, y) is model
    assert (model.predict(X) == y).mean() > 0.97
    proba = model.predict_proba(X)
    assert proba.shape == (600, k)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.coef_.shape == (k, 5) and model.intercept_.shape == (k,)
    assert model.classes_.tolist() == list(range(k))
    assert len(model.loss_curve_) == 10


def test_binary_coef_is_the_symmetric_softmax_form():
    X, y = _blobs(k=2)
    model = LinearModel().fit(X, y)
    Z = X @ model.coef_.T + model.intercept_
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(E / E.sum(axis=1, keepdims=True), model.predict_proba(X),
                               rtol=1e-5, atol=1e-7)


def test_close_to_logistic_regression_optimum():
    X, y = _blobs(n=3000, k=3, sep=1.0, seed=3)
    model = LinearModel(alpha=1e-3, epochs=20, dtype="float64").fit(X, y)
    ref = LogisticRegression(C=1 / (1e-3 * len(X)), max_iter=2000).fit(X, y)
    ll = -np.mean(np.log(model.predict_proba(X)[np.arange(len(y)), y]))
    ll_ref = -np.mean(np.log(ref.predict_proba(X)[np.arange(len(y)), y]))
    assert ll < ll_ref + 0.01


def test_soft_labels_equal_to_one_hot_give_the_hard_label_result():
    X, y = _blobs(k=3)
    hard = LinearModel(seed=1).fit(X, y)
    soft = LinearModel(seed=1).fit(X, np.eye(3)[y])
    np.testing.assert_array_equal(hard.coef_, soft.coef_)
    np.testing.assert_array_equal(hard.predict_proba(X), soft.predict_proba(X))


def test_soft_labels_are_followed():
    # the same rows with targets 0.8/0.2: the model's probability approaches 0.8
    X = np.ones((2000, 1))
    P = np.tile([0.2, 0.8], (2000, 1))
    model = LinearModel(alpha=0.0, epochs=5, dtype="float64").fit(X, P)
    np.testing.assert_allclose(model.predict_proba(X[:1])[0], [0.2, 0.8], atol=0.02)


def test_sample_and_class_weights_shift_the_decision():
    X = np.zeros((1000, 1))
    y = np.r_[np.zeros(900, int), np.ones(100, int)]
    base = LinearModel(epochs=5).fit(X, y).predict_proba(X[:1])[0, 1]
    balanced = LinearModel(epochs=5, class_weight="balanced").fit(X, y).predict_proba(X[:1])
    weighted = LinearModel(epochs=5).fit(X, y, sample_weight=np.where(y == 1, 9.0, 1.0))
    assert base == pytest.approx(0.1, abs=0.03)
    assert balanced[0, 1] == pytest.approx(0.5, abs=0.05)
    assert weighted.predict_proba(X[:1])[0, 1] == pytest.approx(0.5, abs=0.05)
    as_dict = LinearModel(epochs=5, class_weight={1: 9.0}).fit(X, y).predict_proba(X[:1])
    assert as_dict[0, 1] == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("sparse", [False, True])
def test_bit_reproducible_with_one_thread(sparse):
    X, y = _blobs(k=3)
    X = sp.csr_matrix(X) if sparse else X
    a = LinearModel(seed=7).fit(X, y)
    b = LinearModel(seed=7).fit(X, y)
    c = LinearModel(seed=8).fit(X, y)
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.coef_, c.coef_)


@pytest.mark.parametrize("sparse", [False, True])
def test_several_threads_still_learn(sparse):
    X, y = _blobs(n=2000, k=3)
    X = sp.csr_matrix(X) if sparse else X
    model = LinearModel(n_threads=2, epochs=5).fit(X, y)
    assert (model.predict(X) == y).mean() > 0.97


def test_float32_and_float64_are_close():
    X, y = _blobs(k=3, sep=1.0)
    p32 = LinearModel(dtype="float32").fit(X, y).predict_proba(X)
    p64 = LinearModel(dtype="float64").fit(X, y).predict_proba(X)
    np.testing.assert_allclose(p32, p64, atol=1e-3)


@pytest.mark.parametrize("k", [2, 4])
def test_save_load_round_trip_gives_identical_probabilities(k):
    X, y = _blobs(k=k)
    model = LinearModel(class_weight="balanced", epochs=3).fit(X, y)
    back = _round_trip(model)
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(back.predict_proba(sp.csr_matrix(X)),
                                  model.predict_proba(sp.csr_matrix(X)))
    assert back.get_params() == model.get_params()


def test_from_coef_matches_sklearn_logistic_regression():
    X, y = _blobs(k=2, sep=1.0)
    for k in (2, 3):
        X, y = _blobs(k=k, sep=1.0)
        ref = LogisticRegression().fit(X, y)
        model = LinearModel.from_coef(ref.coef_, ref.intercept_, dtype="float64")
        np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-12)
        np.testing.assert_allclose(model.predict_proba(sp.csr_matrix(X)),
                                   ref.predict_proba(X), atol=1e-12)


def test_accepts_dataframes_and_integer_arrays():
    X, y = _blobs(k=2)
    df = pd.DataFrame(X, columns=list("abcde"))
    model = LinearModel().fit(df, y.astype(float))
    np.testing.assert_array_equal(model.predict(df), model.predict(X))
    assert LinearModel().fit(np.round(X).astype(int), y).predict(X).shape == (600,)


# --------------------------------------------------------------------------- bad input

def test_predicting_before_fit():
    with pytest.raises(NotFittedError, match=r"call fit\(X, P\) first"):
        LinearModel().predict_proba(np.zeros((1, 2)))
    with pytest.raises(NotFittedError, match="not fitted"):
        LinearModel().coef_  # noqa: B018


def test_bad_targets():
    X = np.zeros((4, 2))
    with pytest.raises(LabelError, match=r"row 1 of P sums to 0\.5"):
        LinearModel().fit(X, [[1, 0], [0.25, 0.25], [0, 1], [0, 1]])
    with pytest.raises(LabelError, match="negative"):
        LinearModel().fit(X, [[1.5, -0.5], [1, 0], [0, 1], [0, 1]])
    with pytest.raises(LabelError, match="NaN"):
        LinearModel().fit(X, [[np.nan, 1], [1, 0], [0, 1], [0, 1]])
    with pytest.raises(LabelError, match="abstained"):
        LinearModel().fit(X, [0, 1, -1, 1])
    with pytest.raises(LabelError, match="out of range for 2 classes"):
        LinearModel(n_classes=2).fit(X, [0, 1, 2, 1])
    with pytest.raises(LabelError, match="3 columns but n_classes=2"):
        LinearModel(n_classes=2).fit(X, np.full((4, 3), 1 / 3))
    with pytest.raises(LabelError, match="at least 2 columns"):
        LinearModel().fit(X, np.ones((4, 1)))
    with pytest.raises(LabelError, match="integer class labels"):
        LinearModel().fit(X, [0.5, 0.5, 1, 0])
    with pytest.raises(DataError, match="X has 4 rows but P has 3"):
        LinearModel().fit(X, np.full((3, 2), 0.5))
    with pytest.raises(DataError, match="4 rows but there are 3 labels"):
        LinearModel().fit(X, [0, 1, 1])


def test_bad_features():
    y = [0, 1, 0]
    with pytest.raises(DataError, match="NaN or infinite"):
        LinearModel().fit(np.array([[0.0], [np.nan], [1.0]]), y)
    with pytest.raises(DataError, match="NaN or infinite"):
        LinearModel().fit(sp.csr_matrix(np.array([[0.0], [np.inf], [1.0]])), y)
    with pytest.raises(SchemaError, match="two-dimensional"):
        LinearModel().fit(np.zeros(3), y)
    with pytest.raises(DataError, match="numeric"):
        LinearModel().fit(np.array([["a"], ["b"], ["c"]], dtype=object), y)
    with pytest.raises(EmptyDataError, match="0 rows"):
        LinearModel().fit(np.zeros((0, 2)), np.zeros(0, int))
    model = LinearModel().fit(np.eye(3), y)
    with pytest.raises(SchemaError, match="2 features but the model was fitted on 3"):
        model.predict_proba(np.zeros((1, 2)))
    with pytest.raises(DataError, match="NaN"):
        model.predict(np.full((1, 3), np.nan))


def test_bad_weights_and_params():
    X, y = np.eye(3), [0, 1, 0]
    with pytest.raises(DataError, match="one value per row"):
        LinearModel().fit(X, y, sample_weight=[1.0, 2.0])
    with pytest.raises(DataError, match="finite and >= 0"):
        LinearModel().fit(X, y, sample_weight=[1.0, -2.0, 1.0])
    with pytest.raises(LabelError, match="one weight per class"):
        LinearModel(class_weight=[1.0]).fit(X, y)
    with pytest.raises(LabelError, match="not classes"):
        LinearModel(class_weight={5: 1.0}).fit(X, y)
    for kw, msg in [({"loss": "hinge"}, "loss must be 'log'"), ({"alpha": -1}, "alpha"),
                    ({"epochs": 0}, "epochs"), ({"n_threads": 0}, "n_threads"),
                    ({"dtype": "float16"}, "dtype"), ({"lr": "fast"}, "lr must be"),
                    ({"lr": -0.1}, "lr must be"), ({"lr": "optimal", "alpha": 0.0}, "alpha > 0"),
                    ({"class_weight": "auto"}, "class_weight"), ({"n_classes": 1}, "n_classes")]:
        with pytest.raises(ConfigError, match=msg):
            LinearModel(**kw).fit(X, y)


def test_damaged_artefact_is_rejected():
    model = LinearModel().fit(np.eye(3), [0, 1, 2])
    arrays, meta = model.to_arrays()
    arrays["intercept"] = arrays["intercept"][:2]
    with pytest.raises(DataError, match="damaged"):
        LinearModel.from_arrays(arrays, meta)
