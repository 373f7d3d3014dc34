"""Confidence-weighted implicit ALS (Hu, Koren, Volinsky 2008) with conjugate-gradient steps.

Each interaction value ``r`` becomes a confidence ``c = 1 + α r`` that the user prefers
the item; every other user–item pair has confidence 1 in preference 0. The model
minimises ``Σ c (p − xᵤ·yᵢ)² + λ (‖X‖² + ‖Y‖²)`` by alternating half-steps; each user's
(item's) system is solved approximately by ``cg_steps`` conjugate-gradient steps warm-
started from the previous factors (Takács et al. 2011, as the ``implicit`` library does),
using ``YᵀY`` once per half-step so a step costs ``O(nnz · k + n · k²)``. Negative values
mean "preferred not" with confidence ``1 + α |r|``.

Fold-in of a new history solves the same user system exactly (Cholesky) against the
fixed item factors with the cached ``YᵀY + λI``.

>>> import scipy.sparse as sp
>>> R = sp.csr_matrix(np.kron(np.eye(2), np.ones((3, 3))), dtype=np.float32)
>>> als = ALS(factors=2, iterations=10, threads=1).fit(R)
>>> als.score(sp.csr_matrix(R[:1])).argmax(axis=1).tolist()[0] in (0, 1, 2)
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from dawn.errors import DataError
from dawn.recommend.models._base import FactorModel, as_interactions, as_rows, threads_for
from dawn.runtime.threads import PARALLEL_WORK

__all__ = ["ALS"]


class ALS(FactorModel):
    """Implicit-feedback matrix factorisation by alternating least squares.

    Parameters
    ----------
    factors : int
        Latent dimensions ``k``.
    iterations : int
        Alternating passes (each updates all users, then all items).
    regularization : float
        ``λ``, the L2 penalty on the factors.
    alpha : float
        Confidence slope: ``c = 1 + alpha · value``.
    cg_steps : int
        Conjugate-gradient steps per user/item and half-step.
    seed : int
        Seeds the random initial factors.
    threads : int or None
        numba threads for the half-steps (``None``: all of numba's threads).
    """

    name = "als"
    # parameter -> (lower bound, integer, strict bound, None allowed)
    _checks: ClassVar[dict[str, tuple]] = {
        "factors": (1, True, False, False), "iterations": (0, True, False, False),
        "regularization": (0.0, False, False, False), "alpha": (0.0, False, False, False),
        "cg_steps": (1, True, False, False), "threads": (1, True, False, True)}

    def __init__(self, *, factors: int = 64, iterations: int = 15, regularization: float = 0.01,
                 alpha: float = 1.0, cg_steps: int = 3, seed: int = 0,
                 threads: int | None = None) -> None:
        self.factors = factors
        self.iterations = iterations
        self.regularization = regularization
        self.alpha = alpha
        self.cg_steps = cg_steps
        self.seed = seed
        self.threads = threads

    def confidence(self, R: sp.csr_matrix) -> sp.csr_matrix:
        """Signed confidences ``±(1 + α|r|)`` of the stored values (sign = preference)."""
        C = R.copy()
        C.data = (np.sign(R.data) * (1.0 + self.alpha * np.abs(R.data))).astype(np.float32)
        return C

    def fit(self, R: Any, *, warm_start: bool = False) -> ALS:
        """Fit on a users × items matrix; ``warm_start`` continues from the current factors."""
        from dawn.recommend._kernels import als_cg

        self._validate_params()
        R = as_interactions(R, "ALS")
        n_users, n_items = R.shape
        C = self.confidence(R)
        Ct = C.T.tocsr()
        Ct.sort_indices()
        k = int(self.factors)
        rng = np.random.default_rng(self.seed)
        X = rng.random((n_users, k), dtype=np.float32) * np.float32(0.01)
        Y = rng.random((n_items, k), dtype=np.float32) * np.float32(0.01)
        if warm_start and self.fitted and self.item_factors_.shape[1] == k:
            nu = min(n_users, self.n_users)
            ni = min(n_items, self.item_factors_.shape[0])
            X[:nu] = self.user_factors_[:nu]
            Y[:ni] = self.item_factors_[:ni]
        reg = np.float64(self.regularization) * np.eye(k)
        with threads_for(self.threads, work=np.inf):
            for _ in range(int(self.iterations)):
                gram = (Y.T.astype(np.float64) @ Y + reg).astype(np.float32)
                als_cg(C.indptr, C.indices, C.data, X, Y, gram, int(self.cg_steps))
                gram = (X.T.astype(np.float64) @ X + reg).astype(np.float32)
                als_cg(Ct.indptr, Ct.indices, Ct.data, Y, X, gram, int(self.cg_steps))
        self.user_factors_ = X
        self.item_factors_ = Y
        self._invalidate()
        return self

    def _gram(self) -> np.ndarray:
        g = getattr(self, "_gram_cache", None)
        if g is None:
            Y = self.item_factors_.astype(np.float64)
            g = Y.T @ Y + self.regularization * np.eye(Y.shape[1])
            self._gram_cache = g
        return g

    def _invalidate(self) -> None:
        self._gram_cache = None

    def _items_added(self, n_new: int) -> None:
        """New items start at zero factors: ``YᵀY`` is unchanged."""

    def _items_changed(self, items: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        """Update the cached ``YᵀY + λI`` by the changed rows (``O(len(items) · k²)``),
        instead of recomputing it over every item."""
        g = getattr(self, "_gram_cache", None)
        if g is None:
            return
        old = old.astype(np.float64)
        new = new.astype(np.float64)
        self._gram_cache = g + new.T @ new - old.T @ old

    def fold_in(self, rows: Any) -> np.ndarray:
        """Exact least-squares user factors for these histories, item factors fixed."""
        self._check_fitted()
        rows = as_rows(rows, self.n_items, "ALS")
        return self._solve(self.confidence(rows), self.item_factors_, self._gram())

    def fold_in_items(self, items: Any, cols: Any, *,
                      user_factors: np.ndarray | None = None) -> np.ndarray:
        """Set (and return) the factors of ``items`` from the users who touched them.

        ``cols`` is an items × users matrix (one row per entry of ``items``); each item's
        least squares is solved exactly against fixed user factors — the item half of an
        ALS step, for new items after :meth:`add_items`. The columns are the fitted users,
        or, with ``user_factors``, the users whose factors are its rows (e.g. only the
        users who touched the items, some of them folded in); the ``XᵀX`` term is always
        the fitted users'.
        """
        from dawn.recommend.models._base import check_items

        self._check_fitted()
        items = check_items(items, self.n_items, "ALS")
        if user_factors is None:
            fixed = self.user_factors_
        else:
            fixed = np.asarray(user_factors, dtype=np.float32)
            if fixed.ndim != 2 or fixed.shape[1] != self.item_factors_.shape[1]:
                raise DataError(f"ALS: user_factors must have {self.item_factors_.shape[1]} "
                                f"columns (the factors), got shape {fixed.shape}.")
        cols = as_rows(cols, len(fixed), "ALS", columns="user")
        if cols.shape[0] != len(items):
            raise DataError(f"ALS: cols has {cols.shape[0]} rows for {len(items)} items; pass "
                            "one row of user interactions per item.")
        factors = self._solve(self.confidence(cols), fixed, self._user_gram())
        self.set_item_factors(items, factors)
        return factors

    def _user_gram(self) -> np.ndarray:
        """``XᵀX + λI`` of the fitted user factors (cached until the next fit)."""
        g = getattr(self, "_user_gram_cache", None)
        if g is None or g[0] is not self.user_factors_:
            X = self.user_factors_.astype(np.float64)
            g = (self.user_factors_, X.T @ X + self.regularization * np.eye(X.shape[1]))
            self._user_gram_cache = g
        return g[1]

    def _solve(self, C: sp.csr_matrix, fixed: np.ndarray, gram: np.ndarray) -> np.ndarray:
        from dawn.recommend._kernels import als_solve, als_solve_serial

        k = fixed.shape[1]
        out = np.zeros((C.shape[0], k))
        work = (C.nnz + C.shape[0] * k) * k * k
        if self.threads == 1 or (self.threads is None and work < PARALLEL_WORK):
            # no thread team for small batches: waking it (and BLAS after it) costs more
            als_solve_serial(C.indptr, C.indices, C.data, fixed, gram, out)
        else:
            with threads_for(self.threads, work=work):
                als_solve(C.indptr, C.indices, C.data, fixed, gram, out)
        return out.astype(np.float32)
