"""Vectorised per-object operations over claims sorted into segments (numpy, no loops).

Cells (distinct claimed ``(object, value)`` pairs) are sorted by object, so object ``o``'s
cells are ``ptr[o]:ptr[o + 1]``. :func:`cell_posteriors` is the E-step every one-coin style
method shares: each claim adds its weight to its cell's log-score, and the object's
posterior is a softmax over its cells *and* the ``unclaimed[o]`` values nobody claimed
(log-score 0). :func:`segment_argmax` picks one cell per object, ties broken by a seeded
random priority. :func:`weighted_median` is the lower weighted median of each object's
numeric claims. Each has a plain loop reference (``*_reference``) that tests compare with.

>>> import numpy as np
>>> post, rest, ll = cell_posteriors(np.array([0, 0, 1]), np.array([1.0, 0.0, 2.0]),
...                                  np.array([0, 2, 3]), np.array([0, 1]))
>>> post.round(3).tolist(), rest.round(3).tolist()
([0.731, 0.269, 0.881], [0.0, 0.119])
>>> weighted_median(np.array([0, 0, 0]), np.array([1.0, 5.0, 2.0]), np.array([1.0, 1.0, 3.0]),
...                 1).tolist()
[2.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["cell_posteriors", "cell_posteriors_reference", "segment_argmax",
           "segment_argmax_reference", "weighted_median", "weighted_median_reference"]


def cell_posteriors(cell_obj: np.ndarray, score: np.ndarray, ptr: np.ndarray,
                    unclaimed: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Softmax of ``score`` within each object, with ``unclaimed[o]`` extra values of score 0.

    Returns the cells' posteriors, each object's unclaimed mass and ``Σ_o log Σ exp``.
    """
    starts = ptr[:-1]
    mx = np.maximum.reduceat(score, starts)
    mx = np.where(unclaimed > 0, np.maximum(mx, 0.0), mx)
    e = np.exp(score - mx[cell_obj])
    rest = unclaimed * np.exp(-mx)
    tot = np.add.reduceat(e, starts) + rest
    return e / tot[cell_obj], rest / tot, float((mx + np.log(tot)).sum())


def cell_posteriors_reference(cell_obj, score, ptr, unclaimed):
    """Loop reference of :func:`cell_posteriors`."""
    post = np.empty(len(score))
    rest = np.empty(len(ptr) - 1)
    ll = 0.0
    for o in range(len(ptr) - 1):
        s = np.concatenate([score[ptr[o]:ptr[o + 1]], np.zeros(1)])
        w = np.array([1.0] * (ptr[o + 1] - ptr[o]) + [float(unclaimed[o])])
        keep = w > 0
        mx = s[keep].max()
        e = w * np.exp(s - mx)
        post[ptr[o]:ptr[o + 1]] = e[:-1] / e.sum()
        rest[o] = e[-1] / e.sum()
        ll += mx + np.log(e.sum())
    return post, rest, ll


def segment_argmax(cell_obj: np.ndarray, values: np.ndarray, n_segments: int,
                   seed: int = 0, rtol: float = 1e-9) -> np.ndarray:
    """Index of the largest value in each segment; values within ``rtol`` of the maximum tie
    and one of them is chosen by a random priority drawn from ``seed``."""
    mx = np.full(n_segments, -np.inf)
    np.maximum.at(mx, cell_obj, values)
    top = values >= mx[cell_obj] - rtol * np.maximum(np.abs(mx[cell_obj]), 1.0)
    priority = np.random.default_rng(seed).random(len(values)) + top
    order = np.lexsort((priority, cell_obj))
    last = np.searchsorted(cell_obj[order], np.arange(n_segments), side="right") - 1
    return order[last]


def segment_argmax_reference(cell_obj, values, n_segments, seed=0, rtol=1e-9):
    """Loop reference of :func:`segment_argmax` (same priorities, so same ties)."""
    pr = np.random.default_rng(seed).random(len(values))
    out = np.empty(n_segments, np.int64)
    for o in range(n_segments):
        idx = np.flatnonzero(cell_obj == o)
        mx = values[idx].max()
        tied = idx[values[idx] >= mx - rtol * max(abs(mx), 1.0)]
        out[o] = tied[np.argmax(pr[tied])]
    return out


def weighted_median(obj: np.ndarray, x: np.ndarray, w: np.ndarray,
                    n_objects: int) -> np.ndarray:
    """Lower weighted median of each object's claims: the smallest claim at which the
    cumulative weight reaches half the object's total. Every object needs a claim."""
    order = np.lexsort((x, obj))
    o, xs, ws = obj[order], x[order], w[order]
    cum = np.cumsum(ws)
    ptr = np.searchsorted(o, np.arange(n_objects + 1))
    before = np.concatenate([[0.0], cum])[ptr[:-1]]
    total = cum[ptr[1:] - 1] - before
    reached = cum - before[o] >= 0.5 * total[o] * (1 - 1e-12)
    first = np.where(reached, np.arange(len(o)), len(o))
    at = np.minimum.reduceat(first, ptr[:-1])
    return xs[at]


def weighted_median_reference(obj, x, w, n_objects):
    """Loop reference of :func:`weighted_median`."""
    out = np.empty(n_objects)
    for i in range(n_objects):
        idx = np.flatnonzero(obj == i)
        order = idx[np.argsort(x[idx], kind="stable")]
        cum = np.cumsum(w[order])
        out[i] = x[order][np.argmax(cum >= 0.5 * cum[-1] * (1 - 1e-12))]
    return out
