"""Biased matrix factorisation of explicit ratings (Koren, Bell, Volinsky 2009) by SGD.

The prediction is ``r̂ = μ + bᵤ + bᵢ + pᵤ·qᵢ``; each SGD step on a rating moves the two
biases and the two factor vectors along the error ``e = r − r̂`` with L2 penalties
``regularization`` (factors) and ``bias_regularization`` (biases). Epochs visit the ratings
in a fresh seeded order; blocks of them run on numba threads without locks (HogWild!);
``threads=1`` is exactly reproducible for a seed.

Fold-in of a new history alternates ``fold_in_steps`` ridge solves for ``pᵤ`` and ``bᵤ``
against the fixed item side, with the penalties scaled by the history length as SGD
applies them once per rating.

>>> import scipy.sparse as sp
>>> R = sp.csr_matrix(np.array([[5, 4, 0, 1], [4, 5, 1, 0], [1, 0, 5, 4]], np.float32))
>>> mf = BiasedMF(factors=2, iterations=200, threads=1).fit(R)
>>> bool(mf.score(sp.csr_matrix(R[:1]), np.array([0]))[0, 1] > 3.0)
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from dawn.recommend.models._base import FactorModel, as_interactions, as_rows, threads_for

__all__ = ["BiasedMF"]


class BiasedMF(FactorModel):
    """Explicit-rating matrix factorisation with user and item biases.

    Parameters
    ----------
    factors : int
        Latent dimensions.
    iterations : int
        SGD epochs over the ratings.
    learning_rate : float
        SGD step size.
    regularization : float
        L2 penalty on the factors.
    bias_regularization : float
        L2 penalty on the biases.
    init_std : float
        Standard deviation of the random initial factors.
    fold_in_steps : int
        Alternating ridge solves when folding a user in.
    seed : int
        Seeds the initial factors and the epoch orders.
    threads : int or None
        numba threads (HogWild! blocks); ``None``: all of numba's threads.
    """

    name = "mf"
    _state = ("user_factors_", "item_factors_", "user_bias_", "item_bias_")
    # parameter -> (lower bound, integer, strict bound, None allowed)
    _checks: ClassVar[dict[str, tuple]] = {
        "factors": (1, True, False, False), "iterations": (0, True, False, False),
        "learning_rate": (0.0, False, True, False),
        "regularization": (0.0, False, False, False),
        "bias_regularization": (0.0, False, False, False),
        "init_std": (0.0, False, False, False), "fold_in_steps": (1, True, False, False),
        "threads": (1, True, False, True)}

    def __init__(self, *, factors: int = 64, iterations: int = 20, learning_rate: float = 0.005,
                 regularization: float = 0.02, bias_regularization: float = 0.02,
                 init_std: float = 0.1, fold_in_steps: int = 3, seed: int = 0,
                 threads: int | None = None) -> None:
        self.factors = factors
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.bias_regularization = bias_regularization
        self.init_std = init_std
        self.fold_in_steps = fold_in_steps
        self.seed = seed
        self.threads = threads

    def fit(self, R: Any, *, warm_start: bool = False) -> BiasedMF:
        """Fit on a users × items matrix of ratings (stored entries only); returns ``self``."""
        import numba

        from dawn.recommend._kernels import mf_epoch

        self._validate_params()
        R = as_interactions(R, "BiasedMF")
        n_users, n_items = R.shape
        k = int(self.factors)
        rng = np.random.default_rng(self.seed)
        P = (rng.standard_normal((n_users, k)) * self.init_std).astype(np.float32)
        Q = (rng.standard_normal((n_items, k)) * self.init_std).astype(np.float32)
        bu = np.zeros(n_users, np.float32)
        bi = np.zeros(n_items, np.float32)
        if warm_start and self.fitted and self.item_factors_.shape[1] == k:
            nu, ni = min(n_users, self.n_users), min(n_items, self.n_items)
            P[:nu], Q[:ni] = self.user_factors_[:nu], self.item_factors_[:ni]
            bu[:nu], bi[:ni] = self.user_bias_[:nu], self.item_bias_[:ni]
        users = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(R.indptr))
        items = R.indices.astype(np.int32)
        ratings = R.data.astype(np.float32)
        mu = np.float32(ratings.mean())
        f32 = np.float32
        n_blocks = 1 if self.threads == 1 else int(self.threads or numba.get_num_threads())
        with threads_for(self.threads, work=np.inf):
            for _ in range(int(self.iterations)):
                perm = rng.permutation(len(ratings))
                mf_epoch(users, items, ratings, perm, P, Q, bu, bi, mu, f32(self.learning_rate),
                         f32(self.regularization), f32(self.bias_regularization), n_blocks)
        self.user_factors_, self.item_factors_ = P, Q
        self.user_bias_, self.item_bias_ = bu, bi
        self.global_mean_ = float(mu)
        return self

    def _meta(self) -> dict[str, Any]:
        return {"global_mean": self.global_mean_}

    def _restore(self, meta: dict[str, Any]) -> None:
        self.global_mean_ = float(meta.get("global_mean", 0.0))

    def _item_offset(self) -> np.ndarray:
        return self.item_bias_ + np.float32(self.global_mean_)

    def _grow_items(self, n_new: int) -> None:
        self.item_bias_ = np.concatenate([self.item_bias_, np.zeros(n_new, np.float32)])

    def _known_user_offset(self, users: np.ndarray) -> np.ndarray:
        return self.user_bias_[users]

    def _fold_in_rows(self, rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        return self._fold_in(rows)

    def fold_in(self, rows: Any) -> np.ndarray:
        """User factors for these rating histories (ridge steps, items fixed)."""
        self._check_fitted()
        return self._fold_in(as_rows(rows, self.n_items, "BiasedMF"))[0]

    def _fold_in(self, rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        k = self.item_factors_.shape[1]
        P = np.zeros((rows.shape[0], k), np.float32)
        bu = np.zeros(rows.shape[0], np.float32)
        eye = np.eye(k)
        for u in range(rows.shape[0]):
            lo, hi = rows.indptr[u], rows.indptr[u + 1]
            if lo == hi:
                continue
            cols = rows.indices[lo:hi]
            Q = self.item_factors_[cols].astype(np.float64)
            resid = rows.data[lo:hi] - self.global_mean_ - self.item_bias_[cols]
            A = Q.T @ Q + self.regularization * (hi - lo) * eye
            p, b = np.zeros(k), 0.0
            for _ in range(int(self.fold_in_steps)):
                p = np.linalg.solve(A, Q.T @ (resid - b))
                b = float((resid - Q @ p).sum() / ((hi - lo) * (1.0 + self.bias_regularization)))
            P[u], bu[u] = p, b
        return P, bu
