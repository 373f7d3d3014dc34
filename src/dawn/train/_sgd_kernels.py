"""Kernels of :class:`dawn.train.linear.LinearModel`: HogWild! SGD epochs and scoring.

The model is a logistic regression on ``q`` outputs: ``q = 1`` is binary (``p = σ(z)``),
``q = k > 1`` multinomial (``p = softmax(z)``), with ``z = W x + b``. The loss of a row
with target distribution ``t`` (a row of the probabilistic labels) and weight ``s`` is the
expected cross-entropy ``-s Σ_c t_c log p_c``; its gradient in ``z`` is ``s (p - t)``.

One SGD step on row ``i`` at step ``τ`` uses ``η = η0 / (1 + η0 α τ)`` (scikit-learn's
"optimal" schedule when ``η0`` comes from its heuristic), shrinks the weights by
``1 - η α`` (L2) and moves them by ``-η s (p - t) x``; the intercept is not shrunk.

- Dense rows (:func:`sgd_epoch_dense`) update ``W (q, d)`` in place with the shrink fused
  into the same pass.
- CSR rows (:func:`sgd_epoch_csr`) work on ``V (d, q)`` (a feature's ``q`` weights side by
  side) with a scale ``ws[0]`` (the true weights are ``ws[0] * V``), so a step touches only
  the row's non-zeros.

Rows are visited in the order ``perm``; ``n_threads > 1`` splits ``perm`` into that many
contiguous blocks processed at once by numba threads, all reading and writing the shared
weights without locks (HogWild!): fast, but the result then depends on thread timing.
With one thread the epoch is a plain sequential loop and bit-reproducible.

:func:`proba_csr` / :func:`proba_dense` score rows (softmax or sigmoid) and
:func:`sgd_epoch_reference` / :func:`proba_reference` are the plain numpy references.

>>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
>>> T = np.array([[1.0], [0.0]])            # P(class 1) of each row
>>> W, b = np.zeros((1, 2)), np.zeros(1)
>>> loss = sgd_epoch_dense(X, T, np.ones(2), W, b, np.array([0, 1]), 0, 1.0, 1e-4)
>>> np.round(W, 3).tolist(), np.round(b, 3).tolist(), round(loss, 4)
([[0.5, -0.622]], [-0.122], 1.6672)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["CSRState", "proba_csr", "proba_dense", "proba_reference", "sgd_epoch_csr",
           "sgd_epoch_dense", "sgd_epoch_reference"]

_FAST = {"nsz", "arcp", "contract", "reassoc"}  # no nnan/ninf: NaN checks stay valid
_MAX_SHRINK = 0.5  # η α is capped so a step never shrinks the weights by more than half


_PREFETCH_AHEAD = 8  # rows: shuffled rows are cache misses, so fetch them this early


def _prefetch_name() -> str:
    import llvmlite.binding as llvm

    return "llvm.prefetch.p0" if llvm.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"


@intrinsic
def _prefetch(typingctx, arr, idx):  # pragma: no cover - compiled
    """Hint the CPU to load the cache line of ``arr[idx]`` (``idx`` an int or a tuple)."""
    def codegen(context, builder, signature, args):
        from llvmlite import ir

        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        if isinstance(idxty, types.BaseTuple):
            inds = cgutils.unpack_tuple(builder, args[1], len(idxty))
        else:
            inds = [args[1]]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, inds)
        i8p = ir.PointerType(ir.IntType(8))
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, _prefetch_name())
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


# --------------------------------------------------------------------------- shared math

@njit(cache=True, inline="always")
def _eta(eta0, alpha, tau):  # pragma: no cover - numba
    eta = eta0 / (1.0 + eta0 * alpha * tau)
    if eta * alpha > _MAX_SHRINK:
        eta = _MAX_SHRINK / alpha
    return eta


@njit(cache=True, inline="always")
def _grad(z, t, s, g):  # pragma: no cover - numba
    """Gradient ``s (p - t)`` into ``g`` from scores ``z``; returns the row's loss."""
    q = len(z)
    if q == 1:
        zz = z[0]
        # p = σ(z); loss = -(t log p + (1 - t) log(1 - p)) = softplus(z) - t z
        if zz >= 0:
            ez = math.exp(-zz)
            p = 1.0 / (1.0 + ez)
            sp = zz + math.log1p(ez)
        else:
            ez = math.exp(zz)
            p = ez / (1.0 + ez)
            sp = math.log1p(ez)
        g[0] = s * (p - t[0])
        return s * (sp - t[0] * zz)
    m = z[0]
    for c in range(1, q):
        if z[c] > m:
            m = z[c]
    tot = 0.0
    for c in range(q):
        g[c] = math.exp(z[c] - m)
        tot += g[c]
    lse = m + math.log(tot)
    loss = 0.0
    for c in range(q):
        loss += t[c] * (lse - z[c])
        g[c] = s * (g[c] / tot - t[c])
    return s * loss


# --------------------------------------------------------------------------- dense rows

@njit(cache=True, fastmath=_FAST)
def _dense_block(X, T, sw, W, b, A, ab, cnt, perm, r0, r1, step, t0, eta0, alpha, avg_start):
    # pragma: no cover - numba
    q, d = W.shape
    z = np.empty(q)
    g = np.empty(q)
    typed = np.zeros(3, dtype=W.dtype)  # scalars in W's precision (float32 stays float32)
    line = max(1, 64 // X.itemsize)
    loss = 0.0
    tau = t0
    for r in range(r0, r1):
        if r + _PREFETCH_AHEAD < r1:
            nxt = perm[r + _PREFETCH_AHEAD]
            for j in range(0, d, line):
                _prefetch(X, (nxt, j))
            _prefetch(T, (nxt, 0))
            _prefetch(sw, nxt)
        i = perm[r]
        x = X[i]
        for c in range(q):
            acc = typed[0] * 0
            w = W[c]
            for j in range(d):
                acc += w[j] * x[j]
            z[c] = acc + b[c]
        loss += _grad(z, T[i], sw[i], g)
        eta = _eta(eta0, alpha, tau)
        typed[0] = 1.0 - eta * alpha
        shrink = typed[0]
        averaging = avg_start >= 0 and tau >= avg_start
        if averaging:
            cnt[0] += 1.0
            typed[2] = 1.0 / cnt[0]
        inv = typed[2]
        for c in range(q):
            typed[1] = eta * g[c]
            gc = typed[1]
            w = W[c]
            b[c] -= eta * g[c]
            if averaging:
                a = A[c]
                for j in range(d):
                    wn = w[j] * shrink - gc * x[j]
                    w[j] = wn
                    a[j] += (wn - a[j]) * inv
                ab[c] += (b[c] - ab[c]) / cnt[0]
            else:
                for j in range(d):
                    w[j] = w[j] * shrink - gc * x[j]
        tau += step
    return loss


@njit(cache=True)
def _dense_serial(X, T, sw, W, b, A, ab, cnt, perm, t0, eta0, alpha, avg_start):
    # pragma: no cover - numba
    return _dense_block(X, T, sw, W, b, A, ab, cnt, perm, 0, len(perm), 1, t0, eta0, alpha,
                        avg_start)


@njit(cache=True, parallel=True)
def _dense_parallel(X, T, sw, W, b, A, ab, cnt, perm, t0, eta0, alpha, avg_start, n_threads):
    # pragma: no cover - numba
    n = len(perm)
    losses = np.zeros(n_threads)
    for th in prange(n_threads):
        r0 = n * th // n_threads
        r1 = n * (th + 1) // n_threads
        losses[th] = _dense_block(X, T, sw, W, b, A, ab, cnt, perm, r0, r1, n_threads, t0 + th,
                                  eta0, alpha, avg_start)
    return losses.sum()


def sgd_epoch_dense(X: np.ndarray, T: np.ndarray, sw: np.ndarray, W: np.ndarray,
                    b: np.ndarray, perm: np.ndarray, t0: int, eta0: float, alpha: float,
                    n_threads: int = 1, avg: tuple | None = None, avg_start: int = -1
                    ) -> float:
    """One epoch over dense rows ``X[perm]``, updating ``W (q, d)`` and ``b (q,)`` in place.

    ``avg = (A, ab, cnt)`` keeps running means of the weights and intercept over the
    steps ``τ >= avg_start`` (``cnt[0]`` counts them; ``avg_start < 0``: no averaging).
    Returns the summed (weighted) loss of the rows, each taken just before its step.
    """
    if avg is None:
        A, ab, cnt = np.zeros((1, 1), W.dtype), np.zeros(1), np.zeros(1)
        avg_start = -1
    else:
        A, ab, cnt = avg
    if n_threads <= 1:
        return float(_dense_serial(X, T, sw, W, b, A, ab, cnt, perm, t0, eta0, alpha,
                                   avg_start))
    return float(_dense_parallel(X, T, sw, W, b, A, ab, cnt, perm, t0, eta0, alpha, avg_start,
                                 n_threads))


# --------------------------------------------------------------------------- CSR rows

@njit(cache=True, fastmath=_FAST)
def _csr_block(indptr, indices, data, T, sw, V, b, ws, U, Aacc, ab, sc, perm, r0, r1, step,
               t0, eta0, alpha, avg_start, renorm):  # pragma: no cover - numba
    q = V.shape[1]
    z = np.empty(q)
    g = np.empty(q)
    typed = np.zeros(1, dtype=V.dtype)
    loss = 0.0
    tau = t0
    for r in range(r0, r1):
        if r + _PREFETCH_AHEAD < r1:
            nxt = perm[r + _PREFETCH_AHEAD]
            _prefetch(indptr, nxt)
            _prefetch(T, (nxt, 0))
            _prefetch(sw, nxt)
        if r + _PREFETCH_AHEAD // 2 < r1:
            nxt = perm[r + _PREFETCH_AHEAD // 2]
            _prefetch(indices, indptr[nxt])
            _prefetch(data, indptr[nxt])
        i = perm[r]
        p0, p1 = indptr[i], indptr[i + 1]
        for c in range(q):
            z[c] = 0.0
        for p in range(p0, p1):
            v = V[indices[p]]
            xv = data[p]
            for c in range(q):
                z[c] += v[c] * xv
        scale = ws[0]
        for c in range(q):
            z[c] = z[c] * scale + b[c]
        loss += _grad(z, T[i], sw[i], g)
        eta = _eta(eta0, alpha, tau)
        scale = scale * (1.0 - eta * alpha)
        ws[0] = scale
        averaging = avg_start >= 0 and tau >= avg_start
        for c in range(q):
            g[c] *= eta
            b[c] -= g[c]
            g[c] /= scale
        if averaging:
            s_prev = sc[0]
            for p in range(p0, p1):
                j = indices[p]
                v = V[j]
                u = U[j]
                xv = data[p]
                for c in range(q):
                    typed[0] = g[c] * xv
                    v[c] -= typed[0]
                    u[c] -= s_prev * typed[0]
            sc[0] = s_prev + scale
            sc[1] += 1.0
            for c in range(q):
                ab[c] += (b[c] - ab[c]) / sc[1]
        else:
            for p in range(p0, p1):
                v = V[indices[p]]
                xv = data[p]
                for c in range(q):
                    typed[0] = g[c] * xv
                    v[c] -= typed[0]
        if renorm and scale < 1e-9:
            _renorm(V, ws, U, Aacc, sc, averaging)
        tau += step
    return loss


@njit(cache=True)
def _renorm(V, ws, U, Aacc, sc, averaging):  # pragma: no cover - numba
    """Fold the scale into ``V`` (and the running sum into ``Aacc``); ``ws[0]`` becomes 1."""
    if averaging or sc[0] != 0.0:
        d, q = V.shape
        for j in range(d):
            for c in range(q):
                Aacc[j, c] += sc[0] * V[j, c] - U[j, c]
                U[j, c] = 0.0
        sc[0] = 0.0
    V *= ws[0]
    ws[0] = 1.0


@njit(cache=True)
def _csr_serial(indptr, indices, data, T, sw, V, b, ws, U, Aacc, ab, sc, perm, t0, eta0, alpha,
                avg_start):  # pragma: no cover - numba
    return _csr_block(indptr, indices, data, T, sw, V, b, ws, U, Aacc, ab, sc, perm, 0,
                      len(perm), 1, t0, eta0, alpha, avg_start, True)


@njit(cache=True, parallel=True)
def _csr_parallel(indptr, indices, data, T, sw, V, b, ws, U, Aacc, ab, sc, perm, t0, eta0,
                  alpha, avg_start, n_threads):  # pragma: no cover - numba
    n = len(perm)
    losses = np.zeros(n_threads)
    for th in prange(n_threads):
        r0 = n * th // n_threads
        r1 = n * (th + 1) // n_threads
        losses[th] = _csr_block(indptr, indices, data, T, sw, V, b, ws, U, Aacc, ab, sc, perm,
                                r0, r1, n_threads, t0 + th, eta0, alpha, avg_start, False)
    return losses.sum()


class CSRState:
    """Weights of a CSR fit: ``V (d, q)`` with scale ``ws``, and the averaging sums.

    The current weights are ``ws[0] * V``; the mean of the weights over the averaged steps
    is ``(Aacc + sc[0] * V - U) / sc[1]`` (Xu's lazy averaging, so a step touches only the
    row's non-zeros).
    """

    def __init__(self, d: int, q: int, dtype: type) -> None:
        self.V = np.zeros((d, q), dtype=dtype)
        self.b = np.zeros(q)
        self.ws = np.ones(1)
        self.U = np.zeros((d, q))
        self.Aacc = np.zeros((d, q))
        self.ab = np.zeros(q)
        self.sc = np.zeros(2)  # [running sum of scales, number of averaged steps]

    def weights(self) -> np.ndarray:
        """Current weights ``(q, d)``."""
        return (self.ws[0] * self.V.astype(np.float64)).T

    def averaged(self) -> np.ndarray:
        """Averaged weights ``(q, d)`` (the current ones when nothing was averaged)."""
        if self.sc[1] == 0:
            return self.weights()
        A = self.Aacc + self.sc[0] * self.V.astype(np.float64) - self.U
        return (A / self.sc[1]).T

    def renorm(self) -> None:
        _renorm(self.V, self.ws, self.U, self.Aacc, self.sc, self.sc[1] > 0)


def sgd_epoch_csr(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, T: np.ndarray,
                  sw: np.ndarray, state: CSRState, perm: np.ndarray, t0: int, eta0: float,
                  alpha: float, n_threads: int = 1, avg_start: int = -1) -> float:
    """One epoch over CSR rows, updating ``state`` in place (see :class:`CSRState`).

    Returns the summed loss as :func:`sgd_epoch_dense`.
    """
    st = state
    args = (indptr, indices, data, T, sw, st.V, st.b, st.ws, st.U, st.Aacc, st.ab, st.sc, perm,
            t0, eta0, alpha, avg_start)
    if n_threads <= 1:
        out = _csr_serial(*args)
    else:
        out = _csr_parallel(*args, n_threads)
        if st.ws[0] < 1e-6:
            st.renorm()
    return float(out)


# --------------------------------------------------------------------------- scoring

@njit(cache=True, inline="always")
def _finish(z, out, i):  # pragma: no cover - numba
    q = len(z)
    if q == 1:
        zz = z[0]
        p = 1.0 / (1.0 + math.exp(-zz)) if zz >= 0 else math.exp(zz) / (1.0 + math.exp(zz))
        out[i, 0] = 1.0 - p
        out[i, 1] = p
        return
    m = z[0]
    for c in range(1, q):
        if z[c] > m:
            m = z[c]
    tot = 0.0
    for c in range(q):
        z[c] = math.exp(z[c] - m)
        tot += z[c]
    for c in range(q):
        out[i, c] = z[c] / tot


@njit(cache=True, parallel=True, fastmath=_FAST)
def _proba_csr(indptr, indices, data, Wt, b, out, chunks):  # pragma: no cover - numba
    q = Wt.shape[1]
    for ch in prange(len(chunks) - 1):
        z = np.empty(q)
        for i in range(chunks[ch], chunks[ch + 1]):
            for c in range(q):
                z[c] = b[c]
            for p in range(indptr[i], indptr[i + 1]):
                w = Wt[indices[p]]
                xv = data[p]
                for c in range(q):
                    z[c] += w[c] * xv
            _finish(z, out, i)


@njit(cache=True, parallel=True)
def _proba_from_scores(Z, out, chunks):  # pragma: no cover - numba
    q = Z.shape[1]
    for ch in prange(len(chunks) - 1):
        z = np.empty(q)
        for i in range(chunks[ch], chunks[ch + 1]):
            for c in range(q):
                z[c] = Z[i, c]
            _finish(z, out, i)


def _chunks(n: int) -> np.ndarray:
    return np.linspace(0, n, max(1, min(n, 64)) + 1).astype(np.int64)


def proba_csr(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, Wt: np.ndarray,
              b: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, max(q, 2))`` of CSR rows for weights ``Wt (d, q)``."""
    n = len(indptr) - 1
    out = np.empty((n, max(Wt.shape[1], 2)))
    _proba_csr(indptr, indices, data, Wt, np.asarray(b, dtype=np.float64), out, _chunks(n))
    return out


def proba_dense(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, max(q, 2))`` of dense rows for weights ``W (q, d)``."""
    Z = np.ascontiguousarray(X @ W.T, dtype=np.float64) + b
    out = np.empty((len(Z), max(W.shape[0], 2)))
    _proba_from_scores(Z, out, _chunks(len(Z)))
    return out


# --------------------------------------------------------------------------- references

def proba_reference(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plain numpy reference of :func:`proba_dense` / :func:`proba_csr` (``X`` dense)."""
    Z = np.asarray(X, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T + b
    if W.shape[0] == 1:
        p = 1.0 / (1.0 + np.exp(-Z[:, 0]))
        return np.column_stack([1.0 - p, p])
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def sgd_epoch_reference(X: np.ndarray, T: np.ndarray, sw: np.ndarray, W: np.ndarray,
                        b: np.ndarray, perm: np.ndarray, t0: int, eta0: float, alpha: float,
                        avg: tuple | None = None, avg_start: int = -1) -> float:
    """Plain numpy reference of one sequential epoch (``X`` dense or CSR; updates ``W``,
    ``b`` and the running means ``avg = (A, ab, cnt)`` in place)."""
    loss = 0.0
    for r, i in enumerate(perm):
        row = X[i]
        x = np.asarray(row.toarray()[0] if hasattr(row, "toarray") else row, dtype=np.float64)
        z = W.astype(np.float64) @ x + b
        if W.shape[0] == 1:
            p = 1.0 / (1.0 + np.exp(-z))
            loss += sw[i] * (np.logaddexp(0.0, z[0]) - T[i, 0] * z[0])
        else:
            e = np.exp(z - z.max())
            p = e / e.sum()
            loss += -sw[i] * float(T[i] @ np.log(p))
        g = sw[i] * (p - T[i])
        tau = t0 + r
        eta = eta0 / (1.0 + eta0 * alpha * tau)
        if eta * alpha > _MAX_SHRINK:
            eta = _MAX_SHRINK / alpha
        W *= 1.0 - eta * alpha
        W -= eta * np.outer(g, x).astype(W.dtype)
        b -= eta * g
        if avg is not None and 0 <= avg_start <= tau:
            A, ab, cnt = avg
            cnt[0] += 1
            A += (W - A) / cnt[0]
            ab += (b - ab) / cnt[0]
    return float(loss)
