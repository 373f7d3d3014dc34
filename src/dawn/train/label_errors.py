"""Likely label errors, confident-learning style (Northcutt, Jiang & Chuang, 2021).

Given the labels a row was *given* (the argmax of its probabilistic label, or a hard
label) and *out-of-fold* predicted probabilities ``P_oof`` (from a model that never saw
the row, :func:`out_of_fold_proba`), confident learning estimates per-class thresholds

``t_c = mean(P_oof[i, c] for rows i given label c)``

and calls row ``i`` *confidently* of class ``j`` when ``P_oof[i, j] >= t_j`` (the most
probable such ``j`` when several pass). The counts of (given, confident) pairs form the
*confident joint*; its off-diagonal entries are the likely errors. Methods:

- ``"confident_learning"``: flag every row whose confident class differs from its given
  label (the off-diagonal of the confident joint);
- ``"prune_by_noise_rate"``: calibrate the confident joint to the class counts and, for
  each off-diagonal cell ``(i, j)``, flag that many rows given ``i`` with the largest
  margin ``P_oof[:, j] - P_oof[:, i]`` (rows the model itself assigns to ``i`` excluded);
- ``"predicted_neq_given"``: flag rows whose out-of-fold argmax is not the given label.

Flagged rows are ranked most-likely-error first by ``rank_by``: the *normalized margin*
``P_oof[i, given] - max_{j != given} P_oof[i, j]`` (ascending) or the *self-confidence*
``P_oof[i, given]`` (ascending).

>>> import numpy as np
>>> given = np.array([0, 0, 0, 1, 1, 1])
>>> P_oof = np.array([[.9, .1], [.8, .2], [.1, .9], [.2, .8], [.3, .7], [.95, .05]])
>>> find_label_errors(given, P_oof)[["row", "given_label", "suggested_label"]].values.tolist()
[[5, 1, 0], [2, 0, 1]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dawn.errors import ConfigError, LabelError, SchemaError

__all__ = ["METHODS", "confident_joint", "find_label_errors", "out_of_fold_proba",
           "stratified_folds"]

METHODS = ("confident_learning", "prune_by_noise_rate", "predicted_neq_given")
_RANKS = ("normalized_margin", "self_confidence")
_COLUMNS = ["row", "given_label", "suggested_label", "self_confidence", "margin",
            "label_confidence"]


def stratified_folds(y: np.ndarray, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold id ``0..n_folds-1`` per row, each class spread evenly over folds (seeded).

    >>> stratified_folds(np.array([0, 0, 1, 1, 1, 1]), 2, seed=0).tolist()
    [0, 1, 1, 0, 1, 0]
    """
    y = np.asarray(y)
    order = np.random.default_rng(seed).permutation(len(y))
    order = order[np.argsort(y[order], kind="stable")]  # classes together, shuffled inside
    folds = np.empty(len(y), dtype=np.int64)
    folds[order] = np.arange(len(y)) % n_folds  # consecutive rows of a class cycle the folds
    return folds


def _given_and_labels(P_labels: Any, k: int, given: Any) -> tuple[np.ndarray, np.ndarray | None]:
    P = np.asarray(P_labels)
    n = P.shape[0] if P.ndim else 0
    label_conf = None
    if P.ndim == 2:
        if P.shape[1] != k:
            raise SchemaError(f"P_labels has {P.shape[1]} class columns but P_oof has {k}; "
                              "both must cover the same classes")
        P = P.astype(np.float64)
        if not np.isfinite(P).all() or (P < 0).any():
            raise LabelError("P_labels must hold finite non-negative probabilities")
        g = P.argmax(axis=1)
        label_conf = P[np.arange(n), g] / np.maximum(P.sum(axis=1), 1e-300)
    elif P.ndim == 1:
        g = P
    else:
        raise LabelError(f"P_labels must be (n,) labels or (n, k) probabilities, got shape "
                         f"{P.shape}")
    if given is not None:
        g = np.asarray(given)
        if g.shape != (n,):
            raise SchemaError(f"given has shape {g.shape}, expected ({n},): one label per row")
    if not (np.issubdtype(g.dtype, np.integer) or
            (np.issubdtype(g.dtype, np.floating) and np.isfinite(g).all()
             and (g == np.round(g)).all())):
        raise LabelError("the given labels must be integers 0..k-1 (-1 = no label, skipped)")
    g = g.astype(np.int64)
    if (g < -1).any() or (g >= k).any():
        bad = g[(g < -1) | (g >= k)][0]
        raise LabelError(f"given label {bad} is outside 0..{k - 1} (-1 = no label)")
    if label_conf is not None and given is not None:
        label_conf = np.asarray(P_labels, np.float64)[np.arange(n), np.maximum(g, 0)]
    return g, label_conf


def _check_oof(P_oof: Any) -> np.ndarray:
    P = np.asarray(P_oof, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] < 2:
        raise SchemaError(f"P_oof must be (n, k) predicted probabilities with k >= 2, got "
                          f"shape {P.shape}")
    if not np.isfinite(P).all() or (P < 0).any() or (P > 1 + 1e-9).any():
        raise LabelError("P_oof must hold probabilities in [0, 1] (no NaN); pass "
                         "predict_proba output")
    return P


def confident_joint(given: np.ndarray, P_oof: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """``(joint (k, k), thresholds (k,), confident_class (n,))`` for labelled rows.

    ``confident_class`` is -1 where no class reaches its threshold (or the row has no
    given label); ``joint[i, j]`` counts rows given ``i`` and confidently ``j``.
    """
    k = P_oof.shape[1]
    lab = given >= 0
    counts = np.bincount(given[lab], minlength=k).astype(np.float64)
    sums = np.zeros(k)
    np.add.at(sums, given[lab], P_oof[lab, given[lab]])
    with np.errstate(invalid="ignore", divide="ignore"):
        thresholds = np.where(counts > 0, sums / counts, np.inf)
    above = P_oof >= thresholds[None, :]
    masked = np.where(above, P_oof, -1.0)
    confident = masked.argmax(axis=1)
    confident[~above.any(axis=1) | ~lab] = -1
    ok = confident >= 0
    joint = np.bincount(given[ok] * k + confident[ok], minlength=k * k).reshape(k, k)
    return joint, thresholds, confident


def find_label_errors(P_labels: Any, P_oof: Any, *, method: str = "confident_learning",
                      given: Any = None, rank_by: str = "normalized_margin") -> pd.DataFrame:
    """Rows whose given label is probably wrong, most likely error first.

    Parameters
    ----------
    P_labels : (n, k) probabilistic labels or (n,) int labels (-1 = no label, skipped)
    P_oof : (n, k) out-of-fold predicted probabilities
    method : "confident_learning" | "prune_by_noise_rate" | "predicted_neq_given"
    given : optional (n,) int labels to check instead of ``argmax(P_labels)``
    rank_by : "normalized_margin" | "self_confidence"

    Returns
    -------
    pandas.DataFrame
        Columns ``row, given_label, suggested_label, self_confidence`` (``P_oof`` of the
        given label), ``margin`` (given minus best other), ``label_confidence`` (the
        probabilistic label's weight on the given class; NaN for hard labels).
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    if rank_by not in _RANKS:
        raise ConfigError(f"unknown rank_by {rank_by!r}; choose one of {list(_RANKS)}")
    P = _check_oof(P_oof)
    n, k = P.shape
    g, label_conf = _given_and_labels(P_labels, k, given)
    if len(g) != n:
        raise SchemaError(f"P_labels has {len(g)} rows but P_oof has {n}; give one row each")
    lab = g >= 0
    rows_all = np.arange(n)
    gi = np.maximum(g, 0)
    self_conf = P[rows_all, gi]
    others = P.copy()
    others[rows_all, gi] = -np.inf
    best_other = others.argmax(axis=1)
    margin = self_conf - others[rows_all, best_other]
    pred = P.argmax(axis=1)

    if method == "predicted_neq_given":
        flag = lab & (pred != g)
        suggested = pred
    else:
        joint, _, confident = confident_joint(g, P)
        if method == "confident_learning":
            flag = lab & (confident >= 0) & (confident != g)
            suggested = np.where(confident >= 0, confident, pred)
        else:
            flag, suggested = _prune_by_noise_rate(g, P, joint, pred)
    idx = np.flatnonzero(flag)
    key = margin[idx] if rank_by == "normalized_margin" else self_conf[idx]
    idx = idx[np.lexsort((idx, key))]
    return pd.DataFrame({
        "row": idx.astype(np.int64),
        "given_label": g[idx],
        "suggested_label": suggested[idx].astype(np.int64),
        "self_confidence": self_conf[idx],
        "margin": margin[idx],
        "label_confidence": (label_conf[idx] if label_conf is not None
                             else np.full(len(idx), np.nan)),
    }, columns=_COLUMNS)


def _prune_by_noise_rate(g: np.ndarray, P: np.ndarray, joint: np.ndarray,
                         pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, k = P.shape
    lab = g >= 0
    class_counts = np.bincount(g[lab], minlength=k).astype(np.float64)
    row_sums = joint.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        calibrated = np.where(row_sums[:, None] > 0,
                              joint / row_sums[:, None] * class_counts[:, None], 0.0)
    to_flag = np.round(calibrated).astype(np.int64)
    np.fill_diagonal(to_flag, 0)
    flag = np.zeros(n, dtype=bool)
    suggested = pred.copy()
    best_gap = np.full(n, -np.inf)
    for i, j in zip(*np.nonzero(to_flag), strict=True):
        rows = np.flatnonzero((g == i) & (pred != i))
        if not len(rows):
            continue
        gap = P[rows, j] - P[rows, i]
        take = rows[np.argsort(-gap, kind="stable")[:to_flag[i, j]]]
        flag[take] = True
        better = gap[np.isin(rows, take)] > best_gap[take]  # suggest the strongest pair
        suggested[take[better]] = j
        best_gap[take[better]] = gap[np.isin(rows, take)][better]
    return flag, suggested


def out_of_fold_proba(make_model: Callable[[], Any], X: Any, P: Any, n_folds: int = 5,
                      seed: int = 0, sample_weight: Any = None) -> np.ndarray:
    """Out-of-fold ``predict_proba`` ``(n, k)``: each row scored by a model not fitted on it.

    ``make_model()`` returns a fresh unfitted model following dawn's model protocol.
    Folds are stratified by the argmax label and fixed by ``seed``. Hard labels are
    turned into one-hot rows so every fold's model has the same ``k`` classes.

    >>> from dawn.train.trees import BoostedTrees
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
    >>> P_oof = out_of_fold_proba(lambda: BoostedTrees(max_iter=10), X, y, n_folds=3)
    >>> P_oof.shape, bool((P_oof.argmax(axis=1) == y).mean() > 0.9)
    ((200, 2), True)
    """
    from dawn.train.trees import check_features, check_sample_weight, check_targets

    if not callable(make_model):
        raise ConfigError("make_model must be a function returning a fresh unfitted model, "
                          "e.g. lambda: BoostedTrees()")
    X = check_features(X)
    n = X.shape[0]
    Pm = check_targets(P, n)
    w = check_sample_weight(sample_weight, n)
    if not isinstance(n_folds, int | np.integer) or n_folds < 2 or n_folds > n:
        raise ConfigError(f"n_folds must be an integer in 2..{n} (the number of rows), got "
                          f"{n_folds!r}")
    folds = stratified_folds(Pm.argmax(axis=1), int(n_folds), seed=seed)
    out = np.empty_like(Pm)
    for f in range(int(n_folds)):
        test, train = np.flatnonzero(folds == f), np.flatnonzero(folds != f)
        if not len(test):
            continue
        model = make_model()
        model.fit(X[train], Pm[train], None if w is None else w[train])
        proba = np.asarray(model.predict_proba(X[test]))
        if proba.shape != (len(test), Pm.shape[1]):
            raise SchemaError(f"the model's predict_proba returned shape {proba.shape} for "
                              f"{len(test)} rows, expected ({len(test)}, {Pm.shape[1]})")
        out[test] = proba
    return out
