"""Sufficient statistics of a label matrix: how often LFs vote together, and for what.

Every label model that assumes conditionally independent LFs needs only second-order
counts of the votes. The central one is the joint vote-count matrix ``O`` of shape
``(m·k, m·k)``::

    O[j*k + a, j'*k + b] = #rows where LF j votes a and LF j' votes b      (j != j')
    O[j*k + a, j*k + a]  = #rows where LF j votes a                          (diagonal)

(the other entries of a diagonal block are zero). It is ``Xᵀ X`` for the one-hot vote
matrix ``X`` (``n × m·k``), but ``X`` is never built: a numba kernel walks the CSR of
votes once, row by row, adding one to ``O`` for every pair of votes in a row (threads
take contiguous row ranges, each with its own accumulator; integer counts, so the sum is
exact and deterministic). A dense ``LabelMatrix`` is compacted to CSR by another kernel
(cheaper than scipy's conversion) and never one-hot encoded.

When ``m·k`` is large (many classes) ``O`` would not fit, so :func:`pair_counts` gives
the ``m·k × m`` co-vote counts and ``m × m`` agreement counts in one pass, and
:func:`weighted_class_votes` a weighted ``m·k × k`` contraction of ``O`` in another.
All counts are additive over row blocks, so partial results from
:func:`dawn.runtime.map_partitions` combine by ``+``.

Each kernel has a plain numpy reference (``*_reference``, sparse products on a CSR
one-hot) that the tests compare against.

>>> import numpy as np
>>> from dawn.label import LabelMatrix
>>> L = LabelMatrix(np.array([[0, 0, -1], [1, 0, 1], [-1, 1, 1]]), ["a", "b", "c"])
>>> O = joint_counts(L, 2)
>>> int(O[0 * 2 + 0, 1 * 2 + 0]), int(O[1 * 2 + 1, 2 * 2 + 1]), int(O[2 * 2 + 1, 2 * 2 + 1])
(1, 1, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from dawn.errors import LabelError, SchemaError

__all__ = ["VoteCSR", "VoteStats", "joint_counts", "joint_counts_reference", "pair_counts",
           "pair_counts_reference", "vote_csr", "vote_stats", "weighted_class_votes",
           "weighted_class_votes_reference"]

_ACC_BYTES = 1 << 28  # at most this much memory for per-thread accumulators
JOINT_MAX_MK = 2048  # above this m·k, :func:`vote_stats` skips the (m·k)² matrix


@dataclass(frozen=True)
class VoteCSR:
    """Votes in CSR form: row ``r``'s votes are ``codes[indptr[r]:indptr[r+1]]`` with
    ``code = lf * k + label``. ``dense`` keeps a dense ``(n, m)`` source, which the joint
    kernel reads directly (``indptr``/``codes`` are then built only if another kernel asks)."""

    n: int
    m: int
    k: int
    dense: np.ndarray | None = None
    _indptr: np.ndarray | None = None
    _codes: np.ndarray | None = None

    def csr(self) -> tuple[np.ndarray, np.ndarray]:
        """``(indptr int64 (n+1), codes int32)``, built once from a dense source."""
        if self._indptr is None:
            indptr, codes = _dense_to_codes(self.dense, self.k)
            object.__setattr__(self, "_indptr", indptr)
            object.__setattr__(self, "_codes", codes)
        return self._indptr, self._codes


@dataclass(frozen=True)
class VoteStats:
    """Second-order vote counts of one label matrix (see the module docstring).

    ``joint`` is ``O`` (``None`` when ``m·k`` exceeds :data:`JOINT_MAX_MK`);
    ``label_covote[j*k+a, j']`` counts rows where LF j votes a and LF j' votes
    (anything; the diagonal block ``j' = j`` counts LF j's votes for a);
    ``agree[j, j']`` counts rows where both vote the same label (diagonal: LF j's votes).
    """

    n: int
    m: int
    k: int
    label_covote: np.ndarray
    agree: np.ndarray
    joint: np.ndarray | None
    votes: VoteCSR

    @property
    def counts(self) -> np.ndarray:
        """``(m, k)``: how often each LF votes each label."""
        diag = self.label_covote[np.arange(self.m * self.k), np.repeat(np.arange(self.m), self.k)]
        return diag.reshape(self.m, self.k)

    @property
    def covote(self) -> np.ndarray:
        """``(m, m)``: rows where both LFs vote (diagonal: LF j's votes)."""
        return self.label_covote.reshape(self.m, self.k, self.m).sum(axis=1)


# -- input -------------------------------------------------------------------------
def vote_csr(L, k: int) -> VoteCSR:
    """Votes of a ``LabelMatrix`` (or a dense ``-1``-abstain array, or a sparse matrix of
    ``label + 1``) as :class:`VoteCSR`, checking every label is in ``0..k-1``."""
    from dawn.label.matrix import LabelMatrix

    if isinstance(L, VoteCSR):
        return L
    if isinstance(L, LabelMatrix):
        if not L.is_sparse:
            return _dense_votes(np.asarray(L), k)
        csr = L.votes_csr()
    elif sp.issparse(L):
        csr = sp.csr_matrix(L)
    else:
        return _dense_votes(np.asarray(L), k)
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    data = csr.data
    if data.size and (data.max() > k or data.min() < 1):
        bad = int(data.max()) - 1 if data.max() > k else int(data.min()) - 1
        raise LabelError(f"the label matrix holds label {bad}, outside 0..{k - 1} for "
                         f"cardinality {k}; pass the right cardinality or fix the LFs.")
    codes = csr.indices.astype(np.int32) * np.int32(k) + (data.astype(np.int32) - 1)
    return VoteCSR(csr.shape[0], csr.shape[1], k, None,
                   csr.indptr.astype(np.int64, copy=False), codes)


def _dense_votes(arr: np.ndarray, k: int) -> VoteCSR:
    if arr.ndim != 2 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise SchemaError(f"votes must be a 2-D integer array (-1 = abstain); got dtype "
                          f"{arr.dtype}, shape {arr.shape}.")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if hi >= k or lo < -1:
            bad = hi if hi >= k else lo
            raise LabelError(f"the label matrix holds label {bad}, outside 0..{k - 1} (and -1 "
                             f"for abstain) for cardinality {k}; pass the right cardinality.")
    return VoteCSR(arr.shape[0], arr.shape[1], k, np.ascontiguousarray(arr))


@njit(cache=True)
def _row_codes(arr, r, k, buf):  # pragma: no cover - numba
    # branch-free gather of row r's votes as codes j*k + label; returns how many
    cnt = 0
    for j in range(arr.shape[1]):
        v = arr[r, j]
        buf[cnt] = j * k + v
        cnt += v >= 0
    return cnt


@njit(cache=True, parallel=True)
def _dense_to_codes_kernel(arr, k, n_chunks):  # pragma: no cover - numba
    n, m = arr.shape
    indptr = np.zeros(n + 1, np.int64)
    for c in prange(n_chunks):
        buf = np.empty(m, np.int32)
        for r in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            indptr[r + 1] = _row_codes(arr, r, k, buf)
    for r in range(n):
        indptr[r + 1] += indptr[r]
    codes = np.empty(indptr[n], np.int32)
    for c in prange(n_chunks):
        buf = np.empty(m, np.int32)
        for r in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            cnt = _row_codes(arr, r, k, buf)
            codes[indptr[r]:indptr[r] + cnt] = buf[:cnt]
    return indptr, codes


def _dense_to_codes(arr: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    return _dense_to_codes_kernel(arr, k, _chunks(arr.shape[0], 0))


def _chunks(n: int, acc_cells: int) -> int:
    by_mem = max(1, _ACC_BYTES // max(8 * acc_cells, 1))
    return int(max(1, min(numba.get_num_threads(), by_mem, max(n // 4096, 1))))


# -- O = Xᵀ X ----------------------------------------------------------------------
@njit(cache=True, parallel=True)
def _joint_dense_kernel(arr, k, n_chunks):  # pragma: no cover - numba
    n, m = arr.shape
    mk = m * k
    acc = np.zeros((n_chunks, mk, mk), np.int32)  # a chunk has < 2**31 rows
    for c in prange(n_chunks):
        A = acc[c]
        buf = np.empty(m, np.int32)
        for r in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            cnt = _row_codes(arr, r, k, buf)
            for p in range(cnt):
                row = A[buf[p]]
                row[buf[p]] += 1
                for q in range(p + 1, cnt):
                    row[buf[q]] += 1
    out = np.zeros((mk, mk), np.int64)
    for c in range(n_chunks):
        out += acc[c]
    return out


@njit(cache=True, parallel=True)
def _joint_csr_kernel(indptr, codes, mk, n_chunks):  # pragma: no cover - numba
    n = indptr.size - 1
    acc = np.zeros((n_chunks, mk, mk), np.int32)
    for c in prange(n_chunks):
        A = acc[c]
        for r in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            e = indptr[r + 1]
            for p in range(indptr[r], e):
                row = A[codes[p]]
                row[codes[p]] += 1
                for q in range(p + 1, e):
                    row[codes[q]] += 1
    out = np.zeros((mk, mk), np.int64)
    for c in range(n_chunks):
        out += acc[c]
    return out


def joint_counts(L, k: int) -> np.ndarray:
    """The ``(m·k, m·k)`` int64 joint vote-count matrix ``O`` (see the module docstring)."""
    v = vote_csr(L, k)
    mk = v.m * k
    n_chunks = _chunks(v.n, mk * mk // 2)
    if v.dense is not None and v._indptr is None:
        upper = _joint_dense_kernel(v.dense, k, n_chunks)
    else:
        upper = _joint_csr_kernel(*v.csr(), mk, n_chunks)
    diag = np.diag(upper).copy()
    out = upper + upper.T
    out[np.diag_indices(mk)] = diag
    return out


def _one_hot(L, k: int) -> sp.csr_matrix:
    v = vote_csr(L, k)
    indptr, codes = v.csr()
    return sp.csr_matrix((np.ones(codes.size), codes, indptr), shape=(v.n, v.m * k))


def joint_counts_reference(L, k: int) -> np.ndarray:
    """Plain reference of :func:`joint_counts`: ``Xᵀ X`` of a sparse one-hot ``X``."""
    X = _one_hot(L, k)
    return np.asarray((X.T @ X).toarray()).round().astype(np.int64)


# -- pair counts (large k) ---------------------------------------------------------
@njit(cache=True, parallel=True)
def _pair_kernel(indptr, codes, m, k, n_chunks):  # pragma: no cover - numba
    n = indptr.size - 1
    cov = np.zeros((n_chunks, m * k, m), np.int64)
    agr = np.zeros((n_chunks, m, m), np.int64)
    for c in prange(n_chunks):
        C = cov[c]
        G = agr[c]
        for r in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            e = indptr[r + 1]
            for p in range(indptr[r], e):
                a = codes[p]
                i = a // k
                for q in range(indptr[r], e):
                    b = codes[q]
                    C[a, b // k] += 1
                    if b - (b // k) * k == a - i * k:
                        G[i, b // k] += 1
    out_c = np.zeros((m * k, m), np.int64)
    out_g = np.zeros((m, m), np.int64)
    for c in range(n_chunks):
        out_c += cov[c]
        out_g += agr[c]
    return out_c, out_g


def pair_counts(L, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(label_covote (m·k, m), agree (m, m))`` in one pass (see :class:`VoteStats`)."""
    v = vote_csr(L, k)
    return _pair_kernel(*v.csr(), v.m, k, _chunks(v.n, v.m * k * v.m + v.m * v.m))


def _pairs_from_joint(obs: np.ndarray, m: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    blocks = obs.reshape(m, k, m, k)
    label_covote = blocks.sum(axis=3).reshape(m * k, m)
    agree = np.einsum("iaja->ij", blocks)
    return label_covote, agree


def pair_counts_reference(L, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Plain reference of :func:`pair_counts`, from :func:`joint_counts_reference`."""
    v = vote_csr(L, k)
    return _pairs_from_joint(joint_counts_reference(v, k), v.m, k)


# -- weighted contraction of O (large k) -------------------------------------------
@njit(cache=True, parallel=True)
def _weighted_kernel(indptr, codes, m, k, W, n_chunks):  # pragma: no cover - numba
    n = indptr.size - 1
    acc = np.zeros((n_chunks, m * k, k), np.float64)
    for c in prange(n_chunks):
        S = acc[c]
        for r in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            e = indptr[r + 1]
            for p in range(indptr[r], e):
                a = codes[p]
                i = a // k
                for q in range(indptr[r], e):
                    b = codes[q]
                    j = b // k
                    if j != i:
                        S[a, b - j * k] += W[i, j]
    out = np.zeros((m * k, k), np.float64)
    for c in range(n_chunks):
        out += acc[c]
    return out


def weighted_class_votes(L, k: int, W: np.ndarray) -> np.ndarray:
    """``S[i*k+a, b] = Σ_{j≠i} W[i, j] · O[i*k+a, j*k+b]`` (``(m·k, k)`` float64), in one pass.

    Summed per thread, then over threads in a fixed order, so it is deterministic for a
    given number of threads.
    """
    v = vote_csr(L, k)
    W = np.ascontiguousarray(W, dtype=np.float64)
    return _weighted_kernel(*v.csr(), v.m, k, W, _chunks(v.n, v.m * k * k))


def _weighted_from_joint(obs: np.ndarray, m: int, k: int, W: np.ndarray) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64).copy()
    W[np.diag_indices(m)] = 0.0
    return np.einsum("iajb,ij->iab", obs.reshape(m, k, m, k), W).reshape(m * k, k)


def weighted_class_votes_reference(L, k: int, W: np.ndarray) -> np.ndarray:
    """Plain reference of :func:`weighted_class_votes`, from :func:`joint_counts_reference`."""
    v = vote_csr(L, k)
    return _weighted_from_joint(joint_counts_reference(v, k).astype(np.float64), v.m, k, W)


# -- all together --------------------------------------------------------------------
def vote_stats(L, k: int, *, joint: bool | None = None) -> VoteStats:
    """All second-order counts in one pass over the votes.

    ``joint=None`` computes ``O`` when ``m·k <= JOINT_MAX_MK`` (and derives the pair counts
    from it); ``joint=False`` uses the pair kernel only; ``joint=True`` forces ``O``.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise LabelError(f"cardinality must be an integer >= 2; got {k!r}.")
    k = int(k)
    v = vote_csr(L, k)
    if joint is None:
        joint = v.m * k <= JOINT_MAX_MK
    if joint:
        obs = joint_counts(v, k)
        label_covote, agree = _pairs_from_joint(obs, v.m, k)
    else:
        obs = None
        label_covote, agree = pair_counts(v, k)
    return VoteStats(v.n, v.m, k, label_covote, agree, obs, v)


def weighted_votes(stats: VoteStats, W: np.ndarray) -> np.ndarray:
    """:func:`weighted_class_votes` from ``stats`` (from ``O`` when it was computed)."""
    if stats.joint is not None:
        return _weighted_from_joint(stats.joint.astype(np.float64), stats.m, stats.k, W)
    return weighted_class_votes(stats.votes, stats.k, W)


# -- shared by the methods ------------------------------------------------------------
def finish_confusion(cond: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """``(m, k, k+1)`` confusion from ``cond[j, y, l] = P(LF j votes l | Y=y)`` (``(m, k, k)``):
    abstain = 1 − Σ votes, every entry clipped into ``[eps, 1]`` and each row renormalised."""
    cond = np.nan_to_num(np.clip(np.asarray(cond, dtype=np.float64), 0.0, 1.0))
    over = cond.sum(axis=2, keepdims=True)
    cond = np.where(over > 1.0, cond / np.maximum(over, 1e-300), cond)
    conf = np.concatenate([1.0 - cond.sum(axis=2, keepdims=True), cond], axis=2)
    conf = np.clip(conf, eps, 1.0)
    return conf / conf.sum(axis=2, keepdims=True)


def lf_accuracies(confusion: np.ndarray, class_balance: np.ndarray) -> np.ndarray:
    """``P(vote = Y | LF j votes)`` per LF implied by a confusion array and class balance
    (0.0 for an LF that never votes)."""
    k = confusion.shape[1]
    votes = confusion[:, :, 1:]  # (m, k, k)
    correct = (votes[:, np.arange(k), np.arange(k)] * class_balance).sum(axis=1)
    voted = (votes.sum(axis=2) * class_balance).sum(axis=1)
    return np.where(voted > 0, correct / np.maximum(voted, 1e-300), 0.0)


def check_class_balance(class_balance, k: int) -> np.ndarray | None:
    """A valid ``(k,)`` class balance (positive, normalised), or ``None`` if not given."""
    from dawn.errors import ConfigError

    if class_balance is None:
        return None
    p = np.asarray(class_balance, dtype=np.float64).ravel()
    if p.shape != (k,) or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ConfigError(f"class_balance must be {k} positive numbers (one per class); "
                          f"got {np.asarray(class_balance).tolist()}.")
    return p / p.sum()
