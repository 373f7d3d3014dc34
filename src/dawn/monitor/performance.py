"""Estimate a classifier's accuracy or F1 without labels (confidence-based, as NannyML's CBPE).

On a labelled reference set, :class:`PerformanceEstimator` learns how often a predicted
probability is right (isotonic regression on binned scores, one-vs-rest for several classes,
or one temperature). On current data with no labels, each row's calibrated probabilities
are its expected outcome, so the expected accuracy is the mean calibrated probability of
the predicted class, and the expected F1 comes from the expected true positives, false
positives and false negatives. Delayed labels, when some arrive, replace the expectation
for their rows (``realised``), so the estimate converges to the true value as labels come in.

The interval adds two variances: the row-level chance (a Poisson-binomial sum, by the delta
method for F1) and the calibration's own uncertainty (a cheap bootstrap of the binned
reference, or the temperature's sandwich standard error). The estimate is right as long as
``P(label | score)`` is the same in reference and current data — true under covariate shift
(inputs move, the relation between inputs and labels does not); under concept drift no
label-free estimate can be.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> def data(n, shift):
...     x = rng.normal(shift, 1.0, n)
...     y = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
...     p = 1 / (1 + np.exp(-4 * x))                    # an over-confident model
...     return np.column_stack([1 - p, p]), y
>>> ref_p, ref_y = data(20_000, 0.0)
>>> cur_p, cur_y = data(20_000, 0.5)                   # inputs moved away from the boundary
>>> est = PerformanceEstimator("accuracy").fit(ref_p, ref_y).estimate(cur_p)
>>> realised = float((cur_p.argmax(1) == cur_y).mean())
>>> abs(est.value - realised) < 0.02, est.low < realised < est.high
(True, True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from dawn.errors import (
    ConfigError,
    EmptyDataError,
    LabelError,
    NotFittedError,
    SchemaError,
    close_matches,
)

__all__ = ["PerformanceEstimate", "PerformanceEstimator"]

_METRICS = ("accuracy", "f1")
_CALIBRATIONS = ("isotonic", "temperature", "none")
_MAX_BINS = 256          # isotonic knots per calibrated class
_ROWS_PER_BIN = 20
_N_BOOT = 100            # calibration bootstrap draws
_BOOT_ROWS = 20_000      # current rows the bootstrap re-scores (a seeded sample)
_EPS = 1e-12


@dataclass(frozen=True)
class PerformanceEstimate:
    """An estimated metric with its interval.

    Attributes
    ----------
    value : float
        The estimate over all ``n`` rows (labelled rows count as realised, the rest as
        expected from calibrated probabilities).
    low, high : float
        The interval at the estimator's ``confidence`` (clipped to ``[0, 1]``).
    metric : str
        ``"accuracy"`` or ``"f1"``.
    n, n_labelled : int
        Rows estimated, and how many of them had a delayed label.
    realised : float or None
        The metric on the labelled rows alone (``None`` when none is labelled).
    """

    value: float
    low: float
    high: float
    metric: str
    n: int
    n_labelled: int
    realised: float | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the fields.

        >>> PerformanceEstimate(0.9, 0.88, 0.92, "accuracy", 100, 0, None).to_dict()["value"]
        0.9
        """
        return asdict(self)


class PerformanceEstimator:
    """Estimate accuracy or F1 of a classifier on unlabelled data from its probabilities.

    Parameters
    ----------
    metric : {"accuracy", "f1"}
        ``"f1"`` is the F1 of class ``positive`` for two classes, macro F1 for more.
    calibrate : bool or {"isotonic", "temperature"}
        How to map the model's probabilities to observed frequencies on the reference:
        ``True`` / ``"isotonic"`` (binned isotonic regression, one-vs-rest then renormalised
        for several classes), ``"temperature"`` (one temperature), ``False`` (trust the
        probabilities as they are).
    positive : int
        The positive class for binary F1.
    confidence : float
        Coverage of the interval, in ``(0, 1)``.
    seed : int
        Seeds the calibration bootstrap, so the interval is reproducible.

    Attributes
    ----------
    n_classes_ : int
        Number of classes seen in ``fit`` (columns of the probabilities).
    reference_ : PerformanceEstimate
        The metric realised on the reference (all labelled).

    Examples
    --------
    Delayed labels for part of the rows (``-1`` where unknown) are reconciled:

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> p = rng.random(2000); y = (rng.random(2000) < p).astype(int)
    >>> P = np.column_stack([1 - p, p])
    >>> pe = PerformanceEstimator("f1").fit(P, y)
    >>> labels = np.where(np.arange(2000) < 500, y, -1)
    >>> e = pe.estimate(P, labels)
    >>> e.n, e.n_labelled, e.low <= e.value <= e.high
    (2000, 500, True)
    """

    def __init__(self, metric: str = "accuracy", *, calibrate: bool | str = True,
                 positive: int = 1, confidence: float = 0.95, seed: int = 0) -> None:
        self.metric = metric
        self.calibrate = calibrate
        self.positive = positive
        self.confidence = confidence
        self.seed = seed

    # ------------------------------------------------------------------ parameters
    def _method(self) -> str:
        if self.metric not in _METRICS:
            raise ConfigError(f"metric={self.metric!r} is not supported; use one of "
                              f"{list(_METRICS)}.{close_matches(str(self.metric), _METRICS)}")
        c = self.calibrate
        if c is True:
            c = "isotonic"
        elif c is False or c is None:
            c = "none"
        if c not in _CALIBRATIONS:
            raise ConfigError(f"calibrate={self.calibrate!r} is not supported; use True, False, "
                              f"'isotonic' or 'temperature'.{close_matches(str(c), _CALIBRATIONS)}")
        conf = self.confidence
        if not isinstance(conf, int | float) or not 0 < conf < 1:
            raise ConfigError(f"confidence must be a number in (0, 1), e.g. 0.95; got {conf!r}")
        return c

    # ------------------------------------------------------------------ fit
    def fit(self, reference_proba: Any, reference_labels: Any) -> PerformanceEstimator:
        """Calibrate on reference probabilities ``(n, k)`` and their true labels ``0..k-1``.

        A 1-D array is read as the probability of class 1 of a binary model.
        """
        method = self._method()
        P = _check_proba(reference_proba, "reference_proba")
        n, k = P.shape
        y = _check_labels(reference_labels, n, k, "reference_labels", allow_unknown=False)
        if self.metric == "f1" and k == 2 and self.positive not in (0, 1):
            raise ConfigError(f"positive={self.positive!r} is not a class of this binary model; "
                              "use 0 or 1")
        self.n_classes_ = k
        self.method_ = method
        if method == "isotonic":
            cols = [1] if k == 2 else list(range(k))
            self.knots_ = [_bin_scores(P[:, c], (y == c).astype(np.float64)) for c in cols]
        elif method == "temperature":
            self.log_t_, self.log_t_se_ = _fit_temperature(P, y)
        self.reference_ = self._estimate_arrays(P, y, np.ones(n, dtype=bool), boot=False)
        return self

    # ------------------------------------------------------------------ estimate
    def estimate(self, current_proba: Any, labels: Any = None) -> PerformanceEstimate:
        """Estimate the metric on ``current_proba``; ``labels`` are optional delayed truths.

        ``labels`` is aligned with the rows, ``-1`` (or NaN) where the truth is unknown.
        Labelled rows count as realised, the others as expected; the interval reflects both.
        """
        k = self._fitted()
        P = _check_proba(current_proba, "current_proba")
        if P.shape[1] != k:
            raise SchemaError(f"current_proba has {P.shape[1]} class columns but the estimator "
                              f"was fitted on {k}; pass the same model's probabilities")
        n = P.shape[0]
        if labels is None:
            y = np.full(n, -1, dtype=np.int64)
        else:
            y = _check_labels(labels, n, k, "labels", allow_unknown=True)
        return self._estimate_arrays(P, y, y >= 0, boot=True)

    def _fitted(self) -> int:
        k = getattr(self, "n_classes_", None)
        if k is None:
            raise NotFittedError("this PerformanceEstimator is not fitted yet; call "
                                 "fit(reference_proba, reference_labels) first")
        return k

    def calibrated(self, proba: Any) -> np.ndarray:
        """Calibrated probabilities ``(n, k)`` of ``proba`` (rows sum to 1)."""
        k = self._fitted()
        P = _check_proba(proba, "proba")
        if P.shape[1] != k:
            raise SchemaError(f"proba has {P.shape[1]} class columns but the estimator was "
                              f"fitted on {k}")
        return self._calibrate(P)

    def _calibrate(self, P: np.ndarray, draw: Any = None, plans: Any = None) -> np.ndarray:
        """Calibrated ``P``; ``draw`` is one bootstrap calibrator (knot values / log T),
        ``plans`` the rows' precomputed knot positions (see :func:`_interp_plan`)."""
        if self.method_ == "none":
            return P
        if self.method_ == "temperature":
            log_t = self.log_t_ if draw is None else draw
            return _softmax(np.log(np.clip(P, _EPS, None)) / np.exp(log_t))
        values = [kn[3] for kn in self.knots_] if draw is None else draw
        if plans is None:
            plans = self._plans(P)
        cols = [_apply_plan(plan, v) for plan, v in zip(plans, values, strict=True)]
        if P.shape[1] == 2:
            return np.column_stack([1.0 - cols[0], cols[0]])
        Q = np.column_stack(cols)
        s = Q.sum(axis=1, keepdims=True)
        bad = s[:, 0] <= _EPS
        Q /= np.where(s > _EPS, s, 1.0)
        if bad.any():
            Q[bad] = P[bad]
        return Q

    def _plans(self, P: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        cols = [1] if P.shape[1] == 2 else range(P.shape[1])
        return [_interp_plan(kn[0], P[:, c]) for c, kn in zip(cols, self.knots_, strict=True)]

    def _boot_draws(self, rng: np.random.Generator) -> list[Any]:
        if self.method_ == "temperature":
            return list(rng.normal(self.log_t_, self.log_t_se_, _N_BOOT))
        if self.method_ == "none":
            return []
        from scipy.optimize import isotonic_regression

        draws = []
        for _ in range(_N_BOOT):
            one = []
            for x, cnt, pos, _fitted in self.knots_:
                total = int(cnt.sum())
                c_b = rng.multinomial(total, cnt / total).astype(np.float64)
                rate = np.divide(pos, cnt, out=np.zeros_like(pos), where=cnt > 0)
                p_b = rng.binomial(c_b.astype(np.int64), rate).astype(np.float64)
                keep = c_b > 0
                fit = isotonic_regression(p_b[keep] / c_b[keep], weights=c_b[keep]).x
                one.append(np.interp(x, x[keep], fit))  # values at every knot
            draws.append(one)
        return draws

    def _estimate_arrays(self, P: np.ndarray, y: np.ndarray, labelled: np.ndarray,
                         boot: bool) -> PerformanceEstimate:
        n = P.shape[0]
        pred = P.argmax(axis=1)
        Q = self._calibrate(P)
        T = _soft_truth(Q, y, labelled)
        value, G = _metric_and_grad(T, pred, self.metric, self.positive)
        unl = ~labelled
        Qu, Gu = Q[unl], G[unl]
        qg = (Qu * Gu).sum(axis=1)
        var = float(((Qu * Gu * Gu).sum(axis=1) - qg * qg).sum())
        if boot and unl.any():
            var += self._calibration_variance(P, y, labelled, pred)
        z = NormalDist().inv_cdf(0.5 + self.confidence / 2)
        sd = float(np.sqrt(max(var, 0.0)))
        realised = None
        n_lab = int(labelled.sum())
        if n_lab:
            onehot = _soft_truth(Q[labelled], y[labelled], np.ones(n_lab, dtype=bool))
            realised = float(_metric_and_grad(onehot, pred[labelled], self.metric,
                                              self.positive)[0])
        return PerformanceEstimate(value=float(value), low=float(max(0.0, value - z * sd)),
                                   high=float(min(1.0, value + z * sd)), metric=self.metric,
                                   n=int(n), n_labelled=n_lab, realised=realised)

    def _calibration_variance(self, P: np.ndarray, y: np.ndarray, labelled: np.ndarray,
                              pred: np.ndarray) -> float:
        """Variance of the metric over bootstrap calibrators, on a seeded row sample."""
        rng = np.random.default_rng(self.seed)
        draws = self._boot_draws(rng)
        if not draws:
            return 0.0
        n = P.shape[0]
        idx = np.arange(n) if n <= _BOOT_ROWS else np.sort(rng.choice(n, _BOOT_ROWS,
                                                                      replace=False))
        Ps, ys, ls, ps = P[idx], y[idx], labelled[idx], pred[idx]
        plans = self._plans(Ps) if self.method_ == "isotonic" else None
        vals = np.array([_metric_and_grad(_soft_truth(self._calibrate(Ps, d, plans), ys, ls),
                                          ps, self.metric, self.positive, grad=False)[0]
                         for d in draws])
        return float(vals.var(ddof=1))

    # ------------------------------------------------------------------ persistence
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON metadata for :func:`dawn.store.save_artefact` (no pickle)."""
        k = self._fitted()
        arrays: dict[str, np.ndarray] = {}
        if self.method_ == "isotonic":
            for j, (x, cnt, pos, fitted) in enumerate(self.knots_):
                arrays[f"x{j}"], arrays[f"count{j}"] = x, cnt
                arrays[f"positive{j}"], arrays[f"fitted{j}"] = pos, fitted
        elif self.method_ == "temperature":
            arrays["log_t"] = np.array([self.log_t_, self.log_t_se_])
        meta = {"kind": "PerformanceEstimator", "format_version": 1, "metric": self.metric,
                "calibrate": self.method_, "positive": int(self.positive),
                "confidence": float(self.confidence), "seed": int(self.seed), "n_classes": k,
                "reference": self.reference_.to_dict()}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    meta: dict[str, Any]) -> PerformanceEstimator:
        """Rebuild a fitted estimator from :meth:`to_arrays` output."""
        if meta.get("kind") != "PerformanceEstimator":
            raise SchemaError(f"these arrays/meta describe a {meta.get('kind')!r}, not a "
                              "PerformanceEstimator; save it with to_arrays()")
        out = cls(meta["metric"], calibrate=meta["calibrate"], positive=meta["positive"],
                  confidence=meta["confidence"], seed=meta["seed"])
        out.method_ = out._method()
        out.n_classes_ = int(meta["n_classes"])
        if out.method_ == "isotonic":
            n_cal = 1 if out.n_classes_ == 2 else out.n_classes_
            try:
                out.knots_ = [tuple(np.asarray(arrays[f"{name}{j}"], dtype=np.float64)
                                    for name in ("x", "count", "positive", "fitted"))
                              for j in range(n_cal)]
            except KeyError as exc:
                raise SchemaError(f"isotonic calibration arrays are missing {exc}; save the "
                                  "estimator with to_arrays()") from None
        elif out.method_ == "temperature":
            out.log_t_, out.log_t_se_ = (float(v) for v in np.asarray(arrays["log_t"]))
        out.reference_ = PerformanceEstimate(**meta["reference"])
        return out

    def __repr__(self) -> str:
        return (f"PerformanceEstimator(metric={self.metric!r}, calibrate={self.calibrate!r}, "
                f"confidence={self.confidence!r})")


# ---------------------------------------------------------------------- helpers
def _check_proba(proba: Any, what: str) -> np.ndarray:
    P = np.asarray(proba, dtype=np.float64) if not hasattr(proba, "to_numpy") else \
        np.asarray(proba.to_numpy(), dtype=np.float64)
    if P.ndim == 1:
        P = np.column_stack([1.0 - P, P])
    if P.ndim != 2 or P.shape[1] < 2:
        raise SchemaError(f"{what} must be (n, k) class probabilities with k >= 2 (or a 1-D "
                          f"probability of class 1), got shape {P.shape}")
    if P.shape[0] == 0:
        raise EmptyDataError(f"{what} has no rows; pass at least one prediction")
    if np.isnan(P).any():
        row = int(np.flatnonzero(np.isnan(P).any(axis=1))[0])
        raise SchemaError(f"{what} contains NaN (first in row {row}); drop or impute those "
                          "rows before estimating")
    if (P < -1e-9).any() or (P > 1 + 1e-9).any():
        row = int(np.flatnonzero(((P < -1e-9) | (P > 1 + 1e-9)).any(axis=1))[0])
        raise SchemaError(f"{what} has values outside [0, 1] (row {row}: {P[row].tolist()}); "
                          "pass probabilities, e.g. predict_proba, not scores or logits")
    s = P.sum(axis=1)
    if not np.allclose(s, 1.0, atol=1e-4):
        row = int(np.flatnonzero(~np.isclose(s, 1.0, atol=1e-4))[0])
        raise SchemaError(f"{what} rows must sum to 1 (row {row} sums to {s[row]:.6g}); pass "
                          "one probability per class for every row")
    return np.clip(P, 0.0, 1.0)


def _check_labels(labels: Any, n: int, k: int, what: str, allow_unknown: bool) -> np.ndarray:
    y = np.asarray(labels.to_numpy() if hasattr(labels, "to_numpy") else labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise SchemaError(f"{what} has shape {y.shape} but the probabilities have {n} rows; "
                          "give one label per row")
    if y.dtype.kind not in "iub":
        try:
            yf = y.astype(np.float64)
        except (TypeError, ValueError):
            raise LabelError(f"{what} must be integer class ids 0..{k - 1}, got dtype "
                             f"{y.dtype}; map class names to their positions first") from None
        nan = np.isnan(yf)
        if nan.any() and not allow_unknown:
            raise LabelError(f"{what} contains NaN (row {int(np.flatnonzero(nan)[0])}); the "
                             "reference needs a true label for every row")
        whole = np.where(nan, -1.0, yf)
        if (whole != np.round(whole)).any():
            bad = whole[whole != np.round(whole)][0]
            raise LabelError(f"{what} must be integer class ids 0..{k - 1}, got {bad}")
        y = whole
    y = y.astype(np.int64)
    lo = -1 if allow_unknown else 0
    bad = (y < lo) | (y >= k)
    if bad.any():
        hint = "; use -1 (or NaN) for rows whose truth is unknown" if allow_unknown else \
            ("; the reference needs a true label for every row" if y[bad][0] == -1 else "")
        raise LabelError(f"{what} has label {int(y[bad][0])} (row {int(np.flatnonzero(bad)[0])}),"
                         f" outside 0..{k - 1}{hint}")
    return y


def _bin_scores(score: np.ndarray, hit: np.ndarray) -> tuple[np.ndarray, ...]:
    """Knots for binned isotonic calibration: (mean score, count, hits, fitted) per bin."""
    from scipy.optimize import isotonic_regression

    n = score.shape[0]
    n_bins = int(min(_MAX_BINS, max(1, n // _ROWS_PER_BIN)))
    edges = np.unique(np.quantile(score, np.linspace(0, 1, n_bins + 1)[1:-1]))
    b = np.searchsorted(edges, score, side="right")
    cnt = np.bincount(b, minlength=edges.size + 1).astype(np.float64)
    keep = cnt > 0
    x = np.bincount(b, weights=score, minlength=edges.size + 1)[keep] / cnt[keep]
    pos = np.bincount(b, weights=hit, minlength=edges.size + 1)[keep]
    cnt = cnt[keep]
    fitted = isotonic_regression(pos / cnt, weights=cnt).x
    return x, cnt, pos, fitted


def _interp_plan(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each ``p`` falls among the knots ``x``: ``(left, right, weight)``, so that
    ``v[left] + weight * (v[right] - v[left])`` equals ``np.interp(p, x, v)`` for any ``v``."""
    last = x.shape[0] - 1
    j = np.clip(np.searchsorted(x, p, side="right") - 1, 0, max(last - 1, 0))
    j1 = np.minimum(j + 1, last)
    gap = x[j1] - x[j]
    w = np.clip(np.divide(p - x[j], gap, out=np.zeros_like(p), where=gap > 0), 0.0, 1.0)
    return j, j1, w


def _apply_plan(plan: tuple[np.ndarray, ...], v: np.ndarray) -> np.ndarray:
    j, j1, w = plan
    lo = v[j]
    return lo + w * (v[j1] - lo)


def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def _fit_temperature(P: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``log T`` minimising the NLL, and its sandwich standard error."""
    from scipy.optimize import minimize_scalar

    n = P.shape[0]
    Z = np.log(np.clip(P, _EPS, None))
    rows = np.arange(n)

    def nll(s: float) -> float:
        U = Z / np.exp(s)
        U = U - U.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(U).sum(axis=1)) - U[rows, y]))

    s = float(minimize_scalar(nll, bounds=(np.log(1e-2), np.log(1e2)), method="bounded",
                              options={"xatol": 1e-6}).x)
    U = Z / np.exp(s)
    Pt = _softmax(U)
    g = U[rows, y] - (Pt * U).sum(axis=1)           # d NLL_i / d log T
    h = 1e-3
    H = (nll(s + h) - 2 * nll(s) + nll(s - h)) / h**2
    se = float(np.sqrt(np.mean(g * g) / (n * H * H))) if H > 0 else 0.0
    return s, se


def _soft_truth(Q: np.ndarray, y: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """Expected one-hot truth: calibrated rows, or the delayed label where known."""
    T = Q.copy()
    if labelled.any():
        T[labelled] = 0.0
        T[np.flatnonzero(labelled), y[labelled]] = 1.0
    return T


def _metric_and_grad(T: np.ndarray, pred: np.ndarray, metric: str, positive: int,
                     grad: bool = True) -> tuple[float, np.ndarray | None]:
    """The metric of expected counts, and its gradient wrt each row's one-hot truth.

    ``T`` ``(n, k)`` holds each row's (expected) one-hot truth; the gradient ``G[i, c]`` is
    the change of the metric if row ``i``'s truth indicator for class ``c`` rose by one.
    """
    n, k = T.shape
    rows = np.arange(n)
    if metric == "accuracy":
        value = float(T[rows, pred].mean())
        if not grad:
            return value, None
        G = np.zeros((n, k))
        G[rows, pred] = 1.0 / n
        return value, G
    classes = [positive] if k == 2 else list(range(k))
    n_pred = np.bincount(pred, minlength=k).astype(np.float64)
    actual = T.sum(axis=0)
    tp = np.bincount(pred, weights=T[rows, pred], minlength=k)
    G = np.zeros((n, k)) if grad else None
    f1s = []
    for c in classes:
        d = n_pred[c] + actual[c]                   # 2TP + FP + FN
        f1s.append(2 * tp[c] / d if d > 0 else 0.0)
        if grad and d > 0:
            fn = actual[c] - tp[c]
            d_tp = 2 * (n_pred[c] + fn) / d**2        # raising a predicted-c row's truth
            d_fn = -2 * tp[c] / d**2                  # raising another row's truth
            G[:, c] = np.where(pred == c, d_tp, d_fn) / len(classes)
    return float(np.mean(f1s)), G
