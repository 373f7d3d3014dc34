"""Models without user factors: popularity, item-kNN and EASE.

- :class:`Popularity` scores every item by how many users touched it (or the summed
  values), optionally recency-weighted: an interaction of age ``a`` counts
  ``0.5 ** (a / half_life)``. The same list for everyone — the cold-start fallback.
- :class:`ItemKNN` keeps, for each item, its ``neighbors`` most cosine-similar items
  (over the item columns of ``R``); a history scores item ``j`` by
  ``Σᵢ rᵤᵢ · sim(i, j)`` over its items ``i``.
- :class:`EASE` (Steck 2019) learns a dense item–item matrix in closed form,
  ``B = I − P·diag(1/diag(P))`` with ``P = (XᵀX + λI)⁻¹`` and zero diagonal, and scores a
  history ``x`` by ``x B``. It needs ``n_items²`` floats, so it refuses catalogs above
  ``max_items``.

>>> import scipy.sparse as sp
>>> R = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0]],
...                            dtype=np.float32))
>>> Popularity().fit(R).popularity_.tolist()
[3.0, 2.0, 1.0, 1.0]
>>> knn = ItemKNN(neighbors=2).fit(R)
>>> knn.similar_items(np.array([2]), 1)[0].tolist()
[[3]]
>>> ease = EASE(regularization=1.0).fit(R)
>>> int(ease.score(sp.csr_matrix(np.array([[0, 0, 1, 0]], np.float32))).argmax())
3
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from dawn.errors import ConfigError, DataError
from dawn.recommend.models._base import (
    Model,
    _check_number,
    as_interactions,
    as_rows,
    check_items,
)

__all__ = ["EASE", "ItemKNN", "Popularity"]


def _top(scores: np.ndarray, items: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    from dawn.recommend._topk import top_k

    own = sp.csr_matrix((np.ones(len(items)), (np.arange(len(items)), items)),
                        shape=scores.shape)
    return top_k(scores, n, exclude=own)


class Popularity(Model):
    """The same ranking for everyone: items by (recency-weighted) popularity.

    Parameters
    ----------
    binary : bool
        Count each user–item pair once (``True``) or sum the values (``False``).
    half_life : float or None
        With ``fit(R, age=...)``, an interaction ``half_life`` old counts half.
    """

    name = "popular"
    _state = ("popularity_",)
    # parameter -> (lower bound, integer, strict bound, None allowed)
    _checks: ClassVar[dict[str, tuple]] = {
        "half_life": (0.0, False, True, True)}

    def __init__(self, *, binary: bool = True, half_life: float | None = None) -> None:
        self.binary = binary
        self.half_life = half_life

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.popularity_)

    def fit(self, R: Any, *, age: np.ndarray | None = None, warm_start: bool = False
            ) -> Popularity:
        """Count interactions per item; ``age`` (one per stored value of ``R``, in the
        units of ``half_life``, after duplicates are summed) weights them by recency."""
        self._validate_params()
        R = as_interactions(R, "Popularity")
        w = np.ones(R.nnz) if self.binary else R.data.astype(np.float64)
        if age is not None and self.half_life is not None:
            age = np.asarray(age, dtype=np.float64)
            if age.shape != (R.nnz,):
                raise DataError(f"Popularity: age must have one value per stored interaction "
                                f"({R.nnz}), got shape {age.shape}.")
            w = w * np.exp2(-np.maximum(age, 0.0) / self.half_life)
        self.popularity_ = np.bincount(R.indices, weights=w, minlength=R.shape[1]).astype(
            np.float32)
        return self

    def score(self, rows: Any, users: np.ndarray | None = None) -> np.ndarray:
        """Every row gets the popularity vector."""
        self._check_fitted()
        rows = as_rows(rows, self.n_items, "Popularity")
        return np.tile(self.popularity_, (rows.shape[0], 1))

    def similar_items(self, items: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The most popular items other than each item itself."""
        self._check_fitted()
        items = check_items(items, self.n_items, "Popularity")
        return _top(np.tile(self.popularity_, (len(items), 1)), items, n)

    def add_items(self, n_new: int) -> None:
        """New items start with popularity 0."""
        self._check_fitted()
        _check_number("Popularity", "n_new", n_new, 0, integer=True)
        self.popularity_ = np.concatenate([self.popularity_, np.zeros(n_new, np.float32)])


class ItemKNN(Model):
    """Item-based nearest neighbours over cosine similarity of the item columns.

    Parameters
    ----------
    neighbors : int
        Most similar items kept per item.
    shrinkage : float
        Added to the cosine's denominator: damps similarities resting on few users.
    binary : bool
        Use 0/1 interactions (``True``) or the values (``False``).
    """

    name = "knn"
    _state = ("sim_indptr_", "sim_indices_", "sim_data_")
    # parameter -> (lower bound, integer, strict bound, None allowed)
    _checks: ClassVar[dict[str, tuple]] = {
        "neighbors": (1, True, False, False), "shrinkage": (0.0, False, False, False)}

    def __init__(self, *, neighbors: int = 100, shrinkage: float = 0.0,
                 binary: bool = True) -> None:
        self.neighbors = neighbors
        self.shrinkage = shrinkage
        self.binary = binary

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.sim_indptr_) - 1

    @property
    def similarity_(self) -> sp.csr_matrix:
        """The kept similarities, items × items (row ``i``: the neighbours of ``i``)."""
        self._check_fitted()
        n = self.n_items
        return sp.csr_matrix((self.sim_data_, self.sim_indices_, self.sim_indptr_), shape=(n, n))

    def fit(self, R: Any, *, warm_start: bool = False) -> ItemKNN:
        """Compute item–item cosine similarities and keep the top ``neighbors`` per item."""
        self._validate_params()
        R = as_interactions(R, "ItemKNN")
        if self.binary:
            R.data[:] = 1.0
        X = R.T.tocsr().astype(np.float32)  # items × users
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        n = X.shape[0]
        k = min(int(self.neighbors), max(n - 1, 1))
        block = max(1, 4_000_000 // n)
        parts = []
        for lo in range(0, n, block):
            hi = min(n, lo + block)
            S = (X[lo:hi] @ X.T).toarray()
            S /= norms[lo:hi, None] * norms[None, :] + self.shrinkage + 1e-12
            S[np.arange(hi - lo), np.arange(lo, hi)] = 0.0
            if k < n:
                idx = np.argpartition(-S, k - 1, axis=1)[:, :k]
            else:
                idx = np.broadcast_to(np.arange(n), S.shape)
            vals = np.take_along_axis(S, idx, axis=1)
            rows = np.repeat(np.arange(lo, hi), idx.shape[1])
            keep = vals.ravel() > 0
            parts.append((rows[keep], idx.ravel()[keep], vals.ravel()[keep]))
        r, c, v = (np.concatenate(p) for p in zip(*parts, strict=True))
        S = sp.csr_matrix((v.astype(np.float32), (r, c)), shape=(n, n))
        S.sort_indices()
        self.sim_indptr_ = S.indptr.astype(np.int64)
        self.sim_indices_ = S.indices.astype(np.int32)
        self.sim_data_ = S.data
        return self

    def score(self, rows: Any, users: np.ndarray | None = None) -> np.ndarray:
        """``rows @ similarity``: each item scored by its similarity to the history."""
        self._check_fitted()
        rows = as_rows(rows, self.n_items, "ItemKNN")
        if self.binary:
            rows.data[:] = 1.0
        return np.asarray((rows @ self.similarity_).toarray(), dtype=np.float32)

    def similar_items(self, items: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The kept neighbours of each item, most similar first."""
        self._check_fitted()
        items = check_items(items, self.n_items, "ItemKNN")
        S = self.similarity_[items].toarray()
        S[S <= 0] = -np.inf
        return _top(S, items, n)

    def add_items(self, n_new: int) -> None:
        """New items have no neighbours until refitted."""
        self._check_fitted()
        _check_number("ItemKNN", "n_new", n_new, 0, integer=True)
        self.sim_indptr_ = np.concatenate(
            [self.sim_indptr_, np.full(n_new, self.sim_indptr_[-1], np.int64)])


class EASE(Model):
    """Embarrassingly shallow autoencoder: a closed-form item–item model.

    Parameters
    ----------
    regularization : float
        ``λ`` added to the diagonal of ``XᵀX``.
    max_items : int
        Largest catalog accepted (the model holds ``n_items²`` float32 values).
    binary : bool
        Use 0/1 interactions (``True``) or the values (``False``).
    """

    name = "ease"
    _state = ("weights_",)
    # parameter -> (lower bound, integer, strict bound, None allowed)
    _checks: ClassVar[dict[str, tuple]] = {
        "regularization": (0.0, False, True, False), "max_items": (1, True, False, False)}

    def __init__(self, *, regularization: float = 200.0, max_items: int = 20_000,
                 binary: bool = True) -> None:
        self.regularization = regularization
        self.max_items = max_items
        self.binary = binary

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return self.weights_.shape[0] + getattr(self, "new_items_", 0)

    def _meta(self) -> dict[str, Any]:
        return {"new_items": int(getattr(self, "new_items_", 0))}

    def _restore(self, meta: dict[str, Any]) -> None:
        self.new_items_ = int(meta.get("new_items", 0))

    def _pad(self, scores: np.ndarray) -> np.ndarray:
        """Scores over the fitted items, with zeros for items added since the fit."""
        extra = getattr(self, "new_items_", 0)
        if not extra:
            return scores
        return np.concatenate([scores, np.zeros((len(scores), extra), scores.dtype)], axis=1)

    def fit(self, R: Any, *, warm_start: bool = False) -> EASE:
        """Solve for the item–item weights ``B`` in closed form."""
        from scipy.linalg import lapack

        self._validate_params()
        R = as_interactions(R, "EASE")
        n = R.shape[1]
        if n > self.max_items:
            gb = n * n * 4 * 2 / 1e9
            raise ConfigError(
                f"EASE needs a dense {n:,} × {n:,} item matrix (about {gb:.1f} GB while "
                f"fitting), above max_items={self.max_items:,}. Use ALS, BPR or ItemKNN for "
                "this catalog, or raise max_items if the memory is there.")
        if self.binary:
            R.data[:] = 1.0
        G = (R.T @ R).toarray().astype(np.float64 if n <= 4096 else np.float32)
        G[np.diag_indices(n)] += self.regularization
        potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (G,))
        c, info = potrf(G, lower=False, overwrite_a=True, clean=False)
        if info == 0:
            P, info = potri(c, lower=False, overwrite_c=True)
        if info != 0:
            raise DataError(f"EASE could not invert XᵀX + λI (LAPACK info {info}); raise "
                            f"regularization above {self.regularization}.")
        step = 1024
        for lo in range(0, n, step):  # potri fills the upper triangle; mirror it
            hi = min(n, lo + step)
            P[lo:hi, :lo] = P[:lo, lo:hi].T
            blk = P[lo:hi, lo:hi]
            P[lo:hi, lo:hi] = np.triu(blk) + np.triu(blk, 1).T
        P = P.T  # symmetric: the transpose of LAPACK's column-major result is row-major
        d = np.diag(P).copy()
        P /= -d[None, :]
        P[np.diag_indices(n)] = 0.0
        self.weights_ = np.ascontiguousarray(P, dtype=np.float32)
        self.new_items_ = 0
        return self

    def score(self, rows: Any, users: np.ndarray | None = None) -> np.ndarray:
        """``rows @ B``."""
        self._check_fitted()
        rows = as_rows(rows, self.n_items, "EASE")
        if self.binary:
            rows.data[:] = 1.0
        W = np.ascontiguousarray(self.weights_)  # a no-op unless loaded column-major
        n = W.shape[0]
        if rows.shape[1] > n:  # items added since the fit have no weights yet
            rows = rows[:, :n]
        return self._pad(np.asarray(rows @ W, dtype=np.float32))

    def similar_items(self, items: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Items with the largest weight from each item (what a one-item history scores)."""
        self._check_fitted()
        items = check_items(items, self.n_items, "EASE")
        W = self.weights_
        rows = np.zeros((len(items), W.shape[0]), np.float32)  # new items: no weights yet
        fitted = items < W.shape[0]
        rows[fitted] = W[items[fitted]]
        return _top(self._pad(rows), items, n)

    def add_items(self, n_new: int) -> None:
        """New items get zero weights until refitted (counted, not stored: no n² copy)."""
        self._check_fitted()
        _check_number("EASE", "n_new", n_new, 0, integer=True)
        self.new_items_ = getattr(self, "new_items_", 0) + int(n_new)
