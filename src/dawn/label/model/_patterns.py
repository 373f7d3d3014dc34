"""Distinct vote patterns of a label matrix, with their counts and the row → pattern map.

Label models that iterate (EM) only need each *distinct* row of votes once, weighted by
how often it occurs; with few LFs there are far fewer patterns than rows. When the votes
fit, every row gets an exact integer key — its votes ``label + 1`` read as the digits of a
number in base ``max label + 2`` — in one parallel numba pass, and the keys are numbered in
a second, sequential pass through a direct-address table (small key spaces) or an
open-addressing table of keys. Wider rows (keys that would pass 63 bits) are hashed
instead and inserted into an open-addressing table that compares the actual votes
whenever two hashes meet, so a hash collision can never merge two different patterns.
Works on a dense ``(n, m)`` array or on the CSR of ``label + 1`` inside a sparse
:class:`~dawn.label.LabelMatrix` without densifying it (both give the same keys).
Patterns are numbered in order of first occurrence and stored as a CSR of ``(lf, label)``
pairs (:class:`VotePatterns`). :func:`fingerprint` sums mixed row keys into one number, so
a label model can tell cheaply that it is asked to predict the very matrix it was fitted
on and reuse that matrix's patterns.

:func:`vote_patterns_reference` is the plain numpy reference (``np.unique`` over rows).

>>> import numpy as np
>>> P = vote_patterns(np.array([[0, -1], [1, 1], [0, -1], [-1, -1]]))
>>> P.n_patterns, P.counts.tolist(), P.inverse.tolist()
(3, [2, 1, 1], [0, 1, 0, 2])
>>> P.to_dense().tolist()
[[0, -1], [1, 1], [-1, -1]]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

__all__ = ["FitData", "VotePatterns", "fingerprint", "fit_data", "vote_patterns",
           "vote_patterns_reference"]

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_KEY_LIMIT = 1 << 63  # exact row keys must stay below this (int64)
_DIRECT_MIN = 1 << 16  # a direct-address table of this many slots is always cheap ...
_DIRECT_PER_ROW = 4  # ... a larger one only up to this many slots per row
_MAX_ROWS = 1 << 31  # numbering by exact keys uses int32 tables


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


# -- exact keys ---------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _key_dense(L, i, powers):
    key = 0
    for j in range(L.shape[1]):
        key += (np.int64(L[i, j]) + 1) * powers[j]
    return key


@njit(cache=True, inline="always")
def _key_csr(indptr, indices, data, i, powers):
    key = 0
    for t in range(indptr[i], indptr[i + 1]):
        key += np.int64(data[t]) * powers[indices[t]]
    return key


@njit(cache=True, inline="always")
def _fp_term(key, i):
    # _finish is a bijection, so changing any one row always changes the sum of terms
    return _finish(np.uint64(key) ^ (np.uint64(i) * _GOLD))


@njit(cache=True, parallel=True)
def _keys_dense(L, powers):
    out = np.empty(L.shape[0], np.int64)
    for i in prange(L.shape[0]):
        out[i] = _key_dense(L, i, powers)
    return out


@njit(cache=True, parallel=True)
def _keys_csr(indptr, indices, data, powers):
    out = np.empty(len(indptr) - 1, np.int64)
    for i in prange(len(indptr) - 1):
        out[i] = _key_csr(indptr, indices, data, i, powers)
    return out


@njit(cache=True)
def _fingerprint_dense(L, powers):
    h = np.uint64(L.shape[0])
    for i in range(L.shape[0]):
        h += _fp_term(_key_dense(L, i, powers), i)
    return h


@njit(cache=True)
def _fingerprint_csr(indptr, indices, data, powers):
    h = np.uint64(len(indptr) - 1)
    for i in range(len(indptr) - 1):
        h += _fp_term(_key_csr(indptr, indices, data, i, powers), i)
    return h


def _key_powers(src: np.ndarray | sp.csr_matrix) -> tuple[int, np.ndarray] | None:
    """``base`` and ``base ** j`` (int64) of the exact row keys of ``src``; ``None`` when
    keys would not fit in 63 bits, the votes are not ``-1..k-1`` (dense) or ``1..k`` (CSR
    of ``label + 1``), or there are 2³¹ rows or more."""
    n, m = src.shape
    if n >= _MAX_ROWS:
        return None
    if sp.issparse(src):
        if src.nnz and int(src.data.min()) < 1:
            return None
        top = int(src.data.max()) if src.nnz else 0  # largest label + 1
    else:
        if src.size and int(src.min()) < -1:
            return None
        top = int(src.max()) + 1 if src.size else 0
    base = max(top + 1, 2)
    if base ** m >= _KEY_LIMIT:
        return None
    return base, np.array([base ** j for j in range(m)], dtype=np.int64)


def _row_keys(src, powers: np.ndarray) -> np.ndarray:
    if sp.issparse(src):
        return _keys_csr(src.indptr.astype(np.int64, copy=False), src.indices, src.data, powers)
    return _keys_dense(src, powers)


def fingerprint(L) -> tuple | None:
    """``(shape, base, checksum)`` of the votes of ``L`` (dense or sparse alike), or ``None``
    when its rows are too wide for exact keys. Equal fingerprints mean equal votes but for
    a 2⁻⁶⁴ chance; any single changed row always changes the checksum."""
    src = _prepared(L)
    exact = _key_powers(src)
    if exact is None:
        return None
    if sp.issparse(src):
        h = _fingerprint_csr(src.indptr.astype(np.int64, copy=False), src.indices, src.data,
                             exact[1])
    else:
        h = _fingerprint_dense(src, exact[1])
    return src.shape, exact[0], int(h)


# -- numbering (sequential: insertion order defines pattern numbers) -----------------------
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
def _count_patterns(inverse, p):
    counts = np.zeros(p, np.int64)
    for i in range(len(inverse)):
        counts[inverse[i]] += 1
    return counts


@njit(cache=True)
def _number_direct(keys, space):
    """Number keys ``0 <= key < space`` by first occurrence *in place* (``keys`` becomes
    the inverse); return each pattern's first row and the keys' fingerprint checksum."""
    n = len(keys)
    table = np.full(space, -1, np.int32)
    rep = np.empty(n, np.int64)
    h = np.uint64(n)
    p = 0
    for i in range(n):
        key = keys[i]
        h += _fp_term(key, i)
        q = table[key]
        if q < 0:
            q = p
            table[key] = p
            rep[p] = i
            p += 1
        keys[i] = q
    return rep[:p], h


@njit(cache=True)
def _number_hashed(keys):
    """:func:`_number_direct` for any int64 keys, by an open-addressing table."""
    n = len(keys)
    size = _table_size(n)
    mask = np.uint64(size - 1)
    table = np.full(size, -1, np.int32)
    rep = np.empty(n, np.int64)
    seen = np.empty(n, np.int64)  # the key of each pattern
    h = np.uint64(n)
    p = 0
    for i in range(n):
        key = keys[i]
        h += _fp_term(key, i)
        slot = _finish(np.uint64(key)) & mask
        while True:
            q = table[slot]
            if q < 0:
                q = p
                table[slot] = p
                rep[p] = i
                seen[p] = key
                p += 1
                break
            if seen[q] == key:
                break
            slot = (slot + np.uint64(1)) & mask
        keys[i] = q
    return rep[:p], h


def _number(keys: np.ndarray, space: int) -> tuple[np.ndarray, int]:
    """Number exact row keys ``0 <= key < space`` in place (they become the inverse);
    return ``rep`` (first row of each pattern) and the fingerprint checksum."""
    if space <= max(_DIRECT_MIN, _DIRECT_PER_ROW * len(keys)):
        rep, h = _number_direct(keys, space)
    else:
        rep, h = _number_hashed(keys)
    return rep, int(h)


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


def _prepared(L) -> np.ndarray | sp.csr_matrix:
    src = vote_source(L)
    return src if sp.issparse(src) else np.ascontiguousarray(src)


def _numbered(src, exact: tuple[int, np.ndarray] | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple | None]:
    """``rep``, ``counts``, ``inverse`` and the fingerprint (``None`` when hashed) of a
    prepared source: by exact row keys when ``exact`` is ``(base, powers)``, else by hashing
    rows and comparing votes."""
    if exact is not None:
        inverse = _row_keys(src, exact[1])
        rep, h = _number(inverse, exact[0] ** src.shape[1])
        return rep, _count_patterns(inverse, len(rep)), inverse, (src.shape, exact[0], h)
    if sp.issparse(src):
        indptr = src.indptr.astype(np.int64, copy=False)
        hashes = _hash_csr(indptr, src.indices, src.data)
        return (*_dedupe_csr(indptr, src.indices, src.data, hashes), None)
    return (*_dedupe_dense(src, _hash_dense(src)), None)


def _patterns_from(src, rep: np.ndarray, counts: np.ndarray, inverse: np.ndarray
                   ) -> VotePatterns:
    if sp.issparse(src):
        indptr = src.indptr.astype(np.int64, copy=False)
        ptr, lfs, labels = _gather_csr(indptr, src.indices, src.data, rep)
    else:
        ptr, lfs, labels = _gather_dense(src, rep)
    return VotePatterns(ptr, lfs, labels, counts, inverse, src.shape[1])


def vote_patterns(L) -> VotePatterns:
    """Distinct rows of ``L`` with counts and inverse (see the module docstring).

    Parameters
    ----------
    L : LabelMatrix, dense int array ``(n, m)`` with ``-1`` = abstain, or a scipy sparse
        matrix of ``label + 1``
    """
    src = _prepared(L)
    return _patterns_from(src, *_numbered(src, _key_powers(src))[:3])


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
    the ``total_rows`` rows of the label matrix when ``sampled``. When the patterns were
    found on every row, ``patterns`` holds them with the row → pattern map and
    ``fingerprint`` identifies the votes (see :func:`fingerprint`; ``None`` for wide rows).
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
    patterns: VotePatterns | None = None
    fingerprint: tuple | None = None
    _cells: dict = field(default_factory=dict, repr=False, compare=False)

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

    def cells(self, k: int) -> np.ndarray:
        """For a CSR ``X``: int32 ``lf * (k + 1) + label + 1`` of each vote (built once)."""
        if k not in self._cells:
            X = self.X
            self._cells[k] = (X.indices.astype(np.int32) * np.int32(k + 1)
                              + X.data.astype(np.int32))
        return self._cells[k]


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
    if not sp.issparse(src):
        src = np.ascontiguousarray(src)
    r, m = src.shape
    exact = _key_powers(src)
    numbered = None if exact is None else _numbered(src, exact)
    use_patterns = True
    if r > probe:
        at = np.linspace(0, r - 1, probe).astype(np.int64)
        if numbered is not None:  # distinct patterns among the probe rows
            found = np.count_nonzero(np.bincount(numbered[2][at], minlength=len(numbered[0])))
        else:
            found = vote_patterns(src[at]).n_patterns
        use_patterns = found * min_gain <= probe
    if not use_patterns:
        return FitData(src, np.ones(r), m, r, total, "rows", sampled)
    rep, counts, inverse, fp = _numbered(src, None) if numbered is None else numbered
    P = _patterns_from(src, rep, counts, inverse)
    every_row = not sampled
    return FitData(P.to_csr(), counts.astype(np.float64), m, r, total, "patterns", sampled,
                   patterns=P if every_row else None, fingerprint=fp if every_row else None)
