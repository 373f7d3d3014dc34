"""What every recommender model family shares: input checks, parameters, persistence,
and (for factor models) scoring, fold-in dispatch and item similarity.

A family is fitted on a users × items CSR matrix ``R`` of float32 values (implicit:
weights or counts; explicit: ratings; duplicates summed). Rows passed to ``score`` and
``fold_in`` are histories over the same items. Learned state ends in ``_``; ``to_arrays``
returns ``(arrays, meta)`` — plain numpy arrays and a JSON-able dict — and
``from_arrays(arrays, meta)`` rebuilds the fitted model (no pickle).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from dawn.errors import ConfigError, DataError, EmptyDataError, NotFittedError

__all__ = ["FactorModel", "Model", "as_interactions", "as_rows", "check_items", "item_dot",
           "threads_for"]


def as_interactions(R: Any, family: str) -> sp.csr_matrix:
    """``R`` as a canonical float32 CSR matrix (duplicates summed, zeros dropped, sorted)."""
    if not (sp.issparse(R) or isinstance(R, np.ndarray)):
        raise DataError(f"{family} expects a users × items scipy.sparse matrix, got "
                        f"{type(R).__name__}.")
    if R.ndim != 2:
        raise DataError(f"{family} expects a 2-d users × items matrix, got shape {R.shape}.")
    X = sp.csr_matrix(R, dtype=np.float32, copy=True)
    if X.shape[0] == 0 or X.shape[1] == 0 or X.nnz == 0:
        raise EmptyDataError(f"{family} got an empty interaction matrix (shape {X.shape}, "
                             f"{X.nnz} stored values); pass at least one interaction.")
    X.sum_duplicates()
    if not np.isfinite(X.data).all():
        raise DataError(f"{family} got non-finite interaction values (NaN or inf); drop or "
                        "fill them before fitting.")
    X.eliminate_zeros()
    if X.nnz == 0:
        raise EmptyDataError(f"{family} got an interaction matrix whose values are all 0; "
                             "pass at least one non-zero interaction.")
    X.sort_indices()
    X.indptr = X.indptr.astype(np.int64)
    X.indices = X.indices.astype(np.int32)
    return X


def as_rows(rows: Any, n_items: int, family: str, columns: str = "item") -> sp.csr_matrix:
    """Histories to score or fold in: CSR float32 over ``n_items`` columns (may be empty)."""
    if not (sp.issparse(rows) or isinstance(rows, np.ndarray)):
        raise DataError(f"{family}: rows must be a scipy.sparse matrix of histories, got "
                        f"{type(rows).__name__}.")
    X = sp.csr_matrix(rows, dtype=np.float32, copy=True)
    if X.ndim != 2 or X.shape[1] != n_items:
        hint = "; call add_items first for new items" if columns == "item" else ""
        raise DataError(f"{family}: rows have {X.shape[1]} {columns} columns but the model "
                        f"knows {n_items} {columns}s{hint}.")
    X.sum_duplicates()
    if X.nnz and not np.isfinite(X.data).all():
        raise DataError(f"{family}: history values must be finite (no NaN or inf).")
    X.sort_indices()
    X.indptr = X.indptr.astype(np.int64)
    X.indices = X.indices.astype(np.int32)
    return X


def item_dot(U: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``U @ Y.T``. A few rows go through a single-threaded numba loop: OpenBLAS runs even
    a one-row product on its thread team, which on a busy machine (or right after a numba
    thread team) took 10-20 ms where the loop takes well under 1 ms."""
    if len(U) <= 8:
        from dawn.recommend._kernels import dot_rows

        U = np.ascontiguousarray(U, dtype=np.float32)
        Y = np.ascontiguousarray(Y, dtype=np.float32)
        out = np.empty((len(U), len(Y)), np.float32)
        dot_rows(U, Y, out)
        return out
    return U @ Y.T


@contextmanager
def threads_for(threads: int | None, work: float) -> Iterator[None]:
    """numba threads for a kernel call: ``threads`` if given, else by the size of the work."""
    import numba

    from dawn.runtime.threads import kernel_threads

    if threads is None:
        with kernel_threads(work):
            yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _check_number(family: str, name: str, value: Any, low: float, *, integer: bool = False,
                  strict: bool = False, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    ok_type = isinstance(value, int | np.integer) if integer else isinstance(
        value, int | float | np.integer | np.floating)
    if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)) or (
            value <= low if strict else value < low):
        kind = "an integer" if integer else "a number"
        bound = f"> {low}" if strict else f">= {low}"
        raise ConfigError(f"{family}: {name} must be {kind} {bound}, got {value!r}.")


class Model:
    """Base of the model families: parameters, fitted check, persistence."""

    name: ClassVar[str] = ""
    _state: ClassVar[tuple[str, ...]] = ()      # learned arrays saved by to_arrays
    _checks: ClassVar[dict[str, tuple]] = {}    # param -> (low, integer, strict, allow_none)

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (JSON-able)."""
        return {p: getattr(self, p) for p in self._param_names()}

    @classmethod
    def _param_names(cls) -> list[str]:
        import inspect

        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def _validate_params(self) -> None:
        for p, (low, integer, strict, allow_none) in self._checks.items():
            _check_number(type(self).__name__, p, getattr(self, p), low, integer=integer,
                          strict=strict, allow_none=allow_none)

    @property
    def fitted(self) -> bool:
        return all(hasattr(self, a) for a in self._state)

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call "
                                 ".fit(R) with a users × items matrix first.")

    @property
    def n_items(self) -> int:
        raise NotImplementedError

    def fold_in(self, rows: Any) -> np.ndarray | None:
        """User factors for these histories (``None``: this family has no user factors)."""
        return None

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The fitted state as ``(arrays, meta)``: numpy arrays and a JSON-able dict."""
        self._check_fitted()
        arrays = {a.rstrip("_"): np.asarray(getattr(self, a)) for a in self._state}
        meta = {"family": self.name, "params": self.get_params(), **self._meta()}
        return arrays, meta

    def _meta(self) -> dict[str, Any]:
        return {}

    def _restore(self, meta: dict[str, Any]) -> None:
        """Set scalar learned state from ``meta`` (after the arrays are in place)."""

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Model:
        """Rebuild a fitted model from :meth:`to_arrays` output."""
        if meta.get("family") != cls.name:
            raise DataError(f"these arrays hold a {meta.get('family')!r} model, not "
                            f"{cls.name!r}; load them with dawn.recommend.models.from_arrays.")
        model = cls(**meta.get("params", {}))
        for a in cls._state:
            key = a.rstrip("_")
            if key not in arrays:
                raise DataError(f"the saved {cls.name!r} model is missing its {key!r} array.")
            setattr(model, a, np.asarray(arrays[key]))
        model._restore(meta)
        return model

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class FactorModel(Model):
    """A family with ``user_factors_`` and ``item_factors_`` (plus optional item offsets)."""

    _state = ("user_factors_", "item_factors_")

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return int(self.item_factors_.shape[0])

    @property
    def n_users(self) -> int:
        self._check_fitted()
        return int(self.user_factors_.shape[0])

    def _item_offset(self) -> np.ndarray | None:
        """A per-item term added to every score (item biases), or ``None``."""
        return None

    def _known_user_offset(self, users: np.ndarray) -> np.ndarray | None:
        """A per-user term for fitted users (user biases), or ``None``."""
        return None

    def _fold_in_rows(self, rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray | None]:
        """Factors (and user terms, if any) of checked histories."""
        return self.fold_in(rows), None

    def _user_vectors(self, rows: sp.csr_matrix,
                      users: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        n = rows.shape[0]
        U = np.zeros((n, self.item_factors_.shape[1]), np.float32)
        off = None
        known = np.zeros(n, bool)
        if users is not None:
            users = np.asarray(users)
            if users.shape != (n,) or not np.issubdtype(users.dtype, np.integer):
                raise DataError(f"users must be {n} integer indices (-1 = unknown), got "
                                f"shape {users.shape} dtype {users.dtype}.")
            if (users >= self.n_users).any() or (users < -1).any():
                bad = users[(users >= self.n_users) | (users < -1)][0]
                raise DataError(f"user index {int(bad)} is outside 0..{self.n_users - 1} "
                                "(use -1 for users to fold in).")
            known = users >= 0
            U[known] = self.user_factors_[users[known]]
            kn_off = self._known_user_offset(users[known])
            if kn_off is not None:
                off = np.zeros(n, np.float32)
                off[known] = kn_off
        if not known.all():
            new = np.flatnonzero(~known)
            U[new], new_off = self._fold_in_rows(rows if len(new) == n else rows[new])
            if new_off is not None:
                off = np.zeros(n, np.float32) if off is None else off
                off[new] = new_off
        return U, off

    def score(self, rows: Any, users: np.ndarray | None = None) -> np.ndarray:
        """Scores ``(len(rows), n_items)`` float32 of every item for these histories.

        ``users`` gives each row's index in the fitted matrix (its learned factors are
        used); ``None`` or ``-1`` entries are folded in from the row's history.
        """
        self._check_fitted()
        rows = as_rows(rows, self.n_items, type(self).__name__)
        U, uoff = self._user_vectors(rows, users)
        out = item_dot(U, self.item_factors_)
        off = self._item_offset()
        if off is not None:
            out += off[None, :]
        if uoff is not None:
            out += uoff[:, None]
        return out.astype(np.float32, copy=False)

    def similar_items(self, items: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` items with the most similar factors (cosine) to each of ``items``."""
        from dawn.recommend._topk import top_k

        self._check_fitted()
        items = check_items(items, self.n_items, type(self).__name__)
        Y = self.item_factors_
        norms = np.linalg.norm(Y, axis=1)
        norms[norms == 0] = np.inf
        Yn = Y / norms[:, None]
        sims = item_dot(Yn[items], Yn)
        sims[:, norms == np.inf] = -np.inf
        own = sp.csr_matrix((np.ones(len(items)), (np.arange(len(items)), items)),
                            shape=sims.shape)
        return top_k(sims, n, exclude=own)

    def add_items(self, n_new: int) -> None:
        """Grow the catalog by ``n_new`` items with zero factors (cold until refitted)."""
        self._check_fitted()
        _check_number(type(self).__name__, "n_new", n_new, 0, integer=True)
        Y = self.item_factors_
        n, k = Y.shape
        buf = getattr(self, "_item_buffer", None)
        if buf is None or Y.base is not buf or len(buf) < n + n_new or buf.dtype != Y.dtype:
            # spare rows, so a stream of new items copies the factors only now and then
            buf = np.zeros((n + max(2 * n_new, n // 4, 64), k), Y.dtype)
            buf[:n] = Y
            self._item_buffer = buf
        buf[n:n + n_new] = 0.0
        self.item_factors_ = buf[:n + n_new]
        self._grow_items(int(n_new))
        self._items_added(int(n_new))

    def set_item_factors(self, items: Any, factors: np.ndarray) -> None:
        """Replace the factors of ``items`` (e.g. new items solved from their first users),
        keeping caches derived from the item factors consistent."""
        self._check_fitted()
        items = check_items(items, self.n_items, type(self).__name__)
        factors = np.asarray(factors, dtype=np.float32)
        if factors.shape != (len(items), self.item_factors_.shape[1]):
            raise DataError(f"{type(self).__name__}: factors must have shape "
                            f"({len(items)}, {self.item_factors_.shape[1]}), got "
                            f"{factors.shape}.")
        if len(np.unique(items)) != len(items):
            raise DataError(f"{type(self).__name__}: items repeat; pass each item once.")
        self._items_changed(items, self.item_factors_[items].copy(), factors)
        self.item_factors_[items] = factors

    def _grow_items(self, n_new: int) -> None:
        """Grow per-item state other than the factors."""

    def _items_added(self, n_new: int) -> None:
        """Caches after ``n_new`` zero item rows were appended (default: drop them)."""
        self._invalidate()

    def _items_changed(self, items: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        """Caches before the factors of ``items`` change from ``old`` to ``new``
        (``items`` unique; default: drop them)."""
        self._invalidate()

    def _invalidate(self) -> None:
        """Drop caches derived from the item factors."""


def check_items(items: Any, n_items: int, family: str) -> np.ndarray:
    items = np.atleast_1d(np.asarray(items))
    if items.ndim != 1 or (items.size and not np.issubdtype(items.dtype, np.integer)):
        raise DataError(f"{family}: items must be integer item indices, got dtype "
                        f"{items.dtype} with shape {items.shape}.")
    if items.size and (items.min() < 0 or items.max() >= n_items):
        bad = items[(items < 0) | (items >= n_items)][0]
        raise DataError(f"{family}: item index {int(bad)} is outside 0..{n_items - 1}.")
    return items.astype(np.int64)
