"""``Classifier``: a trained end model that scores raw rows, and ``train`` that makes one.

The classifier is the featuriser (TF-IDF text + tabular columns), a model (dawn's linear
model or boosted trees) and a temperature that calibrates its probabilities. ``train``
fits it on probabilistic labels (rows of a label model's ``predict_proba``) with the
noise-aware loss, choosing the model and its regularisation by a small seeded search on
a held-out split.

>>> import numpy as np, pandas as pd
>>> df = pd.DataFrame({"text": ["win cash now", "lovely song", "free cash prize",
...                             "great song", "cash prize here", "nice voice"] * 20})
>>> P = np.tile([[0.1, 0.9], [0.9, 0.1], [0.2, 0.8], [0.8, 0.2], [0.1, 0.9], [0.7, 0.3]],
...             (20, 1))
>>> clf = train(df, P, classes=["ham", "spam"], seed=0)
>>> clf.predict_labels({"text": ["cash cash", "song"]}).tolist()
['spam', 'ham']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dawn.data import as_frame
from dawn.errors import ConfigError, LabelError, SchemaError

__all__ = ["Classifier", "train"]

MODELS = ("auto", "linear", "trees")
_TREES_MAX_FEATURES = 2000  # trees are a candidate only on narrow (tabular) features


def _model_class(kind: str):
    if kind == "linear":
        from dawn.train.linear import LinearModel

        return LinearModel
    from dawn.train.trees import BoostedTrees

    return BoostedTrees


class Classifier:
    """Featuriser + model + calibration: ``predict_proba`` on raw rows (see :func:`train`)."""

    def __init__(self, featurizer, model, kind: str, temperature: float = 1.0,
                 classes: Sequence[str] | None = None, info: dict | None = None) -> None:
        self.featurizer = featurizer
        self.model = model
        self.kind = kind
        self.temperature = float(temperature)
        self.classes = None if classes is None else list(classes)
        self.info = dict(info or {})

    @property
    def n_classes(self) -> int:
        return int(self.model.n_classes_)

    def predict_proba(self, data: Any) -> np.ndarray:
        """Calibrated class probabilities ``(n, k)`` for the rows of ``data``."""
        X = self.featurizer.transform(as_frame(data))
        proba = self.model.predict_proba(X)
        return _temper(proba, self.temperature)

    def predict(self, data: Any) -> np.ndarray:
        """The most likely class id (``0..k-1``) of each row."""
        return self.predict_proba(data).argmax(axis=1)

    def predict_labels(self, data: Any) -> np.ndarray:
        """The most likely class of each row, by name when the classes are known."""
        ids = self.predict(data)
        return ids if self.classes is None else np.asarray(self.classes, dtype=object)[ids]

    # -- saving ---------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays (``.npz``) and JSON metadata that :meth:`from_arrays` rebuilds it from."""
        arrays: dict[str, np.ndarray] = {}
        f_arrays, f_meta = self.featurizer.to_arrays()
        m_arrays, m_meta = self.model.to_arrays()
        arrays.update({f"featurizer.{k}": v for k, v in f_arrays.items()})
        arrays.update({f"model.{k}": v for k, v in m_arrays.items()})
        meta = {"kind": self.kind, "temperature": self.temperature, "classes": self.classes,
                "info": self.info, "featurizer": f_meta, "model": m_meta}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Classifier:
        from dawn.train.features import Featurizer

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

        featurizer = Featurizer.from_arrays(part("featurizer."), meta["featurizer"])
        model = _model_class(meta["kind"]).from_arrays(part("model."), meta["model"])
        return cls(featurizer, model, meta["kind"], meta["temperature"], meta["classes"],
                   meta.get("info"))

    def __repr__(self) -> str:
        return f"Classifier({self.kind}, {self.n_classes} classes)"


def _temper(proba: np.ndarray, temperature: float) -> np.ndarray:
    if temperature == 1.0:
        return proba
    logits = np.log(np.clip(proba, 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def _targets(labels: Any, n: int, k: int | None) -> np.ndarray:
    """Probabilistic targets ``(n, k)`` from probabilities or int labels (-1 = unlabelled)."""
    arr = np.asarray(labels)
    if arr.ndim == 1:
        if not np.issubdtype(arr.dtype, np.integer):
            raise LabelError(f"labels of dtype {arr.dtype}: give int class ids 0..k-1 (-1 for "
                             "unlabelled) or an (n, k) array of probabilities.")
        k = int(k or max(int(arr.max()) + 1, 2))
        if arr.min() < -1 or arr.max() >= k:
            bad = arr[(arr < -1) | (arr >= k)][0]
            raise LabelError(f"label {int(bad)} is outside 0..{k - 1} (-1 = unlabelled).")
        out = np.zeros((len(arr), k))
        covered = arr >= 0
        out[np.flatnonzero(covered), arr[covered]] = 1.0
        out[~covered] = np.nan
        arr = out
    if arr.ndim != 2 or arr.shape[0] != n:
        raise SchemaError(f"labels have shape {arr.shape}; expected ({n}, k) probabilities or "
                          f"({n},) class ids, one per row of the data.")
    if k is not None and arr.shape[1] != k:
        raise SchemaError(f"labels have {arr.shape[1]} columns but there are {k} classes.")
    return arr.astype(np.float64, copy=False)


def train(data: Any, labels: Any, *, text: str | None = "text", columns: Sequence[str] = (),
          model: str = "auto", classes: Sequence[str] | None = None, seed: int = 0,
          holdout: float = 0.2, calibrate: bool = True) -> Classifier:
    """Train an end model on ``data`` with probabilistic ``labels``.

    Parameters
    ----------
    data : rows (pandas, polars, Arrow, dict, Frame) holding the text and tabular columns
    labels : (n, k) probabilities (a label model's ``predict_proba``) or (n,) class ids;
        rows with NaN probabilities or id -1 (no LF voted) are left out of training
    text : the text column (TF-IDF features), or ``None``
    columns : tabular feature columns (numbers standardised, categories one-hot)
    model : ``"auto"`` (a seeded search over the linear model and, on narrow features,
        boosted trees), ``"linear"`` or ``"trees"``
    holdout : fraction of labelled rows held out to choose the model and calibrate it
    """
    from dawn.train.features import Featurizer

    if model not in MODELS:
        raise ConfigError(f"model={model!r} is not one of {list(MODELS)}.")
    if not 0.0 < holdout < 0.5:
        raise ConfigError(f"holdout={holdout!r} must be between 0 and 0.5.")
    frame = as_frame(data)
    k = None if classes is None else len(classes)
    P = _targets(labels, len(frame), k)
    keep = np.flatnonzero(np.isfinite(P).all(axis=1) & (P.sum(axis=1) > 0))
    if len(keep) < 10:
        raise LabelError(f"only {len(keep)} rows have labels; train needs at least 10 (are the "
                         "labeling functions firing?).")
    frame, P = frame.take(keep), P[keep] / P[keep].sum(axis=1, keepdims=True)
    featurizer = Featurizer(text=text, columns=list(columns)).fit(frame)
    X = featurizer.transform(frame)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(keep))
    n_val = max(1, round(holdout * len(keep)))
    val, fit_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
    candidates = _candidates(model, X.shape[1], seed)
    scores, held_out = [], []
    for kind, params in candidates:
        est = _model_class(kind)(**params).fit(X[fit_rows], P[fit_rows])
        held_out.append(est.predict_proba(X[val]))
        proba = np.clip(held_out[-1], 1e-12, 1.0)
        scores.append(float(-(P[val] * np.log(proba)).sum(axis=1).mean()))
    best = int(np.argmin(scores))
    kind, params = candidates[best]
    temperature = 1.0
    if calibrate:
        from dawn.train.calibrate import TemperatureScaling

        temperature = float(TemperatureScaling().fit(held_out[best], P[val]).temperature_)
    final = _model_class(kind)(**params).fit(X, P)
    info = {"search": [{"model": kd, "params": pr, "holdout_cross_entropy": sc}
                       for (kd, pr), sc in zip(candidates, scores, strict=True)],
            "chosen": {"model": kind, "params": params}, "trained_rows": len(keep),
            "text": text, "columns": list(columns), "seed": seed}
    return Classifier(featurizer, final, kind, temperature, classes, info)


def _candidates(model: str, n_features: int, seed: int) -> list[tuple[str, dict]]:
    linear = [("linear", {"alpha": a, "seed": seed}) for a in (1e-5, 1e-4, 1e-3)]
    trees = [("trees", {"max_iter": it, "learning_rate": 0.1, "seed": seed})
             for it in (100, 300)]
    if model == "linear":
        return linear
    if model == "trees":
        return trees
    return linear + (trees if n_features <= _TREES_MAX_FEATURES else [])

