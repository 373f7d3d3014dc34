"""Distinct vote patterns of a label matrix, with their counts and the row → pattern map.

Label models that iterate (EM) only need each *distinct* row of votes once, weighted by
how often it occurs; with few LFs there are far fewer patterns than rows. One numba pass
hashes every row (in parallel), then a second pass inserts the hashes into an
open-addressing table, comparing the actual votes whenever two hashes meet, so a hash
collision can never merge two different patterns. Works on a dense ``(n, m)`` array or on
the CSR of ``label + 1`` inside a sparse :class:`~dawn.label.LabelMatrix` without
densifying it. Patterns are numbered in order of first occurrence and stored as a CSR of
``(lf, label)`` pairs (:class:`VotePatterns`).

:func:`vote_patterns_reference` is the plain numpy reference (``np.unique`` over rows).

>>> import numpy as np
>>> P = vote_patterns(np.array([[0, -1], [1, 1], [0, -1], [-1, -1]]))
>>> P.n_patterns, P.counts.tolist(), P.inverse.tolist()
(3, [2, 1, 1], [0, 1, 0, 2])
>>> P.to_dense().tolist()
[[0, -1], [1, 1], [-1, -1]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

__all__ = ["FitData", "VotePatterns", "fit_data", "vote_patterns", "vote_patterns_reference"]

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True)
class VotePatterns:
    """Distinct vote patterns as a CSR of ``(lf, label)`` pairs.

    Attributes
    ----------
    indptr : int64 (p + 1,) — pattern ``q``'s votes are ``indptr[q]:indptr[q + 1]``
    lfs : int32 (nnz,) — which LF cast each vote (increasing within a pattern)
    labels : int32 (nnz,) — the label voted, ``0..k-1``
    counts : int64 (p,) — how many rows have each pattern
    inverse : int64 (n,) — the pattern of each row
    n_lfs : number of LFs (columns)
    """

    indptr: np.ndarray
    lfs: np.ndarray
    labels: np.ndarray
    counts: np.ndarray
    inverse: np.ndarray
    n_lfs: int

    @property
    def n_patterns(self) -> int:
        return len(self.counts)

    @property
    def n_rows(self) -> int:
        return len(self.inverse)

    def votes_per_pattern(self) -> np.ndarray:
        """Number of non-abstain votes in each pattern."""
        return np.diff(self.indptr)

    def to_csr(self) -> sp.csr_matrix:
        """Patterns as a ``(p, m)`` CSR of ``label + 1`` (a LabelMatrix's sparse form)."""
        return sp.csr_matrix((self.labels + 1, self.lfs, self.indptr),
                             shape=(self.n_patterns, self.n_lfs))

    def to_dense(self) -> np.ndarray:
        """The ``(p, m)`` int array of patterns, ``-1`` = abstain."""
        out = np.full((self.n_patterns, self.n_lfs), -1, dtype=np.int64)
        rows = np.repeat(np.arange(self.n_patterns), self.votes_per_pattern())
        out[rows, self.lfs] = self.labels
        return out


# -- hashing ------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _mix(h, v):
    h ^= v + _GOLD + (h << np.uint64(6)) + (h >> np.uint64(2))
    return h


@njit(cache=True, inline="always")
def _finish(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, parallel=True)
def _hash_dense(L):
    n, m = L.shape
    out = np.empty(n, np.uint64)
    for i in prange(n):
        h = np.uint64(m)
        for j in range(m):
            h = _mix(h, np.uint64(L[i, j] + 1))
        out[i] = _finish(h)
    return out


@njit(cache=True, parallel=True)
def _hash_csr(indptr, indices, data):
    n = len(indptr) - 1
    out = np.empty(n, np.uint64)
    for i in prange(n):
        h = np.uint64(indptr[i + 1] - indptr[i])
        for t in range(indptr[i], indptr[i + 1]):
            h = _mix(h, np.uint64(indices[t]))
            h = _mix(h, np.uint64(data[t]))
        out[i] = _finish(h)
    return out


# -- dedupe (sequential: insertion order defines pattern numbers) -------------------------
@njit(cache=True, inline="always")
def _same_dense(L, a, b):
    for j in range(L.shape[1]):
        if L[a, j] != L[b, j]:
            return False
    return True


@njit(cache=True, inline="always")
def _same_csr(indptr, indices, data, a, b):
    la = indptr[a + 1] - indptr[a]
    if la != indptr[b + 1] - indptr[b]:
        return False
    oa, ob = indptr[a], indptr[b]
    for t in range(la):
        if indices[oa + t] != indices[ob + t] or data[oa + t] != data[ob + t]:
            return False
    return True


@njit(cache=True)
def _table_size(n):
    size = 16
    while size < 2 * n:
        size <<= 1
    return size


@njit(cache=True)
def _dedupe_dense(L, hashes):
    n = L.shape[0]
    size = _table_size(n)
    mask = np.uint64(size - 1)
    table = np.full(size, -1, np.int64)
    rep = np.empty(n, np.int64)
    counts = np.zeros(n, np.int64)
    inverse = np.empty(n, np.int64)
    p = 0
    for i in range(n):
        h = hashes[i]
        slot = h & mask
        while True:
            q = table[slot]
            if q < 0:
                table[slot] = p
                rep[p] = i
                counts[p] = 1
                inverse[i] = p
                p += 1
                break
            r = rep[q]
            if hashes[r] == h and _same_dense(L, r, i):
                counts[q] += 1
                inverse[i] = q
                break
            slot = (slot + np.uint64(1)) & mask
    return rep[:p], counts[:p], inverse


@njit(cache=True)
def _dedupe_csr(indptr, indices, data, hashes):
    n = len(indptr) - 1
    size = _table_size(n)
    mask = np.uint64(size - 1)
    table = np.full(size, -1, np.int64)
    rep = np.empty(n, np.int64)
    counts = np.zeros(n, np.int64)
    inverse = np.empty(n, np.int64)
    p = 0
    for i in range(n):
        h = hashes[i]
        slot = h & mask
        while True:
            q = table[slot]
            if q < 0:
                table[slot] = p
                rep[p] = i
                counts[p] = 1
                inverse[i] = p
                p += 1
                break
            r = rep[q]
            if hashes[r] == h and _same_csr(indptr, indices, data, r, i):
                counts[q] += 1
                inverse[i] = q
                break
            slot = (slot + np.uint64(1)) & mask
    return rep[:p], counts[:p], inverse


# -- the patterns' votes as a CSR --------------------------------------------------------
@njit(cache=True, parallel=True)
def _gather_dense(L, rep):
    p, m = len(rep), L.shape[1]
    indptr = np.zeros(p + 1, np.int64)
    for q in prange(p):
        c = 0
        for j in range(m):
            c += L[rep[q], j] >= 0
        indptr[q + 1] = c
    for q in range(p):
        indptr[q + 1] += indptr[q]
    spare = indptr[p]  # abstains are written here, so the loop below has no branch
    lfs = np.empty(spare + 1, np.int32)
    labels = np.empty(spare + 1, np.int32)
    for q in prange(p):
        t = indptr[q]
        for j in range(m):
            v = L[rep[q], j]
            dst = t if v >= 0 else spare
            lfs[dst] = j
            labels[dst] = v
            t += v >= 0
    return indptr, lfs[:-1], labels[:-1]


@njit(cache=True, parallel=True)
def _gather_csr(indptr, indices, data, rep):
    p = len(rep)
    out_ptr = np.zeros(p + 1, np.int64)
    for q in range(p):
        out_ptr[q + 1] = out_ptr[q] + indptr[rep[q] + 1] - indptr[rep[q]]
    lfs = np.empty(out_ptr[p], np.int32)
    labels = np.empty(out_ptr[p], np.int32)
    for q in prange(p):
        src, dst = indptr[rep[q]], out_ptr[q]
        for t in range(out_ptr[q + 1] - out_ptr[q]):
            lfs[dst + t] = indices[src + t]
            labels[dst + t] = data[src + t] - 1
    return out_ptr, lfs, labels


def _canonical_csr(csr: sp.csr_matrix) -> sp.csr_matrix:
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    return csr


def vote_source(L) -> np.ndarray | sp.csr_matrix:
    """The votes of ``L`` as they are stored: a canonical CSR of ``label + 1`` for sparse
    input (a sparse LabelMatrix or scipy matrix), else a dense int array (-1 = abstain)."""
    if hasattr(L, "is_sparse"):
        return _canonical_csr(L.votes_csr()) if L.is_sparse else np.asarray(L)
    if sp.issparse(L):
        return _canonical_csr(sp.csr_matrix(L))
    return np.asarray(L)


def vote_patterns(L) -> VotePatterns:
    """Distinct rows of ``L`` with counts and inverse (see the module docstring).

    Parameters
    ----------
    L : LabelMatrix, dense int array ``(n, m)`` with ``-1`` = abstain, or a scipy sparse
        matrix of ``label + 1``
    """
    src = vote_source(L)
    if sp.issparse(src):
        csr = src
        indptr = csr.indptr.astype(np.int64, copy=False)
        hashes = _hash_csr(indptr, csr.indices, csr.data)
        rep, counts, inverse = _dedupe_csr(indptr, csr.indices, csr.data, hashes)
        ptr, lfs, labels = _gather_csr(indptr, csr.indices, csr.data, rep)
        return VotePatterns(ptr, lfs, labels, counts, inverse, csr.shape[1])
    dense = np.ascontiguousarray(src)
    hashes = _hash_dense(dense)
    rep, counts, inverse = _dedupe_dense(dense, hashes)
    ptr, lfs, labels = _gather_dense(dense, rep)
    return VotePatterns(ptr, lfs, labels, counts, inverse, dense.shape[1])


def vote_patterns_reference(dense: np.ndarray) -> VotePatterns:
    """Plain numpy reference of :func:`vote_patterns` (dense input, same numbering)."""
    dense = np.asarray(dense)
    n, m = dense.shape
    if n == 0:
        empty = np.zeros(0, np.int64)
        return VotePatterns(np.zeros(1, np.int64), np.zeros(0, np.int32),
                            np.zeros(0, np.int32), empty, empty, m)
    uniq, first, inverse, counts = np.unique(dense, axis=0, return_index=True,
                                             return_inverse=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    pats = uniq[order]
    rows, cols = np.nonzero(pats >= 0)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(pats)))])
    return VotePatterns(indptr.astype(np.int64), cols.astype(np.int32),
                        pats[rows, cols].astype(np.int32), counts[order].astype(np.int64),
                        rank[inverse.ravel()].astype(np.int64), m)


# -- what iterative label models fit on ---------------------------------------------------
@dataclass(frozen=True)
class FitData:
    """The rows an iterative label model works on, each with a weight.

    ``X`` is either the distinct patterns (``kind="patterns"``, CSR of ``label + 1``,
    weights = counts) or the rows themselves (``kind="rows"``, a dense int array with
    ``-1`` = abstain or a CSR, weights = 1) when patterns would not be much fewer.
    ``n_rows`` rows are represented (``weights.sum()``); they are a seeded random sample of
    the ``total_rows`` rows of the label matrix when ``sampled``.
    """

    X: np.ndarray | sp.csr_matrix
    weights: np.ndarray
    n_lfs: int
    n_rows: int
    total_rows: int
    kind: str
    sampled: bool
    unit_votes: np.ndarray | None = None  # votes per unit, computed once when not given
    lf_vote_totals: np.ndarray | None = None  # weighted votes per LF

    def __post_init__(self) -> None:
        if self.unit_votes is None or self.lf_vote_totals is None:
            if sp.issparse(self.X):
                per_unit = np.diff(self.X.indptr)
                per_lf = np.bincount(self.X.indices, weights=np.repeat(self.weights, per_unit),
                                     minlength=self.n_lfs)
            else:
                voted = self.X >= 0
                per_unit = np.count_nonzero(voted, axis=1)
                per_lf = (np.count_nonzero(voted, axis=0) if (self.weights == 1).all()
                          else voted.T.astype(np.float64) @ self.weights)
            object.__setattr__(self, "unit_votes", per_unit)
            object.__setattr__(self, "lf_vote_totals", np.asarray(per_lf, dtype=np.float64))

    @property
    def n_units(self) -> int:
        return self.X.shape[0]

    def votes_per_unit(self) -> np.ndarray:
        """Number of non-abstain votes in each unit (pattern or row)."""
        return self.unit_votes

    def lf_votes(self) -> np.ndarray:
        """Weighted number of votes of each LF."""
        return self.lf_vote_totals


def fit_data(L, *, max_rows: int | None = 100_000, seed: int = 0, probe: int = 20_000,
             min_gain: float = 2.0) -> FitData:
    """Rows for an iterative fit: distinct patterns when they are at most ``1/min_gain`` of
    the rows (judged on ``probe`` evenly spaced rows), else the rows; first a seeded random
    sample of about ``max_rows`` rows (each kept with probability ``max_rows / n``) when
    there are more (``None``: all rows).
    """
    src = vote_source(L)
    total = src.shape[0]
    sampled = max_rows is not None and total > max_rows
    if sampled:
        keep = np.random.default_rng(seed).random(total) < max_rows / total
        src = src[np.flatnonzero(keep)]
    r, m = src.shape
    use_patterns = True
    if r > probe:
        ahead = src[np.linspace(0, r - 1, probe).astype(np.int64)]
        use_patterns = vote_patterns(ahead).n_patterns * min_gain <= probe
    if use_patterns:
        P = vote_patterns(src)
        return FitData(P.to_csr(), P.counts.astype(np.float64), m, r, total, "patterns", sampled)
    if not sp.issparse(src):
        src = np.ascontiguousarray(src)
    return FitData(src, np.ones(r), m, r, total, "rows", sampled)
