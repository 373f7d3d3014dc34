"""Why a model predicted what it did: each feature's contribution to a row's prediction.

- Linear models (TF-IDF tokens and tabular columns): contribution = weight × feature
  value. With two classes it is the feature's share of the predicted class's log-odds
  (``±w_j x_j``); with more, of its centred logit (``(W_cj − mean_k W_kj) x_j``).
- Boosted trees: Saabas-style path contributions. Walking a row down a tree, each split
  moves the expected output from the node's value to the child's; that change is credited
  to the split's feature. Node values come from the stored node arrays (an inner node's
  value is its Newton step scaled by the learning rate, as its leaves are; a root's is 0,
  the gradient sum after the previous trees), so contributions plus a bias add up exactly
  to the raw score. A numba kernel walks the rows; :func:`tree_contributions_reference` is
  its plain numpy reference.

Both are divided by the classifier's calibration temperature, so they are in the units
of the calibrated log-odds. :func:`explain_rows` turns them into the top features per
row, largest absolute contribution first.

>>> import numpy as np, pandas as pd
>>> from dawn.train import train
>>> df = pd.DataFrame({"text": ["win cash now", "lovely song", "free cash prize",
...                             "great song", "cash prize here", "nice voice"] * 20})
>>> P = np.tile([[0.1, 0.9], [0.9, 0.1], [0.2, 0.8], [0.8, 0.2], [0.1, 0.9], [0.7, 0.3]],
...             (20, 1))
>>> clf = train(df, P, classes=["ham", "spam"], model="linear", seed=0)
>>> rows = pd.DataFrame({"text": ["cash prize", "lovely song"]})
>>> [[c["feature"] for c in row] for row in explain_rows(clf, rows, top=2)]
[['cash', 'prize'], ['lovely', 'song']]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from dawn.errors import ConfigError

__all__ = ["contributions", "explain_rows", "linear_contributions", "tree_contributions",
           "tree_contributions_reference"]


def linear_contributions(model: Any, X: Any, target: np.ndarray) -> sp.csr_matrix:
    """Contributions ``(n, d)`` of each feature to class ``target[i]`` of row ``i``.

    ``model`` is a fitted :class:`dawn.train.linear.LinearModel`; the result has the
    sparsity of ``X``.
    """
    X = sp.csr_matrix(X, dtype=np.float64)
    coef = np.asarray(model.coef_, dtype=np.float64)  # (k, d)
    if coef.shape[0] == 2:
        w = coef[1] - coef[0]
        weights = np.vstack([-w, w])  # log-odds of class c against the other
    else:
        weights = coef - coef.mean(axis=0, keepdims=True)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    data = X.data * weights[np.asarray(target)[rows], X.indices]
    return sp.csr_matrix((data, X.indices.copy(), X.indptr.copy()), shape=X.shape)


def _class_weights(forest: dict[str, np.ndarray], n_classes: int, target: np.ndarray
                   ) -> np.ndarray:
    """How much raw-score column ``j`` counts toward each row's target class ``(n, n_out)``."""
    n_out = len(forest["baseline"])
    trained = np.asarray(forest["classes"], dtype=np.int64)
    pos = np.full(n_classes, -1, dtype=np.int64)
    pos[trained] = np.arange(len(trained))
    col = pos[np.asarray(target, dtype=np.int64)]  # -1: a class the trees never saw
    if n_out == 1:  # binary: the raw score is the log-odds of trained[1]
        return np.where(col == 1, 1.0, np.where(col == 0, -1.0, 0.0))[:, None]
    w = np.zeros((len(target), n_out)) - 1.0 / n_out  # centred logit of the target column
    known = col >= 0
    w[np.flatnonzero(known), col[known]] += 1.0
    w[~known] = 0.0
    return w


def _node_values(model: Any) -> np.ndarray:
    """Each node's expected output: leaves as stored, inner nodes' Newton steps scaled by
    the learning rate, roots 0."""
    f = model.forest_
    is_leaf = f["is_leaf"].astype(bool)
    value = np.where(is_leaf, f["value"], f["value"] * float(model.learning_rate))
    roots = f["roots"]
    value[roots] = np.where(is_leaf[roots], value[roots], 0.0)
    return np.ascontiguousarray(value, dtype=np.float64)


_KERNELS: dict[str, Any] = {}


def _kernel() -> Any:
    """The numba path-contribution kernel (compiled on first use, cached on disk)."""
    if not _KERNELS:
        from numba import njit

        @njit(cache=True)
        def saabas(X, W, value, feature, threshold, left, right, is_leaf, missing_left,
                   roots, tree_out, out, bias):  # pragma: no cover - numba
            for i in range(X.shape[0]):
                for t in range(roots.shape[0]):
                    w = W[i, tree_out[t]]
                    if w == 0.0:
                        continue
                    node = roots[t]
                    bias[i] += w * value[node]
                    while not is_leaf[node]:
                        x = X[i, feature[node]]
                        if np.isnan(x):
                            child = left[node] if missing_left[node] else right[node]
                        elif x <= threshold[node]:
                            child = left[node]
                        else:
                            child = right[node]
                        out[i, feature[node]] += w * (value[child] - value[node])
                        node = child

        _KERNELS["saabas"] = saabas
    return _KERNELS["saabas"]


def tree_contributions(model: Any, X: Any, target: np.ndarray) -> tuple[np.ndarray,
                                                                        np.ndarray]:
    """Saabas path contributions ``(n, d)`` toward class ``target[i]``, and the bias ``(n,)``.

    ``model`` is a fitted :class:`dawn.train.trees.BoostedTrees`. ``bias + contributions
    .sum(1)`` equals the raw score of the target class (its log-odds with two classes,
    its centred logit with more). A numba kernel, one row at a time through every tree;
    :func:`tree_contributions_reference` is the numpy reference.
    """
    f = model.forest_
    X = np.ascontiguousarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    n, d = X.shape
    W = np.ascontiguousarray(_class_weights(f, int(model.n_classes_), target))
    out = np.zeros((n, d))
    bias = W @ np.asarray(f["baseline"], dtype=np.float64)
    i64 = np.int64
    _kernel()(X, W, _node_values(model), np.ascontiguousarray(f["feature"], i64),
              np.ascontiguousarray(f["threshold"], np.float64),
              np.ascontiguousarray(f["left"], i64), np.ascontiguousarray(f["right"], i64),
              np.ascontiguousarray(f["is_leaf"], np.uint8),
              np.ascontiguousarray(f["missing_left"], np.uint8),
              np.ascontiguousarray(f["roots"], i64), np.ascontiguousarray(f["tree_out"], i64),
              out, bias)
    return out, bias


def tree_contributions_reference(model: Any, X: Any, target: np.ndarray
                                 ) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy reference of :func:`tree_contributions` (one vectorised descent of all
    rows per tree)."""
    f = model.forest_
    X = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    n, d = X.shape
    W = _class_weights(f, int(model.n_classes_), np.asarray(target, dtype=np.int64))
    is_leaf = f["is_leaf"].astype(bool)
    missing_left = f["missing_left"].astype(bool)
    value = _node_values(model)
    feature, threshold, left, right = f["feature"], f["threshold"], f["left"], f["right"]
    out = np.zeros((n, d))
    bias = W @ np.asarray(f["baseline"], dtype=np.float64)
    rows = np.arange(n)
    for root, col in zip(f["roots"], f["tree_out"], strict=True):
        w = W[:, col]
        bias += w * value[root]
        node = np.full(n, root, dtype=np.int64)
        active = ~is_leaf[node]
        while active.any():
            a_rows, a_node = rows[active], node[active]
            x = X[a_rows, feature[a_node]]
            go_left = np.where(np.isnan(x), missing_left[a_node], x <= threshold[a_node])
            child = np.where(go_left, left[a_node], right[a_node])
            np.add.at(out, (a_rows, feature[a_node]),
                      w[a_rows] * (value[child] - value[a_node]))
            node[active] = child
            active = ~is_leaf[node]
    return out, bias


def contributions(classifier: Any, data: Any, target: np.ndarray | None = None
                  ) -> tuple[Any, np.ndarray]:
    """``(X, C)``: the features of ``data`` and each one's contribution toward
    ``target`` (default: the predicted class), in calibrated log-odds units.

    ``classifier`` is a :class:`dawn.train.Classifier`; ``C`` is sparse for linear
    models and dense for trees.
    """
    from dawn.data import as_frame

    frame = as_frame(data)
    X = classifier.featurizer.transform(frame)
    if target is None:
        target = classifier.predict(frame)
    model, temperature = classifier.model, float(classifier.temperature)
    if classifier.kind == "linear":
        C = linear_contributions(model, X, target)
    elif classifier.kind == "trees":
        C, _ = tree_contributions(model, X, target)
    else:
        raise ConfigError(f"cannot explain a {classifier.kind!r} model; dawn explains its "
                          "linear models and boosted trees.")
    return X, C / temperature


def explain_rows(classifier: Any, data: Any, *, proba: np.ndarray | None = None, top: int = 5,
                 names: list[str] | None = None) -> list[list[dict[str, Any]]]:
    """The ``top`` features behind each row's predicted class.

    Each row gets a list of ``{"feature", "value", "contribution"}`` (largest absolute
    contribution first, zero contributions left out): ``value`` is the feature's value
    in the model's input (a token's TF-IDF weight, a standardised number, 1 for a
    category) and a positive ``contribution`` pushes toward the predicted class.
    ``proba`` (the rows' probabilities, when already computed) saves a second scoring.
    """
    from dawn.data import as_frame

    if int(top) < 1:
        raise ConfigError(f"top = {top!r} must be at least 1.")
    frame = as_frame(data)
    target = None if proba is None else np.asarray(proba).argmax(axis=1)
    X, C = contributions(classifier, frame, target)
    names = names if names is not None else classifier.featurizer.feature_names_out()
    C = sp.coo_matrix(C)
    keep = C.data != 0
    r, c, v = C.row[keep], C.col[keep], C.data[keep]
    order = np.lexsort((-np.abs(v), r))  # by row, then largest |contribution| first
    r, c, v = r[order], c[order], v[order]
    starts = np.searchsorted(r, np.arange(len(frame)))
    rank = np.arange(len(r)) - starts[r]
    sel = rank < int(top)
    r, c, v = r[sel], c[sel], v[sel]
    X = sp.csr_matrix(X)
    x = np.asarray(X[r, c]).ravel() if len(r) else np.zeros(0)
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(frame))]
    for i, j, xv, cv in zip(r.tolist(), c.tolist(), x.tolist(), v.tolist(), strict=True):
        out[i].append({"feature": names[j], "value": xv, "contribution": cv})
    return out
