"""``LabelMatrix``: the votes of ``m`` labeling functions on ``n`` rows.

``np.asarray(L)`` is an int ``(n, m)`` array with ``-1`` where an LF abstains, in the
smallest integer dtype that holds the labels. When few rows are covered the votes are
kept sparse inside (CSR of ``label + 1``, so an abstain is a structural zero) and are
never built dense unless asked for.

>>> import numpy as np
>>> L = LabelMatrix(np.array([[0, -1], [1, 1], [-1, -1]]), ["a", "b"])
>>> np.asarray(L).dtype, L.shape, L.lf_names
(dtype('int8'), (3, 2), ['a', 'b'])
>>> L.coverage().tolist()
[0.6666666666666666, 0.3333333333333333]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from dawn.errors import LabelError, SchemaError

__all__ = ["LabelMatrix", "smallest_label_dtype"]

ERROR_COLUMNS = ["row", "lf", "error"]
SPARSE_BELOW = 0.1  # keep votes sparse when less than this fraction of cells vote


def smallest_label_dtype(max_label: int) -> np.dtype:
    """The smallest signed integer dtype holding ``-1..max_label``."""
    for dt in (np.int8, np.int16, np.int32):
        if max_label <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64)


class LabelMatrix:
    """Votes of labeling functions on rows (see the module docstring).

    Parameters
    ----------
    votes : array (n, m) with -1 = abstain, or a scipy sparse matrix of ``label + 1``
    lf_names : names of the m labeling functions, in column order
    classes : optional class names; label ``i`` is ``classes[i]``
    errors : optional DataFrame with columns ``row``, ``lf``, ``error`` (fault-tolerant runs)
    """

    def __init__(self, votes, lf_names: Sequence[str], classes: Sequence[str] | None = None,
                 errors: pd.DataFrame | None = None) -> None:
        self.lf_names = [str(n) for n in lf_names]
        self.classes = None if classes is None else list(classes)
        if sp.issparse(votes):
            csr = sp.csr_matrix(votes)
            csr.eliminate_zeros()
            max_label = int(csr.data.max()) - 1 if csr.nnz else 0
            if csr.nnz and csr.data.min() < 1:
                raise LabelError("sparse votes must hold label + 1 (>= 1); abstains are zeros.")
            self._dtype = smallest_label_dtype(max(max_label, 0))
            # the CSR holds label + 1, which may need one more bit than the labels
            self._csr = csr.astype(smallest_label_dtype(max(max_label, 0) + 1))
            self._dense = None
        else:
            arr = np.asarray(votes)
            if arr.ndim != 2:
                raise SchemaError(f"a label matrix is 2-D (rows × LFs); got shape {arr.shape}.")
            if arr.size and not np.issubdtype(arr.dtype, np.integer):
                raise SchemaError(f"label matrix values must be integers; got dtype {arr.dtype}.")
            if arr.size and arr.min() < -1:
                raise LabelError(f"label matrix holds {int(arr.min())}; labels are -1 (abstain) "
                                 "or 0..k-1.")
            max_label = int(arr.max()) if arr.size else 0
            self._dtype = smallest_label_dtype(max(max_label, 0))
            self._dense = arr.astype(self._dtype, copy=False)
            self._csr = None
        if len(self.lf_names) != self.shape[1]:
            raise SchemaError(f"{len(self.lf_names)} LF names for {self.shape[1]} columns.")
        if len(set(self.lf_names)) != len(self.lf_names):
            dup = sorted({n for n in self.lf_names if self.lf_names.count(n) > 1})
            raise SchemaError(f"duplicate labeling function names {dup}; give each a unique name.")
        if self.classes is not None and max_label >= len(self.classes) and self.shape[0]:
            raise LabelError(f"label {max_label} is outside 0..{len(self.classes) - 1} "
                             f"for classes {self.classes}.")
        self._errors = None if errors is None else errors.reset_index(drop=True)

    @property
    def errors(self) -> pd.DataFrame:
        """LF failures recorded by a fault-tolerant run: columns ``row``, ``lf``, ``error``."""
        if self._errors is None:  # built on first use: an empty DataFrame costs ~1 ms
            self._errors = pd.DataFrame(columns=ERROR_COLUMNS)
        return self._errors

    @classmethod
    def from_blocks(cls, blocks: Sequence, lf_names, classes=None, errors=None) -> LabelMatrix:
        """Stack row blocks (dense arrays or sparse ``label + 1``), keeping sparse ones sparse."""
        if blocks and all(sp.issparse(b) for b in blocks):
            return cls(sp.vstack(blocks, format="csr"), lf_names, classes, errors)
        dense = [b.toarray() - 1 if sp.issparse(b) else np.asarray(b) for b in blocks]
        arr = np.concatenate(dense) if dense else np.empty((0, len(lf_names)), np.int8)
        return cls(arr, lf_names, classes, errors)

    # -- shape and access ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return (self._csr if self._csr is not None else self._dense).shape

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def is_sparse(self) -> bool:
        return self._csr is not None

    @property
    def cardinality(self) -> int:
        """Number of classes: ``len(classes)`` if known, else the largest label + 1 (at least 2)."""
        if self.classes is not None:
            return len(self.classes)
        top = int(self.votes_csr().data.max()) if self.nnz else 0
        return max(2, top)

    @property
    def nnz(self) -> int:
        """Number of non-abstain votes."""
        return int(self._csr.nnz if self._csr is not None else np.count_nonzero(self._dense >= 0))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = self.to_dense()
        return arr if dtype is None else arr.astype(dtype)

    def to_dense(self) -> np.ndarray:
        """The ``(n, m)`` int array, ``-1`` = abstain."""
        if self._dense is not None:
            return self._dense
        out = np.full(self.shape, -1, dtype=self._dtype)
        coo = self._csr.tocoo()
        out[coo.row, coo.col] = coo.data - 1
        return out

    def votes_csr(self) -> sp.csr_matrix:
        """Votes as CSR of ``label + 1`` (abstains are structural zeros); never densifies."""
        if self._csr is not None:
            return self._csr
        top = int(self._dense.max()) if self._dense.size else 0
        return sp.csr_matrix(self._dense.astype(smallest_label_dtype(max(top, 0) + 1)) + 1)

    def column(self, j: int | str) -> np.ndarray:
        """One LF's votes as a 1-D array (by index or name)."""
        if isinstance(j, str):
            if j not in self.lf_names:
                raise KeyError(f"no labeling function named {j!r}; names are {self.lf_names}.")
            j = self.lf_names.index(j)
        if self._dense is not None:
            return self._dense[:, j]
        return (np.asarray(self._csr[:, j].toarray()).ravel() - 1).astype(self._dtype)

    def take(self, rows) -> LabelMatrix:
        """The votes of the given rows (indices or a boolean mask), errors renumbered."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        votes = self._csr[rows] if self._csr is not None else self._dense[rows]
        errors = None
        if self._errors is not None and len(self._errors):
            position = pd.Series(np.arange(len(rows)), index=rows)
            kept = self.errors[self.errors["row"].isin(position.index)]
            errors = kept.assign(row=position.loc[kept["row"]].to_numpy())
        return LabelMatrix(votes, self.lf_names, self.classes, errors)

    def coverage(self) -> np.ndarray:
        """Fraction of rows each LF votes on."""
        n = max(len(self), 1)
        if self._csr is not None:
            return np.bincount(self._csr.indices, minlength=self.shape[1]) / n
        return (self._dense >= 0).sum(axis=0) / n

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        return f"LabelMatrix({self.shape[0]} rows × {self.shape[1]} LFs, {kind}, {self._dtype})"
