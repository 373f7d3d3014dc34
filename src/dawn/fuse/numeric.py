"""Numeric fusion: accuracy-weighted median.

What we chose, and why: a source's *accuracy* is the chance its claim lands within
``tolerance`` of the truth, and claims are modelled as ``x = t_o + e`` with Laplace errors
whose scale ``b_s = tolerance / −ln(1 − a_s)`` makes that chance ``a_s``. For fixed
accuracies the maximum-likelihood truth is the **weighted median** of an object's claims
with weights ``1 / b_s`` — robust to the gross errors real sources make (a weighted mean
is dragged by one wild claim). For a fixed truth a source's accuracy is estimated as the
share of its claims within ``tolerance`` of the fused value, shrunk towards the pooled
share with ``prior_strength`` pseudo-claims (``a_s = (k_s + α ā) / (n_s + α)``), and the
two alternate from the plain median. Counting claims near the truth, rather than averaging
absolute residuals, keeps the estimate bounded: the scales of bad sources are heavy
tailed, so a mean residual (and a prior built from it) is dominated by a few wild claims
and drags every sparse source's accuracy towards zero. Claims on objects with a single
claim (and no known truth) are left out — they match the fused value by construction and
say nothing — so one-claim sources get the pooled accuracy. With source features the
accuracies come from SLiMFast's logistic model of the features
(:class:`~dawn.fuse.slimfast.LogisticAccuracy`) fitted to the same counts, so sparse
sources borrow strength from similar ones. Objects with known truth are clamped to it.

``tolerance`` defaults to the median absolute difference between claims and the plain
median on multi-claim objects. An object's confidence is the weight share of its claims
within ``tolerance`` of the fused value.

>>> import numpy as np
>>> from dawn.fuse.synthetic import synthetic_claims
>>> from dawn.fuse._claims import encode_claims
>>> d = synthetic_claims(400, 8, claims_per_source=300, numeric=True, seed=0)
>>> c = encode_claims(d.claims, "object", "source", "value", numeric=True)
>>> fit = fit_numeric(c, tolerance=1.0)
>>> err = abs(fit.truth - d.truth.reindex(c.objects).to_numpy())
>>> bool(np.median(err) < 0.5)
True
>>> bool(abs(fit.accuracy - d.accuracy.reindex(c.sources)).max() < 0.1)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dawn.fuse._claims import Claims
from dawn.fuse._em import ACC_CLIP
from dawn.fuse._kernels import weighted_median
from dawn.fuse.one_coin import shrunk_accuracy

__all__ = ["NumericFit", "fit_numeric"]


@dataclass
class NumericFit:
    """Fused values, confidences, per-source scales and accuracies."""

    truth: np.ndarray
    confidence: np.ndarray
    scale: np.ndarray
    accuracy: np.ndarray
    tolerance: float
    info: dict = field(default_factory=dict)


def fit_numeric(c: Claims, X: np.ndarray | None = None, known=None, *,
                weighted: bool = True, tolerance: float | None = None,
                prior_strength: float = 2.0, l2: float = 1.0, source_l2: float = 5.0,
                max_iter: int = 50) -> NumericFit:
    """Weighted-median fusion (see the module docstring); ``weighted=False`` is the plain
    median with accuracies estimated once; ``X`` (from
    :func:`~dawn.fuse.slimfast.source_design`) turns on the logistic accuracy model."""
    n_obj, m = c.n_objects, c.n_sources
    informative = c.claims_per_object[c.obj] > 1
    truth = weighted_median(c.obj, c.val, np.ones(c.n_claims), n_obj)
    if known is not None:
        truth[known[0]] = known[1]
        is_known = np.zeros(n_obj, bool)
        is_known[known[0]] = True
        informative |= is_known[c.obj]
    n = np.bincount(c.src, informative, m).astype(np.float64)
    if tolerance is not None:
        tol = float(tolerance)
    else:
        resid = np.abs(c.val - truth[c.obj])[informative]
        tol = float(np.median(resid)) if len(resid) else 0.0
    tol = max(tol, 1e-12)
    model = None
    if X is not None:
        from dawn.fuse.slimfast import LogisticAccuracy
        model = LogisticAccuracy(X, l2, source_l2)
    converged, n_iter = False, 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        close = np.bincount(c.src, informative & (np.abs(c.val - truth[c.obj]) <= tol), m)
        accuracy = (model.fit(close, n) if model is not None
                    else shrunk_accuracy(close, n, prior_strength))
        if not weighted:
            break
        new = weighted_median(c.obj, c.val, -np.log1p(-accuracy)[c.src], n_obj)
        if known is not None:
            new[known[0]] = known[1]
        same = np.allclose(new, truth, rtol=0, atol=1e-12 * max(np.abs(truth).max(), 1.0))
        truth = new
        if same:
            converged = True
            break
    accuracy = np.clip(accuracy, *ACC_CLIP)
    w = -np.log1p(-accuracy)
    near = np.abs(c.val - truth[c.obj]) <= tol
    confidence = np.bincount(c.obj, w[c.src] * near, n_obj) / np.bincount(c.obj, w[c.src],
                                                                          n_obj)
    return NumericFit(truth, confidence, tol / w, accuracy, tol,
                      {"n_iter": n_iter, "converged": converged or not weighted})
