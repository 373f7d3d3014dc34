"""Temperature scaling (Guo et al., 2017) and the expected calibration error.

One scalar ``T > 0`` rescales a model's logits, ``softmax(z / T)``, chosen to minimise the
negative log-likelihood on held-out rows. ``T > 1`` softens an over-confident model, ``T < 1``
sharpens an under-confident one; the argmax (so accuracy) never changes. Targets may be
hard labels or probabilistic labels (the NLL is then the expected cross-entropy).
Probabilities are accepted in place of logits (their logs are logits up to a per-row
constant, which softmax ignores).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> z = rng.normal(scale=2.0, size=5000)                  # calibrated logit of class 1
>>> y = (rng.random(5000) < 1 / (1 + np.exp(-z))).astype(int)
>>> overconfident = np.column_stack([np.zeros(5000), 4 * z])
>>> ts = TemperatureScaling().fit(overconfident, y)
>>> round(ts.temperature_, 1)
4.0
>>> ts.transform(overconfident).shape
(5000, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dawn.errors import ConfigError, LabelError, NotFittedError, SchemaError

__all__ = ["TemperatureScaling", "expected_calibration_error"]

_EPS = 1e-12
_LOG_T_BOUNDS = (np.log(1e-2), np.log(1e2))


def _as_logits(scores: Any, what: str = "scores") -> np.ndarray:
    """Logits ``(n, k)`` from logits or probabilities (rows in [0, 1] summing to 1)."""
    Z = np.asarray(scores, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] < 2:
        raise SchemaError(f"{what} must be (n, k) logits or probabilities with k >= 2, got "
                          f"shape {Z.shape}; for a binary score p use np.column_stack([1 - p, p])")
    if Z.shape[0] == 0:
        raise SchemaError(f"{what} has no rows")
    if not np.isfinite(Z).all():
        raise SchemaError(f"{what} contains NaN or infinite values")
    if _looks_like_proba(Z):
        return np.log(np.clip(Z, _EPS, None))
    return Z


def _looks_like_proba(Z: np.ndarray) -> bool:
    return bool((Z >= 0).all() and (Z <= 1).all() and np.allclose(Z.sum(axis=1), 1.0,
                                                                   atol=1e-6))


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def _targets(y: Any, n: int, k: int) -> np.ndarray:
    """Targets as ``(n, k)`` probabilities (hard labels one-hot)."""
    Y = np.asarray(y)
    if Y.shape[:1] != (n,):
        raise SchemaError(f"targets have {Y.shape[0] if Y.ndim else 0} rows but the scores "
                          f"have {n}; give one target per row")
    if Y.ndim == 2:
        if Y.shape[1] != k:
            raise SchemaError(f"targets have {Y.shape[1]} class columns but the scores have {k}")
        Y = Y.astype(np.float64)
        if not np.isfinite(Y).all() or (Y < 0).any() or \
                not np.allclose(Y.sum(axis=1), 1.0, atol=1e-4):
            raise LabelError("probabilistic targets must be non-negative rows summing to 1")
        return Y
    if Y.ndim != 1:
        raise SchemaError(f"targets must be (n,) labels or (n, k) probabilities, got {Y.shape}")
    if not np.issubdtype(Y.dtype, np.integer):
        Yf = np.asarray(Y, dtype=np.float64)
        if not np.isfinite(Yf).all() or (Yf != np.round(Yf)).any():
            raise LabelError("hard targets must be integer labels 0..k-1 (no NaN)")
        Y = Yf.astype(np.int64)
    if (Y < 0).any() or (Y >= k).any():
        bad = Y[(Y < 0) | (Y >= k)][0]
        raise LabelError(f"target label {bad} is outside 0..{k - 1}; drop unlabelled (-1) rows")
    out = np.zeros((n, k))
    out[np.arange(n), Y] = 1.0
    return out


class TemperatureScaling:
    """Calibrate probabilities with one temperature fitted by NLL (bounded scalar search).

    Attributes
    ----------
    temperature_ : float
        The fitted temperature (searched over ``[0.01, 100]``).
    nll_before_, nll_after_ : float
        Mean NLL of the fitting rows at ``T = 1`` and at ``temperature_``.
    """

    def fit(self, logits_or_proba: Any, P_or_y: Any,
            sample_weight: Any = None) -> TemperatureScaling:
        """Fit ``T`` on held-out scores and their labels (hard or probabilistic)."""
        from scipy.optimize import minimize_scalar

        Z = _as_logits(logits_or_proba)
        n, k = Z.shape
        Y = _targets(P_or_y, n, k)
        if sample_weight is None:
            w = np.full(n, 1.0 / n)
        else:
            w = np.asarray(sample_weight, dtype=np.float64)
            if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
                raise SchemaError(f"sample_weight must be ({n},) finite, non-negative, not all 0")
            w = w / w.sum()

        def nll(log_t: float) -> float:
            return float(-(w @ (Y * _log_softmax(Z / np.exp(log_t))).sum(axis=1)))

        res = minimize_scalar(nll, bounds=_LOG_T_BOUNDS, method="bounded",
                              options={"xatol": 1e-6})
        log_t = float(res.x) if nll(float(res.x)) <= nll(0.0) else 0.0
        self.temperature_ = float(np.exp(log_t))
        self.nll_before_ = nll(0.0)
        self.nll_after_ = nll(log_t)
        self.n_classes_ = k
        return self

    def _t(self) -> float:
        t = getattr(self, "temperature_", None)
        if t is None:
            raise NotFittedError("this TemperatureScaling is not fitted yet; call "
                                 "fit(scores, labels) on held-out rows first")
        return t

    def transform(self, logits_or_proba: Any) -> np.ndarray:
        """Calibrated probabilities ``softmax(logits / T)``, ``(n, k)``."""
        t = self._t()
        Z = _as_logits(logits_or_proba)
        if Z.shape[1] != self.n_classes_:
            raise SchemaError(f"scores have {Z.shape[1]} classes but the calibrator was fitted "
                              f"on {self.n_classes_}")
        return np.exp(_log_softmax(Z / t))

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``({"temperature": (1,)}, meta)`` for :func:`dawn.store.save_artefact`."""
        t = self._t()
        return ({"temperature": np.array([t])},
                {"kind": "TemperatureScaling", "format_version": 1,
                 "n_classes": self.n_classes_, "nll_before": self.nll_before_,
                 "nll_after": self.nll_after_})

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    meta: dict[str, Any]) -> TemperatureScaling:
        """Rebuild from :meth:`to_arrays` output."""
        if meta.get("kind") != "TemperatureScaling" or "temperature" not in arrays:
            raise SchemaError(f"these arrays/meta describe a {meta.get('kind')!r}, not a "
                              "TemperatureScaling; save it with to_arrays()")
        t = np.asarray(arrays["temperature"], dtype=np.float64).reshape(-1)
        if t.shape != (1,) or not np.isfinite(t[0]) or t[0] <= 0:
            raise SchemaError(f"temperature must be one positive number, got {t.tolist()}")
        out = cls()
        out.temperature_ = float(t[0])
        out.n_classes_ = int(meta["n_classes"])
        out.nll_before_ = float(meta.get("nll_before", np.nan))
        out.nll_after_ = float(meta.get("nll_after", np.nan))
        return out

    def __repr__(self) -> str:
        t = getattr(self, "temperature_", None)
        return "TemperatureScaling()" if t is None else f"TemperatureScaling(T={t:.4g})"


def expected_calibration_error(proba: Any, y: Any, n_bins: int = 15) -> float:
    """Top-label ECE: ``Σ_b |B_b|/n · |accuracy(B_b) - confidence(B_b)|`` over equal bins.

    ``y`` is hard labels or probabilistic labels (then a row's accuracy is the label
    weight on the predicted class).

    >>> expected_calibration_error(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]))
    0.45
    """
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ConfigError(f"n_bins must be a positive integer, got {n_bins!r}")
    Pr = np.asarray(proba, dtype=np.float64)
    if Pr.ndim != 2 or Pr.shape[1] < 2 or Pr.shape[0] == 0:
        raise SchemaError(f"proba must be (n, k) probabilities with n >= 1, k >= 2, got "
                          f"shape {Pr.shape}")
    if not np.isfinite(Pr).all() or (Pr < 0).any() or (Pr > 1 + 1e-9).any():
        raise SchemaError("proba must hold probabilities in [0, 1] (no NaN)")
    n, k = Pr.shape
    Y = _targets(y, n, k)
    pred = Pr.argmax(axis=1)
    conf = Pr[np.arange(n), pred]
    correct = Y[np.arange(n), pred]
    bins = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    gap = np.bincount(bins, weights=correct, minlength=n_bins) - \
        np.bincount(bins, weights=conf, minlength=n_bins)
    return float(np.abs(gap).sum() / n)
