"""LF drift: watch labeling functions' coverage and vote rates with :class:`DriftMonitor`.

:func:`lf_drift_frame` turns a label matrix into a table with one categorical column per
labeling function whose value is ``"abstain"`` or the class it voted for. A
:class:`~dawn.monitor.DriftMonitor` fitted on the reference matrix's frame then reports,
per LF, a change of coverage (the share of ``"abstain"``) or of the classes it votes for
(Jensen–Shannon distance of the vote shares) — the first sign that the data moved under
a data-programming model.

>>> import numpy as np
>>> from dawn.monitor import DriftMonitor
>>> rng = np.random.default_rng(0)
>>> ref = np.where(rng.random((4000, 2)) < 0.5, rng.integers(0, 2, (4000, 2)), -1)
>>> cur = ref.copy()
>>> cur[: 3000, 0] = -1                      # LF 0 now abstains far more often
>>> frame = lf_drift_frame(ref, lf_names=["kw", "re"], classes=["ham", "spam"])
>>> frame.strings("kw")[:3].tolist()
['abstain', 'spam', 'abstain']
>>> mon = DriftMonitor(explain=False).fit(frame)
>>> mon.check(lf_drift_frame(cur, lf_names=["kw", "re"], classes=["ham", "spam"])).drifted_columns
['kw']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from dawn.data.frame import Frame
from dawn.errors import LabelError, SchemaError

__all__ = ["ABSTAIN_VALUE", "lf_drift_frame"]

ABSTAIN_VALUE = "abstain"


def lf_drift_frame(L: Any, *, lf_names: Sequence[str] | None = None,
                   classes: Sequence[str] | None = None) -> Frame:
    """One dictionary-encoded column per LF: ``"abstain"`` or the class voted for.

    Parameters
    ----------
    L : :class:`dawn.label.LabelMatrix` or int array ``(n, m)`` with ``-1`` = abstain
    lf_names : column names (default: the matrix's LF names, or ``lf0, lf1, ...``)
    classes : class names (default: the matrix's classes, or ``"0", "1", ...``); use the
        same for the reference and the current matrix

    Returns
    -------
    Frame
        ``n`` rows, ``m`` columns of ``dictionary<string>`` values.
    """
    names, known_classes, csc, dense = _votes(L)
    if lf_names is not None:
        names = [str(n) for n in lf_names]
    n, m = (csc if csc is not None else dense).shape
    if len(names) != m:
        raise SchemaError(f"lf_names has {len(names)} names but the label matrix has {m} "
                          "columns; give one name per labeling function.")
    if len(set(names)) != m:
        raise SchemaError(f"labeling function names must be unique, got {names}.")
    top = (int(csc.data.max()) if csc.nnz else 0) if csc is not None else \
        (int(dense.max()) + 1 if dense.size else 0)
    cls = classes if classes is not None else known_classes
    if cls is None:
        cls = [str(i) for i in range(max(top, 2))]
    cls = [str(c) for c in cls]
    if top > len(cls):
        raise LabelError(f"the label matrix holds label {top - 1}, but only {len(cls)} classes "
                         f"{cls} are given; pass classes= with every class name.")
    dictionary = pa.array([ABSTAIN_VALUE, *cls], pa.string())
    itype = np.int8 if len(cls) < 127 else np.int32
    columns = {}
    for j, name in enumerate(names):
        if csc is not None:
            idx = np.zeros(n, itype)
            lo, hi = csc.indptr[j], csc.indptr[j + 1]
            idx[csc.indices[lo:hi]] = csc.data[lo:hi]
        else:
            idx = (dense[:, j] + 1).astype(itype)
        columns[name] = pa.DictionaryArray.from_arrays(pa.array(idx), dictionary)
    return Frame(pa.table(columns))


def _votes(L: Any) -> tuple[list[str], list[str] | None, Any, np.ndarray | None]:
    if hasattr(L, "votes_csr") and hasattr(L, "lf_names"):
        classes = None if L.classes is None else list(L.classes)
        if L.is_sparse:
            return list(L.lf_names), classes, sp.csc_matrix(L.votes_csr()), None
        return list(L.lf_names), classes, None, np.asarray(L)
    arr = np.asarray(L)
    if arr.ndim != 2 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise SchemaError(f"a label matrix must be a 2-D integer array (rows × LFs, -1 = "
                          f"abstain), got shape {arr.shape} and dtype {arr.dtype}.")
    if arr.size and arr.min() < -1:
        raise LabelError(f"label matrix value {int(arr.min())} is not a label; use -1 for "
                         "abstain and 0..k-1 for classes.")
    return [f"lf{j}" for j in range(arr.shape[1])], None, None, arr.astype(np.int64)
