"""BoostedTrees: soft-label training, export to node arrays, dawn's scoring kernel."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

import dawn.train.trees as trees_mod
from dawn.errors import (
    ConfigError,
    DataError,
    EmptyDataError,
    LabelError,
    NotFittedError,
    SchemaError,
)
from dawn.store import load_artefact, save_artefact
from dawn.train._tree_kernels import check_forest, raw_scores, raw_scores_reference
from dawn.train.trees import BoostedTrees, export_sklearn


@pytest.fixture(autouse=True)
def _one_openmp_thread():
    """Small fits are fastest (and not at the mercy of a busy machine) on one thread."""
    with threadpool_limits(1, user_api="openmp"):
        yield


def _data(n=1500, d=5, k=2, nan_rate=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    z = X[:, 0] - 0.5 * X[:, 1] + 0.3 * rng.normal(size=n)
    y = (z > 0).astype(int) if k == 2 else np.digitize(z, np.quantile(z, np.linspace(0, 1, k +
                                                                                      1)[1:-1]))
    X[rng.random(X.shape) < nan_rate] = np.nan
    return X, y


def _test_X(n=1000, d=5, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 1.5
    X[rng.random(X.shape) < 0.2] = np.nan
    return X


@pytest.mark.parametrize("k", [2, 3, 4])
def test_export_scores_like_sklearn_with_nans(k):
    X, y = _data(k=k)
    clf = HistGradientBoostingClassifier(max_iter=25, random_state=0).fit(X, y)
    model = BoostedTrees.from_sklearn(clf)
    Xt = _test_X()
    np.testing.assert_allclose(model.predict_proba(Xt), clf.predict_proba(Xt), atol=1e-6)
    assert model.n_classes_ == k
    assert len(model.forest_["roots"]) == clf.n_iter_ * (1 if k == 2 else k)
    np.testing.assert_array_equal(model.predict(Xt), clf.predict(Xt))


@pytest.mark.parametrize("k", [2, 3])
def test_fit_equals_sklearn_on_hard_labels(k):
    X, y = _data(k=k)
    clf = HistGradientBoostingClassifier(max_iter=20, random_state=0,
                                         categorical_features=None).fit(X, y)
    model = BoostedTrees(max_iter=20).fit(X, y)
    Xt = _test_X()
    np.testing.assert_allclose(model.predict_proba(Xt), clf.predict_proba(Xt), atol=1e-6)


def test_one_hot_probabilities_train_the_same_model_as_hard_labels():
    X, y = _data(k=3)
    hard = BoostedTrees(max_iter=15).fit(X, y)
    soft = BoostedTrees(max_iter=15).fit(X, np.eye(3)[y])
    Xt = _test_X()
    np.testing.assert_array_equal(hard.predict_proba(Xt), soft.predict_proba(Xt))


def test_soft_labels_minimise_expected_cross_entropy():
    # label probability 0.8 right of 0, 0.2 left of it: the model should learn those values
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(2000, 1))
    q = np.where(X[:, 0] > 0, 0.8, 0.2)
    P = np.column_stack([1 - q, q])
    model = BoostedTrees(max_iter=200, learning_rate=0.2).fit(X, P)
    proba = model.predict_proba(np.array([[-0.5], [0.5]]))
    np.testing.assert_allclose(proba[:, 1], [0.2, 0.8], atol=0.02)
    # the clipped 1e-6 probabilities of a label model are dropped, not expanded
    P_clipped = np.clip(P, 1e-6, None)
    P_clipped /= P_clipped.sum(axis=1, keepdims=True)
    again = BoostedTrees(max_iter=200, learning_rate=0.2).fit(X, P_clipped)
    np.testing.assert_allclose(again.predict_proba(X), model.predict_proba(X), atol=1e-6)


def test_class_without_weight_gets_zero_probability():
    X, y = _data(k=2)
    P = np.zeros((len(y), 3))
    P[np.arange(len(y)), y] = 1.0
    model = BoostedTrees(max_iter=5).fit(X, P)
    proba = model.predict_proba(_test_X())
    assert proba.shape == (1000, 3) and model.n_classes_ == 3
    assert (proba[:, 2] == 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_sample_weight_changes_the_model_and_is_deterministic():
    X, y = _data()
    w = np.where(y == 1, 5.0, 1.0)
    a = BoostedTrees(max_iter=10).fit(X, y, sample_weight=w)
    b = BoostedTrees(max_iter=10).fit(X, y, sample_weight=w)
    plain = BoostedTrees(max_iter=10).fit(X, y)
    Xt = _test_X()
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))
    assert a.predict_proba(Xt)[:, 1].mean() > plain.predict_proba(Xt)[:, 1].mean()


def test_early_stopping_uses_held_out_rows_and_is_deterministic():
    X, y = _data(n=800)
    a = BoostedTrees(max_iter=300, learning_rate=0.5, early_stopping=True).fit(X, y)
    b = BoostedTrees(max_iter=300, learning_rate=0.5, early_stopping=True).fit(X, y)
    assert a.n_iter_ < 300
    for key in a.forest_:
        np.testing.assert_array_equal(a.forest_[key], b.forest_[key])


def test_sparse_and_float32_inputs_score_like_dense():
    X, y = _data(nan_rate=0.0)
    X[np.abs(X) < 0.5] = 0.0
    model = BoostedTrees(max_iter=10).fit(sp.csr_matrix(X), y)
    dense = BoostedTrees(max_iter=10).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), dense.predict_proba(X))
    np.testing.assert_array_equal(model.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X))
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(dense.predict_proba(X32),
                                  dense.predict_proba(X32.astype(np.float64)))


def test_sparse_too_large_to_densify_suggests_the_linear_model(monkeypatch):
    X, y = _data(nan_rate=0.0)
    monkeypatch.setattr(trees_mod, "MAX_DENSE_CELLS", 100)
    with pytest.raises(DataError, match="linear model"):
        BoostedTrees(max_iter=5).fit(sp.csr_matrix(X), y)


def test_save_load_round_trip_through_the_store(tmp_path):
    X, y = _data(k=3)
    model = BoostedTrees(max_iter=10, learning_rate=0.2).fit(X, y)
    arrays, meta = model.to_arrays()
    json.dumps(meta)
    save_artefact(tmp_path / "trees", arrays, meta)
    loaded = BoostedTrees.from_arrays(*load_artefact(tmp_path / "trees"))
    Xt = _test_X()
    np.testing.assert_array_equal(loaded.predict_proba(Xt), model.predict_proba(Xt))
    assert loaded.get_params() == model.get_params()
    assert loaded.n_classes_ == 3 and loaded.n_features_in_ == 5


def test_from_arrays_rejects_damaged_models():
    X, y = _data()
    arrays, meta = BoostedTrees(max_iter=3).fit(X, y).to_arrays()
    with pytest.raises(SchemaError, match="lack"):
        BoostedTrees.from_arrays({k: v for k, v in arrays.items() if k != "value"}, meta)
    with pytest.raises(SchemaError, match="not BoostedTrees"):
        BoostedTrees.from_arrays(arrays, {**meta, "kind": "Linear"})
    bad = {**arrays, "left": arrays["left"].copy()}
    inner = np.flatnonzero(arrays["is_leaf"] == 0)[0]
    bad["left"][inner] = inner  # a node that is its own child
    with pytest.raises(SchemaError, match="cycle"):
        BoostedTrees.from_arrays(bad, meta)
    bad = {**arrays, "right": arrays["right"].copy()}
    bad["right"][inner] = 10**6
    with pytest.raises(SchemaError, match="outside"):
        BoostedTrees.from_arrays(bad, meta)
    bad = {**arrays, "feature": arrays["feature"].copy()}
    bad["feature"][inner] = 99
    with pytest.raises(SchemaError, match="damaged"):
        BoostedTrees.from_arrays(bad, meta)
    with pytest.raises(SchemaError, match="different lengths"):
        BoostedTrees.from_arrays({**arrays, "value": arrays["value"][:-1]}, meta)


def test_not_fitted():
    model = BoostedTrees()
    for call in (lambda: model.predict_proba(np.zeros((2, 2))), model.to_arrays):
        with pytest.raises(NotFittedError, match="call fit"):
            call()
    with pytest.raises(NotFittedError):
        export_sklearn(HistGradientBoostingClassifier())


@pytest.mark.parametrize(("X", "P", "error", "match"), [
    (np.zeros(10), np.zeros(10, int), SchemaError, "2-D"),
    (np.zeros((0, 2)), np.zeros(0, int), EmptyDataError, "no rows"),
    (np.full((4, 2), np.inf), np.array([0, 1, 0, 1]), DataError, "infinite"),
    (np.array([["a", "b"]] * 4), np.array([0, 1, 0, 1]), SchemaError, "numeric"),
    (np.zeros((4, 2)), np.array([0, 1, 0]), SchemaError, "rows"),
    (np.zeros((4, 2)), np.array([0, 1, -1, 1]), LabelError, "abstain"),
    (np.zeros((4, 2)), np.array([0, 1.5, 0, 1]), LabelError, "non-integer"),
    (np.zeros((4, 2)), np.array([0, np.nan, 0, 1]), LabelError, "NaN"),
    (np.zeros((4, 2)), np.full((4, 2), 0.7), LabelError, "sums to"),
    (np.zeros((4, 2)), np.array([[1.5, -0.5]] * 4), LabelError, "negative"),
    (np.zeros((4, 2)), np.array([[np.nan, 1.0]] * 4), LabelError, "NaN"),
    (np.zeros((4, 2)), np.ones((4, 1)), LabelError, "k >= 2"),
    (np.zeros((4, 2)), np.zeros((4, 2, 2)), LabelError, "shape"),
    (np.zeros((4, 2)), np.array([1, 1, 1, 1]), LabelError, "at least two classes"),
])
def test_bad_training_inputs(X, P, error, match):
    with pytest.raises(error, match=match):
        BoostedTrees(max_iter=2).fit(X, P)


def test_bad_sample_weight_params_and_predict_inputs():
    X, y = _data(n=200)
    with pytest.raises(SchemaError, match="sample_weight"):
        BoostedTrees(max_iter=2).fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(DataError, match="non-negative"):
        BoostedTrees(max_iter=2).fit(X, y, sample_weight=-np.ones(200))
    with pytest.raises(ConfigError, match="early_stopping"):
        BoostedTrees(early_stopping="yes").fit(X, y)
    with pytest.raises(ConfigError, match="max_iter"):
        BoostedTrees(max_iter=0).fit(X, y)
    with pytest.raises(ConfigError, match="learning_rate"):
        BoostedTrees(learning_rate=-1).fit(X, y)
    with pytest.raises(ConfigError, match="min_weight"):
        BoostedTrees(min_weight=0.7).fit(X, y)
    model = BoostedTrees(max_iter=2).fit(X, y)
    with pytest.raises(SchemaError, match="fitted on 5"):
        model.predict(np.zeros((3, 4)))


def test_categorical_models_are_refused():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 4, 500), rng.normal(size=500)]).astype(float)
    y = (X[:, 0] % 2 == 0).astype(int)
    clf = HistGradientBoostingClassifier(max_iter=3, categorical_features=[0]).fit(X, y)
    with pytest.raises(ConfigError, match="categorical"):
        BoostedTrees.from_sklearn(clf)


def test_string_class_models_are_refused():
    X, y = _data(n=200)
    clf = HistGradientBoostingClassifier(max_iter=2).fit(X, np.array(["a", "b"])[y])
    with pytest.raises(LabelError, match="not integer labels"):
        BoostedTrees.from_sklearn(clf)


# ----------------------------------------------------------------- kernel vs reference
def _random_forest(seed: int, n_features: int, n_out: int, n_trees: int):
    rng = np.random.default_rng(seed)
    parts = {k: [] for k in ("feature", "threshold", "left", "right", "value", "is_leaf",
                             "missing_left")}
    roots, tree_out, offset = [], [], 0
    for t in range(n_trees):
        # grow a random tree breadth-first: each open node splits with probability 0.6
        feature, threshold, left, right, leaf = [], [], [], [], []
        open_nodes, size = [0], 1
        feature.append(0), threshold.append(0.0), left.append(-1), right.append(-1)
        leaf.append(1)
        while open_nodes:
            node = open_nodes.pop(0)
            if size < 40 and rng.random() < 0.6:
                leaf[node] = 0
                feature[node] = int(rng.integers(n_features))
                threshold[node] = float(rng.choice([-1.0, 0.0, 0.5, 1.0]))
                left[node], right[node] = size, size + 1
                for _ in range(2):
                    feature.append(-1), threshold.append(0.0), left.append(-1), right.append(-1)
                    leaf.append(1)
                open_nodes += [size, size + 1]
                size += 2
        n = len(leaf)
        lf = np.array(leaf, np.uint8)
        parts["feature"].append(np.array(feature))
        parts["threshold"].append(np.array(threshold))
        parts["left"].append(np.where(lf, -1, np.array(left) + offset))
        parts["right"].append(np.where(lf, -1, np.array(right) + offset))
        parts["value"].append(rng.normal(size=n))
        parts["is_leaf"].append(lf)
        parts["missing_left"].append(rng.integers(0, 2, n).astype(np.uint8))
        roots.append(offset)
        tree_out.append(t % n_out)
        offset += n
    forest = {k: np.concatenate(v) for k, v in parts.items()}
    forest.update(roots=np.array(roots), tree_out=np.array(tree_out),
                  baseline=rng.normal(size=n_out))
    return forest


values_st = st.sampled_from([-1.0, 0.0, 0.5, 1.0, -2.0, 3.0, np.nan, 0.25])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.integers(1, 4), st.integers(1, 3), st.integers(1, 6),
       st.integers(1, 30), st.data())
def test_kernel_agrees_with_numpy_reference(seed, n_features, n_out, n_trees, n_rows, data):
    forest = _random_forest(seed, n_features, n_out, n_trees)
    X = np.array(data.draw(st.lists(st.lists(values_st, min_size=n_features,
                                             max_size=n_features),
                                    min_size=n_rows, max_size=n_rows)), dtype=np.float64)
    check_forest(**forest)
    np.testing.assert_array_equal(raw_scores(X, **forest), raw_scores_reference(X, **forest))


def test_kernel_handles_many_blocks():
    forest = _random_forest(3, 4, 2, 20)
    rng = np.random.default_rng(0)
    X = rng.choice([-1.0, 0.0, 0.5, 1.0, np.nan, 2.0], size=(5000, 4))
    np.testing.assert_array_equal(raw_scores(X, **forest), raw_scores_reference(X, **forest))
