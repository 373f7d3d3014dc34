"""Bayesian personalised ranking (Rendle et al. 2009) by HogWild! SGD.

An epoch takes ``nnz`` SGD steps on sampled triples ``(u, i, j)``: ``(u, i)`` a random
interaction, ``j`` a random item drawn by popularity (from the interaction list) that
``u`` has not touched; it raises ``log σ(xᵤ·(yᵢ − yⱼ) + bᵢ − bⱼ)`` with L2 penalty
``regularization``. Blocks of samples run on numba threads without locks; with
``threads=1`` a seed fixes the result exactly.

Fold-in of a new history runs the same SGD on the user's vector alone (items fixed),
``fold_in_epochs`` passes over the history, starting from zero.

>>> import scipy.sparse as sp
>>> R = sp.csr_matrix(np.kron(np.eye(2), np.ones((4, 4))), dtype=np.float32)
>>> bpr = BPR(factors=4, iterations=200, learning_rate=0.05, threads=1).fit(R)
>>> bpr.score(sp.csr_matrix(R[:1])).argmax(axis=1).tolist()[0] < 4
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from dawn.recommend.models._base import FactorModel, as_interactions, as_rows, threads_for

__all__ = ["BPR"]

_POOL = 1 << 17  # negatives kept for fold-in, drawn by popularity at fit time


class BPR(FactorModel):
    """Implicit-feedback ranking model trained on sampled pairwise preferences.

    Parameters
    ----------
    factors : int
        Latent dimensions.
    iterations : int
        Epochs; each takes as many SGD steps as there are interactions.
    learning_rate, regularization : float
        SGD step size and L2 penalty.
    fold_in_epochs : int
        Passes over a new history when folding a user in.
    seed : int
        Seeds the initial factors and the samples.
    threads : int or None
        numba threads (HogWild! blocks); ``None``: all of numba's threads.
    """

    name = "bpr"
    _state = ("user_factors_", "item_factors_", "item_bias_", "negatives_")
    # parameter -> (lower bound, integer, strict bound, None allowed)
    _checks: ClassVar[dict[str, tuple]] = {
        "factors": (1, True, False, False), "iterations": (0, True, False, False),
        "learning_rate": (0.0, False, True, False),
        "regularization": (0.0, False, False, False),
        "fold_in_epochs": (0, True, False, False), "threads": (1, True, False, True)}

    def __init__(self, *, factors: int = 64, iterations: int = 100, learning_rate: float = 0.05,
                 regularization: float = 0.01, fold_in_epochs: int = 50, seed: int = 0,
                 threads: int | None = None) -> None:
        self.factors = factors
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.fold_in_epochs = fold_in_epochs
        self.seed = seed
        self.threads = threads

    def _n_blocks(self) -> int:
        import numba

        return 1 if self.threads == 1 else int(self.threads or numba.get_num_threads())

    def fit(self, R: Any, *, warm_start: bool = False) -> BPR:
        """Fit on a users × items matrix (values only mark positives); returns ``self``."""
        from dawn.recommend._kernels import bpr_epoch, bpr_seeds

        self._validate_params()
        R = as_interactions(R, "BPR")
        R = R.multiply(R > 0).tocsr()  # only positive interactions are preferences
        R.sort_indices()
        n_users, n_items = R.shape
        k = int(self.factors)
        rng = np.random.default_rng(self.seed)
        X = ((rng.random((n_users, k), dtype=np.float32) - 0.5) / k).astype(np.float32)
        Y = ((rng.random((n_items, k), dtype=np.float32) - 0.5) / k).astype(np.float32)
        bias = np.zeros(n_items, np.float32)
        if warm_start and self.fitted and self.item_factors_.shape[1] == k:
            nu, ni = min(n_users, self.n_users), min(n_items, self.n_items)
            X[:nu], Y[:ni] = self.user_factors_[:nu], self.item_factors_[:ni]
            bias[:ni] = self.item_bias_[:ni]
        indptr = R.indptr.astype(np.int64)
        indices = R.indices.astype(np.int32)
        users = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(indptr))
        lr, reg = np.float32(self.learning_rate), np.float32(self.regularization)
        n_blocks = self._n_blocks()
        with threads_for(self.threads, work=np.inf):
            for epoch in range(int(self.iterations)):
                bpr_epoch(users, indptr, indices, indices, X, Y, bias, lr, lr, reg, len(indices),
                          bpr_seeds(int(self.seed), epoch, n_blocks))
        self.user_factors_, self.item_factors_, self.item_bias_ = X, Y, bias
        self.negatives_ = indices[rng.integers(0, len(indices), min(_POOL, len(indices)))]
        return self

    def _item_offset(self) -> np.ndarray:
        return self.item_bias_

    def _grow_items(self, n_new: int) -> None:
        low = self.item_bias_.min() if len(self.item_bias_) else 0.0  # new items rank last
        self.item_bias_ = np.concatenate([self.item_bias_, np.full(n_new, low, np.float32)])

    def fold_in(self, rows: Any) -> np.ndarray:
        """User factors for these histories by SGD on the user vectors, items fixed."""
        from dawn.recommend._kernels import bpr_epoch_serial, bpr_seeds

        self._check_fitted()
        rows = as_rows(rows, self.n_items, "BPR")
        rows = rows.multiply(rows > 0).tocsr()
        rows.sort_indices()
        X = np.zeros((rows.shape[0], self.item_factors_.shape[1]), np.float32)
        if rows.nnz == 0:
            return X
        indptr = rows.indptr.astype(np.int64)
        indices = rows.indices.astype(np.int32)
        users = np.repeat(np.arange(rows.shape[0], dtype=np.int32), np.diff(indptr))
        lr, reg = np.float32(self.learning_rate), np.float32(self.regularization)
        bpr_epoch_serial(users, indptr, indices, self.negatives_, X, self.item_factors_,
                         self.item_bias_, lr, np.float32(0.0), reg,
                         int(self.fold_in_epochs) * len(indices), bpr_seeds(int(self.seed), -1, 1))
        return X
