"""Scoring kernels for boosted trees stored as flat node arrays.

A forest is a handful of parallel arrays over all nodes of all trees (``feature``,
``threshold``, ``left``, ``right``, ``value``, ``is_leaf``, ``missing_left``; child indices
are global), the root of each tree (``roots``) and the raw-score column each tree adds to
(``tree_out``). A row goes left at a split when ``x[feature] <= threshold``, or when the
value is NaN and ``missing_left`` is set — scikit-learn's ``HistGradientBoosting`` rule.

:func:`raw_scores` walks blocks of rows through every tree, tree by tree inside a block
(blocks split over numba threads; each row's sum runs in tree order, so the result does
not depend on the thread count). :func:`check_forest` validates arrays loaded from disk.
:func:`raw_scores_reference` is the numpy reference, one vectorised descent per tree.

>>> import numpy as np
>>> forest = dict(feature=np.array([0, -1, -1]), threshold=np.array([0.5, 0., 0.]),
...               left=np.array([1, -1, -1]), right=np.array([2, -1, -1]),
...               value=np.array([0., -1., 2.]), is_leaf=np.array([0, 1, 1], np.uint8),
...               missing_left=np.array([1, 0, 0], np.uint8), roots=np.array([0]),
...               tree_out=np.array([0]))
>>> X = np.array([[0.0], [1.0], [np.nan]])
>>> raw_scores(X, baseline=np.array([0.5]), **forest).ravel().tolist()
[-0.5, 2.5, -0.5]
>>> raw_scores_reference(X, baseline=np.array([0.5]), **forest).ravel().tolist()
[-0.5, 2.5, -0.5]
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["check_forest", "raw_scores", "raw_scores_reference"]


_BLOCK = 2048  # rows per block: a block's X rows stay in cache while all trees walk them


@njit(cache=True, parallel=True)
def _raw_scores_kernel(X, baseline, feature, threshold, left, right, value, is_leaf,
                       missing_left, roots, tree_out, out):  # pragma: no cover - numba
    n = X.shape[0]
    n_out = baseline.shape[0]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(n_blocks):
        start = b * _BLOCK
        stop = min(n, start + _BLOCK)
        for i in range(start, stop):
            for c in range(n_out):
                out[i, c] = baseline[c]
        for t in range(roots.shape[0]):  # tree-major inside the block: one tree stays hot
            col = tree_out[t]
            root = roots[t]
            for i in range(start, stop):
                node = root
                while not is_leaf[node]:
                    x = X[i, feature[node]]
                    if np.isnan(x):
                        node = left[node] if missing_left[node] else right[node]
                    elif x <= threshold[node]:
                        node = left[node]
                    else:
                        node = right[node]
                out[i, col] += value[node]
    return out


def check_forest(*, left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray,
                 roots: np.ndarray, **_: object) -> np.ndarray:
    """Each tree's depth; raises :class:`~dawn.errors.SchemaError` unless the arrays are trees.

    Checks every child and root index is inside the node arrays and that no descent is
    longer than the node count (a cycle would make the kernel loop for ever).
    """
    from dawn.errors import SchemaError

    leaf = np.asarray(is_leaf).astype(bool)
    n = len(leaf)
    left = np.asarray(left, np.int64)
    right = np.asarray(right, np.int64)
    roots = np.asarray(roots, np.int64)
    kids = np.concatenate([left[~leaf], right[~leaf], roots])
    if ((kids < 0) | (kids >= n)).any():
        raise SchemaError("tree arrays hold a child or root index outside the node arrays; "
                          "the model is damaged")
    depth = np.zeros(len(roots), dtype=np.int64)
    frontier, tree = roots, np.arange(len(roots))
    for level in range(n + 1):
        inner = ~leaf[frontier]
        if not inner.any():
            return depth
        frontier, tree = frontier[inner], tree[inner]
        depth[tree] = level + 1
        frontier = np.concatenate([left[frontier], right[frontier]])
        tree = np.concatenate([tree, tree])
    raise SchemaError("tree arrays contain a cycle; the model is damaged")


def raw_scores(X: np.ndarray, *, baseline: np.ndarray, feature: np.ndarray,
               threshold: np.ndarray, left: np.ndarray, right: np.ndarray, value: np.ndarray,
               is_leaf: np.ndarray, missing_left: np.ndarray, roots: np.ndarray,
               tree_out: np.ndarray) -> np.ndarray:
    """Raw (pre-link) scores ``(n, len(baseline))``: baseline plus the leaf of every tree.

    ``X`` is a dense float32/float64 array, used without a copy when C-contiguous. The
    forest must be valid (:func:`check_forest`); the kernel does not check indices.
    """
    X = np.ascontiguousarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    out = np.empty((X.shape[0], len(baseline)), dtype=np.float64)
    i64 = np.int64
    return _raw_scores_kernel(
        X, np.ascontiguousarray(baseline, np.float64), np.ascontiguousarray(feature, i64),
        np.ascontiguousarray(threshold, np.float64), np.ascontiguousarray(left, i64),
        np.ascontiguousarray(right, i64), np.ascontiguousarray(value, np.float64),
        np.ascontiguousarray(is_leaf, np.uint8), np.ascontiguousarray(missing_left, np.uint8),
        np.ascontiguousarray(roots, i64), np.ascontiguousarray(tree_out, i64), out)


def raw_scores_reference(X: np.ndarray, *, baseline: np.ndarray, feature: np.ndarray,
                         threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
                         value: np.ndarray, is_leaf: np.ndarray, missing_left: np.ndarray,
                         roots: np.ndarray, tree_out: np.ndarray) -> np.ndarray:
    """Plain numpy reference of :func:`raw_scores` (one vectorised descent per tree)."""
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    out = np.tile(np.asarray(baseline, np.float64), (n, 1))
    rows = np.arange(n)
    is_leaf = np.asarray(is_leaf).astype(bool)
    missing_left = np.asarray(missing_left).astype(bool)
    for root, col in zip(roots, tree_out, strict=True):
        node = np.full(n, root, dtype=np.int64)
        active = ~is_leaf[node]
        while active.any():
            a_rows, a_node = rows[active], node[active]
            x = X[a_rows, feature[a_node]]
            go_left = np.where(np.isnan(x), missing_left[a_node], x <= threshold[a_node])
            node[active] = np.where(go_left, left[a_node], right[a_node])
            active = ~is_leaf[node]
        out[:, col] += value[node]
    return out
