"""``LinearModel``: logistic regression on probabilistic labels by HogWild! SGD.

The end model's linear learner. It minimises the noise-aware loss of data programming —
the expected cross-entropy ``-Σ_i s_i Σ_c P_ic log p_c(x_i)`` of the model's
probabilities under the label model's probabilistic labels ``P`` — plus
``α/2 ||W||²``, by stochastic gradient descent over shuffled rows, compiled with numba
(:mod:`dawn.train._sgd_kernels`). Two classes are one weight vector (``p = σ(w·x + b)``),
more classes a softmax. Rows may be dense or sparse (CSR, e.g. TF-IDF).

>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(400, 3))
>>> y = (X[:, 0] - X[:, 1] > 0).astype(int)
>>> model = LinearModel(epochs=5, seed=0).fit(X, y)
>>> float((model.predict(X) == y).mean()) > 0.95
True
>>> model.predict_proba(X[:2]).round(2)
array([[0.19, 0.81],
       [0.02, 0.98]])
"""

from __future__ import annotations

import numbers
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

__all__ = ["LinearModel"]

_DTYPES = {"float32": np.float32, "float64": np.float64}
_ROW_SUM_TOL = 1e-3


class LinearModel:
    """Multinomial logistic regression trained on probabilistic labels by HogWild! SGD.

    Parameters
    ----------
    loss : {"log"}
        The expected cross-entropy (log loss) under the targets.
    alpha : float
        L2 regularisation strength (scikit-learn's ``SGDClassifier`` meaning).
    epochs : int
        Passes over the shuffled rows.
    lr : "auto", "optimal" or float
        Initial learning rate ``η0`` of the schedule ``η = η0 / (1 + η0 α τ)`` at step
        ``τ``. ``"auto"``: ``1 / (1 + mean ||x||²)`` (a stable step for the data's scale);
        ``"optimal"``: scikit-learn's heuristic ``α^(-1/4)``.
    average : bool
        Return the mean of the weights over the second half of the steps (averaged
        SGD), which reaches a lower loss in far fewer epochs than the last iterate.
    dtype : {"float32", "float64"}
        Precision of the weights and of dense inputs during training.
    n_threads : int
        Threads for training. With 1 (the default) training is a plain sequential loop
        and **bit-reproducible** for a given ``seed``. With more, rows are split into
        blocks processed at once, every thread reading and writing the shared weights
        without locks (HogWild!): results then vary slightly from run to run.
    seed : int
        Seed of the row shuffling.
    class_weight : None, "balanced", dict or sequence
        Weight of each class; a row's weight is its expected class weight under its
        target distribution (times ``sample_weight``). ``"balanced"`` uses
        ``n / (k · Σ_i P_ic)``.
    n_classes : int or None
        Number of classes; by default the width of ``P`` (or the largest hard label + 1).

    Attributes
    ----------
    coef_ : ndarray (k, d)
        Weights, one row per class. A binary model is stored as one vector ``w`` and shown
        as the rows ``[-w/2, w/2]`` (their softmax is ``σ(w·x + b)``).
    intercept_ : ndarray (k,)
    classes_ : ndarray (k,)
        ``0..k-1``.
    loss_curve_ : list of float
        Mean loss of each epoch, each row's loss taken just before its step.
    """

    def __init__(self, loss: str = "log", alpha: float = 1e-4, epochs: int = 5,
                 lr: str | float = "auto", average: bool = True, dtype: str = "float32",
                 n_threads: int = 1, seed: int = 0,
                 class_weight: str | dict | Any | None = None,
                 n_classes: int | None = None) -> None:
        self.loss = loss
        self.alpha = alpha
        self.epochs = epochs
        self.lr = lr
        self.average = average
        self.dtype = dtype
        self.n_threads = n_threads
        self.seed = seed
        self.class_weight = class_weight
        self.n_classes = n_classes

    # -- checks --------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.loss != "log":
            raise ConfigError(f"loss must be 'log' (expected cross-entropy), got {self.loss!r}.")
        if not (isinstance(self.alpha, numbers.Real) and np.isfinite(self.alpha)
                and self.alpha >= 0):
            raise ConfigError(f"alpha must be a finite number >= 0, got {self.alpha!r}.")
        if not isinstance(self.epochs, numbers.Integral) or self.epochs < 1:
            raise ConfigError(f"epochs must be an integer >= 1, got {self.epochs!r}.")
        if not isinstance(self.n_threads, numbers.Integral) or self.n_threads < 1:
            raise ConfigError(f"n_threads must be an integer >= 1, got {self.n_threads!r}.")
        if self.dtype not in _DTYPES:
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}.")
        if isinstance(self.lr, str):
            if self.lr not in ("auto", "optimal"):
                raise ConfigError(f"lr must be 'auto', 'optimal' or a positive number, got "
                                  f"{self.lr!r}.")
            if self.lr == "optimal" and self.alpha <= 0:
                raise ConfigError("lr='optimal' needs alpha > 0; use lr='auto' or a number.")
        elif not (isinstance(self.lr, numbers.Real) and np.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be 'auto', 'optimal' or a positive number, got "
                              f"{self.lr!r}.")
        if self.n_classes is not None and (not isinstance(self.n_classes, numbers.Integral)
                                           or self.n_classes < 2):
            raise ConfigError(f"n_classes must be an integer >= 2, got {self.n_classes!r}.")

    def _check_fitted(self) -> None:
        if not hasattr(self, "_W"):
            raise NotFittedError("this LinearModel is not fitted yet; call fit(X, P) first "
                                 "(or load one with LinearModel.from_arrays).")

    @staticmethod
    def _matrix(X: Any, dtype: type | None) -> np.ndarray | sp.csr_matrix:
        """``X`` as C-contiguous dense or CSR (sorted, canonical) of a float dtype, checked."""
        if sp.issparse(X):
            X = sp.csr_matrix(X)
            want = dtype or (X.dtype if X.dtype in (np.float32, np.float64) else np.float64)
            if X.dtype != want:
                X = X.astype(want)
            vals = X.data
        else:
            if hasattr(X, "to_numpy"):
                X = X.to_numpy()
            try:
                X = np.asarray(X)
                want = dtype or (X.dtype if X.dtype in (np.float32, np.float64) else np.float64)
                X = np.ascontiguousarray(X, dtype=want)
            except (TypeError, ValueError):
                raise DataError("X must be numeric (a numpy array, a scipy sparse matrix or a "
                                "numeric DataFrame); use a Featurizer for text or categories."
                                ) from None
            if X.ndim != 2:
                raise SchemaError(f"X must be two-dimensional (rows × features), got shape "
                                  f"{X.shape}.")
            vals = X
        if vals.size and not np.isfinite(np.add.reduce(vals.ravel())) \
                and not np.isfinite(vals).all():
            bad = np.argwhere(~np.isfinite(vals))[0].tolist() if not sp.issparse(X) else None
            where = f" (first at row/column {bad})" if bad else ""
            raise DataError(f"X has NaN or infinite values{where}; impute or drop them first "
                            "(TabularFeaturizer does this for numeric columns).")
        return X

    def _targets(self, P: Any, n: int) -> np.ndarray:
        """Targets as ``(n, k)`` float64 rows of probabilities."""
        P = np.asarray(P)
        if P.ndim == 1:
            if P.dtype.kind == "f":
                if not np.all(np.isfinite(P)) or np.any(P != np.round(P)):
                    raise LabelError("1-D targets must be integer class labels 0..k-1; for "
                                     "probabilistic labels pass a (n, k) matrix.")
                P = P.astype(np.int64)
            if P.dtype.kind not in "iub":
                raise LabelError(f"targets must be integer labels or a (n, k) probability "
                                 f"matrix, got dtype {P.dtype}.")
            if len(P) != n:
                raise DataError(f"X has {n} rows but there are {len(P)} labels; pass one label "
                                "per row.")
            if n and P.min() < 0:
                raise LabelError(f"label {int(P.min())} is not a class; -1 means the label "
                                 "model abstained — drop those rows before training.")
            k = self.n_classes or max(2, int(P.max()) + 1 if n else 2)
            if n and P.max() >= k:
                raise LabelError(f"label {int(P.max())} is out of range for {k} classes "
                                 f"(labels are 0..{k - 1}).")
            T = np.zeros((n, k))
            T[np.arange(n), P.astype(np.int64)] = 1.0
            return T
        if P.ndim != 2:
            raise SchemaError(f"P must be labels (n,) or probabilities (n, k), got shape "
                              f"{P.shape}.")
        if P.shape[0] != n:
            raise DataError(f"X has {n} rows but P has {P.shape[0]}; pass one row of "
                            "probabilities per row of X.")
        k = P.shape[1]
        if k < 2:
            raise LabelError(f"P needs at least 2 columns (one per class), got {k}.")
        if self.n_classes is not None and k != self.n_classes:
            raise LabelError(f"P has {k} columns but n_classes={self.n_classes}; they must "
                             "match.")
        T = np.asarray(P, dtype=np.float64)
        if not np.isfinite(T).all():
            raise LabelError("P has NaN or infinite values; every row must be a probability "
                             "distribution.")
        if (T < 0).any():
            raise LabelError("P has negative values; every row must be a probability "
                             "distribution.")
        sums = T.sum(axis=1)
        off = np.abs(sums - 1.0) > _ROW_SUM_TOL
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise LabelError(f"row {i} of P sums to {sums[i]:.4g}, not 1; every row must be a "
                             "probability distribution (normalise P, e.g. P / P.sum(1)).")
        return T / sums[:, None]

    def _row_weights(self, T: np.ndarray, sample_weight: Any) -> np.ndarray:
        n, k = T.shape
        if sample_weight is None:
            sw = np.ones(n)
        else:
            sw = np.asarray(sample_weight, dtype=np.float64)
            if sw.shape != (n,):
                raise DataError(f"sample_weight must have one value per row ({n}), got shape "
                                f"{sw.shape}.")
            if not np.isfinite(sw).all() or (sw < 0).any():
                raise DataError("sample_weight must be finite and >= 0.")
        cw = self.class_weight
        if cw is None:
            return np.ascontiguousarray(sw)
        if isinstance(cw, str):
            if cw != "balanced":
                raise ConfigError(f"class_weight must be None, 'balanced', a dict or a "
                                  f"sequence, got {cw!r}.")
            mass = T.sum(axis=0)
            w = np.where(mass > 0, n / (k * np.maximum(mass, 1e-12)), 0.0)
        elif isinstance(cw, dict):
            bad = [c for c in cw if not (isinstance(c, numbers.Integral) and 0 <= c < k)]
            if bad:
                raise LabelError(f"class_weight has keys {bad} that are not classes 0..{k - 1}.")
            w = np.ones(k)
            for c, v in cw.items():
                w[int(c)] = float(v)
        else:
            w = np.asarray(cw, dtype=np.float64)
            if w.shape != (k,):
                raise LabelError(f"class_weight needs one weight per class ({k}), got shape "
                                 f"{w.shape}.")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ConfigError("class weights must be finite and >= 0.")
        return np.ascontiguousarray(sw * (T @ w))

    # -- training ------------------------------------------------------------------
    def fit(self, X: Any, P: Any, sample_weight: Any = None) -> LinearModel:
        """Train on rows ``X`` (dense or sparse) and targets ``P``; returns ``self``.

        ``P`` is ``(n, k)`` probabilistic labels (rows sum to 1) or ``(n,)`` integer labels.
        """
        from dawn.train import _sgd_kernels as K

        self._check_params()
        dtype = _DTYPES[self.dtype]
        X = self._matrix(X, dtype)
        n, d = X.shape
        if n == 0:
            raise EmptyDataError("cannot fit a LinearModel on 0 rows.")
        T = self._targets(P, n)
        k = T.shape[1]
        sw = self._row_weights(T, sample_weight)
        if sw.sum() <= 0:
            raise DataError("all row weights are 0; nothing to learn from.")
        T_fit = np.ascontiguousarray(T[:, 1:2] if k == 2 else T)
        q = T_fit.shape[1]
        alpha = float(self.alpha)
        if self.lr == "optimal":
            eta0 = alpha ** -0.25
        elif self.lr == "auto":
            rows = np.linspace(0, n - 1, min(n, 10000)).astype(np.int64)  # a sample will do
            S = X[rows]
            sq = float(S.multiply(S).sum()) if sp.issparse(S) else float(np.sum(S * S))
            eta0 = 1.0 / (sq / len(rows) + 1.0)  # + 1: the intercept's constant input
        else:
            eta0 = float(self.lr)
        total = n * int(self.epochs)
        avg_start = total // 2 if self.average else -1
        rng = np.random.default_rng(self.seed)
        n_threads = int(self.n_threads)
        old_threads = None
        if n_threads > 1:
            import numba

            old_threads = numba.get_num_threads()
            numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        curve: list[float] = []
        wsum = float(sw.sum())
        try:
            if sp.issparse(X):
                if not X.has_sorted_indices:
                    X = X.sorted_indices()
                indptr = X.indptr.astype(np.int64, copy=False)
                state = K.CSRState(d, q, dtype)
                for epoch in range(int(self.epochs)):
                    perm = rng.permutation(n)
                    curve.append(K.sgd_epoch_csr(indptr, X.indices, X.data, T_fit, sw, state,
                                                 perm, epoch * n, eta0, alpha, n_threads,
                                                 avg_start) / wsum)
                W = state.averaged() if self.average else state.weights()
                b = state.ab.copy() if self.average and state.sc[1] > 0 else state.b.copy()
            else:
                W = np.zeros((q, d), dtype=dtype)
                b = np.zeros(q)
                avg = (np.zeros((q, d), dtype=dtype), np.zeros(q), np.zeros(1))
                for epoch in range(int(self.epochs)):
                    perm = rng.permutation(n)
                    curve.append(K.sgd_epoch_dense(X, T_fit, sw, W, b, perm, epoch * n, eta0,
                                                   alpha, n_threads, avg, avg_start) / wsum)
                if self.average and avg[2][0] > 0:
                    W, b = avg[0], avg[1]
        finally:
            if old_threads is not None:
                import numba

                numba.set_num_threads(old_threads)
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise DataError("training diverged (weights became NaN/infinite); scale the "
                            "features or pass a smaller lr.")
        self._set_weights(np.asarray(W, dtype=dtype), np.asarray(b, dtype=np.float64), k)
        self.loss_curve_ = curve
        self.eta0_ = eta0
        return self

    def _set_weights(self, W: np.ndarray, b: np.ndarray, k: int) -> None:
        self._W = np.ascontiguousarray(W)
        self._Wt = np.ascontiguousarray(self._W.T)
        self._b = np.ascontiguousarray(b, dtype=np.float64)
        self.classes_ = np.arange(k)
        self.n_features_in_ = self._W.shape[1]

    # -- learned state -------------------------------------------------------------
    @property
    def coef_(self) -> np.ndarray:
        """Weights ``(k, d)`` (binary: ``[-w/2, w/2]``)."""
        self._check_fitted()
        W = self._W.astype(np.float64)
        return np.vstack([-W / 2, W / 2]) if W.shape[0] == 1 else W

    @property
    def intercept_(self) -> np.ndarray:
        """Intercepts ``(k,)`` (binary: ``[-b/2, b/2]``)."""
        self._check_fitted()
        return np.concatenate([-self._b / 2, self._b / 2]) if len(self._b) == 1 else \
            self._b.copy()

    # -- predicting ----------------------------------------------------------------
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, k)`` (float64, rows sum to 1)."""
        from dawn.train import _sgd_kernels as K

        self._check_fitted()
        X = self._matrix(X, None)
        if X.shape[1] != self.n_features_in_:
            raise SchemaError(f"X has {X.shape[1]} features but the model was fitted on "
                              f"{self.n_features_in_}; featurise with the same Featurizer.")
        if sp.issparse(X):
            return K.proba_csr(X.indptr, X.indices, X.data, self._Wt, self._b)
        return K.proba_dense(X, self._W, self._b)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each row, ``(n,)`` int."""
        return np.argmax(self.predict_proba(X), axis=1)

    # -- saving --------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters."""
        cw = self.class_weight
        if cw is not None and not isinstance(cw, (str, dict)):
            cw = [float(v) for v in np.asarray(cw)]
        if isinstance(cw, dict):
            cw = {str(c): float(v) for c, v in cw.items()}
        return {"loss": self.loss, "alpha": float(self.alpha), "epochs": int(self.epochs),
                "lr": self.lr if isinstance(self.lr, str) else float(self.lr),
                "average": bool(self.average), "dtype": self.dtype,
                "n_threads": int(self.n_threads), "seed": int(self.seed), "class_weight": cw,
                "n_classes": self.n_classes}

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: weights ``(q, d)`` and intercept ``(q,)``, and the settings."""
        self._check_fitted()
        meta = {"kind": "linear", "n_classes": len(self.classes_), "params": self.get_params(),
                "loss_curve": [float(v) for v in getattr(self, "loss_curve_", [])]}
        return {"weights": self._W.copy(), "intercept": self._b.copy()}, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> LinearModel:
        """Rebuild a fitted model from :meth:`to_arrays` output."""
        params = dict(meta.get("params", {}))
        cw = params.get("class_weight")
        if isinstance(cw, dict):
            params["class_weight"] = {int(c): v for c, v in cw.items()}
        self = cls(**params)
        W = np.asarray(arrays["weights"])
        b = np.asarray(arrays["intercept"], dtype=np.float64)
        k = int(meta["n_classes"])
        q = 1 if k == 2 and W.shape[0] == 1 else k
        if W.ndim != 2 or W.shape[0] != q or b.shape != (q,):
            raise DataError(f"saved weights {W.shape} / intercept {b.shape} do not fit "
                            f"{k} classes; the artefact is damaged.")
        self._set_weights(W.astype(_DTYPES.get(self.dtype, np.float64)), b, k)
        self.loss_curve_ = list(meta.get("loss_curve", []))
        return self

    @classmethod
    def from_coef(cls, coef: Any, intercept: Any, **params: Any) -> LinearModel:
        """A fitted model from scikit-learn-style weights: ``coef (1, d)`` binary
        (``σ(w·x + b)``) or ``(k, d)`` softmax, and ``intercept``."""
        W = np.atleast_2d(np.asarray(coef, dtype=np.float64))
        b = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
        if b.shape != (W.shape[0],):
            raise DataError(f"intercept has shape {b.shape} but coef has {W.shape[0]} rows.")
        self = cls(**params)
        self._check_params()
        k = 2 if W.shape[0] == 1 else W.shape[0]
        self._set_weights(W.astype(_DTYPES[self.dtype]), b, k)
        return self

    def __repr__(self) -> str:
        return (f"LinearModel(alpha={self.alpha!r}, epochs={self.epochs!r}, lr={self.lr!r}, "
                f"dtype={self.dtype!r}, n_threads={self.n_threads!r}, seed={self.seed!r})")
