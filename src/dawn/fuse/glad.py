"""GLAD (Whitehill et al., 2009): source expertise × object difficulty.

A claim by source ``s`` on object ``o`` is right with probability ``σ(α_s β_o)``: ``α_s``
the source's expertise, ``β_o > 0`` the object's easiness (``log β_o`` has a standard
normal prior, ``α_s`` a normal prior of precision ``l2`` around the pooled expertise). The
M-step is generalised: ``inner_iter`` damped Newton steps on the expected log-likelihood,
alternating the sources' ``α`` and the objects' ``log β`` — given the other block each
parameter is its own one-dimensional problem, so a step is a few ``bincount`` passes over
the claims (no per-claim loop, no line search); EM stops when the log-likelihood per claim
gains less than ``tol``. Cost: about ten passes over the claims per EM iteration, so
roughly 3–5× one-coin EM; ``Fusion(method="auto")`` never picks GLAD. A source's reported
accuracy is the mean of ``σ(α_s β_o)`` over its claims.

>>> from dawn.fuse.synthetic import synthetic_claims
>>> from dawn.fuse._claims import encode_claims
>>> d = synthetic_claims(600, 10, n_values=2, claims_per_source=400, accuracy=0.8, seed=2)
>>> fit = fit_glad(encode_claims(d.claims, "object", "source", "value", numeric=False))
>>> bool(abs(fit.accuracy - 0.8).max() < 0.06)
True
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from dawn.fuse._claims import Claims
from dawn.fuse._em import ACC_CLIP, CategoricalFit, majority_posteriors, run_em

__all__ = ["fit_glad"]

MAX_STEP = 1.0  # largest Newton step on one α or log β per inner iteration
MAX_LOG_BETA = 5.0  # |log β| bound: easiness within e^±5


def fit_glad(c: Claims, known=None, *, l2: float = 0.5, max_iter: int = 100,
             tol: float = 1e-6, inner_iter: int = 2) -> CategoricalFit:
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
        # Generalised EM: ``inner_iter`` damped Newton steps per block (α given β, then
        # log β given α), each a few bincounts over the claims (diagonal Hessians: every α_s
        # and every β_o is its own one-dimensional problem given the other block).
        params = state["params"].copy()
        alpha, u = params[:m], params[m:]
        for _ in range(inner_iter):
            beta = np.exp(u)[c.obj]
            p = expit(alpha[c.src] * beta)
            g = np.bincount(c.src, (p - q) * beta, m) + l2 * (alpha - alpha0)
            h = np.bincount(c.src, p * (1.0 - p) * beta ** 2, m) + l2
            alpha = alpha - np.clip(g / h, -MAX_STEP, MAX_STEP)
            z = alpha[c.src] * beta
            p = expit(z)
            g = np.bincount(c.obj, (p - q) * z, n) + u
            h = np.bincount(c.obj, p * (1.0 - p) * z ** 2, n) + 1.0
            u = np.clip(u - np.clip(g / h, -MAX_STEP, MAX_STEP), -MAX_LOG_BETA, MAX_LOG_BETA)
        state["params"] = np.concatenate([alpha, u])
        return state["params"]

    fit = run_em(c, m_step, known=known, weights=lambda p: z_of(p) + log_k1,
                 max_iter=max_iter, tol=tol)
    p = np.clip(expit(z_of(fit.accuracy)), *ACC_CLIP)
    params = fit.accuracy
    fit.accuracy = np.bincount(c.src, p, m) / np.maximum(c.claims_per_source, 1)
    fit.info.update(expertise=params[:m], difficulty=np.exp(-params[m:]))
    return fit
