"""SLiMFast: source accuracy as a logistic function of source features.

Each source's accuracy is ``a_s = σ(x_s · θ + b_s)``: ``x_s`` its standardised features
(numbers as they are, other columns one-hot) with an intercept, ``θ`` shared by all
sources and ``b_s`` a source's own offset, shrunk to 0 by an L2 penalty (``source_l2``),
so a source with a handful of claims takes the accuracy its features predict while a
dense source can depart from it. Given, per source, the expected number of right claims
``r_s`` out of ``n_s``, the parameters maximise the binomial log-likelihood
``Σ_s r_s log a_s + (n_s − r_s) log(1 − a_s)`` minus ``l2/2 |θ|² + source_l2/2 |b|²``
(L-BFGS, warm started).

Two learners (SLiMFast's): **EM** takes ``r_s`` from the posteriors (no truth needed;
known objects are clamped) and alternates; **ERM** takes ``r_s`` from the claims on
objects whose truth is given and fits once, then fuses every object with those
accuracies. ERM is chosen when truth covers enough objects (``erm_share``) and claims
(20 per parameter), else EM.

>>> from dawn.fuse.synthetic import synthetic_claims
>>> from dawn.fuse._claims import encode_claims
>>> d = synthetic_claims(300, 300, n_features=3, claims_per_source=5.0, seed=0)
>>> c = encode_claims(d.claims, "object", "source", "value", numeric=False)
>>> fit = fit_slimfast(c, source_design(d.features, c.sources))
>>> bool(abs(fit.accuracy - d.accuracy.reindex(c.sources)).mean() < 0.05)
True
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from dawn.errors import DataError, DawnWarning, SchemaError
from dawn.fuse._claims import Claims
from dawn.fuse._em import ACC_CLIP, CategoricalFit, run_em

__all__ = ["LogisticAccuracy", "fit_slimfast", "source_design"]

ERM_CLAIMS_PER_PARAM = 20


def source_design(features, sources: pd.Index) -> np.ndarray:
    """``(n_sources, d)`` standardised feature matrix aligned to ``sources`` (no intercept).

    Sources without a row get the average source (zeros) and a :class:`DawnWarning`.
    """
    if not isinstance(features, pd.DataFrame):
        raise SchemaError("source_features must be a pandas DataFrame indexed by source; got "
                          f"{type(features).__name__}.")
    hit = sources.isin(features.index)
    if not hit.any():
        raise DataError("source_features shares no source with the claims (its index should "
                        f"hold source ids such as {str(sources[0])!r}); set its index to the "
                        "source column, e.g. features.set_index('source').")
    if features.index.has_duplicates:
        raise DataError("source_features has several rows for one source; keep one each.")
    if not hit.all():
        warnings.warn(f"{int((~hit).sum())} sources have no row in source_features; they "
                      "are treated as an average source.", DawnWarning, stacklevel=3)
    f = features.reindex(sources)
    numeric = [col for col in f.columns if pd.api.types.is_numeric_dtype(f[col])
               and not pd.api.types.is_bool_dtype(f[col])]
    other = [col for col in f.columns if col not in numeric]
    parts = [f[numeric].astype(np.float64)]
    if other:
        parts.append(pd.get_dummies(f[other].astype(object), dtype=np.float64))
    X = pd.concat(parts, axis=1).to_numpy(dtype=np.float64) if parts else np.zeros((len(f), 0))
    mu = np.nanmean(np.where(hit[:, None], X, np.nan), axis=0) if X.size else np.zeros(0)
    X = np.where(np.isnan(X), mu, X) - mu
    sd = X[hit].std(axis=0) if X.size else np.zeros(0)
    keep = sd > 1e-12
    return X[:, keep] / sd[keep]


class LogisticAccuracy:
    """Penalised binomial logistic model of accuracy (see the module docstring)."""

    def __init__(self, X: np.ndarray, l2: float = 1.0, source_l2: float = 5.0) -> None:
        self.X = np.column_stack([np.ones(len(X)), X])
        self.l2, self.source_l2 = l2, source_l2
        self.d = self.X.shape[1]
        self.params = np.zeros(self.d + (len(X) if source_l2 > 0 else 0))

    def _z(self, params):
        z = self.X @ params[:self.d]
        return z + params[self.d:] if self.source_l2 > 0 else z

    def fit(self, right: np.ndarray, n: np.ndarray) -> np.ndarray:
        def loss(params):
            z = self._z(params)
            nll = (n * np.logaddexp(0.0, z) - right * z).sum()
            g = n / (1.0 + np.exp(-z)) - right
            theta, b = params[1:self.d], params[self.d:]
            pen = 0.5 * self.l2 * theta @ theta + 0.5 * self.source_l2 * b @ b
            grad = np.concatenate([self.X.T @ g, g]) if self.source_l2 > 0 else self.X.T @ g
            grad[1:self.d] += self.l2 * theta
            grad[self.d:] += self.source_l2 * b
            return nll + pen, grad

        self.params = minimize(loss, self.params, jac=True, method="L-BFGS-B",
                               options={"maxiter": 200}).x
        return self.accuracy()

    def accuracy(self) -> np.ndarray:
        return np.clip(1.0 / (1.0 + np.exp(-self._z(self.params))), *ACC_CLIP)


def fit_slimfast(c: Claims, X: np.ndarray, known=None, *, learner: str = "em",
                 l2: float = 1.0, source_l2: float = 5.0, max_iter: int = 100,
                 tol: float = 1e-7) -> CategoricalFit:
    """SLiMFast by EM or ERM (see the module docstring); ``X`` from :func:`source_design`."""
    model = LogisticAccuracy(X, l2, source_l2)
    n = c.claims_per_source.astype(np.float64)
    if learner == "erm":
        obj, val = known
        target = np.full(c.n_objects, -1)
        target[obj] = val
        labelled = target[c.obj] >= 0
        right = np.bincount(c.src, weights=(c.val == target[c.obj]) & labelled,
                            minlength=c.n_sources)
        seen = np.bincount(c.src, weights=labelled, minlength=c.n_sources)
        acc = model.fit(right, seen)
        fit = run_em(c, lambda q: acc, known=known, max_iter=1)
        fit.info.update(learner="erm", n_iter=1, converged=True)
        return fit

    def m_step(q):
        return model.fit(np.bincount(c.src, weights=q, minlength=c.n_sources), n)

    fit = run_em(c, m_step, known=known, max_iter=max_iter, tol=tol)
    fit.info["learner"] = "em"
    fit.info["theta"] = model.params[:model.d]
    return fit
