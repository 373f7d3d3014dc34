"""Gradient-boosted trees trained on probabilistic labels, scored by dawn's own kernel.

Training uses scikit-learn's ``HistGradientBoostingClassifier`` with the *soft-label
trick*: row ``i`` is repeated once per class ``c`` with label ``c`` and weight
``P[i, c]`` (times its sample weight), and copies of zero weight are dropped. The weighted
log-loss of the expanded data is ``-Σ_i w_i Σ_c P[i, c] log q_c(x_i)``, the *expected*
cross-entropy of the model under the label distribution — the noise-aware loss of data
programming. With one-hot ``P`` the expanded data is exactly the hard-labelled data. Label
weights below ``min_weight`` (label models clip probabilities at about ``1e-6``) are
dropped and each row's remaining weights renormalised, so ``k`` classes do not multiply the
rows ``k``-fold for nothing.

After fitting, the trees are exported to flat node arrays (:func:`export_sklearn`) and the
scikit-learn object is dropped: prediction runs :func:`dawn.train._tree_kernels.raw_scores`
(numba, rows over threads) and a sigmoid (two classes, one tree per iteration) or softmax
(``k`` trees per iteration). Models save as arrays plus JSON (:meth:`BoostedTrees.to_arrays`),
never pickle. Categorical splits are not supported (features are treated as numbers); NaN
in ``X`` is a missing value, routed as the tree learned.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 3))
>>> P = np.zeros((300, 2)); P[np.arange(300), (X[:, 0] > 0).astype(int)] = 1.0
>>> model = BoostedTrees(max_iter=20).fit(X, P)
>>> model.predict(np.array([[2.0, 0, 0], [-2.0, 0, 0]])).tolist()
[1, 0]
>>> arrays, meta = model.to_arrays()
>>> again = BoostedTrees.from_arrays(arrays, meta)
>>> bool(np.array_equal(again.predict_proba(X), model.predict_proba(X)))
True
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import scipy.sparse as sp

from dawn.errors import (
    ConfigError,
    DataError,
    EmptyDataError,
    LabelError,
    NotFittedError,
    SchemaError,
)

__all__ = ["MAX_DENSE_CELLS", "BoostedTrees", "check_features", "check_targets",
           "export_sklearn"]

MAX_DENSE_CELLS = 1 << 27  # 128 Mi float64 cells (1 GiB): the most a sparse/expanded X may be
_PREDICT_CHUNK_CELLS = 1 << 22  # sparse input is densified this many cells at a time
_FOREST_KEYS = ("feature", "threshold", "left", "right", "value", "is_leaf", "missing_left",
                "roots", "tree_out", "baseline", "classes")
FORMAT_VERSION = 1


# --------------------------------------------------------------------------- validation
def check_features(X: Any, *, what: str = "X", n_features: int | None = None,
                   allow_nan: bool = True) -> np.ndarray | sp.csr_matrix:
    """``X`` as a float CSR matrix or a dense 2-D float array, checked.

    NaN is allowed (a missing value) when ``allow_nan``; infinities never are.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float64)
        values = X.data
    else:
        if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
            X = X.to_numpy()
        try:
            X = np.asarray(X)
            if not np.issubdtype(X.dtype, np.floating):
                X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"{what} must be numeric features, got dtype "
                              f"{np.asarray(X, dtype=object).dtype}: {exc}; encode text or "
                              "categories as numbers first") from None
        if X.ndim != 2:
            raise SchemaError(f"{what} must be 2-D (n_rows, n_features), got shape {X.shape}; "
                              "use X.reshape(-1, 1) for a single feature")
        values = X
    if X.shape[0] == 0:
        raise EmptyDataError(f"{what} has no rows; give at least one row")
    if n_features is not None and X.shape[1] != n_features:
        raise SchemaError(f"{what} has {X.shape[1]} features but the model was fitted on "
                          f"{n_features}; use the same feature columns as in fit")
    if np.isinf(values).any():
        raise DataError(f"{what} contains infinite values; replace them (e.g. with NaN for "
                        "missing, or clip them)")
    if not allow_nan and np.isnan(values).any():
        raise DataError(f"{what} contains NaN; impute or drop the rows with missing values")
    return X


def check_targets(P: Any, n_rows: int, *, what: str = "P") -> np.ndarray:
    """Labels as a float ``(n, k)`` probability matrix (hard labels become one-hot).

    ``P`` is ``(n, k)`` probabilistic labels whose rows sum to 1, or ``(n,)`` integer
    labels ``0..k-1`` (then ``k = max + 1``, at least 2).
    """
    P = np.asarray(P)
    if P.ndim == 0 or P.ndim > 2:
        raise LabelError(f"{what} must be (n,) integer labels or (n, k) probabilistic labels, "
                         f"got shape {P.shape}")
    if P.shape[0] != n_rows:
        raise SchemaError(f"{what} has {P.shape[0]} rows but X has {n_rows}; give one label "
                          "row per feature row")
    if P.ndim == 1:
        if not (np.issubdtype(P.dtype, np.integer) or np.issubdtype(P.dtype, np.floating)
                or P.dtype == np.bool_):
            raise LabelError(f"{what} must hold integer labels 0..k-1, got dtype {P.dtype}")
        Pf = P.astype(np.float64)
        if np.isnan(Pf).any():
            raise LabelError(f"{what} contains NaN labels; drop the unlabelled rows first")
        y = Pf.astype(np.int64)
        if (y != Pf).any():
            raise LabelError(f"{what} holds non-integer labels (e.g. {Pf[y != Pf][0]!r}); "
                             "pass integer labels 0..k-1 or (n, k) probabilities")
        if (y < 0).any():
            raise LabelError(f"{what} holds label {int(y.min())}; labels must be 0..k-1 "
                             "(-1 = abstain rows must be dropped before training)")
        k = max(int(y.max()) + 1, 2)
        out = np.zeros((n_rows, k))
        out[np.arange(n_rows), y] = 1.0
        return out
    P = P.astype(np.float64)
    if P.shape[1] < 2:
        raise LabelError(f"{what} has {P.shape[1]} class column(s); probabilistic labels need "
                         "k >= 2 columns")
    if not np.isfinite(P).all():
        raise LabelError(f"{what} contains NaN or infinite probabilities; every row must be a "
                         "probability distribution over the classes")
    if (P < 0).any():
        raise LabelError(f"{what} contains negative probabilities (min {P.min():.3g}); rows "
                         "must be distributions over the classes")
    sums = P.sum(axis=1)
    bad = np.abs(sums - 1.0) > 1e-4
    if bad.any():
        i = int(np.argmax(bad))
        raise LabelError(f"row {i} of {what} sums to {sums[i]:.6g}, not 1; normalise the rows "
                         "(P / P.sum(axis=1, keepdims=True))")
    return P / sums[:, None]


def check_sample_weight(sample_weight: Any, n_rows: int) -> np.ndarray | None:
    """``None`` or a finite non-negative ``(n,)`` float array with a positive sum."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n_rows,):
        raise SchemaError(f"sample_weight has shape {w.shape}, expected ({n_rows},): one "
                          "weight per row")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise DataError("sample_weight must be finite, non-negative and not all zero")
    return w


# --------------------------------------------------------------------------- export
def export_sklearn(model: Any, classes: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Flat node arrays of a fitted ``HistGradientBoostingClassifier`` (see the module doc).

    Returns ``feature, threshold, left, right, value, is_leaf, missing_left`` over all
    nodes (child indices global), ``roots`` and ``tree_out`` per tree, ``baseline`` (the
    raw initial prediction per output column) and ``classes`` (the label each
    probability column of ``model.predict_proba`` stands for; ``model.classes_`` unless
    given).
    """
    predictors = getattr(model, "_predictors", None)
    if not predictors:
        raise NotFittedError("the HistGradientBoostingClassifier is not fitted; call fit first")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in _FOREST_KEYS[:7]}
    roots, tree_out = [], []
    offset = 0
    for iteration in predictors:
        for col, predictor in enumerate(iteration):
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ConfigError("the model has categorical splits, which dawn's tree export "
                                  "does not support; fit with categorical_features=None")
            leaf = nodes["is_leaf"].astype(np.uint8)
            parts["feature"].append(np.where(leaf, -1, nodes["feature_idx"]).astype(np.int64))
            parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
            parts["left"].append(np.where(leaf, -1, nodes["left"].astype(np.int64) + offset))
            parts["right"].append(np.where(leaf, -1, nodes["right"].astype(np.int64) + offset))
            parts["value"].append(nodes["value"].astype(np.float64))
            parts["is_leaf"].append(leaf)
            parts["missing_left"].append(nodes["missing_go_to_left"].astype(np.uint8))
            roots.append(offset)
            tree_out.append(col)
            offset += len(nodes)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    arrays["roots"] = np.asarray(roots, np.int64)
    arrays["tree_out"] = np.asarray(tree_out, np.int64)
    arrays["baseline"] = np.asarray(model._baseline_prediction, np.float64).reshape(-1)
    arrays["classes"] = np.asarray(model.classes_ if classes is None else classes, np.int64)
    return arrays


# --------------------------------------------------------------------------- model
_THREADED_CELLS = 20_000_000  # rows × features above which sklearn's fit uses all cores


class BoostedTrees:
    """Gradient-boosted trees for probabilistic labels (soft-label trick, see module doc).

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, max_depth, l2_regularization
        As in scikit-learn's ``HistGradientBoostingClassifier``.
    early_stopping : "auto" | bool
        Stop when the validation loss has not improved for 10 iterations. ``"auto"``
        enables it above 10 000 rows. The validation rows (10 %, stratified by the argmax
        label, seeded) are whole original rows, so no row's class copies straddle the split.
    seed : int
        Seeds the binning subsample and the validation split; fits are deterministic.
    min_weight : float
        Label weights ``P[i, c]`` below this are dropped (rows renormalised).

    Attributes
    ----------
    n_classes_ : int
    n_features_in_ : int
    n_iter_ : int
        Boosting iterations kept.
    """

    def __init__(self, max_iter: int = 100, learning_rate: float = 0.1,
                 max_leaf_nodes: int | None = 31, max_depth: int | None = None,
                 l2_regularization: float = 0.0, early_stopping: str | bool = "auto",
                 seed: int = 0, min_weight: float = 1e-3) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.l2_regularization = l2_regularization
        self.early_stopping = early_stopping
        self.seed = seed
        self.min_weight = min_weight

    # ----------------------------------------------------------------- params
    def get_params(self) -> dict[str, Any]:
        """Constructor parameters as a dict."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def _check_params(self) -> None:
        if not (isinstance(self.max_iter, int | np.integer) and self.max_iter >= 1):
            raise ConfigError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not (np.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.early_stopping not in ("auto", True, False):
            raise ConfigError(f"early_stopping must be 'auto', True or False, got "
                              f"{self.early_stopping!r}")
        if not 0 <= self.min_weight < 0.5:
            raise ConfigError(f"min_weight must be in [0, 0.5), got {self.min_weight!r}")

    # ----------------------------------------------------------------- fit
    def fit(self, X: Any, P: Any, sample_weight: Any = None) -> BoostedTrees:
        """Fit on features ``X`` (n, d) and labels ``P`` ((n, k) probabilities or (n,) ints)."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        self._check_params()
        X = check_features(X)
        n, d = X.shape
        P = check_targets(P, n)
        w = check_sample_weight(sample_weight, n)
        k = P.shape[1]
        if self.min_weight > 0:
            P = np.where(P >= self.min_weight, P, 0.0)
            P /= P.sum(axis=1, keepdims=True)
        if w is not None:
            P = P * w[:, None]
        present = np.flatnonzero(P.sum(axis=0) > 0)
        if len(present) < 2:
            raise LabelError(f"the labels put weight on only {len(present)} class(es) "
                             f"{present.tolist()}; training needs at least two classes")
        cells = int(np.count_nonzero(P)) * d
        if cells > MAX_DENSE_CELLS:
            raise DataError(f"boosted trees need a dense copy of X with one row per (row, class) "
                            f"label weight: {cells:,} cells, more than the {MAX_DENSE_CELLS:,} "
                            "allowed; use the linear model for large sparse features, or "
                            "reduce the features (e.g. TruncatedSVD)")

        use_es = n > 10_000 if self.early_stopping == "auto" else bool(self.early_stopping)
        fit_rows = np.arange(n)
        val_rows = None
        sk_params = dict(
            loss="log_loss", learning_rate=float(self.learning_rate),
            max_iter=int(self.max_iter), max_leaf_nodes=self.max_leaf_nodes,
            max_depth=self.max_depth, l2_regularization=float(self.l2_regularization),
            categorical_features=None, random_state=int(self.seed), early_stopping=use_es)
        accepts_val = "X_val" in inspect.signature(HistGradientBoostingClassifier.fit).parameters
        if use_es and accepts_val and n >= 20:
            from dawn.train.label_errors import stratified_folds

            fold = stratified_folds(P.argmax(axis=1), 10, seed=self.seed)
            val_rows, fit_rows = np.flatnonzero(fold == 0), np.flatnonzero(fold != 0)
        Xe, ye, we = _expand(X, P, fit_rows)
        fit_kwargs: dict[str, Any] = {"sample_weight": we}
        if val_rows is not None:
            Xv, yv, wv = _expand(X, P, val_rows)
            fit_kwargs.update(X_val=Xv, y_val=yv, sample_weight_val=wv)
        if len(np.unique(ye)) < 2:
            raise LabelError("the training rows hold only one class; training needs two")
        from threadpoolctl import threadpool_limits

        # OpenMP threads only pay off on large fits; on small ones, and on a shared machine,
        # they cost far more in contention than they give
        threads = None if Xe.shape[0] * Xe.shape[1] >= _THREADED_CELLS else 1
        with threadpool_limits(threads, user_api="openmp"):
            clf = HistGradientBoostingClassifier(**sk_params).fit(Xe, ye, **fit_kwargs)
        self._set_forest(export_sklearn(clf), k, d, int(clf.n_iter_))
        return self

    def _set_forest(self, arrays: dict[str, np.ndarray], n_classes: int, n_features: int,
                    n_iter: int) -> None:
        from dawn.train._tree_kernels import check_forest

        self.depths_ = check_forest(**arrays)
        self.forest_ = arrays
        self.n_classes_ = int(n_classes)
        self.n_features_in_ = int(n_features)
        self.n_iter_ = int(n_iter)

    @classmethod
    def from_sklearn(cls, model: Any, n_classes: int | None = None) -> BoostedTrees:
        """Wrap a fitted ``HistGradientBoostingClassifier`` whose classes are ints ``0..k-1``."""
        classes = np.asarray(getattr(model, "classes_", []))
        if not np.issubdtype(classes.dtype, np.integer) or (classes < 0).any():
            raise LabelError(f"the model's classes {classes.tolist()} are not integer labels "
                             "0..k-1; refit with labels encoded as positions in the class list")
        out = cls(**{k: v for k, v in model.get_params().items()
                     if k in ("max_iter", "learning_rate", "max_leaf_nodes", "max_depth",
                              "l2_regularization")})
        arrays = export_sklearn(model)
        k = int(classes.max()) + 1 if n_classes is None else int(n_classes)
        out._set_forest(arrays, max(k, 2), int(model.n_features_in_), int(model.n_iter_))
        return out

    # ----------------------------------------------------------------- predict
    def _fitted(self) -> dict[str, np.ndarray]:
        forest = getattr(self, "forest_", None)
        if forest is None:
            raise NotFittedError("this BoostedTrees is not fitted yet; call fit(X, P) or load "
                                 "one with BoostedTrees.from_arrays(arrays, meta)")
        return forest

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores ``(n, 1)`` for two trained classes, else ``(n, k_trained)``."""
        from dawn.train._tree_kernels import raw_scores

        forest = self._fitted()
        X = check_features(X, n_features=self.n_features_in_)
        keys = [k for k in _FOREST_KEYS if k != "classes"]
        trees = {k: forest[k] for k in keys}
        if not sp.issparse(X):
            return raw_scores(X, **trees)
        step = max(1, _PREDICT_CHUNK_CELLS // max(1, X.shape[1]))
        return np.concatenate([raw_scores(X[a:a + step].toarray(), **trees)
                               for a in range(0, X.shape[0], step)])

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes_)``; classes without training weight get 0."""
        from scipy.special import expit, softmax

        raw = self.decision_function(X)
        if raw.shape[1] == 1:
            p1 = expit(raw[:, 0])
            trained = np.column_stack([1.0 - p1, p1])
        else:
            trained = softmax(raw, axis=1)
        out = np.zeros((raw.shape[0], self.n_classes_))
        out[:, self.forest_["classes"]] = trained
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class per row, ints ``0..n_classes_-1``."""
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)

    # ----------------------------------------------------------------- persistence
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: the node arrays and a JSON-able description (no pickle)."""
        forest = self._fitted()
        meta = {"kind": "BoostedTrees", "format_version": FORMAT_VERSION,
                "params": self.get_params(), "n_classes": self.n_classes_,
                "n_features": self.n_features_in_, "n_iter": self.n_iter_,
                "n_trees": len(forest["roots"]), "n_nodes": len(forest["value"])}
        return {k: v.copy() for k, v in forest.items()}, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> BoostedTrees:
        """Rebuild a model saved with :meth:`to_arrays`; checks the arrays are consistent."""
        if meta.get("kind") != "BoostedTrees":
            raise SchemaError(f"meta describes a {meta.get('kind')!r} model, not BoostedTrees")
        missing = [k for k in _FOREST_KEYS if k not in arrays]
        if missing:
            raise SchemaError(f"the arrays lack {missing} needed by a BoostedTrees model; save "
                              "it with to_arrays()")
        forest = {k: np.asarray(arrays[k]) for k in _FOREST_KEYS}
        n_nodes, n_classes = len(forest["value"]), int(meta["n_classes"])
        node_keys = _FOREST_KEYS[:7]
        if any(len(forest[k]) != n_nodes for k in node_keys) or \
                len(forest["roots"]) != len(forest["tree_out"]):
            raise SchemaError("the BoostedTrees node arrays have different lengths; the "
                              "artefact is damaged")
        inner = forest["is_leaf"] == 0
        feats = forest["feature"][inner]
        if ((feats < 0) | (feats >= int(meta["n_features"]))).any() or \
                (forest["tree_out"] >= len(forest["baseline"])).any() or \
                (forest["classes"] >= n_classes).any():
            raise SchemaError("the BoostedTrees arrays point outside the model (bad feature, "
                              "output or class index); the artefact is damaged")
        out = cls(**meta.get("params", {}))
        out._set_forest(forest, n_classes, int(meta["n_features"]), int(meta["n_iter"]))
        return out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"BoostedTrees({params})"


def _expand(X: Any, P: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray | None]:
    """The soft-label expansion of ``rows``: dense X copies, class labels, weights."""
    r, c = np.nonzero(P[rows])  # row-major: a one-hot P keeps the original row order
    src = rows[r]
    weights = P[src, c]
    if not sp.issparse(X) and len(src) == X.shape[0] and (src == np.arange(len(src))).all():
        Xe = np.asarray(X, dtype=np.float64)  # hard labels on all rows: no copy needed
    else:
        Xe = np.asarray(X[src].toarray() if sp.issparse(X) else X[src], dtype=np.float64)
    return Xe, c.astype(np.int64), None if np.all(weights == 1.0) else weights
