"""Confident-learning label-error finding and out-of-fold probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from dawn.errors import ConfigError, LabelError, SchemaError
from dawn.train.label_errors import (
    METHODS,
    confident_joint,
    find_label_errors,
    out_of_fold_proba,
    stratified_folds,
)
from dawn.train.trees import BoostedTrees


@pytest.fixture(autouse=True)
def _one_openmp_thread():
    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def planted():
    """Three separable blobs, 6 % of the labels flipped, out-of-fold tree probabilities."""
    rng = np.random.default_rng(0)
    n, k = 900, 3
    y = rng.integers(0, k, n)
    centers = np.array([[0, 0], [4, 0], [0, 4]], dtype=float)
    X = centers[y] + rng.normal(size=(n, 2))
    flipped = rng.choice(n, size=54, replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, k, len(flipped))) % k
    with threadpool_limits(1, user_api="openmp"):
        P_oof = out_of_fold_proba(lambda: BoostedTrees(max_iter=30, max_leaf_nodes=8), X,
                                  noisy, n_folds=3, seed=0)
    return X, y, noisy, set(flipped.tolist()), P_oof


@pytest.mark.parametrize("method", METHODS)
def test_recovers_planted_flips(planted, method):
    _, y, noisy, flipped, P_oof = planted
    found = find_label_errors(noisy, P_oof, method=method)
    top = found["row"].head(len(flipped)).tolist()
    precision = len(set(top) & flipped) / len(top)
    recall = len(set(found["row"]) & flipped) / len(flipped)
    assert precision >= 0.8 and recall >= 0.7, (precision, recall)
    hits = found[found["row"].isin(flipped)]
    # the suggestion is the true class for most of the recovered flips
    assert (hits["suggested_label"].to_numpy() == y[hits["row"]]).mean() > 0.9
    assert (hits["given_label"].to_numpy() == noisy[hits["row"]]).all()


def test_output_is_ranked_and_typed(planted):
    _, _, noisy, _, P_oof = planted
    found = find_label_errors(noisy, P_oof)
    assert found.columns.tolist() == ["row", "given_label", "suggested_label",
                                      "self_confidence", "margin", "label_confidence"]
    assert found["margin"].is_monotonic_increasing
    by_conf = find_label_errors(noisy, P_oof, rank_by="self_confidence")
    assert by_conf["self_confidence"].is_monotonic_increasing
    assert set(by_conf["row"]) == set(found["row"])
    assert found["row"].dtype == np.int64 and found["label_confidence"].isna().all()


def test_probabilistic_labels_give_label_confidence_and_given_overrides():
    P_labels = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])
    P_oof = np.array([[0.9, 0.1], [0.1, 0.9], [0.2, 0.8], [0.95, 0.05]])
    found = find_label_errors(P_labels, P_oof)
    assert found["row"].tolist() == [3, 1]
    np.testing.assert_allclose(found["label_confidence"], [0.7, 0.6])
    skip = find_label_errors(P_labels, P_oof, given=np.array([0, -1, 1, 1]))
    assert skip["row"].tolist() == [3]


def test_confident_joint_by_hand():
    given = np.array([0, 0, 1, 1, -1])
    P = np.array([[0.8, 0.2], [0.6, 0.4], [0.7, 0.3], [0.1, 0.9], [0.5, 0.5]])
    joint, thresholds, confident = confident_joint(given, P)
    np.testing.assert_allclose(thresholds, [0.7, 0.6])  # means over rows given each class
    assert confident.tolist() == [0, -1, 0, 1, -1]     # row 1: 0.6 < 0.7 and 0.4 < 0.6
    assert joint.tolist() == [[1, 0], [1, 1]]


def test_class_never_given_is_never_confident():
    given = np.array([0, 0, 1])
    P = np.array([[0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.2, 0.7, 0.1]])
    _, thresholds, confident = confident_joint(given, P)
    assert np.isinf(thresholds[2]) and (confident != 2).all()


def test_stratified_folds_are_balanced_and_deterministic():
    y = np.repeat([0, 1, 2], [50, 30, 7])
    folds = stratified_folds(y, 5, seed=1)
    np.testing.assert_array_equal(folds, stratified_folds(y, 5, seed=1))
    assert not np.array_equal(folds, stratified_folds(y, 5, seed=2))
    for c in range(3):
        counts = np.bincount(folds[y == c], minlength=5)
        assert counts.max() - counts.min() <= 1


class _Memoriser:
    """Predicts class 0 for rows it was fitted on (id in column 0), class 1 otherwise."""

    def fit(self, X, P, sample_weight=None):
        X = X.toarray() if sp.issparse(X) else X
        self.seen_ = set(X[:, 0].tolist())
        return self

    def predict_proba(self, X):
        X = X.toarray() if sp.issparse(X) else X
        seen = np.isin(X[:, 0], list(self.seen_))
        return np.column_stack([seen, ~seen]).astype(float)


def test_out_of_fold_never_scores_a_row_with_its_own_model():
    X = np.column_stack([np.arange(40.0), np.zeros(40)])
    y = np.arange(40) % 2
    for data in (X, sp.csr_matrix(X)):
        P_oof = out_of_fold_proba(_Memoriser, data, y, n_folds=4)
        assert (P_oof[:, 1] == 1).all()


def test_out_of_fold_is_deterministic_with_soft_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    q = 1 / (1 + np.exp(-3 * X[:, 0]))
    P = np.column_stack([1 - q, q])
    a = out_of_fold_proba(lambda: BoostedTrees(max_iter=5), X, P, n_folds=3, seed=4)
    b = out_of_fold_proba(lambda: BoostedTrees(max_iter=5), X, P, n_folds=3, seed=4)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (120, 2)


def test_bad_inputs():
    P_oof = np.array([[0.9, 0.1], [0.2, 0.8]])
    y = np.array([0, 1])
    with pytest.raises(ConfigError, match="unknown method"):
        find_label_errors(y, P_oof, method="cleanlab")
    with pytest.raises(ConfigError, match="rank_by"):
        find_label_errors(y, P_oof, rank_by="loss")
    with pytest.raises(SchemaError, match="P_oof must be"):
        find_label_errors(y, P_oof[:, 0])
    with pytest.raises(LabelError, match="probabilities in"):
        find_label_errors(y, np.array([[np.nan, 1], [0, 1]]))
    with pytest.raises(SchemaError, match="rows"):
        find_label_errors(np.array([0, 1, 1]), P_oof)
    with pytest.raises(LabelError, match="outside"):
        find_label_errors(np.array([0, 2]), P_oof)
    with pytest.raises(LabelError, match="integers"):
        find_label_errors(np.array([0, 0.5]), P_oof)
    with pytest.raises(SchemaError, match="class columns"):
        find_label_errors(np.full((2, 3), 1 / 3), P_oof)
    with pytest.raises(LabelError, match="non-negative"):
        find_label_errors(np.array([[-1.0, 2.0], [0.5, 0.5]]), P_oof)
    with pytest.raises(SchemaError, match="given has shape"):
        find_label_errors(np.full((2, 2), 0.5), P_oof, given=np.array([0]))
    with pytest.raises(LabelError, match="shape"):
        find_label_errors(np.zeros((2, 2, 2)), P_oof)
    X = np.zeros((10, 2))
    yy = np.arange(10) % 2
    with pytest.raises(ConfigError, match="n_folds"):
        out_of_fold_proba(_Memoriser, X, yy, n_folds=1)
    with pytest.raises(ConfigError, match="n_folds"):
        out_of_fold_proba(_Memoriser, X, yy, n_folds=11)
    with pytest.raises(ConfigError, match="make_model"):
        out_of_fold_proba(_Memoriser(), X, yy)

    class _Wrong(_Memoriser):
        def predict_proba(self, X):
            return np.ones((len(X), 3)) / 3

    with pytest.raises(SchemaError, match="expected"):
        out_of_fold_proba(_Wrong, X, yy, n_folds=2)
    with pytest.raises(LabelError, match="abstain"):
        out_of_fold_proba(_Memoriser, X, np.full(10, -1), n_folds=2)
