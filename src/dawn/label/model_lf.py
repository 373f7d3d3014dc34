"""Model labeling functions: votes from another model's predictions.

Two sources, one function:

* a **column of predictions** already in the data (``column=``), mapped to labels with
  ``labels=`` (a dict; values it does not list, and nulls, abstain), optionally gated by
  a probability column (``confidence=`` with ``min_confidence=``);
* a **fitted scikit-learn-like model** (``model=``) and the feature columns it reads
  (``features=``), called once on the whole frame: ``predict_proba`` when it has one (the
  vote is the most probable class, gated by ``min_confidence``), else ``predict``. Rows
  with a missing feature abstain.

>>> from dawn.data import as_frame
>>> frame = as_frame({"other": ["spam", "ham", "unsure", None], "p": [0.9, 0.6, 0.9, 0.9]})
>>> lf = model_lf("other_model", column="other", labels={"spam": "spam", "ham": "ham"},
...               confidence="p", min_confidence=0.8)
>>> lf.apply_frame(frame, classes=["ham", "spam"]).tolist()
[1, -1, -1, -1]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from dawn.errors import LabelError, LabelingFunctionError
from dawn.label.base import ABSTAIN, LabelingFunction, resolve_label
from dawn.label.keyword import check_column, row_value, votes_dtype

__all__ = ["ModelLF", "model_lf"]


class ModelLF(LabelingFunction):
    """Votes another model's prediction (see :func:`model_lf`)."""

    vectorized: ClassVar[bool] = True

    def __init__(self, name: str, *, column: str | None = None, model: Any = None,
                 features: Sequence[str] | None = None,
                 labels: Mapping[Any, Any] | None = None, confidence: str | None = None,
                 min_confidence: float | None = None) -> None:
        super().__init__(name)
        where = f"labeling function {name!r}"
        if (column is None) == (model is None):
            raise LabelingFunctionError(f"{where}: give exactly one of column= (a column of "
                                        "predictions) or model= (a fitted model).")
        if labels is not None and not isinstance(labels, Mapping):
            raise LabelingFunctionError(f"{where}: labels must be a dict mapping predicted "
                                        f"values to labels, got {type(labels).__name__}.")
        if min_confidence is not None and (
                isinstance(min_confidence, bool) or not isinstance(min_confidence, Real)
                or not 0.0 <= float(min_confidence) <= 1.0 or math.isnan(min_confidence)):
            raise LabelingFunctionError(f"{where}: min_confidence must be a probability in "
                                        f"[0, 1], got {min_confidence!r}.")
        self.column = None if column is None else check_column(column, name)
        self.model = model
        self.labels = None if labels is None else dict(labels)
        self.min_confidence = None if min_confidence is None else float(min_confidence)
        self.confidence = None if confidence is None else check_column(confidence, name)
        if model is not None:
            if confidence is not None:
                raise LabelingFunctionError(f"{where}: confidence= names a probability column "
                                            "and only goes with column=; a model's own "
                                            "predict_proba gives the confidence.")
            if isinstance(features, str):
                features = [features]
            if not features or not all(isinstance(f, str) and f for f in features):
                raise LabelingFunctionError(f"{where}: a model needs features=[...], the "
                                            f"names of the columns it reads; got {features!r}.")
            if not (hasattr(model, "predict_proba") or hasattr(model, "predict")):
                raise LabelingFunctionError(f"{where}: the model {type(model).__name__} has "
                                            "neither predict_proba nor predict.")
            if min_confidence is not None and not hasattr(model, "predict_proba"):
                raise LabelingFunctionError(f"{where}: min_confidence needs a model with "
                                            "predict_proba.")
            self.features: tuple[str, ...] = tuple(features)
        else:
            if features is not None:
                raise LabelingFunctionError(f"{where}: features= goes with model=, not with "
                                            "column=.")
            if min_confidence is not None and confidence is None:
                raise LabelingFunctionError(f"{where}: min_confidence with column= needs "
                                            "confidence=<name of a probability column>.")
            self.features = ()

    @property
    def columns(self) -> tuple[str, ...]:
        if self.model is not None:
            return self.features
        return (self.column,) + ((self.confidence,) if self.confidence else ())

    # -- applying ------------------------------------------------------------------------
    def apply_frame(self, frame, classes: Sequence[str] | None = None) -> np.ndarray:
        """Votes on every row of ``frame`` (int8/int16, -1 = abstain)."""
        purpose = f"labeling function {self.name!r}"
        frame.require(*self.columns, purpose=purpose)
        n = len(frame)
        if self.model is None:
            values = frame.numpy(self.column, purpose)
            conf = None if self.confidence is None else frame.numeric(self.confidence, purpose)
            votes = self._to_labels(values, classes)
        else:
            votes = np.full(n, ABSTAIN, dtype=np.int64)
            conf = None
            ok = np.ones(n, dtype=bool)
            for f in self.features:
                ok &= ~np.asarray(frame.arrow(f, purpose).is_null(nan_is_null=True))
            rows = np.flatnonzero(ok)
            if rows.size:
                sub = frame.take(rows) if rows.size < n else frame
                pred, prob = self._predict(sub.select(self.features).to_pandas())
                votes[rows] = self._to_labels(pred, classes)
                if prob is not None:
                    conf = np.full(n, np.nan)
                    conf[rows] = prob
        if self.min_confidence is not None and conf is not None:
            votes = np.where(conf >= self.min_confidence, votes, ABSTAIN)
        labels = [v for v in ([*self.labels.values()] if self.labels else []) if v is not None]
        top = max([resolve_label(v, classes, self.name) for v in labels] + [len(classes or ())]
                  + [int(votes.max(initial=0))])
        return votes.astype(votes_dtype([top]))

    def __call__(self, row: Any) -> Any:
        """The vote on one row, as the label given (an int or class name) or ``-1``."""
        import pandas as pd

        if self.model is None:
            value = row_value(row, self.column, self.name)
            if self.min_confidence is not None:
                c = row_value(row, self.confidence, self.name)
                if c is None or not float(c) >= self.min_confidence:
                    return ABSTAIN
            return self._one_label(value)
        values = {f: row_value(row, f, self.name) for f in self.features}
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values.values()):
            return ABSTAIN
        pred, prob = self._predict(pd.DataFrame({k: [v] for k, v in values.items()}))
        if self.min_confidence is not None and not prob[0] >= self.min_confidence:
            return ABSTAIN
        return self._one_label(pred[0])

    # -- helpers -------------------------------------------------------------------------
    def _predict(self, X):
        model = self.model
        data = X if hasattr(model, "feature_names_in_") or any(
            dt.kind == "O" or str(dt) in ("str", "string") for dt in X.dtypes) else X.to_numpy()
        try:
            if hasattr(model, "predict_proba"):
                proba = np.asarray(model.predict_proba(data), dtype=float)
                classes = np.asarray(getattr(model, "classes_", np.arange(proba.shape[1])))
                best = proba.argmax(axis=1)
                return classes[best], proba[np.arange(len(best)), best]
            return np.asarray(model.predict(data)), None
        except Exception as exc:
            raise LabelingFunctionError(f"labeling function {self.name!r}: the model "
                                        f"{type(model).__name__} failed on features "
                                        f"{list(self.features)}: {exc}") from exc

    def _one_label(self, value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ABSTAIN
        value = value.item() if isinstance(value, np.generic) else value
        if self.labels is not None:
            return self.labels.get(value, ABSTAIN)
        return value

    def _to_labels(self, values: np.ndarray, classes: Sequence[str] | None) -> np.ndarray:
        import pandas as pd

        s = pd.Series(np.asarray(values, dtype=object) if np.asarray(values).dtype.kind in "OUST"
                      else values)
        if self.labels is not None:
            table = {k: resolve_label(v, classes, self.name) for k, v in self.labels.items()}
            out = s.map(lambda v: table.get(v, ABSTAIN) if _hashable(v) else ABSTAIN)
            return out.fillna(ABSTAIN).to_numpy(dtype=np.int64)
        # no mapping: the predictions are labels themselves (ints or class names)
        if s.dtype.kind in "fiub":
            x = s.to_numpy(dtype=float)
            present = ~np.isnan(x)
            if present.any():
                bad = x[present & ((x != np.round(x)) | (x < -1) |
                                   (x >= (len(classes) if classes is not None else np.inf)))]
                if bad.size:
                    raise LabelError(f"labeling function {self.name!r} got prediction "
                                     f"{float(bad[0]):g}, which is not a label 0..k-1; pass labels="
                                     "{prediction: label} to map predictions to labels.")
            return np.where(present, np.nan_to_num(x, nan=-1), ABSTAIN).astype(np.int64)
        names = {v for v in s.dropna().unique()}
        table = {v: resolve_label(v, classes, self.name) for v in names}
        return s.map(table).fillna(ABSTAIN).to_numpy(dtype=np.int64)


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def model_lf(name: str, *, column: str | None = None, model: Any = None,
             features: Sequence[str] | None = None, labels: Mapping[Any, Any] | None = None,
             confidence: str | None = None, min_confidence: float | None = None) -> ModelLF:
    """A labeling function that votes another model's predictions.

    Parameters
    ----------
    name : str
        The LF's name.
    column : str, optional
        A column of precomputed predictions. Give this or ``model``.
    model : object, optional
        A fitted model with ``predict_proba`` (preferred) or ``predict``.
    features : list of str, optional
        With ``model``: the columns passed to it, in order (as a DataFrame when the model
        was fitted on named columns or a feature is text, else as an array).
    labels : dict, optional
        Maps predicted values to labels (ints or class names); values it does not list
        abstain. Without it, predictions must already be labels (ints ``0..k-1`` or class
        names).
    confidence : str, optional
        With ``column``: a column of the prediction's probability.
    min_confidence : float, optional
        Abstain where the confidence (``confidence`` column, or the model's top class
        probability) is below this.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> clf = LogisticRegression().fit([[0.0], [1.0], [5.0], [6.0]], [0, 0, 1, 1])
    >>> lf = model_lf("clf", model=clf, features=["x"], min_confidence=0.8)
    >>> from dawn.data import as_frame
    >>> lf.apply_frame(as_frame({"x": [0.0, 3.0, 6.0, None]})).tolist()
    [0, -1, 1, -1]
    """
    return ModelLF(name, column=column, model=model, features=features, labels=labels,
                   confidence=confidence, min_confidence=min_confidence)
