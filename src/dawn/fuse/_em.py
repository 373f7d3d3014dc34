"""The EM loop shared by one-coin, SLiMFast and GLAD over encoded categorical claims.

Model: object ``o``'s true value is uniform over the ``K`` values; a claim is right with
probability ``p`` (per source, or per claim for GLAD) and otherwise names one of the other
``K - 1`` values uniformly. A claim then adds ``logit(p) + log(K - 1)`` to its cell's
log-score (:func:`claim_weights`), and the posterior over an object's values is a softmax
(:func:`~dawn.fuse._kernels.cell_posteriors`). The M-step gets, per claim, the posterior
probability that it is right, ``q = P(T_o = claimed value)``. Objects whose truth is known
are clamped to it in every E-step. EM starts from majority vote and stops when the
log-likelihood per claim gains less than ``tol``.

>>> import numpy as np, pandas as pd
>>> from dawn.fuse._claims import encode_claims
>>> c = encode_claims(pd.DataFrame({"o": [0, 0, 0, 1, 1, 1], "s": list("abcabc"),
...                                 "v": [1, 1, 0, 0, 0, 1]}), "o", "s", "v", numeric=False)
>>> fit = run_em(c, lambda q: np.bincount(c.src, q, c.n_sources) / 2 * 0.98 + 0.01)
>>> fit.accuracy.round(2).tolist()
[0.99, 0.99, 0.01]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dawn.fuse._claims import Claims
from dawn.fuse._kernels import cell_posteriors

__all__ = ["CategoricalFit", "claim_weights", "clamp", "majority_posteriors", "run_em"]

ACC_CLIP = (1e-3, 1 - 1e-3)


@dataclass
class CategoricalFit:
    """What a categorical method returns: posteriors of the cells, each object's unclaimed
    mass, each source's accuracy, and fit details."""

    post: np.ndarray
    rest: np.ndarray
    accuracy: np.ndarray
    info: dict = field(default_factory=dict)


def claim_weights(p: np.ndarray, k: int) -> np.ndarray:
    """Log-score a claim adds to its value: ``logit(p) + log(K - 1)``."""
    p = np.clip(p, *ACC_CLIP)
    return np.log(p) - np.log1p(-p) + np.log(max(k - 1, 1))


def unclaimed(c: Claims) -> np.ndarray:
    return np.maximum(c.n_values - np.diff(c.obj_ptr), 0).astype(np.float64)


def clamp(c: Claims, post: np.ndarray, rest: np.ndarray, known) -> None:
    """Set known objects' posteriors to their truth in place (``known``: obj, value codes)."""
    if known is None:
        return
    obj, val = known
    labelled = np.zeros(c.n_objects, bool)
    labelled[obj] = True
    target = np.full(c.n_objects, -1)
    target[obj] = val
    cells = labelled[c.cell_obj]
    post[cells] = (c.cell_val[cells] == target[c.cell_obj[cells]]).astype(np.float64)
    hit = np.zeros(c.n_objects)
    np.add.at(hit, c.cell_obj, np.where(cells, post, 0.0))
    rest[labelled] = 1.0 - hit[labelled]


def majority_posteriors(c: Claims) -> tuple[np.ndarray, np.ndarray]:
    """Vote shares of each object's claimed values (no unclaimed mass)."""
    counts = np.bincount(c.claim_cell, minlength=c.n_cells).astype(np.float64)
    return counts / c.claims_per_object[c.cell_obj], np.zeros(c.n_objects)


def run_em(c: Claims, m_step: Callable[[np.ndarray], np.ndarray], *, known=None,
           weights: Callable[[np.ndarray], np.ndarray] | None = None, max_iter: int = 100,
           tol: float = 1e-7) -> CategoricalFit:
    """EM from majority vote. ``m_step(q)`` maps per-claim correctness posteriors to the
    parameters; ``weights(params)`` maps those to per-claim log-score weights (default:
    per-source accuracies through :func:`claim_weights`)."""
    if weights is None:
        def weights(acc):
            return claim_weights(acc, c.n_values)[c.src]
    free = unclaimed(c)
    post, rest = majority_posteriors(c)
    clamp(c, post, rest, known)
    ll, converged, n_iter = -np.inf, False, 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        params = m_step(post[c.claim_cell])
        w = weights(params)
        score = np.bincount(c.claim_cell, weights=w, minlength=c.n_cells)
        post, rest, new_ll = cell_posteriors(c.cell_obj, score, c.obj_ptr, free)
        clamp(c, post, rest, known)
        gain, ll = (new_ll - ll) / max(c.n_claims, 1), new_ll
        if abs(gain) < tol:
            converged = True
            break
    return CategoricalFit(post, rest, params, {"n_iter": n_iter, "converged": converged})
