"""Evaluation against gold labels: accuracy, per-class precision/recall/F1, log-loss, ECE.

Predictions may abstain (``-1``, as label models do). Abstains count as wrong in
``accuracy`` (over all rows) and are left out of ``accuracy_covered`` (over the rows with a
prediction); ``coverage`` is the share of rows with a prediction. An abstain is a miss for
the recall of its gold class and a prediction of no class, so precision ignores it —
scikit-learn's ``precision_recall_fscore_support(labels=range(k))`` treats ``-1`` the same
way. Everything comes from one ``bincount`` confusion matrix.

>>> import numpy as np
>>> r = evaluate(np.array([0, 0, 1, 1]), np.array([0, -1, 1, 0]), classes=["ham", "spam"])
>>> r["accuracy"], r["accuracy_covered"], r["coverage"]
(0.5, 0.6666666666666666, 0.75)
>>> r["per_class"]["spam"]["precision"], r["per_class"]["spam"]["recall"]
(1.0, 0.5)
>>> frame = classification_report_frame(np.array([0, 0, 1, 1]), np.array([0, -1, 1, 0]))
>>> frame.columns.tolist(), frame["f1"].round(2).tolist()
(['precision', 'recall', 'f1', 'support', 'predicted'], [0.5, 0.67])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dawn.errors import LabelError, SchemaError

__all__ = ["classification_report_frame", "evaluate"]

_LOG_EPS = 1e-15


def _as_float(a: np.ndarray) -> np.ndarray | None:
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        return None
    return a.astype(np.float64)


def _prepare(y_true: Any, proba_or_pred: Any, classes: Sequence[Any] | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[Any]]:
    """``(y (n,), pred (n,) with -1, proba (n, k) or None, class names)``, all checked."""
    y = np.asarray(y_true)
    if y.ndim != 1 or len(y) == 0:
        raise SchemaError(f"y_true must be a non-empty 1-D array of gold labels, got shape "
                          f"{y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        yf = _as_float(y)
        if yf is None or not np.isfinite(yf).all() or (yf != np.round(yf)).any():
            raise LabelError("y_true must hold integer labels 0..k-1 (class positions); drop "
                             "rows without a gold label and encode class names as positions")
        y = yf.astype(np.int64)
    y = y.astype(np.int64)
    A = np.asarray(proba_or_pred)
    if A.shape[:1] != y.shape:
        raise SchemaError(f"predictions have {A.shape[0] if A.ndim else 0} rows but y_true "
                          f"has {len(y)}; give one prediction per gold label")
    proba = None
    if A.ndim == 2:
        proba = A.astype(np.float64)
        if proba.shape[1] < 2 or not np.isfinite(proba).all() or (proba < 0).any() or \
                (proba > 1 + 1e-9).any():
            raise SchemaError("probabilities must be (n, k) values in [0, 1] with k >= 2, "
                              "no NaN")
        k = proba.shape[1]
        pred = proba.argmax(axis=1)
    elif A.ndim == 1:
        if not np.issubdtype(A.dtype, np.integer):
            Af = _as_float(A)
            if Af is None or not np.isfinite(Af).all() or (Af != np.round(Af)).any():
                raise LabelError("predictions must be integer labels 0..k-1 (-1 = abstain) or "
                                 "(n, k) probabilities")
            A = Af
        pred = A.astype(np.int64)
        k = max(int(y.max()), int(pred.max())) + 1
    else:
        raise SchemaError(f"predictions must be (n,) labels or (n, k) probabilities, got shape "
                          f"{A.shape}")
    if classes is not None:
        classes = list(classes)
        if proba is not None and len(classes) != k:
            raise SchemaError(f"{len(classes)} class names given but the probabilities have "
                              f"{k} columns")
        k = len(classes)
    k = max(k, 2)
    names = list(classes) if classes is not None else list(range(k))
    if (y < 0).any() or (y >= k).any():
        bad = int(y[(y < 0) | (y >= k)][0])
        raise LabelError(f"gold label {bad} is outside 0..{k - 1}; drop rows without a gold "
                         "label (-1) or pass all class names in classes=")
    if (pred < -1).any() or (pred >= k).any():
        bad = int(pred[(pred < -1) | (pred >= k)][0])
        raise LabelError(f"predicted label {bad} is outside 0..{k - 1} (-1 = abstain)")
    return y, pred, proba, names


def _per_class(y: np.ndarray, pred: np.ndarray, k: int) -> dict[str, np.ndarray]:
    covered = pred >= 0
    confusion = np.bincount(y[covered] * k + pred[covered], minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)
    support = np.bincount(y, minlength=k)  # abstains are misses of their gold class
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / denom, 0.0)
    return {"confusion": confusion, "precision": precision, "recall": recall, "f1": f1,
            "support": support, "predicted": predicted}


def evaluate(y_true: Any, proba_or_pred: Any, classes: Sequence[Any] | None = None
             ) -> dict[str, Any]:
    """Score predictions (``(n,)`` labels, ``-1`` = abstain) or probabilities against gold.

    Returns
    -------
    dict
        ``n``, ``accuracy`` (abstains wrong), ``accuracy_covered`` (abstains left out; NaN
        when every row abstains), ``coverage``, ``macro_f1``, ``weighted_f1``,
        ``per_class`` ({class: {precision, recall, f1, support, predicted}}), ``confusion``
        (k × k nested lists, gold rows × predicted columns, covered rows only), and
        ``log_loss`` / ``ece`` (floats when probabilities are given, else ``None``).
        Precision of a class never predicted is 0 (scikit-learn's ``zero_division=0``).
    """
    y, pred, proba, names = _prepare(y_true, proba_or_pred, classes)
    k = len(names)
    stats = _per_class(y, pred, k)
    n = len(y)
    covered = pred >= 0
    n_cov = int(covered.sum())
    correct = int(np.diag(stats["confusion"]).sum())
    log_loss = ece = None
    if proba is not None:
        from dawn.train.calibrate import expected_calibration_error

        p_true = proba[np.arange(n), y] / np.maximum(proba.sum(axis=1), _LOG_EPS)
        log_loss = float(-np.log(np.clip(p_true, _LOG_EPS, 1.0)).mean())
        ece = expected_calibration_error(proba, y)
    support = stats["support"]
    return {
        "n": n,
        "accuracy": correct / n,
        "accuracy_covered": correct / n_cov if n_cov else float("nan"),
        "coverage": n_cov / n,
        "macro_f1": float(stats["f1"].mean()),
        "weighted_f1": float((stats["f1"] * support).sum() / n),
        "per_class": {
            name: {"precision": float(stats["precision"][c]), "recall": float(stats["recall"][c]),
                   "f1": float(stats["f1"][c]), "support": int(support[c]),
                   "predicted": int(stats["predicted"][c])}
            for c, name in enumerate(names)},
        "confusion": stats["confusion"].tolist(),
        "log_loss": log_loss,
        "ece": ece,
    }


def classification_report_frame(y_true: Any, proba_or_pred: Any,
                                 classes: Sequence[Any] | None = None) -> pd.DataFrame:
    """Per-class ``precision, recall, f1, support, predicted`` as a DataFrame indexed by class."""
    y, pred, _, names = _prepare(y_true, proba_or_pred, classes)
    stats = _per_class(y, pred, len(names))
    frame = pd.DataFrame({key: stats[key] for key in
                          ("precision", "recall", "f1", "support", "predicted")},
                         index=pd.Index(names, name="class"))
    return frame
