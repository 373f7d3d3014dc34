"""GLAD (Whitehill et al., 2009): source expertise × object difficulty.

A claim by source ``s`` on object ``o`` is right with probability ``σ(α_s β_o)``: ``α_s``
the source's expertise, ``β_o > 0`` the object's easiness (``log β_o`` has a standard
normal prior, ``α_s`` a normal prior of precision ``l2`` around the pooled expertise). The
M-step runs a few L-BFGS steps on the expected log-likelihood (gradients by ``bincount``
over claims, no per-claim loop). A source's reported accuracy is the mean of
``σ(α_s β_o)`` over its claims.

>>> from dawn.fuse.synthetic import synthetic_claims
>>> from dawn.fuse._claims import encode_claims
>>> d = synthetic_claims(600, 10, n_values=2, claims_per_source=400, accuracy=0.8, seed=2)
>>> fit = fit_glad(encode_claims(d.claims, "object", "source", "value", numeric=False))
>>> bool(abs(fit.accuracy - 0.8).max() < 0.06)
True
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from dawn.fuse._claims import Claims
from dawn.fuse._em import ACC_CLIP, CategoricalFit, majority_posteriors, run_em

__all__ = ["fit_glad"]


def fit_glad(c: Claims, known=None, *, l2: float = 0.5, max_iter: int = 100,
             tol: float = 1e-7, inner_iter: int = 10) -> CategoricalFit:
    """GLAD by EM (see the module docstring)."""
    m, n = c.n_sources, c.n_objects
    post0, _ = majority_posteriors(c)
    agree = np.bincount(c.src, post0[c.claim_cell], m).sum() / c.n_claims
    alpha0 = float(np.log(np.clip(agree, 0.55, 0.95) / (1 - np.clip(agree, 0.55, 0.95))))
    state = {"params": np.concatenate([np.full(m, alpha0), np.zeros(n)])}
    log_k1 = np.log(max(c.n_values - 1, 1))

    def z_of(params):
        return params[:m][c.src] * np.exp(params[m:])[c.obj]

    def m_step(q):
        def loss(params):
            alpha, beta = params[:m], np.exp(params[m:])
            z = alpha[c.src] * beta[c.obj]
            nll = (np.logaddexp(0.0, z) - q * z).sum()
            g = 1.0 / (1.0 + np.exp(-z)) - q
            ga = np.bincount(c.src, g * beta[c.obj], m) + l2 * (alpha - alpha0)
            gb = np.bincount(c.obj, g * z, n) + params[m:]
            pen = 0.5 * l2 * ((alpha - alpha0) ** 2).sum() + 0.5 * (params[m:] ** 2).sum()
            return nll + pen, np.concatenate([ga, gb])

        state["params"] = minimize(loss, state["params"], jac=True, method="L-BFGS-B",
                                   options={"maxiter": inner_iter}).x
        return state["params"]

    fit = run_em(c, m_step, known=known, weights=lambda p: z_of(p) + log_k1,
                 max_iter=max_iter, tol=tol)
    p = np.clip(1.0 / (1.0 + np.exp(-z_of(fit.accuracy))), *ACC_CLIP)
    params = fit.accuracy
    fit.accuracy = np.bincount(c.src, p, m) / np.maximum(c.claims_per_source, 1)
    fit.info.update(expertise=params[:m], difficulty=np.exp(-params[m:]))
    return fit
