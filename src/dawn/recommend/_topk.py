"""Top-k selection over score rows, leaving out seen or filtered items.

:func:`top_k` takes a dense ``(n, n_items)`` score matrix and returns, per row, the ``k``
best items in decreasing score (ties broken by the smaller item index) with their scores.
Items in ``exclude`` (a CSR matrix of the same shape, e.g. the users' histories) and items
not in ``allowed`` never appear; a row with fewer than ``k`` eligible items is padded with
item ``-1`` and score ``-inf``. Non-finite scores (NaN, ±inf) count as not eligible.
Selection is a partition then a sort of the ``k`` winners: ``O(n_items + k log k)`` per
row.

>>> import scipy.sparse as sp
>>> scores = np.array([[0.1, 0.9, 0.5, 0.7]], dtype=np.float32)
>>> seen = sp.csr_matrix(np.array([[0, 1, 0, 0]]))
>>> items, best = top_k(scores, 2, exclude=seen)
>>> items.tolist(), best.tolist()
([[3, 2]], [[0.699999988079071, 0.5]])
>>> top_k(scores, 3, allowed=np.array([0, 2]))[0].tolist()
[[2, 0, -1]]
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dawn.errors import ConfigError, DataError

__all__ = ["top_k"]


def top_k(
    scores: np.ndarray,
    k: int,
    exclude: sp.spmatrix | sp.sparray | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best items of each row of ``scores``.

    Parameters
    ----------
    scores : ndarray (n, n_items)
        Scores; higher is better. A 1-d array is one row.
    k : int
        How many items per row (``>= 0``).
    exclude : sparse matrix (n, n_items), optional
        Items to leave out per row: every stored entry (whatever its value) is excluded.
    allowed : ndarray, optional
        The only items that may appear: item indices (1-d int), a boolean mask over items
        (1-d, ``n_items``) or a boolean mask per row (``(n, n_items)``).

    Returns
    -------
    items : ndarray (n, k) int64
        Item indices, best first; ``-1`` where a row has fewer than ``k`` eligible items.
    best : ndarray (n, k) float32
        Their scores; ``-inf`` at the padding.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ConfigError(f"k must be a non-negative integer, got {k!r}.")
    s = np.array(scores, dtype=np.float32, copy=True, ndmin=2)
    if s.ndim != 2:
        raise DataError(f"scores must be a 2-d array (rows × items), got shape {s.shape}.")
    n, n_items = s.shape
    s[~np.isfinite(s)] = -np.inf
    if exclude is not None:
        ex = sp.csr_matrix(exclude)
        if ex.shape != s.shape:
            raise DataError(f"exclude has shape {ex.shape} but scores have shape {s.shape}; "
                            "pass one row of excluded items per score row.")
        rows = np.repeat(np.arange(n), np.diff(ex.indptr))
        s[rows, ex.indices] = -np.inf
    if allowed is not None:
        s = _apply_allowed(s, np.asarray(allowed))
    kk = min(int(k), n_items)
    if kk == 0:
        return np.full((n, k), -1, np.int64), np.full((n, k), -np.inf, np.float32)
    if kk < n_items:
        cand = _select(s, kk)
    else:
        cand = np.broadcast_to(np.arange(n_items), (n, n_items))
    cand_s = np.take_along_axis(s, cand, axis=1)
    order = np.lexsort((cand, -cand_s), axis=-1)
    items = np.take_along_axis(cand, order, axis=1).astype(np.int64)
    best = np.take_along_axis(cand_s, order, axis=1)
    items[~np.isfinite(best)] = -1
    if kk < k:
        items = np.hstack([items, np.full((n, k - kk), -1, np.int64)])
        best = np.hstack([best, np.full((n, k - kk), -np.inf, np.float32)])
    return items, best


def _select(s: np.ndarray, k: int) -> np.ndarray:
    """Per row, the indices of the ``k`` largest scores, ties at the cut to smaller indices."""
    n = s.shape[0]
    kth = -np.partition(-s, k - 1, axis=1)[:, k - 1:k]      # the k-th largest score
    above = s > kth
    at = s == kth
    room = k - above.sum(axis=1, keepdims=True)
    chosen = above | (at & (np.cumsum(at, axis=1) <= room))
    return np.nonzero(chosen)[1].reshape(n, k)


def _apply_allowed(s: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    n, n_items = s.shape
    if allowed.dtype == bool:
        if allowed.shape not in ((n_items,), (n, n_items)):
            raise DataError(f"a boolean allowed mask must have shape ({n_items},) or "
                            f"({n}, {n_items}), got {allowed.shape}.")
        return np.where(allowed, s, np.float32(-np.inf))
    if allowed.ndim != 1 or (allowed.size and not np.issubdtype(allowed.dtype, np.integer)):
        raise DataError("allowed must be item indices (1-d integers) or a boolean mask, got "
                        f"dtype {allowed.dtype} with shape {allowed.shape}.")
    if allowed.size and (allowed.min() < 0 or allowed.max() >= n_items):
        bad = allowed[(allowed < 0) | (allowed >= n_items)][0]
        raise DataError(f"allowed item index {int(bad)} is outside 0..{n_items - 1}.")
    mask = np.zeros(n_items, bool)
    mask[allowed] = True
    return np.where(mask, s, np.float32(-np.inf))
