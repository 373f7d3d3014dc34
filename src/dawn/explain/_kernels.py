"""Counting kernels for attribute combinations over dictionary-encoded rows.

An *item* is ``(attribute j, code v)``; a candidate pair is ``[i, ci, j, cj]`` with
``i < j``; a candidate triple is ``[i, ci, j, cj, k, ck]`` with ``i < j < k``, and its
prefix pair ``[i, ci, j, cj]`` must be among the candidate pairs (Apriori guarantees it).

:func:`count_itemsets` counts, in one pass over the rows, every item (dense, per
attribute), every candidate pair and every candidate triple — the row count of each and,
optionally, the sums of weight columns over its rows (the target's sum and sum of squares
for a mean shift). Pairs are found through a dense lookup table per attribute pair
(``K_i × K_j`` entries: code pair → candidate id), triples through a table per attribute
triple indexed by the prefix pair's position in its block and the third code, so a row
only looks at triples extending a candidate pair it contains. Blocks of rows run on numba
threads with private counts that are summed at the end (results do not depend on the
thread count). :func:`count_itemsets_reference` is the plain numpy reference (one boolean
mask per candidate).

>>> import numpy as np
>>> codes = np.array([[0, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=np.int8)
>>> card = np.array([2, 2, 2])
>>> pairs = np.array([[0, 0, 1, 1]])
>>> triples = np.array([[0, 0, 1, 1, 2, 1]])
>>> c1, c2, c3, *_ = count_itemsets(codes, card, pairs, triples)
>>> c1.tolist(), c2.tolist(), c3.tolist()
([2, 1, 1, 2, 1, 2], [2], [1])
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["count_itemsets", "count_itemsets_reference"]

_Counts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@njit(cache=True, parallel=True)
def _count_kernel(codes, weights, off1, card, base2, lut2, first2, base3, lut3,
                  n2, n3, n_blocks):  # pragma: no cover - numba
    n, m = codes.shape
    w = weights.shape[1]
    n1 = off1[m]
    c1 = np.zeros((n_blocks, n1), np.int64)
    c2 = np.zeros((n_blocks, n2), np.int64)
    c3 = np.zeros((n_blocks, n3), np.int64)
    s1 = np.zeros((n_blocks, n1, w))
    s2 = np.zeros((n_blocks, n2, w))
    s3 = np.zeros((n_blocks, n3, w))
    has2 = n2 > 0
    has3 = n3 > 0
    for b in prange(n_blocks):
        lo = b * n // n_blocks
        hi = (b + 1) * n // n_blocks
        for r in range(lo, hi):
            for j in range(m):
                it = off1[j] + codes[r, j]
                c1[b, it] += 1
                for q in range(w):
                    s1[b, it, q] += weights[r, q]
            if not has2:
                continue
            for i in range(m - 1):
                ci = np.int64(codes[r, i])
                for j in range(i + 1, m):
                    bs = base2[i, j]
                    if bs < 0:
                        continue
                    p = lut2[bs + ci * card[j] + codes[r, j]]
                    if p < 0:
                        continue
                    c2[b, p] += 1
                    for q in range(w):
                        s2[b, p, q] += weights[r, q]
                    if not has3:
                        continue
                    local = np.int64(p - first2[i, j])
                    for k in range(j + 1, m):
                        b3 = base3[i, j, k]
                        if b3 < 0:
                            continue
                        t = lut3[b3 + local * card[k] + codes[r, k]]
                        if t >= 0:
                            c3[b, t] += 1
                            for q in range(w):
                                s3[b, t, q] += weights[r, q]
    return c1, c2, c3, s1, s2, s3


def _as_candidates(arr: np.ndarray | None, width: int) -> np.ndarray:
    if arr is None:
        return np.zeros((0, width), np.int64)
    arr = np.asarray(arr, dtype=np.int64).reshape(-1, width)
    return arr


def count_itemsets(codes: np.ndarray, card: np.ndarray, pairs: np.ndarray | None = None,
                   triples: np.ndarray | None = None, weights: np.ndarray | None = None,
                   n_blocks: int | None = None) -> _Counts:
    """Count items, candidate pairs and candidate triples over the rows of ``codes``.

    Parameters
    ----------
    codes : (n, m) int8/int16 codes, each column ``j`` in ``0..card[j]-1``
    card : (m,) number of values of each attribute
    pairs : (n2, 4) candidate pairs ``[i, ci, j, cj]`` with ``i < j`` (or None)
    triples : (n3, 6) candidate triples ``[i, ci, j, cj, k, ck]`` with ``i < j < k``, each
        prefix pair among ``pairs`` (or None)
    weights : optional (n, w) float weights summed per itemset
    n_blocks : row blocks (default: numba's thread count, 1 for small inputs)

    Returns
    -------
    c1, c2, c3, s1, s2, s3
        Row counts of every item (``c1[off[j] + v]`` with ``off = cumsum([0, *card])``), of
        each pair and of each triple (in the given order), and the weight sums
        (``(len, w)`` arrays).
    """
    import numba

    codes = np.ascontiguousarray(codes)
    n, m = codes.shape
    card = np.asarray(card, dtype=np.int64)
    pairs = _as_candidates(pairs, 4)
    triples = _as_candidates(triples, 6)
    w = np.zeros((n, 0)) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    if w.ndim == 1:
        w = w.reshape(n, 1)
    off1 = np.concatenate([[0], np.cumsum(card)]).astype(np.int64)

    # pairs sorted by attribute pair so each block's ids are contiguous
    order2 = np.lexsort((pairs[:, 3], pairs[:, 1], pairs[:, 2], pairs[:, 0]))
    sp = pairs[order2]
    base2 = np.full((m, m), -1, np.int64)
    first2 = np.zeros((m, m), np.int64)
    sizes = []
    total = 0
    if len(sp):
        blocks, starts = np.unique(sp[:, [0, 2]], axis=0, return_index=True)
        for (i, j), s in zip(blocks, starts, strict=True):
            base2[i, j] = total
            first2[i, j] = s
            size = int(card[i] * card[j])
            sizes.append(size)
            total += size
    lut2 = np.full(total, -1, np.int64)
    if len(sp):
        lut2[base2[sp[:, 0], sp[:, 2]] + sp[:, 1] * card[sp[:, 2]] + sp[:, 3]] = np.arange(len(sp))

    base3 = np.full((m, m, m), -1, np.int64)
    lut3 = np.zeros(0, np.int64)
    order3 = np.lexsort((triples[:, 5], triples[:, 3], triples[:, 1], triples[:, 4],
                         triples[:, 2], triples[:, 0]))
    st = triples[order3]
    if len(st):
        # position of each triple's prefix pair in the sorted pair list
        key = lambda a: (a[:, 0] * m + a[:, 2]) * (1 << 40) + a[:, 1] * (1 << 20) + a[:, 3]  # noqa: E731
        pkeys = key(sp)
        tkeys = key(st[:, :4])
        pos = np.searchsorted(pkeys, tkeys)
        if (pos >= len(pkeys)).any() or (pkeys[np.minimum(pos, len(pkeys) - 1)] != tkeys).any():
            raise ValueError("every candidate triple's prefix pair [i, ci, j, cj] must be among "
                             "the candidate pairs.")
        blocks, starts = np.unique(st[:, [0, 2, 4]], axis=0, return_index=True)
        t_total = 0
        block_of = np.zeros(len(st), np.int64)
        for i, j, k in blocks:
            base3[i, j, k] = t_total
            n_pairs_ij = int(np.sum((sp[:, 0] == i) & (sp[:, 2] == j)))
            t_total += n_pairs_ij * int(card[k])
        block_of[starts] = 1
        block_of = np.cumsum(block_of) - 1
        lut3 = np.full(t_total, -1, np.int64)
        b3 = base3[blocks[block_of, 0], blocks[block_of, 1], blocks[block_of, 2]]
        local = pos - first2[st[:, 0], st[:, 2]]
        lut3[b3 + local * card[st[:, 4]] + st[:, 5]] = np.arange(len(st))
    from dawn.runtime.threads import PARALLEL_WORK, kernel_threads

    work = n * m
    if n_blocks is None:
        n_blocks = numba.get_num_threads() if work >= PARALLEL_WORK else 1
    n_blocks = max(1, min(int(n_blocks), max(1, n)))
    with kernel_threads(work=work if n_blocks > 1 else 0):
        c1, c2, c3, s1, s2, s3 = _count_kernel(codes, w, off1, card, base2, lut2, first2,
                                               base3, lut3, len(sp), len(st), n_blocks)
    c1, c2, c3 = c1.sum(0), c2.sum(0), c3.sum(0)
    s1, s2, s3 = s1.sum(0), s2.sum(0), s3.sum(0)
    inv2 = np.empty_like(order2)
    inv2[order2] = np.arange(len(order2))
    inv3 = np.empty_like(order3)
    inv3[order3] = np.arange(len(order3))
    return c1, c2[inv2], c3[inv3], s1, s2[inv2], s3[inv3]


def count_itemsets_reference(codes: np.ndarray, card: np.ndarray,
                             pairs: np.ndarray | None = None,
                             triples: np.ndarray | None = None,
                             weights: np.ndarray | None = None) -> _Counts:
    """Plain numpy reference of :func:`count_itemsets` (one mask per candidate)."""
    codes = np.asarray(codes).astype(np.int64)
    n, m = codes.shape
    card = np.asarray(card, dtype=np.int64)
    pairs = _as_candidates(pairs, 4)
    triples = _as_candidates(triples, 6)
    w = np.zeros((n, 0)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.ndim == 1:
        w = w.reshape(n, 1)
    masks1 = [codes[:, j] == v for j in range(m) for v in range(card[j])]
    masks2 = [(codes[:, i] == a) & (codes[:, j] == b) for i, a, j, b in pairs]
    masks3 = [(codes[:, i] == a) & (codes[:, j] == b) & (codes[:, k] == c)
              for i, a, j, b, k, c in triples]

    def tally(masks):
        c = np.array([mk.sum() for mk in masks], dtype=np.int64)
        s = np.array([w[mk].sum(0) for mk in masks]).reshape(len(masks), w.shape[1])
        return c, s

    (c1, s1), (c2, s2), (c3, s3) = tally(masks1), tally(masks2), tally(masks3)
    return c1, c2, c3, s1, s2, s3
