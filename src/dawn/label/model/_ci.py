"""Posterior class probabilities under a conditionally independent label model.

Every label model in dawn ends in the same two arrays: ``class_balance`` ``(k,)`` and
``confusion`` ``(m, k, k + 1)`` where ``confusion[j, y, 0]`` is P(LF ``j`` abstains | Y=y)
and ``confusion[j, y, l + 1]`` is P(LF ``j`` votes ``l`` | Y=y). Given votes, the
posterior is

    log P(Y=y | votes) = log π_y + Σ_j log confusion[j, y, 0]
                         + Σ_{(j, l) voted} (log confusion[j, y, l+1] − log confusion[j, y, 0])
                         − const,

so one pass over the *non-abstain* votes gives it, on a dense array or on the CSR of a
sparse :class:`~dawn.label.LabelMatrix` alike (never densified, no one-hot matrix).
Probabilities are clipped to ``[EPS, 1 − EPS]`` and renormalised first, so logs are finite.

:func:`predict_proba_reference` is the plain numpy reference of the kernels.

>>> import numpy as np
>>> conf = np.array([[[0.5, 0.4, 0.1], [0.5, 0.1, 0.4]]] * 3)   # 3 LFs, 80% accurate
>>> P = predict_proba_ci(np.array([[0, 0, 1], [-1, -1, -1]]), np.array([0.5, 0.5]), conf)
>>> P.round(3).tolist()
[[0.8, 0.2], [0.5, 0.5]]
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from dawn.label.model._patterns import vote_source
from dawn.runtime.threads import kernel_threads

__all__ = ["EPS", "clip_probabilities", "log_tables", "predict_proba_ci",
           "predict_proba_reference"]

EPS = 1e-6
# sums may be reassociated (vectorised); no flag that assumes away NaN/inf
_FAST = {"reassoc", "contract", "arcp"}
_BRANCHLESS_K = 8  # up to this many classes, dense kernels add abstains' zeros, not branch


def clip_probabilities(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Clip to ``[EPS, 1 − EPS]`` and renormalise along ``axis``."""
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    return p / p.sum(axis=axis, keepdims=True)


def log_tables(class_balance: np.ndarray, confusion: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """``base (k,)`` and ``logtab (m, k + 1, k)`` of the posterior's log-linear form.

    ``base[y] = log π_y + Σ_j log confusion[j, y, 0]`` and
    ``logtab[j, l + 1, y] = log confusion[j, y, l + 1] − log confusion[j, y, 0]``
    (``logtab[j, 0, :] = 0``, so an abstain adds nothing).
    """
    logc = np.log(clip_probabilities(confusion))
    base = np.log(clip_probabilities(class_balance)) + logc[:, :, 0].sum(axis=0)
    logtab = np.ascontiguousarray((logc - logc[:, :, :1]).transpose(0, 2, 1))
    return base, logtab


@njit(cache=True, inline="always")
def _softmax_into(s, out_row):
    k = len(s)
    if k == 2:  # two classes: a logistic, exact in both tails
        d = s[1] - s[0]
        e = np.exp(-abs(d))
        hi, lo = 1.0 / (1.0 + e), e / (1.0 + e)
        out_row[0], out_row[1] = (lo, hi) if d >= 0 else (hi, lo)
        return
    mx = s[0]
    for y in range(1, k):
        mx = max(mx, s[y])
    tot = 0.0
    for y in range(k):
        s[y] = np.exp(s[y] - mx)
        tot += s[y]
    for y in range(k):
        out_row[y] = s[y] / tot


@njit(cache=True, parallel=True, fastmath=_FAST)
def _ci_dense(L, base, logtab, out, n_chunks):
    n, m = L.shape
    k = len(base)
    branchless = k <= _BRANCHLESS_K  # logtab[j, 0] = 0: adding it for an abstain is free
    for c in prange(n_chunks):
        s = np.empty(k)
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            if k == 2:  # unrolled: the common binary case
                s0, s1 = base[0], base[1]
                for j in range(m):
                    v = L[i, j] + 1
                    s0 += logtab[j, v, 0]
                    s1 += logtab[j, v, 1]
                s[0], s[1] = s0, s1
            else:
                s[:] = base
                for j in range(m):
                    v = L[i, j] + 1
                    if branchless or v > 0:
                        for y in range(k):
                            s[y] += logtab[j, v, y]
            _softmax_into(s, out[i])


@njit(cache=True, parallel=True, fastmath=_FAST)
def _ci_csr(indptr, indices, data, base, logtab, out, n_chunks):
    n = len(indptr) - 1
    k = len(base)
    for c in prange(n_chunks):
        s = np.empty(k)
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            if k == 2:
                s0, s1 = base[0], base[1]
                for t in range(indptr[i], indptr[i + 1]):
                    s0 += logtab[indices[t], data[t], 0]
                    s1 += logtab[indices[t], data[t], 1]
                s[0], s[1] = s0, s1
            else:
                s[:] = base
                for t in range(indptr[i], indptr[i + 1]):
                    j, v = indices[t], data[t]  # data = label + 1
                    for y in range(k):
                        s[y] += logtab[j, v, y]
            _softmax_into(s, out[i])


def _chunks(n: int) -> int:
    return int(max(1, min(64, n)))


def predict_proba_ci(L, class_balance: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """``(n, k)`` posterior P(Y | votes) for every row of ``L``.

    Parameters
    ----------
    L : LabelMatrix (dense or sparse), dense int array ``(n, m)`` with ``-1`` = abstain,
        or a scipy sparse matrix of ``label + 1``
    class_balance : (k,) prior
    confusion : (m, k, k + 1) per-LF vote probabilities (see the module docstring)
    """
    base, logtab = log_tables(class_balance, confusion)
    src = vote_source(L)
    if sp.issparse(src):
        csr = src
        out = np.empty((csr.shape[0], len(base)), np.float64)
        with kernel_threads(work=csr.nnz * len(base)):
            _ci_csr(csr.indptr, csr.indices, csr.data, base, logtab, out, _chunks(len(out)))
        return out
    dense = np.ascontiguousarray(src)
    out = np.empty((dense.shape[0], len(base)), np.float64)
    with kernel_threads(work=dense.size * len(base)):
        _ci_dense(dense, base, logtab, out, _chunks(len(out)))
    return out


def predict_proba_reference(L: np.ndarray, class_balance: np.ndarray,
                            confusion: np.ndarray) -> np.ndarray:
    """Plain numpy reference of :func:`predict_proba_ci` on a dense ``(n, m)`` array."""
    L = np.asarray(L)
    conf = clip_probabilities(confusion)
    m = conf.shape[0]
    # log P(vote_ij | y) for every cell, abstains included: (n, m, k)
    cell = np.log(conf[np.arange(m)[None, :], :, L + 1])
    s = np.log(clip_probabilities(class_balance))[None, :] + cell.sum(axis=1)
    s -= s.max(axis=1, keepdims=True)
    p = np.exp(s)
    return p / p.sum(axis=1, keepdims=True)
