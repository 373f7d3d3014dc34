"""Dawid–Skene: EM over distinct vote patterns, one full confusion matrix per LF.

Each LF ``j`` has a ``k × (k + 1)`` confusion matrix (P(abstain | y) and P(vote l | y)) and
the classes have a prior; LFs are independent given the true class. EM alternates the
posterior of each *pattern* (E-step, weighted by how many rows share it) and the
expected counts that re-estimate confusions and prior (M-step). :func:`em_accumulate`
computes both halves (the numpy reference is :func:`em_accumulate_reference`): on 1,024 or
more patterns (a CSR) with up to 8 classes in three passes — scores per pattern (numba),
posteriors by numpy's vectorised ``exp``/``log``, posteriors added onto each vote's
``(lf, label)`` cell (numba) — otherwise in one numba pass that calls ``exp`` per unit,
which costs less on a few patterns. EM starts from majority vote (deterministic), stops
when the log-likelihood per row gains less than ``tol`` and shrinks each LF's confusion
towards its one-coin form (one accuracy, errors spread evenly) with ``smoothing``
pseudo-votes, which keeps many-class confusions sane when votes per class are few. LFs
that never fire get P(abstain) = 1 and LFs that always fire P(abstain) ≈ 0; both are
harmless.

>>> import numpy as np
>>> from dawn.label.model.synthetic import synthetic_label_matrix
>>> L, Y, acc = synthetic_label_matrix(5000, 5, 2, accuracies=0.8, coverage=0.6, seed=1)
>>> balance, confusion, info = fit_dawid_skene(L, 2)
>>> info["converged"], confusion.shape
(True, (5, 2, 3))
>>> voted = 1 - confusion[:, :, 0]                     # P(LF votes | y)
>>> right = confusion[:, [0, 1], [1, 2]]               # P(LF votes y | y)
>>> ((balance * right).sum(1) / (balance * voted).sum(1)).round(1).tolist()
[0.8, 0.8, 0.8, 0.8, 0.8]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from dawn.label.model._ci import _FAST, clip_probabilities, log_tables
from dawn.label.model._patterns import FitData, fit_data

__all__ = ["em_accumulate", "em_accumulate_reference", "fit_dawid_skene", "majority_tables",
           "one_coin_confusion", "pooled_rates"]

_CHUNKS = 16  # fixed, so sums (and results) do not depend on the number of threads
_CHUNK_BYTES = 64 << 20
_SPLIT_K = 8  # up to this many classes, a CSR E-step runs in three passes (em_accumulate)
_SPLIT_UNITS = 1024  # ... from this many units (below, the one-pass kernel calls fewer things)
_BLOCK = 1 << 16  # units per three-pass block: bounds the (k, units) score array


@njit(cache=True, inline="always")
def _posterior(s, w):
    """Normalise ``exp(s)`` in place to total ``w``; return the row's log-likelihood × w."""
    k = len(s)
    mx = s[0]
    for y in range(1, k):
        mx = max(mx, s[y])
    tot = 0.0
    for y in range(k):
        s[y] = np.exp(s[y] - mx)
        tot += s[y]
    scale = w / tot
    for y in range(k):
        s[y] *= scale
    return w * (mx + np.log(tot))


@njit(cache=True, parallel=True, fastmath=_FAST)
def _em_csr(indptr, indices, data, weights, base, logtab, n_chunks):
    p = len(indptr) - 1
    m, _, k = logtab.shape
    counts = np.zeros((n_chunks, m, k + 1, k))  # [chunk, j, label + 1, y]
    mass = np.zeros((n_chunks, k))
    ll = np.zeros(n_chunks)
    for c in prange(n_chunks):
        s = np.empty(k)
        for q in range(c * p // n_chunks, (c + 1) * p // n_chunks):
            if k == 2:  # unrolled: the common binary case
                s0, s1 = base[0], base[1]
                for t in range(indptr[q], indptr[q + 1]):
                    s0 += logtab[indices[t], data[t], 0]
                    s1 += logtab[indices[t], data[t], 1]
                s[0], s[1] = s0, s1
            else:
                s[:] = base
                for t in range(indptr[q], indptr[q + 1]):
                    j, v = indices[t], data[t]
                    for y in range(k):
                        s[y] += logtab[j, v, y]
            ll[c] += _posterior(s, weights[q])
            for y in range(k):
                mass[c, y] += s[y]
            if k == 2:
                p0, p1 = s[0], s[1]
                for t in range(indptr[q], indptr[q + 1]):
                    counts[c, indices[t], data[t], 0] += p0
                    counts[c, indices[t], data[t], 1] += p1
            else:
                for t in range(indptr[q], indptr[q + 1]):
                    j, v = indices[t], data[t]
                    for y in range(k):
                        counts[c, j, v, y] += s[y]
    return counts, mass, ll


@njit(cache=True, parallel=True, fastmath=_FAST)
def _em_dense(L, weights, base, logtab, n_chunks):
    n, m = L.shape
    k = len(base)
    branchless = k <= 8  # logtab[j, 0] = 0 and counts[:, 0] are dropped: abstains are free
    counts = np.zeros((n_chunks, m, k + 1, k))
    mass = np.zeros((n_chunks, k))
    ll = np.zeros(n_chunks)
    for c in prange(n_chunks):
        s = np.empty(k)
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            if k == 2:
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
            ll[c] += _posterior(s, weights[i])
            for y in range(k):
                mass[c, y] += s[y]
            if k == 2:
                p0, p1 = s[0], s[1]
                for j in range(m):
                    v = L[i, j] + 1
                    counts[c, j, v, 0] += p0
                    counts[c, j, v, 1] += p1
            else:
                for j in range(m):
                    v = L[i, j] + 1
                    if branchless or v > 0:
                        for y in range(k):
                            counts[c, j, v, y] += s[y]
    return counts, mass, ll


@njit(cache=True, parallel=True, fastmath=_FAST)
def _scores_csr(indptr, cells, tab, base, start, stop, n_chunks):
    """``out[y, q - start]`` = ``base[y]`` + the sum of ``tab[cell, y]`` over unit q's votes."""
    k = len(base)
    b = stop - start
    out = np.empty((k, b))
    for c in prange(n_chunks):
        s = np.empty(k)
        for q in range(start + c * b // n_chunks, start + (c + 1) * b // n_chunks):
            if k == 2:
                s0, s1 = base[0], base[1]
                for t in range(indptr[q], indptr[q + 1]):
                    s0 += tab[cells[t], 0]
                    s1 += tab[cells[t], 1]
                out[0, q - start], out[1, q - start] = s0, s1
            else:
                s[:] = base
                for t in range(indptr[q], indptr[q + 1]):
                    cell = cells[t]
                    for y in range(k):
                        s[y] += tab[cell, y]
                for y in range(k):
                    out[y, q - start] = s[y]
    return out


@njit(cache=True, parallel=True, fastmath=_FAST)
def _scatter_csr(indptr, cells, post, start, n_cells, n_chunks):
    """Per chunk: ``out[c, cell, y]`` = the sum of ``post[y, q - start]`` over its votes."""
    k, b = post.shape
    out = np.zeros((n_chunks, n_cells, k))
    for c in prange(n_chunks):
        for q in range(start + c * b // n_chunks, start + (c + 1) * b // n_chunks):
            if k == 2:
                p0, p1 = post[0, q - start], post[1, q - start]
                for t in range(indptr[q], indptr[q + 1]):
                    out[c, cells[t], 0] += p0
                    out[c, cells[t], 1] += p1
            else:
                for t in range(indptr[q], indptr[q + 1]):
                    cell = cells[t]
                    for y in range(k):
                        out[c, cell, y] += post[y, q - start]
    return out


def _posteriors(scores: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """``(k, b)`` log-scores → posteriors scaled by ``weights`` (in place), and the
    weighted log-likelihood; numpy's vectorised ``exp``/``log`` beat a per-unit call."""
    mx = scores.max(axis=0)
    scores -= mx
    np.exp(scores, out=scores)
    tot = scores.sum(axis=0)
    ll = float(weights @ (mx + np.log(tot)))
    scores *= weights / tot
    return scores, ll


def _em_split(data: FitData, base: np.ndarray, logtab: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`em_accumulate` on a CSR in three passes per block of units: scores (numba),
    posteriors (numpy), scatter of the posteriors onto the votes' cells (numba)."""
    X, m, k = data.X, data.n_lfs, len(base)
    cells = data.cells(k)
    tab = np.ascontiguousarray(logtab).reshape(m * (k + 1), k)
    counts = np.zeros((m * (k + 1), k))
    mass = np.zeros(k)
    ll = 0.0
    for start in range(0, X.shape[0], _BLOCK):
        stop = min(X.shape[0], start + _BLOCK)
        chunks = _n_chunks(stop - start, m, k)
        scores = _scores_csr(X.indptr, cells, tab, base, start, stop, chunks)
        post, part = _posteriors(scores, data.weights[start:stop])
        counts += _scatter_csr(X.indptr, cells, post, start, len(tab), chunks).sum(axis=0)
        mass += post.sum(axis=1)
        ll += part
    return counts.reshape(m, k + 1, k)[:, 1:, :], mass, ll


def _n_chunks(units: int, m: int, k: int) -> int:
    per_chunk = max(m * (k + 1) * k * 8, 1)
    return int(max(1, min(_CHUNKS, _CHUNK_BYTES // per_chunk, units)))


def em_accumulate(data: FitData, base: np.ndarray, logtab: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """One E-step plus the M-step's sufficient statistics over weighted rows or patterns.

    Returns ``counts (m, k, k)`` with ``counts[j, l, y]`` = posterior mass of class ``y`` on
    rows where LF ``j`` voted ``l``, ``mass (k,)`` = total posterior mass per class, and the
    log-likelihood of the (weighted) rows.
    """
    X = data.X
    if sp.issparse(X) and len(base) <= _SPLIT_K and data.n_units >= _SPLIT_UNITS:
        return _em_split(data, base, logtab)
    chunks = _n_chunks(data.n_units, data.n_lfs, len(base))
    if sp.issparse(X):
        counts, mass, ll = _em_csr(X.indptr, X.indices, X.data, data.weights, base, logtab,
                                   chunks)
    else:
        counts, mass, ll = _em_dense(X, data.weights, base, logtab, chunks)
    return counts.sum(axis=0)[:, 1:, :], mass.sum(axis=0), float(ll.sum())


def em_accumulate_reference(L: np.ndarray, weights: np.ndarray, base: np.ndarray,
                            logtab: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Plain numpy reference of :func:`em_accumulate` on dense rows with weights."""
    L = np.asarray(L)
    m, _, k = logtab.shape
    s = base[None, :] + logtab[np.arange(m)[None, :], L + 1].sum(axis=1)  # (n, k)
    mx = s.max(axis=1, keepdims=True)
    e = np.exp(s - mx)
    tot = e.sum(axis=1, keepdims=True)
    post = e / tot * weights[:, None]
    counts = np.zeros((m, k, k))
    rows, cols = np.nonzero(L >= 0)
    np.add.at(counts, (cols, L[rows, cols]), post[rows])
    ll = float((weights * (mx[:, 0] + np.log(tot[:, 0]))).sum())
    return counts, post.sum(axis=0), ll


def majority_tables(m: int, k: int, weight: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """``base``, ``logtab`` whose posterior is (nearly hard) majority vote."""
    logtab = np.zeros((m, k + 1, k))
    logtab[:, 1:, :] = weight * np.eye(k)[None]
    return np.zeros(k), logtab


def one_coin_confusion(coverage: np.ndarray, accuracy: np.ndarray, k: int) -> np.ndarray:
    """``(m, k, k + 1)`` confusion of LFs with one accuracy each and errors spread evenly."""
    coverage = np.asarray(coverage, dtype=np.float64)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    m = len(coverage)
    wrong = coverage * (1.0 - accuracy) / max(k - 1, 1)
    conf = np.empty((m, k, k + 1))
    conf[:, :, 0] = (1.0 - coverage)[:, None]
    conf[:, :, 1:] = wrong[:, None, None]
    idx = np.arange(k)
    conf[:, idx, idx + 1] = (coverage * accuracy)[:, None]
    return conf


def pooled_rates(counts: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-LF coverage and accuracy (agreement with the posterior) from EM statistics."""
    voted = counts.sum(axis=(1, 2))
    total = max(float(mass.sum()), 1e-300)
    agree = np.trace(counts, axis1=1, axis2=2)
    accuracy = np.divide(agree, voted, out=np.full(len(voted), np.nan), where=voted > 0)
    return np.clip(voted / total, 0.0, 1.0), accuracy


def _m_step(counts, mass, k, smoothing, fixed_balance):
    votes = counts.transpose(0, 2, 1)  # (m, y, l)
    abstain = np.maximum(mass[None, :] - votes.sum(axis=2), 0.0)
    cells = np.concatenate([abstain[:, :, None], votes], axis=2)  # (m, k, k + 1)
    if smoothing > 0:
        coverage, accuracy = pooled_rates(counts, mass)
        accuracy = np.nan_to_num(accuracy, nan=1.0 / k)
        cells = cells + smoothing * one_coin_confusion(coverage, accuracy, k)
    denom = cells.sum(axis=2, keepdims=True)
    conf = np.divide(cells, denom, out=np.full(cells.shape, 1.0 / (k + 1)), where=denom > 0)
    if fixed_balance is not None:
        balance = fixed_balance
    else:
        balance = (mass + smoothing / k) / (mass.sum() + smoothing)
    return clip_probabilities(balance), clip_probabilities(conf)


def fit_dawid_skene(L, k: int, class_balance: np.ndarray | None = None, seed: int = 0, *,
                    data: FitData | None = None, max_iter: int = 200, tol: float = 1e-6,
                    smoothing: float = 1.0, max_rows: int | None = 100_000,
                    init: tuple[np.ndarray, np.ndarray] | None = None
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Fit Dawid–Skene by EM; return ``(class_balance, confusion, info)``.

    Parameters
    ----------
    L : label matrix (LabelMatrix, dense int array, or sparse ``label + 1``)
    k : number of classes
    class_balance : fixed prior ``(k,)``; estimated when ``None``
    seed : seeds the row sample taken when ``L`` has more than ``max_rows`` rows (EM itself
        starts from majority vote, deterministically)
    data : precomputed :func:`~dawn.label.model._patterns.fit_data` of ``L`` (then ``L``,
        ``seed`` and ``max_rows`` are not used)
    max_iter, tol : stop after ``max_iter`` EM steps or when the log-likelihood per row
        gains less than ``tol`` (EM crawls along flat directions that change nothing)
    smoothing : pseudo-votes per (LF, class) pulling each confusion towards its one-coin form
    max_rows : fit on a seeded random sample of this many rows when there are more
        (parameters are averages over rows: a few hundred thousand pin them down); ``None``
        = all rows
    init : ``(class_balance, confusion)`` of another model to start EM from instead of
        majority vote (e.g. weighted majority's, which saves iterations)

    ``info`` holds ``n_iter``, ``converged``, ``log_likelihood`` (per row), ``n_units``
    (patterns or rows EM iterated over) and ``fit_rows``.
    """
    if data is None:
        data = fit_data(L, max_rows=max_rows, seed=seed)
    m = data.n_lfs
    fixed = None if class_balance is None else clip_probabilities(class_balance)
    start = majority_tables(m, k) if init is None else log_tables(*init)
    counts, mass, _ = em_accumulate(data, *start)
    balance, conf = _m_step(counts, mass, k, smoothing, fixed)
    converged, n_iter, ll, rows = False, 0, -np.inf, max(data.n_rows, 1)
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        counts, mass, new_ll = em_accumulate(data, *log_tables(balance, conf))
        balance, conf = _m_step(counts, mass, k, smoothing, fixed)
        gain, ll = (new_ll - ll) / rows, new_ll  # log-likelihood of the parameters used
        if abs(gain) < tol:
            converged = True
            break
    info = {"n_iter": n_iter, "converged": converged,
            "log_likelihood": ll / max(data.n_rows, 1), "n_units": data.n_units,
            "unit": data.kind, "fit_rows": data.n_rows}
    return balance, conf, info
