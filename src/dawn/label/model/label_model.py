"""``LabelModel``: from noisy LF votes to probabilistic labels, by one of several methods.

Every method ends in the same conditionally independent model — a class prior
``class_balance_`` ``(k,)`` and per-LF confusions ``confusion_`` ``(m, k, k + 1)`` — so
prediction is one shared kernel (:func:`~dawn.label.model._ci.predict_proba_ci`). ``fit``
keeps the fitted matrix's row → vote-pattern map (matrices up to ``REUSE_ROWS`` rows whose
patterns were found on every row; never saved): predicting on a matrix with the same votes
— recognised by its :func:`~dawn.label.model._patterns.fingerprint`, so edits in place are
seen — scores each distinct pattern once and copies the rows' results.

Methods: ``"majority"``, ``"weighted_majority"`` (one accuracy per LF, EM),
``"dawid_skene"`` (full confusion per LF, EM over distinct vote patterns), ``"metal"``
(Snorkel-style matrix completion), ``"triplet"`` (FlyingSquid closed form), ``"pooled"``
(the geometric mean of the weighted-majority and Dawid–Skene confusions, with Dawid–Skene's
class prior) and ``"auto"``, which picks by what the data supports and says why in
``method_reason_``.

Why ``pooled``: on real keyword-style LFs the full Dawid–Skene confusion can overfit (the
YouTube spam LFs: 0.706 accuracy against weighted majority's 0.768) while weighted
majority's single accuracy per LF and uniform prior lose on imbalanced classes and on LFs
whose errors are one-sided (dawn's demo: 0.771 against 0.822; planted 85/15 imbalance:
0.782 against 0.866). Pooling the two matched or beat the better one on each of these.

Label models lose to plain majority vote surprisingly often on real LFs. ``fit`` checks:
with ``Y_dev`` it compares against majority vote on the labelled rows; without, it looks
at agreement with majority vote where most LFs agree, implausible accuracies, a class
balance far from the votes' and EM convergence. Findings go to ``diagnostics_`` and, when
something looks wrong, a :class:`~dawn.errors.DawnWarning`.

>>> import numpy as np
>>> from dawn.label.model.synthetic import synthetic_label_matrix
>>> L, Y, acc = synthetic_label_matrix(20_000, 6, 2, accuracies=0.75, coverage=0.6, seed=0)
>>> model = LabelModel(cardinality=2, seed=0).fit(L)
>>> model.method_
'pooled'
>>> bool(np.abs(model.accuracies_ - 0.75).max() < 0.03)       # planted: 0.75 each
True
>>> bool(model.score(L, Y)["accuracy"] > 0.8)
True
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from dawn.errors import (
    ConfigError,
    DawnWarning,
    EmptyDataError,
    LabelError,
    NotFittedError,
    SchemaError,
    close_matches,
)
from dawn.label.matrix import LabelMatrix
from dawn.label.model._ci import clip_probabilities, predict_proba_ci
from dawn.label.model._patterns import FitData, fingerprint, fit_data
from dawn.runtime.threads import kernel_threads

__all__ = ["METHODS", "LabelModel"]

METHODS = ("auto", "majority", "weighted_majority", "dawid_skene", "pooled", "metal",
           "triplet")
SIMPLER_FIRST = ("majority", "weighted_majority", "dawid_skene", "pooled", "triplet", "metal")
NEEDS_THREE = ("weighted_majority", "dawid_skene", "pooled", "metal", "triplet")
TIE_BREAKS = ("abstain", "random")
MIN_OVERLAP = 0.05  # share of covered rows with 2+ votes below which accuracies are guesswork
MIN_VOTES_PER_CELL = 5  # votes per LF per confusion cell below which DS is left for WMV
METAL_MAX_MK = 200  # m·k up to which MeTaL's (m·k)² moments are a cheap dev-set candidate
MV_MARGIN = 0.005  # dev accuracy by which majority vote must win to warn
DIAG_UNITS = 50_000  # agreement diagnostics look at this many rows / patterns at most
REUSE_ROWS = 2_000_000  # fit keeps the row -> pattern map of matrices up to this many rows
_FORMAT = "dawn.LabelModel"


# -- inputs ---------------------------------------------------------------------------------
def as_label_matrix(L: Any) -> LabelMatrix:
    """A :class:`LabelMatrix` from a LabelMatrix, int array, DataFrame or sparse ``label + 1``."""
    if isinstance(L, LabelMatrix):
        return L
    if sp.issparse(L):
        return LabelMatrix(L, [f"lf{j}" for j in range(L.shape[1])])
    names = [str(c) for c in L.columns] if isinstance(L, pd.DataFrame) else None
    arr = np.asarray(L)
    if arr.ndim != 2:
        raise SchemaError(f"a label matrix is 2-D (rows × LFs); got shape {arr.shape}.")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise SchemaError(f"label matrix values must be integers (-1 = abstain); got dtype "
                          f"{arr.dtype}.")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise SchemaError(f"label matrix holds {arr[i, j]} at row {i}, LF {j} "
                              f"({int(bad.sum())} such cells); use -1 for an abstain.")
        if (arr != np.round(arr)).any():
            i, j = (int(v) for v in np.argwhere(arr != np.round(arr))[0])
            raise SchemaError(f"label matrix holds {arr[i, j]} at row {i}, LF {j}; labels are "
                              "integers 0..k-1 and -1 (abstain).")
        arr = arr.astype(np.int64)
    return LabelMatrix(arr, names or [f"lf{j}" for j in range(arr.shape[1])])


def max_label(L: LabelMatrix) -> int:
    """Largest label voted (``-1`` when nothing is voted); never densifies a sparse matrix."""
    if L.is_sparse:
        data = L.votes_csr().data
        return int(data.max()) - 1 if len(data) else -1
    arr = np.asarray(L)
    return int(arr.max()) if arr.size else -1


def _check_labels(L: LabelMatrix, k: int) -> None:
    top = max_label(L)
    if top < k:
        return
    if L.is_sparse:
        coo = L.votes_csr().tocoo()
        j = int(coo.col[np.argmax(coo.data)])
    else:
        j = int(np.argwhere(np.asarray(L) == top)[0][1])
    raise LabelError(f"label {top} (voted by LF {L.lf_names[j]!r}) is outside 0..{k - 1} for "
                     f"cardinality={k}; set cardinality={top + 1} or more, or fix the LF.")


def _check_balance(class_balance: Any, k: int) -> np.ndarray | None:
    if class_balance is None:
        return None
    cb = np.asarray(class_balance, dtype=np.float64)
    if cb.shape != (k,) or not np.isfinite(cb).all() or cb.min() < 0 or cb.sum() <= 0:
        raise ConfigError(f"class_balance must be {k} non-negative numbers (one per class); "
                          f"got {np.asarray(class_balance).tolist()}.")
    return cb / cb.sum()


def _check_gold(Y: Any, n: int, k: int, name: str, classes: list | None) -> np.ndarray:
    y = np.asarray(Y)
    if y.ndim != 1 or len(y) != n:
        raise SchemaError(f"{name} has shape {y.shape}; give one label per row of the label "
                          f"matrix ({n}), -1 where unknown.")
    if classes is not None and y.dtype.kind in "OUS":
        lookup = {c: i for i, c in enumerate(classes)}
        unknown = sorted({str(v) for v in y if v not in lookup and v != -1})
        if unknown:
            raise LabelError(f"{name} holds {unknown[0]!r}, not among the classes "
                             f"{classes}.{close_matches(unknown[0], [str(c) for c in classes])}")
        y = np.array([lookup.get(v, -1) for v in y])
    if not np.issubdtype(y.dtype, np.integer):
        whole = np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all()
        if whole and (y == np.round(y)).all():
            y = y.astype(np.int64)
        else:
            raise SchemaError(f"{name} must hold integer labels 0..{k - 1} (-1 = unknown); got "
                              f"dtype {y.dtype}.")
    if len(y) and (y.min() < -1 or y.max() >= k):
        bad = int(y[(y < -1) | (y >= k)][0])
        raise LabelError(f"{name} holds label {bad}, outside 0..{k - 1} (and -1 = unknown).")
    return y.astype(np.int64)


def _take_rows(L: LabelMatrix, idx: np.ndarray) -> LabelMatrix:
    if L.is_sparse:
        return LabelMatrix(L.votes_csr()[idx], L.lf_names, L.classes)
    return LabelMatrix(np.asarray(L)[idx], L.lf_names, L.classes)


def _has_vote(L: LabelMatrix) -> np.ndarray:
    if L.is_sparse:
        return np.diff(L.votes_csr().indptr) > 0
    return (np.asarray(L) >= 0).any(axis=1)


def _argmax_rows(P: np.ndarray) -> np.ndarray:
    """``P.argmax(axis=1)``; for two columns a comparison, ~10x faster (ties give 0 too)."""
    if P.shape[1] == 2:
        return (P[:, 1] > P[:, 0]).astype(np.intp)
    return P.argmax(axis=1)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def accuracies_from(class_balance: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """P(vote correct | LF votes) for each LF of a ``(class_balance, confusion)`` model."""
    k = len(class_balance)
    voted = class_balance[None, :] * (1.0 - confusion[:, :, 0])
    right = class_balance[None, :] * confusion[:, np.arange(k), np.arange(k) + 1]
    tot = voted.sum(axis=1)
    return np.divide(right.sum(axis=1), tot, out=np.full(len(tot), np.nan), where=tot > 0)


# -- the estimator ----------------------------------------------------------------------------
class LabelModel:
    """Combine LF votes into probabilistic labels (see the module docstring).

    Parameters
    ----------
    cardinality : number of classes ``k``; ``None`` takes it from the label matrix (its
        ``classes``, else the largest label + 1)
    method : ``"auto"``, ``"majority"``, ``"weighted_majority"``, ``"dawid_skene"``,
        ``"pooled"``, ``"metal"`` or ``"triplet"``
    seed : seeds everything random (row samples, random tie breaks, method internals)
    max_iter, tol : EM stops after ``max_iter`` steps or when the log-likelihood per row
        gains less than ``tol`` (weighted_majority, dawid_skene)
    smoothing : pseudo-votes shrinking each Dawid–Skene confusion towards one accuracy
    max_rows : EM fits on a seeded random sample of this many rows when there are more
        (``None`` = all rows); predictions always use every row
    options : extra keyword arguments per method, e.g. ``{"metal": {"n_epochs": 200}}``

    Attributes
    ----------
    method_, method_reason_ : the method used and a sentence saying why
    class_balance_ : (k,) prior; confusion_ : (m, k, k + 1) per-LF vote probabilities
    accuracies_ : (m,) P(vote correct | LF votes), NaN for an LF that never voted
    coverage_ : (m,) share of (fitted) rows each LF voted on
    diagnostics_ : dict of checks (agreement with majority vote, dev accuracies, ...) with
        ``"warnings"`` listing what was warned about
    info_ : what the method reported (iterations, convergence, ...)
    """

    def __init__(self, cardinality: int | None = None, method: str = "auto", seed: int = 0, *,
                 max_iter: int = 200, tol: float = 1e-6, smoothing: float = 1.0,
                 max_rows: int | None = 100_000,
                 options: dict[str, dict[str, Any]] | None = None) -> None:
        self.cardinality = cardinality
        self.method = method
        self.seed = seed
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.max_rows = max_rows
        self.options = options

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters."""
        return {"cardinality": self.cardinality, "method": self.method, "seed": self.seed,
                "max_iter": self.max_iter, "tol": self.tol, "smoothing": self.smoothing,
                "max_rows": self.max_rows, "options": self.options}

    def __repr__(self) -> str:
        return f"LabelModel(cardinality={self.cardinality!r}, method={self.method!r})"

    # -- validation -----------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"unknown label model method {self.method!r}; choose one of "
                              f"{list(METHODS)}.{close_matches(str(self.method), METHODS)}")
        if self.cardinality is not None and (not isinstance(self.cardinality, (int, np.integer))
                                             or self.cardinality < 2):
            raise ConfigError(f"cardinality must be an integer >= 2 (the number of classes); "
                              f"got {self.cardinality!r}.")
        if self.max_rows is not None and self.max_rows < 1:
            raise ConfigError(f"max_rows must be a positive number of rows or None; got "
                              f"{self.max_rows!r}.")
        if self.options is not None:
            bad = [name for name in self.options if name not in METHODS]
            if bad:
                raise ConfigError(f"options are keyed by method name; {bad[0]!r} is not one of "
                                  f"{list(METHODS[1:])}.")

    def _cardinality_for(self, L: LabelMatrix) -> int:
        k = self.cardinality
        if L.classes is not None:
            if k is not None and k != len(L.classes):
                raise ConfigError(f"cardinality={k} but the label matrix has "
                                  f"{len(L.classes)} classes {L.classes}; leave cardinality "
                                  "unset or make them match.")
            return len(L.classes)
        return int(k) if k is not None else max(2, max_label(L) + 1)

    def _check_fitted(self) -> None:
        if not hasattr(self, "confusion_"):
            raise NotFittedError("this LabelModel is not fitted yet; call "
                                 "fit(L) before predict / predict_proba / score.")

    def _matrix_for_predict(self, L: Any) -> LabelMatrix:
        self._check_fitted()
        Lm = as_label_matrix(L)
        if Lm.shape[1] != self.n_lfs_:
            raise SchemaError(f"the label matrix has {Lm.shape[1]} LFs but the model was fitted "
                              f"on {self.n_lfs_} ({self.lf_names_}); apply the same LFs.")
        _check_labels(Lm, self.cardinality_)
        return Lm

    # -- fitting --------------------------------------------------------------------------
    def fit(self, L: Any, class_balance: Any = None, Y_dev: Any = None) -> LabelModel:
        """Learn LF accuracies from the votes alone; returns ``self``.

        Parameters
        ----------
        L : LabelMatrix, int array ``(n, m)`` (-1 = abstain), DataFrame, or scipy sparse of
            ``label + 1``
        class_balance : optional known prior ``(k,)`` (used by methods that estimate one)
        Y_dev : optional gold labels for the rows of ``L`` (``-1`` where unknown); used to
            choose the method under ``"auto"`` and to compare against majority vote
        """
        self._check_params()
        Lm = as_label_matrix(L)
        n, m = Lm.shape
        if n == 0:
            raise EmptyDataError("the label matrix has no rows; apply the LFs to some data "
                                 "before fitting a label model.")
        if m == 0:
            raise EmptyDataError("the label matrix has no LFs (0 columns); write some "
                                 "labeling functions first.")
        k = self._cardinality_for(Lm)
        _check_labels(Lm, k)
        balance = _check_balance(class_balance, k)
        y_dev = None if Y_dev is None else _check_gold(Y_dev, n, k, "Y_dev", Lm.classes)
        if self.method in NEEDS_THREE and m < 3:
            raise ConfigError(f"{self.method} needs at least 3 LFs to estimate their accuracies "
                              f"without labels; the label matrix has {m}. Add LFs or use "
                              "method='majority'.")
        dev_scores: dict[str, float] = {}
        with kernel_threads(work=n * m):
            data = fit_data(Lm, max_rows=self.max_rows, seed=self.seed)
            self._keep_patterns(data)
            if self.method == "auto":
                method, reason, fitted = self._auto(Lm, k, balance, data, y_dev, dev_scores)
            else:
                method, reason = self.method, f"method={self.method!r} was asked for."
                fitted = self._fit_method(method, Lm, k, balance, data)
            self._set_fitted(Lm, k, method, reason, fitted, data)
            self.diagnostics_ = self._diagnose(Lm, data, y_dev, dev_scores, balance is not None)
        return self

    def _set_fitted(self, Lm: LabelMatrix, k: int, method: str, reason: str, fitted: tuple,
                    data: FitData) -> None:
        cb, conf, info = fitted
        m = Lm.shape[1]
        self.cardinality_ = k
        self.n_lfs_ = m
        self.lf_names_ = list(Lm.lf_names)
        self.classes_ = None if Lm.classes is None else list(Lm.classes)
        self.method_ = method
        self.method_reason_ = reason
        self.class_balance_ = cb
        self.confusion_ = conf
        self.info_ = info
        self.coverage_ = data.lf_votes() / max(data.n_rows, 1)
        acc = accuracies_from(cb, conf)
        acc[self.coverage_ == 0] = np.nan
        self.accuracies_ = acc

    def _keep_patterns(self, data: FitData) -> None:
        """Keep the fitted matrix's row -> pattern map (not saved), so predicting on that
        same matrix scores each distinct pattern once (:meth:`_row_patterns`)."""
        self._fitted_patterns = None
        if (data.patterns is not None and data.fingerprint is not None
                and data.n_rows <= REUSE_ROWS):
            self._fitted_patterns = (data.fingerprint, data.X, data.patterns.inverse)

    def _row_patterns(self, L: LabelMatrix) -> tuple[sp.csr_matrix, np.ndarray] | None:
        """``(patterns CSR, inverse)`` when ``L`` holds the votes fit was given, else None."""
        kept = getattr(self, "_fitted_patterns", None)
        if kept is None or kept[0][0] != L.shape:
            return None
        with kernel_threads(work=L.shape[0] * L.shape[1]):
            if fingerprint(L) != kept[0]:
                return None
        return kept[1], kept[2]

    def _proba(self, L: LabelMatrix, cb: np.ndarray, conf: np.ndarray, voted: bool = False
               ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(n, k)`` posteriors and (when ``voted``) which rows have a vote; per distinct
        pattern when ``L`` is the fitted matrix."""
        reuse = self._row_patterns(L)
        if reuse is None:
            return predict_proba_ci(L, cb, conf), _has_vote(L) if voted else None
        X, inverse = reuse  # np.take: ~15x faster than fancy indexing a 2-D array
        proba = np.take(predict_proba_ci(X, cb, conf), inverse, axis=0)
        return proba, np.take(np.diff(X.indptr) > 0, inverse) if voted else None

    def _fit_method(self, method: str, L: LabelMatrix, k: int, balance: np.ndarray | None,
                    data: FitData) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        opts = dict((self.options or {}).get(method, {}))
        if method == "majority":
            from dawn.label.model.majority import fit_majority
            out = fit_majority(L, k, balance, self.seed, data=data, **opts)
        elif method == "weighted_majority":
            from dawn.label.model.majority import fit_weighted_majority
            opts = {"max_iter": self.max_iter, "tol": self.tol, **opts}
            out = fit_weighted_majority(L, k, balance, self.seed, data=data, **opts)
        elif method == "dawid_skene":
            from dawn.label.model.dawid_skene import fit_dawid_skene
            opts = {"max_iter": self.max_iter, "tol": self.tol, "smoothing": self.smoothing,
                    **opts}
            out = fit_dawid_skene(L, k, balance, self.seed, data=data, **opts)
        elif method == "metal":
            from dawn.label.model.metal import fit_metal
            out = fit_metal(L, k, class_balance=balance, seed=self.seed, **opts)
        elif method == "pooled":
            from dawn.label.model.dawid_skene import fit_dawid_skene

            wmv = self._fit_method("weighted_majority", L, k, balance, data)
            opts = {"max_iter": self.max_iter, "tol": self.tol, "smoothing": self.smoothing,
                    **dict((self.options or {}).get("dawid_skene", {}))}
            ds = fit_dawid_skene(L, k, balance, self.seed, data=data, init=wmv[:2], **opts)
            ds = clip_probabilities(ds[0]), clip_probabilities(ds[1]), ds[2]
            conf = np.sqrt(wmv[1] * ds[1])
            conf /= conf.sum(axis=2, keepdims=True)
            out = ds[0], conf, {"weighted_majority": wmv[2], "dawid_skene": ds[2],
                                "converged": bool(wmv[2].get("converged", True)
                                                  and ds[2].get("converged", True)),
                                "n_iter": max(wmv[2].get("n_iter", 0), ds[2].get("n_iter", 0))}
        else:
            from dawn.label.model.triplet import fit_triplet
            out = fit_triplet(L, k, class_balance=balance, seed=self.seed, **opts)
        cb, conf, info = out
        cb, conf = np.asarray(cb, dtype=np.float64), np.asarray(conf, dtype=np.float64)
        m = L.shape[1]
        if cb.shape != (k,) or conf.shape != (m, k, k + 1):
            raise ConfigError(f"method {method!r} returned shapes {cb.shape} and {conf.shape}; "
                              f"expected ({k},) and ({m}, {k}, {k + 1}).")
        return clip_probabilities(cb), clip_probabilities(conf), dict(info)

    def _auto(self, L: LabelMatrix, k: int, balance, data: FitData, y_dev, dev_scores
              ) -> tuple[str, str, tuple]:
        m = L.shape[1]
        firing = int((data.lf_votes() > 0).sum())
        votes = data.votes_per_unit()
        covered = float(data.weights[votes >= 1].sum())
        overlap = float(data.weights[votes >= 2].sum()) / covered if covered else 0.0
        if firing < 3:
            why = (f"only {firing} of the {m} LFs vote, and at least 3 are needed to "
                   "estimate accuracies without labels, so majority vote.")
            return "majority", why, self._fit_method("majority", L, k, balance, data)
        if overlap < MIN_OVERLAP:
            why = (f"the LFs vote together on only {overlap:.1%} of the rows they cover, too "
                   "few overlaps to estimate their accuracies, so majority vote.")
            return "majority", why, self._fit_method("majority", L, k, balance, data)
        if y_dev is not None and (y_dev >= 0).any():
            return self._auto_dev(L, k, balance, data, y_dev, dev_scores)
        votes_per_lf = float(data.lf_votes().sum()) / firing * data.total_rows / data.n_rows
        if votes_per_lf < MIN_VOTES_PER_CELL * k * k:
            why = (f"{k} classes with about {votes_per_lf:,.0f} votes per LF are too few to "
                   f"estimate a full {k}×{k} confusion per LF (Dawid–Skene) or MeTaL's "
                   f"(m·k)² = {(m * k) ** 2:,} moments, so weighted majority vote (one "
                   "accuracy per LF).")
            return "weighted_majority", why, self._fit_method("weighted_majority", L, k,
                                                              balance, data)
        unit = ("distinct vote patterns" if data.kind == "patterns" else "rows")
        why = (f"{firing} LFs that overlap on {overlap:.0%} of covered rows: Dawid–Skene EM "
               f"over {data.n_units:,} {unit} learns a full confusion matrix per LF, pooled "
               "with weighted majority vote's one accuracy per LF, which guards against the "
               "full matrix overfitting")
        why += (f" (a seeded sample of {data.n_rows:,} of {data.total_rows:,} rows)."
                if data.sampled else ".")
        if k > 2:
            why = why[:-1] + f"; MeTaL's parameters would grow as (m·k)² = {(m * k) ** 2:,}."
        return "pooled", why, self._fit_method("pooled", L, k, balance, data)

    def _auto_dev(self, L, k, balance, data, y_dev, dev_scores) -> tuple[str, str, tuple]:
        m = L.shape[1]
        candidates = ["majority", "weighted_majority", "dawid_skene", "pooled"]
        if k == 2:
            candidates.append("triplet")
        if m * k <= METAL_MAX_MK:
            candidates.append("metal")
        rows = np.flatnonzero(y_dev >= 0)
        L_dev = _take_rows(L, rows)
        fitted: dict[str, tuple] = {}
        for method in candidates:
            try:
                fitted[method] = self._fit_method(method, L, k, balance, data)
            except ImportError:  # a method whose module is not installed
                continue
            pred = self._predict_with(L_dev, fitted[method][0], fitted[method][1], "random")
            dev_scores[method] = float((pred == y_dev[rows]).mean())
        best = max(dev_scores.values())
        method = next(mm for mm in SIMPLER_FIRST if dev_scores.get(mm, -1.0) >= best - 1e-12)
        table = ", ".join(f"{mm} {dev_scores[mm]:.3f}" for mm in dev_scores)
        why = (f"compared on {len(rows):,} dev rows ({table}); kept the most accurate, "
               "the simpler on ties.")
        return method, why, fitted[method]

    # -- diagnostics ------------------------------------------------------------------------
    def _diagnose(self, L, data: FitData, y_dev, dev_scores, balance_given: bool
                  ) -> dict[str, Any]:
        from dawn.label.model.dawid_skene import majority_tables

        k = self.cardinality_
        diag: dict[str, Any] = {"method": self.method_, "fit_rows": data.n_rows,
                                "units": data.n_units, "unit": data.kind}
        notes: list[str] = []
        if "converged" in self.info_:
            diag["converged"] = bool(self.info_["converged"])
            if not self.info_["converged"]:
                notes.append(f"{self.method_} EM did not converge in {self.info_.get('n_iter')} "
                             f"iterations; raise max_iter, or check the LFs.")
        if self.method_ != "majority":
            # on at most DIAG_UNITS units (rows are already a random sample when many)
            X, w = data.X, data.weights
            if data.n_units > DIAG_UNITS:
                X, w = X[:DIAG_UNITS], w[:DIAG_UNITS]
            base, logtab = majority_tables(self.n_lfs_, k, weight=1.0)
            mv = np.empty((X.shape[0], k))
            model = predict_proba_ci(X, self.class_balance_, self.confusion_)
            from dawn.label.model._ci import _chunks, _ci_csr, _ci_dense
            if sp.issparse(X):
                _ci_csr(X.indptr, X.indices, X.data, base, logtab, mv, _chunks(len(mv)))
            else:
                _ci_dense(X, base, logtab, mv, _chunks(len(mv)))
            top2 = mv if k == 2 else np.partition(mv, k - 2, axis=1)[:, -2:]
            # softmax of vote counts: log(top / second) is the winning margin in votes
            margin = np.abs(np.log(top2[:, 1]) - np.log(top2[:, 0]))
            votes = data.votes_per_unit()[:DIAG_UNITS]
            decided = margin > 0.5
            confident = decided & (margin >= 2 - 1e-9) & (margin >= votes / 3 - 1e-9)
            mv_top = _argmax_rows(mv)
            agree = _argmax_rows(model) == mv_top
            if w[decided].sum() > 0:
                diag["agreement_with_majority"] = float(w[decided & agree].sum()
                                                        / w[decided].sum())
            if w[confident].sum() > 0:
                share = float(w[confident & agree].sum() / w[confident].sum())
                diag["agreement_where_majority_confident"] = share
                if share < 0.9:
                    notes.append(f"the {self.method_} label model overrules a clear majority of "
                                 f"the LFs on {1 - share:.0%} of the rows where they agree; it "
                                 "may be worse than majority vote (pass Y_dev to compare, or "
                                 "use method='majority').")
            learns_balance = self.method_ not in ("majority", "weighted_majority")
            if learns_balance and not balance_given and w[decided].sum() > 0:
                mv_share = np.bincount(mv_top[decided], weights=w[decided],
                                       minlength=k) / w[decided].sum()
                tv = 0.5 * float(np.abs(mv_share - self.class_balance_).sum())
                diag["class_balance_gap"] = tv
                if tv > 0.25:
                    notes.append(f"the learned class balance "
                                 f"{np.round(self.class_balance_, 3).tolist()} is far from the "
                                 f"majority vote's {np.round(mv_share, 3).tolist()}; pass "
                                 "class_balance if you know it.")
        acc = self.accuracies_
        low = [self.lf_names_[j] for j in np.flatnonzero(acc < 1.0 / k)]
        diag["low_accuracy_lfs"] = low
        firing = int(np.isfinite(acc).sum())
        if low and len(low) * 3 >= firing and self.method_ != "majority":
            notes.append(f"{len(low)} of {firing} LFs have learned accuracies below chance "
                         f"({', '.join(low[:5])}{', ...' if len(low) > 5 else ''}); the "
                         "fit is probably degenerate.")
        if y_dev is not None and (y_dev >= 0).any():
            rows = np.flatnonzero(y_dev >= 0)
            L_dev = _take_rows(L, rows)
            for name, fitter in (("majority", None), (self.method_, "self")):
                if name in dev_scores:
                    continue
                if fitter == "self":
                    cb, conf = self.class_balance_, self.confusion_
                else:
                    cb, conf, _ = self._fit_method("majority", L, k, None, data)
                pred = self._predict_with(L_dev, cb, conf, "random")
                dev_scores[name] = float((pred == y_dev[rows]).mean())
            diag["dev_accuracy"] = dict(dev_scores)
            diag["dev_rows"] = len(rows)
            ours, mv_acc = dev_scores[self.method_], dev_scores["majority"]
            if mv_acc - ours > MV_MARGIN:
                notes.append(f"majority vote beats the {self.method_} label model on the "
                             f"{len(rows):,} dev rows (accuracy {mv_acc:.3f} vs {ours:.3f}); "
                             "use method='majority' or check the LFs.")
        diag["warnings"] = notes
        for note in notes:
            warnings.warn(note, DawnWarning, stacklevel=3)
        return diag

    # -- prediction -------------------------------------------------------------------------
    def predict_proba(self, L: Any) -> np.ndarray:
        """``(n, k)`` P(Y = y | votes); rows with no votes get the class balance."""
        Lm = self._matrix_for_predict(L)
        return self._proba(Lm, self.class_balance_, self.confusion_)[0]

    def _predict_with(self, L: LabelMatrix, cb, conf, tie_break: str) -> np.ndarray:
        proba, voted = self._proba(L, cb, conf, voted=True)
        pred = _argmax_rows(proba)
        top = proba[np.arange(len(pred)), pred]
        tied_mask = proba >= (top - 1e-9)[:, None]
        tied = np.flatnonzero(tied_mask.sum(axis=1) > 1)
        if len(tied):
            if tie_break == "abstain":
                pred[tied] = -1
            else:
                rng = np.random.default_rng(self.seed)
                keys = rng.random((len(tied), proba.shape[1]))
                keys[~tied_mask[tied]] = -1.0
                pred[tied] = keys.argmax(axis=1)
        pred[~voted] = -1
        return pred.astype(np.int64)

    def predict(self, L: Any, tie_break: str = "abstain") -> np.ndarray:
        """``(n,)`` labels ``0..k-1``; ``-1`` for rows with no votes and (with
        ``tie_break="abstain"``) for ties; ``"random"`` breaks ties at random (seeded)."""
        if tie_break not in TIE_BREAKS:
            raise ConfigError(f"tie_break must be one of {list(TIE_BREAKS)}; got "
                              f"{tie_break!r}.{close_matches(str(tie_break), TIE_BREAKS)}")
        Lm = self._matrix_for_predict(L)
        return self._predict_with(Lm, self.class_balance_, self.confusion_, tie_break)

    def score(self, L: Any, Y: Any, tie_break: str = "abstain") -> dict[str, float]:
        """Accuracy against gold ``Y`` (-1 = unknown): ``accuracy`` (an abstain counts as
        wrong), ``coverage`` (share of labelled rows predicted), ``accuracy_predicted``
        (on those) and ``n`` (labelled rows)."""
        pred = self.predict(L, tie_break=tie_break)
        y = _check_gold(Y, len(pred), self.cardinality_, "Y", self.classes_)
        known = y >= 0
        n = int(known.sum())
        if n == 0:
            raise LabelError("Y has no known labels (all -1); nothing to score against.")
        made = known & (pred >= 0)
        right = int((pred[known] == y[known]).sum())
        return {"accuracy": right / n, "coverage": int(made.sum()) / n,
                "accuracy_predicted": right / int(made.sum()) if made.any() else float("nan"),
                "n": n}

    # -- save / load --------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: numpy arrays and a JSON-safe dict that
        :meth:`from_arrays` turns back into the same fitted model (no pickle)."""
        self._check_fitted()
        arrays = {"class_balance": self.class_balance_, "confusion": self.confusion_,
                  "accuracies": self.accuracies_, "coverage": self.coverage_}
        meta = {"format": _FORMAT, "version": 1, "params": _jsonable(self.get_params()),
                "cardinality": self.cardinality_, "lf_names": self.lf_names_,
                "classes": _jsonable(self.classes_), "method": self.method_,
                "method_reason": self.method_reason_, "info": _jsonable(self.info_),
                "diagnostics": _jsonable(self.diagnostics_)}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> LabelModel:
        """Rebuild a fitted model from :meth:`to_arrays` output."""
        if meta.get("format") != _FORMAT:
            raise ConfigError(f"these arrays are not a saved LabelModel (format "
                              f"{meta.get('format')!r}); save one with to_arrays().")
        missing = [a for a in ("class_balance", "confusion", "accuracies", "coverage")
                   if a not in arrays]
        if missing:
            raise ConfigError(f"saved LabelModel is missing arrays {missing}.")
        model = cls(**meta["params"])
        k, names = int(meta["cardinality"]), list(meta["lf_names"])
        conf = np.asarray(arrays["confusion"], dtype=np.float64)
        if conf.shape != (len(names), k, k + 1):
            raise ConfigError(f"saved confusion has shape {conf.shape}; expected "
                              f"({len(names)}, {k}, {k + 1}).")
        model.cardinality_, model.n_lfs_, model.lf_names_ = k, len(names), names
        model.classes_ = meta.get("classes")
        model.method_, model.method_reason_ = meta["method"], meta["method_reason"]
        model.class_balance_ = np.asarray(arrays["class_balance"], dtype=np.float64)
        model.confusion_ = conf
        model.accuracies_ = np.asarray(arrays["accuracies"], dtype=np.float64)
        model.coverage_ = np.asarray(arrays["coverage"], dtype=np.float64)
        model.info_ = dict(meta.get("info") or {})
        model.diagnostics_ = dict(meta.get("diagnostics") or {})
        return model
