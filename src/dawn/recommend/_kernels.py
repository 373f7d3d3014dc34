"""numba kernels of the recommender model families, each beside its plain reference.

- :func:`als_cg` — one half-step of confidence-weighted implicit ALS (Hu, Koren, Volinsky
  2008) by conjugate gradient, as the ``implicit`` library does it: for each row ``u`` of
  ``X`` it takes ``cg_steps`` CG steps, warm-started from the current ``X[u]``, on

  ``(YᵀY + λI + Yᵀ(Cᵤ − I)Y) xᵤ = Yᵀ Cᵤ pᵤ``

  where the CSR row ``u`` holds the signed confidences ``cᵤᵢ`` (``> 0``: preference 1,
  ``< 0``: preference 0 with confidence ``|c|``) and ``gram`` is ``YᵀY + λI``. Rows run on
  numba threads (``prange``); rows without entries get ``0`` (the exact solution).
- :func:`als_solve` — the same system solved exactly (Cholesky, float64): the fold-in of
  new histories against fixed item factors.
- :func:`bpr_epoch` — HogWild! SGD for BPR over sampled ``(user, positive, negative)``
  triples (negatives drawn from the interaction list, i.e. by popularity, resampled
  never; a negative the user has seen is skipped). ``n_blocks`` blocks of samples run at
  once on numba threads, sharing the factors without locks; with one thread the blocks
  run in order and the result is bit-reproducible.
- :func:`mf_epoch` — HogWild! SGD for biased matrix factorisation of explicit ratings
  (``r̂ = μ + bᵤ + bᵢ + pᵤ·qᵢ``), rows in the order ``perm``.

Each has a ``*_reference`` twin in plain numpy / Python that the tests compare against.
Random numbers come from a 64-bit LCG (:func:`lcg_next`) seeded per block, so the
references can replay exactly the same samples.

>>> import scipy.sparse as sp
>>> C = sp.csr_matrix(np.array([[2.0, 0.0], [0.0, 3.0]]))
>>> Y = np.eye(2)
>>> X = np.zeros((2, 2))
>>> gram = Y.T @ Y + 0.5 * np.eye(2)
>>> als_cg(C.indptr, C.indices, C.data, X, Y, gram, 3)
>>> np.round(X, 3).tolist()           # x = c / (c + λ) on the item's own axis
[[0.8, 0.0], [0.0, 0.857]]
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "als_cg",
    "als_cg_reference",
    "als_solve",
    "als_solve_reference",
    "als_solve_serial",
    "bpr_epoch",
    "bpr_epoch_reference",
    "bpr_epoch_serial",
    "bpr_seeds",
    "dot_rows",
    "dot_rows_reference",
    "lcg_next",
    "mf_epoch",
    "mf_epoch_reference",
]

_FAST = {"nsz", "arcp", "contract", "reassoc"}  # vectorised dot products; NaN checks stay
_BLOCK = 64  # rows per prange task in the ALS kernels (temporaries are allocated per block)

_MUL = 6364136223846793005
_INC = 1442695040888963407
_MASK = (1 << 64) - 1


# --------------------------------------------------------------------------- random numbers

@njit(cache=True, inline="always")
def lcg_next(state):  # pragma: no cover - numba
    """Advance a uint64 LCG state; return ``(new_state, 31 random bits as int64)``."""
    state = state * np.uint64(_MUL) + np.uint64(_INC)
    return state, np.int64(state >> np.uint64(33))


def _lcg_ref(state: int) -> tuple[int, int]:
    state = (state * _MUL + _INC) & _MASK
    return state, state >> 33


def _block_seed(seed: int, block: int) -> int:
    return (seed * 0x9E3779B97F4A7C15 + (block + 1) * 0xBF58476D1CE4E5B9) & _MASK


# --------------------------------------------------------------------------- ALS

@njit(cache=True, parallel=True, fastmath=_FAST)
def als_cg(indptr, indices, data, X, Y, gram, cg_steps):  # pragma: no cover - numba
    """One CG half-step of implicit ALS, updating ``X`` in place (see module docstring)."""
    n, k = X.shape
    one = np.float32(1.0)
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(n_blocks):
        r = np.empty(k, X.dtype)
        p = np.empty(k, X.dtype)
        ap = np.empty(k, X.dtype)
        for u in range(b * _BLOCK, min(n, (b + 1) * _BLOCK)):
            start = indptr[u]
            end = indptr[u + 1]
            x = X[u]
            if start == end:
                x[:] = 0
                continue
            # r = Yᵀ Cᵤ pᵤ − A x, with A x = gram x + Σ (c − 1)(yᵢ·x) yᵢ
            for a in range(k):
                s = np.float32(0.0)
                for f in range(k):
                    s += gram[a, f] * x[f]
                r[a] = -s
            for j in range(start, end):
                y = Y[indices[j]]
                c = data[j]
                cp = c  # c · preference
                if c < 0:
                    c = -c
                    cp = c - c
                d = np.float32(0.0)
                for f in range(k):
                    d += y[f] * x[f]
                t = cp - (c - one) * d
                for f in range(k):
                    r[f] += t * y[f]
            rs_old = np.float32(0.0)
            for f in range(k):
                p[f] = r[f]
                rs_old += r[f] * r[f]
            if rs_old < 1e-20:
                continue
            for _ in range(cg_steps):
                for a in range(k):
                    s = np.float32(0.0)
                    for f in range(k):
                        s += gram[a, f] * p[f]
                    ap[a] = s
                for j in range(start, end):
                    y = Y[indices[j]]
                    c = abs(data[j])
                    d = np.float32(0.0)
                    for f in range(k):
                        d += y[f] * p[f]
                    t = (c - one) * d
                    for f in range(k):
                        ap[f] += t * y[f]
                pap = np.float32(0.0)
                for f in range(k):
                    pap += p[f] * ap[f]
                if pap <= 0:
                    break
                alpha = rs_old / pap
                rs_new = np.float32(0.0)
                for f in range(k):
                    x[f] += alpha * p[f]
                    r[f] -= alpha * ap[f]
                    rs_new += r[f] * r[f]
                if rs_new < 1e-20:
                    break
                beta = rs_new / rs_old
                for f in range(k):
                    p[f] = r[f] + beta * p[f]
                rs_old = rs_new


def als_cg_reference(indptr, indices, data, X, Y, gram, cg_steps) -> None:
    """Plain numpy twin of :func:`als_cg` (same arithmetic, one row at a time)."""
    for u in range(X.shape[0]):
        cols = indices[indptr[u]:indptr[u + 1]]
        if len(cols) == 0:
            X[u] = 0
            continue
        c = data[indptr[u]:indptr[u + 1]]
        pref = (c > 0).astype(X.dtype)
        conf = np.abs(c)
        Yu = Y[cols]
        x = X[u]

        def apply(v, Yu=Yu, conf=conf):
            return gram @ v + Yu.T @ ((conf - 1) * (Yu @ v))

        r = Yu.T @ (conf * pref) - apply(x)
        p = r.copy()
        rs_old = r @ r
        if rs_old < 1e-20:
            continue
        for _ in range(cg_steps):
            ap = apply(p)
            pap = p @ ap
            if pap <= 0:
                break
            alpha = rs_old / pap
            x += alpha * p
            r -= alpha * ap
            rs_new = r @ r
            if rs_new < 1e-20:
                break
            p = r + (rs_new / rs_old) * p
            rs_old = rs_new


@njit(cache=True, inline="always")
def _solve_row(indptr, indices, data, Y, gram, out, u):  # pragma: no cover - numba
    k = Y.shape[1]
    A = gram.astype(np.float64)
    rhs = np.zeros(k)
    for j in range(indptr[u], indptr[u + 1]):
        y = Y[indices[j]].astype(np.float64)
        c = np.float64(data[j])
        pref = 1.0
        if c < 0:
            c = -c
            pref = 0.0
        for a in range(k):
            rhs[a] += c * pref * y[a]
            w = (c - 1.0) * y[a]
            for f in range(a + 1):
                A[a, f] += w * y[f]
    # Cholesky A = L Lᵀ in the lower triangle
    for a in range(k):
        s = A[a, a]
        for f in range(a):
            s -= A[a, f] * A[a, f]
        s = np.sqrt(max(s, 1e-30))
        A[a, a] = s
        for i in range(a + 1, k):
            t = A[i, a]
            for f in range(a):
                t -= A[i, f] * A[a, f]
            A[i, a] = t / s
    for a in range(k):  # L z = rhs
        t = rhs[a]
        for f in range(a):
            t -= A[a, f] * rhs[f]
        rhs[a] = t / A[a, a]
    for a in range(k - 1, -1, -1):  # Lᵀ x = z
        t = rhs[a]
        for f in range(a + 1, k):
            t -= A[f, a] * rhs[f]
        rhs[a] = t / A[a, a]
    for a in range(k):
        out[u, a] = rhs[a]


@njit(cache=True, parallel=True)
def als_solve(indptr, indices, data, Y, gram, out):  # pragma: no cover - numba
    """Exact solution of the ALS system for each CSR row into ``out`` (float64 Cholesky)."""
    for u in prange(len(indptr) - 1):
        _solve_row(indptr, indices, data, Y, gram, out, u)


@njit(cache=True)
def als_solve_serial(indptr, indices, data, Y, gram, out):  # pragma: no cover - numba
    """:func:`als_solve` on the calling thread (no thread team: for a few rows)."""
    for u in range(len(indptr) - 1):
        _solve_row(indptr, indices, data, Y, gram, out, u)


def als_solve_reference(indptr, indices, data, Y, gram) -> np.ndarray:
    """Plain numpy twin of :func:`als_solve`; returns the float64 solutions."""
    n, k = len(indptr) - 1, Y.shape[1]
    out = np.zeros((n, k))
    for u in range(n):
        cols = indices[indptr[u]:indptr[u + 1]]
        c = data[indptr[u]:indptr[u + 1]].astype(np.float64)
        Yu = Y[cols].astype(np.float64)
        A = gram.astype(np.float64) + Yu.T @ ((np.abs(c) - 1)[:, None] * Yu)
        out[u] = np.linalg.solve(A, Yu.T @ (np.abs(c) * (c > 0)))
    return out


# --------------------------------------------------------------------------- scoring

@njit(cache=True, fastmath=_FAST)
def dot_rows(U, Y, out):  # pragma: no cover - numba
    """``out = U @ Y.T`` on the calling thread (a few users' scores over all items)."""
    n, k = U.shape
    for r in range(n):
        u = U[r]
        o = out[r]
        for i in range(Y.shape[0]):
            y = Y[i]
            s = np.float32(0.0)
            for f in range(k):
                s += u[f] * y[f]
            o[i] = s


def dot_rows_reference(U, Y) -> np.ndarray:
    """Plain numpy twin of :func:`dot_rows`."""
    return U @ Y.T


# --------------------------------------------------------------------------- BPR

@njit(cache=True, inline="always")
def _seen(indices, start, end, item):  # pragma: no cover - numba
    lo, hi = start, end
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == item


@njit(cache=True, inline="always", fastmath=_FAST)
def _bpr_block(users, indptr, indices, negatives, X, Y, bias, lr_user, lr_item, reg, lo, hi,
               state):  # pragma: no cover - numba
    nnz = len(indices)
    n_neg = len(negatives)
    k = X.shape[1]
    loglik = 0.0
    taken = 0
    for _ in range(lo, hi):
        state, r1 = lcg_next(state)
        state, r2 = lcg_next(state)
        j = r1 % nnz
        u = users[j]
        i = indices[j]
        neg = negatives[r2 % n_neg]
        if _seen(indices, indptr[u], indptr[u + 1], neg):
            continue
        x = X[u]
        yi = Y[i]
        yj = Y[neg]
        z = bias[i] - bias[neg]
        for f in range(k):
            z += x[f] * (yi[f] - yj[f])
        # d/dz log σ(z) = σ(−z)
        if z >= 0:
            e = np.exp(-z)
            g = e / (1.0 + e)
            loglik -= np.log1p(e)
        else:
            e = np.exp(z)
            g = 1.0 / (1.0 + e)
            loglik += z - np.log1p(e)
        g = np.float32(g)
        bias[i] += lr_item * (g - reg * bias[i])
        bias[neg] += lr_item * (-g - reg * bias[neg])
        for f in range(k):
            xf = x[f]
            x[f] += lr_user * (g * (yi[f] - yj[f]) - reg * xf)
            yi[f] += lr_item * (g * xf - reg * yi[f])
            yj[f] += lr_item * (-g * xf - reg * yj[f])
        taken += 1
    return loglik, taken


@njit(cache=True, parallel=True, fastmath=_FAST)
def bpr_epoch(users, indptr, indices, negatives, X, Y, bias, lr_user, lr_item, reg, n_samples,
              seeds):  # pragma: no cover - numba
    """``n_samples`` BPR SGD steps split over ``len(seeds)`` HogWild! blocks.

    A step picks an interaction ``j`` (user ``users[j]``, item ``indices[j]``; CSR order,
    sorted columns per row) and a negative ``negatives[r]``; a negative the user has seen
    is skipped. ``bias`` holds the item biases; ``lr_item = 0`` keeps items fixed (fold-in).
    Returns ``(Σ log σ(x_uij), steps taken)``.
    """
    n_blocks = len(seeds)
    loglik = np.zeros(n_blocks)
    taken = np.zeros(n_blocks, np.int64)
    for b in prange(n_blocks):
        loglik[b], taken[b] = _bpr_block(
            users, indptr, indices, negatives, X, Y, bias, lr_user, lr_item, reg,
            b * n_samples // n_blocks, (b + 1) * n_samples // n_blocks, seeds[b])
    return loglik.sum(), taken.sum()


@njit(cache=True, fastmath=_FAST)
def bpr_epoch_serial(users, indptr, indices, negatives, X, Y, bias, lr_user, lr_item, reg,
                     n_samples, seeds):  # pragma: no cover - numba
    """:func:`bpr_epoch` on the calling thread, blocks in order (for fold-in)."""
    n_blocks = len(seeds)
    loglik = 0.0
    taken = 0
    for b in range(n_blocks):
        ll, t = _bpr_block(users, indptr, indices, negatives, X, Y, bias, lr_user, lr_item, reg,
                           b * n_samples // n_blocks, (b + 1) * n_samples // n_blocks, seeds[b])
        loglik += ll
        taken += t
    return loglik, taken


def bpr_epoch_reference(users, indptr, indices, negatives, X, Y, bias, lr_user, lr_item, reg,
                        n_samples, seeds):
    """Plain Python twin of :func:`bpr_epoch` (blocks in order, the same samples)."""
    nnz, n_blocks = len(indices), len(seeds)
    loglik, taken = 0.0, 0
    for b in range(n_blocks):
        state = int(seeds[b])
        for _ in range(b * n_samples // n_blocks, (b + 1) * n_samples // n_blocks):
            state, r1 = _lcg_ref(state)
            state, r2 = _lcg_ref(state)
            j = r1 % nnz
            u, i, neg = users[j], indices[j], negatives[r2 % len(negatives)]
            if neg in indices[indptr[u]:indptr[u + 1]]:
                continue
            z = bias[i] - bias[neg] + X[u] @ (Y[i] - Y[neg])
            loglik += -np.logaddexp(0.0, -z)
            g = np.float32(1.0 / (1.0 + np.exp(z)))  # the kernel's step is float32 too
            bias[i] += lr_item * (g - reg * bias[i])
            bias[neg] += lr_item * (-g - reg * bias[neg])
            x, yi, yj = X[u].copy(), Y[i].copy(), Y[neg].copy()
            X[u] += lr_user * (g * (yi - yj) - reg * x)
            Y[i] += lr_item * (g * x - reg * yi)
            Y[neg] += lr_item * (-g * x - reg * yj)
            taken += 1
    return loglik, taken


def bpr_seeds(seed: int, epoch: int, n_blocks: int) -> np.ndarray:
    """Per-block LCG seeds of one epoch (uint64)."""
    return np.array([_block_seed(seed * 1_000_003 + epoch, b) for b in range(n_blocks)],
                    dtype=np.uint64)


# --------------------------------------------------------------------------- biased MF

@njit(cache=True, parallel=True, fastmath=_FAST)
def mf_epoch(users, items, ratings, perm, P, Q, bu, bi, mu, lr, reg, reg_bias,
             n_blocks):  # pragma: no cover - numba
    """One SGD epoch of biased MF over ``perm`` in ``n_blocks`` HogWild! blocks; returns SSE."""
    k = P.shape[1]
    n = len(perm)
    sse = np.zeros(n_blocks)
    for b in prange(n_blocks):
        for t in range(b * n // n_blocks, (b + 1) * n // n_blocks):
            row = perm[t]
            u = users[row]
            i = items[row]
            p = P[u]
            q = Q[i]
            pred = mu + bu[u] + bi[i]
            for f in range(k):
                pred += p[f] * q[f]
            e = ratings[row] - pred
            sse[b] += e * e
            bu[u] += lr * (e - reg_bias * bu[u])
            bi[i] += lr * (e - reg_bias * bi[i])
            for f in range(k):
                pf = p[f]
                p[f] += lr * (e * q[f] - reg * pf)
                q[f] += lr * (e * pf - reg * q[f])
    return sse.sum()


def mf_epoch_reference(users, items, ratings, perm, P, Q, bu, bi, mu, lr, reg, reg_bias,
                       n_blocks=1) -> float:
    """Plain numpy twin of :func:`mf_epoch` (sequential: blocks in order = ``perm`` order)."""
    sse = 0.0
    for row in perm:
        u, i = users[row], items[row]
        e = ratings[row] - (mu + bu[u] + bi[i] + P[u] @ Q[i])
        sse += float(e) ** 2
        bu[u] += lr * (e - reg_bias * bu[u])
        bi[i] += lr * (e - reg_bias * bi[i])
        p = P[u].copy()
        P[u] += lr * (e * Q[i] - reg * p)
        Q[i] += lr * (e * p - reg * Q[i])
    return sse
