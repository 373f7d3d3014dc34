"""One-coin Dawid–Skene: one accuracy per source, errors spread evenly over other values.

The M-step is the share of a source's claims that are right, shrunk towards the pooled
accuracy with ``prior_strength`` pseudo-claims, so a source with one claim gets a sensible
accuracy rather than 0 or 1: ``a_s = (Σ q + α ā) / (n_s + α)``.

>>> from dawn.fuse.synthetic import synthetic_claims
>>> from dawn.fuse._claims import encode_claims
>>> d = synthetic_claims(500, 10, n_values=3, claims_per_source=300, accuracy=0.8, seed=0)
>>> c = encode_claims(d.claims, "object", "source", "value", numeric=False)
>>> fit = fit_one_coin(c)
>>> bool(abs(fit.accuracy - 0.8).max() < 0.05)
True
"""

from __future__ import annotations

import numpy as np

from dawn.fuse._claims import Claims
from dawn.fuse._em import ACC_CLIP, CategoricalFit, run_em

__all__ = ["fit_one_coin", "shrunk_accuracy"]


def shrunk_accuracy(correct: np.ndarray, n: np.ndarray, strength: float) -> np.ndarray:
    """``(correct + α ā) / (n + α)`` with ``ā`` the pooled accuracy, clipped away from 0, 1."""
    pooled = correct.sum() / max(n.sum(), 1e-12)
    return np.clip((correct + strength * pooled) / (n + strength), *ACC_CLIP)


def fit_one_coin(c: Claims, known=None, *, prior_strength: float = 2.0,
                 max_iter: int = 100, tol: float = 1e-7) -> CategoricalFit:
    """One-coin EM (see the module docstring)."""
    n = c.claims_per_source.astype(np.float64)

    def m_step(q):
        return shrunk_accuracy(np.bincount(c.src, weights=q, minlength=c.n_sources), n,
                               prior_strength)

    return run_em(c, m_step, known=known, max_iter=max_iter, tol=tol)
