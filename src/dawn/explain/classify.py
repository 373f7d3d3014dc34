"""Outlier classifiers for numeric metrics, in batch and over streams.

Three classifiers decide which rows are outliers before :mod:`dawn.explain` looks for
the attribute combinations that explain them:

- :class:`PercentileClassifier` — above the ``high`` percentile and/or below ``low``;
- :class:`MADClassifier` — robust z-score ``|x - median| / (1.4826 · MAD) > threshold``;
- :class:`MCDClassifier` — several metrics jointly: squared Mahalanobis distance from the
  Minimum Covariance Determinant estimate (scikit-learn's ``MinCovDet``) above a threshold.

Each has ``fit(values) -> self``, ``predict(values) -> bool array``, ``fit_predict`` and,
for streams, ``update(batch) -> self``. Streaming follows MacroBase: every classifier keeps
a *damped reservoir* — a bounded sample (``reservoir_size`` values) of recent values in
which each update multiplies the weight of everything seen before by ``decay`` (weighted
reservoir sampling with exponential keys, Efraimidis & Spirakis 2006) — and re-fits its
thresholds from the reservoir every ``refit_every`` updates. Memory stays
``O(reservoir_size × metrics)`` however long the stream, and the thresholds follow a
shift in the metric's distribution.

Missing values: ``NaN`` (and ``±inf``) are ignored when fitting; ``predict`` never calls a
``NaN`` an outlier (a row with ``NaN`` in any metric is ``False``), while ``±inf`` is as
extreme as a value can be and is classified like one.

>>> import numpy as np
>>> x = np.r_[np.random.default_rng(0).normal(size=1000), 25.0, np.nan]
>>> clf = MADClassifier(threshold=4.0).fit(x)
>>> bool(clf.predict([25.0])[0]), bool(clf.predict([np.nan])[0])
(True, False)
>>> int(PercentileClassifier(high=0.99).fit_predict(np.arange(1.0, 101.0)).sum())
1
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from dawn.errors import ConfigError, DataError, EmptyDataError, NotFittedError, SchemaError

__all__ = ["MADClassifier", "MCDClassifier", "PercentileClassifier", "make_classifier"]

#: consistency constant: 1.4826 · MAD estimates the standard deviation of a normal sample
MAD_SCALE = 1.4826
#: sqrt(pi/2): mean absolute deviation × this estimates a normal standard deviation
MEAN_AD_SCALE = 1.2533


class _OutlierClassifier:
    """Shared machinery: input checks, the damped reservoir and the re-fit schedule."""

    _multivariate: ClassVar[bool] = False

    def __init__(self, *, reservoir_size: int = 10_000, decay: float = 0.95,
                 refit_every: int = 1, seed: int = 0) -> None:
        self.reservoir_size = reservoir_size
        self.decay = decay
        self.refit_every = refit_every
        self.seed = seed

    # -- public API ---------------------------------------------------------------
    def fit(self, values: Any) -> _OutlierClassifier:
        """Fit the thresholds on ``values`` (non-finite values are ignored); returns ``self``.

        The reservoir restarts from a sample of ``values``.
        """
        self._check_params()
        x = self._finite(self._as_values(values, fitting=True))
        if len(x) == 0:
            raise EmptyDataError(f"{type(self).__name__}.fit got no finite values; pass at "
                                 "least one number that is not NaN or inf.")
        self._rng = np.random.default_rng(self.seed)
        self.n_features_ = x.shape[1]
        keys = self._rng.exponential(size=len(x))
        keep = self._smallest(keys, self.reservoir_size)
        self._reservoir, self._keys = x[keep], keys[keep]
        self._fit_values(x)
        self.n_updates_ = 0
        return self

    def update(self, batch: Any) -> _OutlierClassifier:
        """Add a batch of values to the damped reservoir and re-fit every ``refit_every``
        updates; returns ``self``.

        Before the first ``fit``/``update`` this fits on the batch. A batch with no finite
        values (or no rows) changes nothing.
        """
        if not hasattr(self, "n_updates_"):
            x = self._finite(self._as_values(batch, fitting=True))
            return self.fit(x) if len(x) else self
        x = self._finite(self._as_values(batch))
        if len(x) == 0:
            return self
        # older items lose weight: weight w -> w·decay turns an exponential key k into k/decay
        keys = np.concatenate([self._keys / self.decay, self._rng.exponential(size=len(x))])
        values = np.concatenate([self._reservoir, x])
        keep = self._smallest(keys, self.reservoir_size)
        self._reservoir, self._keys = values[keep], keys[keep]
        self.n_updates_ += 1
        if self.n_updates_ % self.refit_every == 0:
            self._fit_values(self._reservoir)
        return self

    def predict(self, values: Any) -> np.ndarray:
        """Boolean array, ``True`` for outliers (``NaN`` is never an outlier)."""
        self._check_fitted()
        x = self._as_values(values)
        with np.errstate(invalid="ignore"):
            out = self._predict_values(x)
        return out & ~np.isnan(x).any(axis=1)

    def fit_predict(self, values: Any) -> np.ndarray:
        """``fit(values).predict(values)``."""
        return self.fit(values).predict(values)

    @property
    def reservoir_(self) -> np.ndarray:
        """The damped reservoir: at most ``reservoir_size`` recent values (rows × metrics)."""
        self._check_fitted()
        return self._reservoir if self._multivariate else self._reservoir[:, 0]

    # -- helpers ------------------------------------------------------------------
    def _fit_values(self, x: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_values(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_params(self) -> None:
        name = type(self).__name__
        if not (isinstance(self.reservoir_size, (int, np.integer)) and self.reservoir_size >= 1):
            raise ConfigError(f"{name}: reservoir_size must be a positive integer, got "
                              f"{self.reservoir_size!r}.")
        if not (isinstance(self.refit_every, (int, np.integer)) and self.refit_every >= 1):
            raise ConfigError(f"{name}: refit_every must be a positive integer, got "
                              f"{self.refit_every!r}.")
        if not (isinstance(self.decay, (int, float)) and 0.0 < self.decay <= 1.0):
            raise ConfigError(f"{name}: decay must be in (0, 1] (1 = no decay), got "
                              f"{self.decay!r}.")

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_updates_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call "
                                 "fit(values) or update(batch) first.")

    def _as_values(self, values: Any, fitting: bool = False) -> np.ndarray:
        name = type(self).__name__
        if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
            values = values.to_numpy()
        try:
            x = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise SchemaError(f"{name} needs numeric values, got "
                              f"{np.asarray(values, dtype=object).ravel()[:3].tolist()}…; "
                              "convert the metric to numbers first.") from None
        if x.ndim == 0:
            x = x.reshape(1)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2:
            raise SchemaError(f"{name} needs a 1-D array of values (or 2-D rows × metrics), "
                              f"got shape {x.shape}.")
        if not self._multivariate and x.shape[1] != 1:
            raise SchemaError(f"{name} classifies one metric, got {x.shape[1]} columns (shape "
                              f"{x.shape}); use MCDClassifier for several metrics jointly.")
        if not fitting and hasattr(self, "n_features_") and x.shape[1] != self.n_features_:
            raise SchemaError(f"{name} was fitted on {self.n_features_} metrics, got "
                              f"{x.shape[1]}; pass the same metrics in the same order.")
        return x

    @staticmethod
    def _finite(x: np.ndarray) -> np.ndarray:
        ok = np.isfinite(x).all(axis=1)
        return x if ok.all() else x[ok]

    @staticmethod
    def _smallest(keys: np.ndarray, k: int) -> np.ndarray:
        if len(keys) <= k:
            return np.arange(len(keys))
        return np.argpartition(keys, k - 1)[:k]

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"

    def _params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and
                not k.endswith("_")}


class PercentileClassifier(_OutlierClassifier):
    """Outliers lie above the ``high`` quantile and/or below the ``low`` quantile.

    Parameters
    ----------
    high, low : float or None
        Quantiles in (0, 1) (``0.99`` is the 99th percentile); ``None`` disables that side.
        At least one is needed.
    reservoir_size, decay, refit_every, seed
        Streaming (see the module docstring): the damped reservoir's size, the weight kept
        by older values at each ``update``, how many updates between re-fits, and the seed
        of the reservoir's sampling.

    Attributes
    ----------
    high_, low_ : float
        The thresholds (``inf`` / ``-inf`` for a disabled side); outliers are
        ``x > high_`` or ``x < low_``.

    Examples
    --------
    >>> import numpy as np
    >>> clf = PercentileClassifier(high=0.95, low=0.02).fit(np.arange(1.0, 101.0))
    >>> np.flatnonzero(clf.predict(np.arange(1.0, 101.0))) + 1
    array([  1,   2,  96,  97,  98,  99, 100])
    """

    def __init__(self, high: float | None = 0.99, low: float | None = None, *,
                 reservoir_size: int = 10_000, decay: float = 0.95, refit_every: int = 1,
                 seed: int = 0) -> None:
        super().__init__(reservoir_size=reservoir_size, decay=decay, refit_every=refit_every,
                         seed=seed)
        self.high = high
        self.low = low

    def _check_params(self) -> None:
        super()._check_params()
        for side in ("high", "low"):
            q = getattr(self, side)
            if q is not None and not (isinstance(q, (int, float)) and 0.0 < q < 1.0):
                hint = f" (a percentile? use {q / 100:g})" if isinstance(q, (int, float)) \
                    and 1.0 < q < 100.0 else ""
                raise ConfigError(f"PercentileClassifier: {side} must be a quantile in (0, 1) "
                                  f"or None, got {q!r}{hint}.")
        if self.high is None and self.low is None:
            raise ConfigError("PercentileClassifier needs high= and/or low=; both are None.")
        if self.high is not None and self.low is not None and self.low >= self.high:
            raise ConfigError(f"PercentileClassifier: low ({self.low}) must be below high "
                              f"({self.high}).")

    def _fit_values(self, x: np.ndarray) -> None:
        v = x[:, 0]
        self.high_ = float(np.quantile(v, self.high)) if self.high is not None else np.inf
        self.low_ = float(np.quantile(v, self.low)) if self.low is not None else -np.inf

    def _predict_values(self, x: np.ndarray) -> np.ndarray:
        v = x[:, 0]
        return (v > self.high_) | (v < self.low_)


class MADClassifier(_OutlierClassifier):
    """Robust z-score: outliers have ``|x - median| / scale > threshold``.

    ``scale`` is ``1.4826 · MAD`` (median absolute deviation), which estimates the standard
    deviation of normal data. When more than half the values are equal the MAD is 0; the
    scale then falls back to ``1.2533 · mean absolute deviation`` from the median, and when
    that is 0 too (all values equal) every value different from the median is an outlier.

    Parameters
    ----------
    threshold : float
        Robust z-score above which a value is an outlier (3.0 ≈ three standard deviations).
    reservoir_size, decay, refit_every, seed
        Streaming, as for :class:`PercentileClassifier`.

    Attributes
    ----------
    median_, mad_, scale_ : float
        The median, the MAD and the scale used for z-scores.

    Examples
    --------
    >>> clf = MADClassifier(threshold=3.0).fit([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> clf.median_, round(clf.scale_, 4)
    (3.0, 1.4826)
    >>> clf.predict([3.0, 7.0, 8.0]).tolist()
    [False, False, True]
    """

    def __init__(self, threshold: float = 3.0, *, reservoir_size: int = 10_000,
                 decay: float = 0.95, refit_every: int = 1, seed: int = 0) -> None:
        super().__init__(reservoir_size=reservoir_size, decay=decay, refit_every=refit_every,
                         seed=seed)
        self.threshold = threshold

    def _check_params(self) -> None:
        super()._check_params()
        if not (isinstance(self.threshold, (int, float)) and self.threshold > 0):
            raise ConfigError(f"MADClassifier: threshold must be a positive number, got "
                              f"{self.threshold!r}.")

    def _fit_values(self, x: np.ndarray) -> None:
        v = x[:, 0]
        self.median_ = float(np.median(v))
        dev = np.abs(v - self.median_)
        self.mad_ = float(np.median(dev))
        self.scale_ = MAD_SCALE * self.mad_ if self.mad_ > 0 else MEAN_AD_SCALE * float(
            dev.mean())

    def score(self, values: Any) -> np.ndarray:
        """Robust z-scores ``|x - median_| / scale_`` (``NaN`` stays ``NaN``)."""
        self._check_fitted()
        dev = np.abs(self._as_values(values)[:, 0] - self.median_)
        if self.scale_ > 0:
            return dev / self.scale_
        with np.errstate(invalid="ignore"):
            return np.where(dev > 0, np.inf, dev)

    def _predict_values(self, x: np.ndarray) -> np.ndarray:
        return self.score(x) > self.threshold


class MCDClassifier(_OutlierClassifier):
    """Several metrics jointly: squared Mahalanobis distance from a robust centre.

    The centre and covariance are the Minimum Covariance Determinant estimate
    (scikit-learn's ``MinCovDet``), which ignores up to half the rows, so planted outliers
    do not pull the ellipse towards them.

    Parameters
    ----------
    threshold : float, optional
        Cut-off on the *squared* Mahalanobis distance. Default: the 0.975 quantile of the
        chi-square distribution with one degree of freedom per metric (the distribution of
        the squared distance for normal data).
    seed : int
        Seeds ``MinCovDet``'s random subsets and the reservoir's sampling.
    support_fraction : float, optional
        Passed to ``MinCovDet`` (share of rows in the robust fit; default its own).
    reservoir_size, decay, refit_every
        Streaming, as for :class:`PercentileClassifier`. Re-fitting MCD costs more (about
        0.5 s on 2,000 rows), so the reservoir defaults to 2,000 rows and ``refit_every``
        to 10.

    Attributes
    ----------
    location_, covariance_, precision_ : ndarray
        Robust centre, covariance and its (pseudo-)inverse.
    threshold_ : float
        The cut-off in use.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=500)
    >>> clf = MCDClassifier(seed=0).fit(X)
    >>> clf.predict([[2.0, 2.0], [2.0, -2.0]]).tolist()  # along the correlation / across it
    [False, True]
    """

    _multivariate: ClassVar[bool] = True

    def __init__(self, threshold: float | None = None, seed: int = 0, *,
                 support_fraction: float | None = None, reservoir_size: int = 2_000,
                 decay: float = 0.95, refit_every: int = 10) -> None:
        super().__init__(reservoir_size=reservoir_size, decay=decay, refit_every=refit_every,
                         seed=seed)
        self.threshold = threshold
        self.support_fraction = support_fraction

    def _check_params(self) -> None:
        super()._check_params()
        if self.threshold is not None and not (
                isinstance(self.threshold, (int, float)) and self.threshold > 0):
            raise ConfigError(f"MCDClassifier: threshold must be a positive number or None, "
                              f"got {self.threshold!r}.")

    def _fit_values(self, x: np.ndarray) -> None:
        import warnings

        from scipy.stats import chi2
        from sklearn.covariance import MinCovDet

        n, d = x.shape
        if n <= d:
            raise DataError(f"MCDClassifier needs more rows than metrics to fit a covariance; "
                            f"got {n} finite rows for {d} metrics.")
        with warnings.catch_warnings():  # rank-deficient data is handled by the pseudo-inverse
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            try:
                mcd = MinCovDet(random_state=self.seed,
                                support_fraction=self.support_fraction).fit(x)
            except ValueError as exc:
                raise DataError(f"MCDClassifier could not fit a robust covariance: {exc}; "
                                "check that the metrics are not constant.") from None
        self.location_ = mcd.location_
        self.covariance_ = mcd.covariance_
        self.precision_ = mcd.get_precision()
        self.threshold_ = float(self.threshold) if self.threshold is not None else float(
            chi2.ppf(0.975, d))

    def score(self, values: Any) -> np.ndarray:
        """Squared Mahalanobis distances from ``location_`` (``NaN`` rows give ``NaN``)."""
        self._check_fitted()
        x = self._as_values(values)
        diff = x - self.location_
        with np.errstate(invalid="ignore"):
            d2 = np.einsum("ij,jk,ik->i", diff, self.precision_, diff)
        d2[np.isinf(x).any(axis=1) & ~np.isnan(x).any(axis=1)] = np.inf
        return d2

    def _predict_values(self, x: np.ndarray) -> np.ndarray:
        return self.score(x) > self.threshold_


_CLASSIFIERS = {"percentile": PercentileClassifier, "mad": MADClassifier,
                "mcd": MCDClassifier}


def make_classifier(classifier: Any, *, decay: float = 0.95, seed: int = 0
                    ) -> _OutlierClassifier:
    """A classifier from a name (``"mad"``, ``"percentile"``, ``"mcd"``) or an instance.

    >>> make_classifier("mad", decay=0.9)
    MADClassifier(reservoir_size=10000, decay=0.9, refit_every=1, seed=0, threshold=3.0)
    """
    if isinstance(classifier, _OutlierClassifier):
        return classifier
    if isinstance(classifier, str) and classifier.lower() in _CLASSIFIERS:
        return _CLASSIFIERS[classifier.lower()](decay=decay, seed=seed)
    from dawn.errors import close_matches

    hint = close_matches(str(classifier), list(_CLASSIFIERS))
    raise ConfigError(f"unknown classifier {classifier!r}; use one of "
                      f"{sorted(_CLASSIFIERS)} or a PercentileClassifier / MADClassifier / "
                      f"MCDClassifier instance.{hint}")
