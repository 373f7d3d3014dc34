"""``apply_lfs``: run labeling functions over data and collect their votes.

Vectorised LFs (keyword, regex, threshold, model) label whole columns at once, each group
of one type in a single pass (``apply_many``). Python LFs are called row by row on light
:class:`~dawn.label.lf.Row` objects, partition by partition through
:func:`dawn.runtime.map_partitions` — in this process, on all cores, or on a Dask
cluster. Their return values are checked in bulk afterwards.

>>> import pandas as pd
>>> from dawn.label.lf import labeling_function
>>> @labeling_function()
... def has_money(x):
...     return "spam" if "$" in x.text else None
>>> @labeling_function()
... def short(x):
...     return 0 if len(x.text) < 8 else -1
>>> df = pd.DataFrame({"text": ["win $100 now", "hi mum", "see you at 8pm"]})
>>> L = apply_lfs([has_money, short], df, classes=["ham", "spam"])
>>> np.asarray(L)
array([[ 1, -1],
       [-1,  0],
       [-1, -1]], dtype=int8)
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from dawn.data import as_frame
from dawn.data.frame import Frame
from dawn.errors import (
    ConfigError,
    DawnError,
    EmptyDataError,
    LabelError,
    LabelingFunctionError,
    close_matches,
)
from dawn.label.base import ABSTAIN, LabelingFunction, resolve_label
from dawn.label.lf import as_lf, rows_from_columns
from dawn.label.matrix import SPARSE_BELOW, LabelMatrix, smallest_label_dtype
from dawn.runtime.partitions import map_partitions, resolve_backend

__all__ = ["apply_lfs"]

CHUNK_ROWS = 65_536  # rows turned into Row objects at once (bounds memory per partition)
PROGRESS_WORK = 2e6  # row × Python-LF calls above which progress=None shows a bar on a TTY
_BAD = -2  # marks a value that is not a label while checking


def apply_lfs(
    lfs: Sequence[Any],
    data: Any,
    *,
    backend: str = "auto",
    classes: Sequence[str] | None = None,
    client: Any = None,
    fault_tolerant: bool = False,
    progress: bool | None = None,
    n_jobs: int | None = None,
) -> LabelMatrix:
    """Apply labeling functions to every row of ``data``.

    Parameters
    ----------
    lfs : list
        dawn labeling functions (``labeling_function``, ``keyword_lf``, ``regex_lf``, ...) or
        Snorkel ``LabelingFunction`` objects (anything callable with a ``name``).
    data : pandas / polars DataFrame, pyarrow Table, dict of columns or Frame
    backend : {"auto", "local", "processes", "dask"}
        Where Python LFs run. ``auto`` uses all cores when rows × Python LFs is large and
        ``dask`` when a ``client`` is given. With ``dask`` every LF runs on the cluster.
    classes : list of str, optional
        Class names; LFs may then vote a name, and label ``i`` means ``classes[i]``.
    client : distributed.Client, optional
        For ``backend="dask"`` (default: the current client).
    fault_tolerant : bool
        If an LF raises on a row, record ``(row, lf, error)`` in ``L.errors`` and abstain
        there instead of stopping.
    progress : bool, optional
        Show a progress bar; by default shown for long runs when stderr is a terminal.
    n_jobs : int, optional
        Worker processes for ``backend="processes"`` (default: all cores).

    Returns
    -------
    LabelMatrix
        ``(n_rows, n_lfs)`` votes in the order of ``lfs``, ``-1`` = abstain; stored
        sparse when fewer than 10 % of the cells hold a vote.
    """
    frame = as_frame(data)
    lfs = _check_lfs(lfs)
    classes = _check_classes(classes)
    n = len(frame)
    if n == 0:
        raise EmptyDataError("apply_lfs got data with no rows; check the file, query or filter "
                             "that produced it.")
    vec = [(j, lf) for j, lf in enumerate(lfs) if lf.vectorized]
    py = [(j, lf) for j, lf in enumerate(lfs) if not lf.vectorized]
    for _, lf in vec:
        frame.require(*lf.columns, purpose=f"labeling function {lf.name!r}")
    for _, lf in py:
        if getattr(lf, "label", None) is not None:
            resolve_label(lf.label, classes, lf.name)

    work = float(n * len(py))
    chosen = resolve_backend(backend, work=work, client=client)
    if progress is None:
        progress = work >= PROGRESS_WORK and _stderr_is_tty()
    names = [lf.name for lf in lfs]
    k = None if classes is None else len(classes)

    if chosen == "dask":
        job = _Job(py, vec, classes, fault_tolerant, transport=True, whole_block=True)
        parts = map_partitions(job, frame, backend="dask", client=client, progress=progress,
                               description="labeling")
        errors = _collect(parts, names)
        return _from_blocks([p.votes for p in parts], names, classes, errors)

    columns: list[np.ndarray | None] = [None] * len(lfs)
    parts = []
    if py:  # Python LFs first: the forked workers then start from a process without threads
        job = _Job(py, [], classes, fault_tolerant, transport=chosen != "local",
                   whole_block=False)
        parts = map_partitions(job, frame, backend=chosen, n_jobs=n_jobs, work=work,
                               progress=progress, description="labeling")
        errors = _collect(parts, names)
        py_votes = np.concatenate([p.votes for p in parts]) if len(parts) > 1 else parts[0].votes
        for i, (j, _) in enumerate(py):
            columns[j] = py_votes[:, i]
    else:
        errors = _errors_frame([])
    for j, col in _apply_vectorized(vec, frame, classes, offset=0).items():
        columns[j] = col
    votes = _assemble(columns, n, k)
    return LabelMatrix(votes, names, classes, errors)


# ------------------------------------------------------------------------------ checks
def _check_lfs(lfs: Any) -> list[LabelingFunction]:
    if isinstance(lfs, LabelingFunction) or callable(lfs) or isinstance(lfs, (str, bytes)):
        raise LabelingFunctionError(f"lfs must be a list of labeling functions, got {lfs!r}; "
                                    "wrap a single one in a list: apply_lfs([lf], data).")
    try:
        items = list(lfs)
    except TypeError:
        raise LabelingFunctionError(f"lfs must be a list of labeling functions, got a "
                                    f"{type(lfs).__name__}.") from None
    if not items:
        raise LabelingFunctionError("apply_lfs got no labeling functions; pass a non-empty list.")
    out = [as_lf(obj) for obj in items]
    names = [lf.name for lf in out]
    dup = sorted({name for name in names if names.count(name) > 1})
    if dup:
        raise LabelingFunctionError(
            f"labeling function names must be unique; {dup} appear more than once. Give each "
            "LF its own name (e.g. @labeling_function('other_name'))."
        )
    return out


def _check_classes(classes: Any) -> list[str] | None:
    if classes is None:
        return None
    if isinstance(classes, str):
        raise ConfigError(f"classes={classes!r} must be a list of class names, e.g. "
                          "['ham', 'spam'].")
    out = list(classes)
    if len(out) < 2 or not all(isinstance(c, str) and c for c in out):
        raise ConfigError(f"classes={out!r} must be a list of at least two non-empty strings.")
    if len(set(out)) != len(out):
        raise ConfigError(f"classes={out!r} holds a name twice; each class needs its own name.")
    return out


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # pragma: no cover - closed or replaced stderr
        return False


# ------------------------------------------------------------------------- the partition job
class _Failure(NamedTuple):
    kind: str  # "raised": an LF raised; "value": an LF returned a non-label
    lf: str
    row: int  # within the partition until _collect adds the offset
    value: str  # repr of the returned value, or of the exception
    reason: str  # what to do about it ("value"); the row's repr ("raised")
    exc: BaseException | None = None
    tb: str = ""


class _Part(NamedTuple):
    n: int
    votes: Any  # (n, m_python) int array, or the whole block (dense or CSR) on dask
    errors: list[tuple[int, str, str]]
    failure: _Failure | None


class _Job:
    """Labels one partition: a callable shipped to workers (forked, or pickled for dask)."""

    def __init__(self, py, vec, classes, fault_tolerant, *, transport, whole_block):
        self.py = [(lf.name, _row_function(lf)) for _, lf in py]
        self.py_cols = [j for j, _ in py]
        self.vec = vec
        self.n_lfs = len(py) + len(vec)
        self.classes = classes
        self.fault_tolerant = fault_tolerant
        self.transport = transport
        self.whole_block = whole_block

    def __call__(self, frame: Frame) -> _Part:
        n = len(frame)
        errors: list[tuple[int, str, str]] = []
        k = None if self.classes is None else len(self.classes)
        chunks: list[np.ndarray] = []  # (rows, m_python) per chunk, in the smallest dtype
        fields = frame.columns
        for start in range(0, n, CHUNK_ROWS) if self.py else ():
            stop = min(n, start + CHUNK_ROWS)
            part = frame if (start, stop) == (0, n) else frame.slice(start, stop)
            rows = rows_from_columns(fields, [_pylist(part, c) for c in fields], stop - start)
            chunk = np.empty((stop - start, len(self.py)), dtype=np.int64)
            for i, (name, fn) in enumerate(self.py):
                values, errs, failed = _call_rows(fn, rows, self.fault_tolerant)
                errors.extend((start + r, name, msg) for r, msg in errs)
                if failed is not None:
                    r, exc = failed
                    return _Part(n, None, errors, self._raised(name, start + r, rows[r], exc))
                labels, bad = labels_from_values(values, self.classes)
                if bad is not None:
                    r = int(bad)
                    return _Part(n, None, errors, _Failure(
                        "value", name, start + r, _short(repr(values[r])),
                        _value_fix(values[r], self.classes)))
                chunk[:, i] = labels
            del rows
            chunks.append(chunk.astype(_dtype_for([chunk], k), copy=False))
        if len(chunks) == 1:
            py_votes = chunks[0]
        elif chunks:
            py_votes = np.concatenate(chunks)
        else:
            py_votes = np.empty((n, 0), dtype=np.int8)
        if not self.whole_block:
            return _Part(n, py_votes, errors, None)
        columns: list[np.ndarray | None] = [None] * self.n_lfs
        for i, j in enumerate(self.py_cols):
            columns[j] = py_votes[:, i]
        try:
            columns_vec = _apply_vectorized(self.vec, frame, self.classes, offset=None)
        except _VectorFailure as failure:
            return _Part(n, None, errors, failure.args[0])
        for j, col in columns_vec.items():
            columns[j] = col
        return _Part(n, _assemble(columns, n, k), errors, None)

    def _raised(self, name: str, row: int, x: Any, exc: Exception) -> _Failure:
        tb = ""
        if self.transport:  # the traceback does not travel between processes; keep its text
            tb = "".join(traceback.format_exception(exc))
            try:
                import pickle

                pickle.dumps(exc)
            except Exception:
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return _Failure("raised", name, row, f"{type(exc).__name__}: {exc}", _short(repr(x)),
                        exc, tb)


def _row_function(lf: LabelingFunction) -> Callable[[Any], Any]:
    make = getattr(lf, "row_function", None)
    return make() if callable(make) else lf


def _pylist(frame: Frame, name: str) -> list:
    """One column as a Python list: strings via ``strings``, numbers via numpy, else Arrow."""
    t = frame.arrow(name).type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return frame.strings(name).tolist()
    if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_boolean(t) or pa.types.is_null(t)):
        return frame.numpy(name).tolist()
    return frame.arrow(name).to_pylist()


def _call_rows(fn: Callable[[Any], Any], rows: list, fault_tolerant: bool):
    """``[fn(x) for x in rows]`` at C speed; errors as ``(row, message)``; first failure."""
    values: list[Any] = []
    errors: list[tuple[int, str]] = []
    it = iter(rows)
    while True:
        try:
            values.extend(map(fn, it))  # on an exception, ``values`` keeps the rows before it
            return values, errors, None
        except Exception as exc:
            if not fault_tolerant:
                return values, errors, (len(values), exc)
            errors.append((len(values), f"{type(exc).__name__}: {exc}"))
            values.append(ABSTAIN)


# --------------------------------------------------------------------------- return values
def labels_from_values(values: list, classes: Sequence[str] | None) -> tuple[np.ndarray, Any]:
    """Votes as int64 from Python LF return values, and the index of the first bad one.

    Ints ``-1..k-1`` (numpy ints too) are labels, ``None`` abstains, class names map to
    their index when ``classes`` are given; anything else (floats, bools, other objects,
    out-of-range ints) is bad.

    >>> labels_from_values([0, None, "spam", -1], ["ham", "spam"])
    (array([ 0, -1,  1, -1]), None)
    >>> labels_from_values([0, 0.5], None)[1]
    1
    """
    n = len(values)
    types = set(map(type, values))
    arr = None
    if types <= {int}:
        try:
            arr = np.array(values, dtype=np.int64).reshape(n)
        except OverflowError:
            arr = None
    if arr is None:
        arr = np.full(n, _BAD, dtype=np.int64)
        code = {t: i for i, t in enumerate(types)}
        kinds = np.fromiter(map(code.__getitem__, map(type, values)), dtype=np.int64, count=n)
        objs = np.fromiter(values, dtype=object, count=n)
        for t, i in code.items():
            mask = kinds == i
            if t is type(None):
                arr[mask] = ABSTAIN
            elif (t is int or issubclass(t, np.integer)) and t is not bool:
                arr[mask] = [v if -1 <= v <= 2**62 else _BAD for v in map(int, objs[mask])]
            elif issubclass(t, str) and classes is not None:
                names, inverse = np.unique(objs[mask].astype(str), return_inverse=True)
                lookup = {c: i for i, c in enumerate(classes)}
                ids = np.array([lookup.get(str(s), _BAD) for s in names], dtype=np.int64)
                arr[mask] = ids[inverse.reshape(-1)]
    bad = arr < -1
    if classes is not None:
        bad |= arr >= len(classes)
    if bad.any():
        return arr, int(np.flatnonzero(bad)[0])
    return arr, None


def _value_fix(value: Any, classes: Sequence[str] | None) -> str:
    """Why ``value`` is not a label, and what to return instead."""
    k = "k" if classes is None else str(len(classes))
    abstain = "or -1/None to abstain"
    if isinstance(value, (bool, np.bool_)):
        return (f"a bool is not a label; return an int 0..{k}-1 {abstain}, or give "
                "@labeling_function(label=...) so that True votes that label.")
    if isinstance(value, (float, np.floating)):
        return f"labels are ints: return int(...) in 0..{k}-1, {abstain}."
    if isinstance(value, str):
        if classes is None:
            return ("a class name needs the classes: pass classes=[...] to apply_lfs, or "
                    "return ints.")
        return (f"it is not among the classes {list(classes)}.{close_matches(value, classes)} "
                f"Return one of them, an int 0..{k}-1, {abstain}.")
    if isinstance(value, (int, np.integer)):
        if classes is None:
            return f"labels are 0..k-1, {abstain}."
        return f"it is outside -1..{len(classes) - 1} (classes {list(classes)})."
    return (f"a {type(value).__name__} is not a label; return an int 0..{k}-1, a class name, "
            f"{abstain}.")


# --------------------------------------------------------------------------- vectorised LFs
class _VectorFailure(Exception):
    """A vectorised LF voted a non-label in a partition (row index fixed by the caller)."""


def _apply_vectorized(vec, frame: Frame, classes, *, offset: int | None) -> dict[int, np.ndarray]:
    """Run vectorised LFs, one ``apply_many`` call per LF type; column index -> votes.

    With ``offset=None`` (inside a partition) a bad vote raises ``_VectorFailure``.
    """
    groups: dict[type, list[tuple[int, LabelingFunction]]] = {}
    for j, lf in vec:
        groups.setdefault(type(lf), []).append((j, lf))
    n = len(frame)
    k = None if classes is None else len(classes)
    out: dict[int, np.ndarray] = {}
    for cls, members in groups.items():
        group = [lf for _, lf in members]
        many = getattr(cls, "apply_many", None)
        try:
            if callable(many):
                block = np.asarray(many(group, frame, classes))
                if block.shape != (n, len(group)):
                    raise LabelingFunctionError(
                        f"{cls.__name__}.apply_many returned shape {block.shape} for "
                        f"{len(group)} LFs on {n} rows; expected {(n, len(group))}.")
                cols = [block[:, i] for i in range(len(group))]
            else:
                cols = [np.asarray(lf.apply_frame(frame, classes)) for lf in group]
        except DawnError:
            raise
        except Exception as exc:
            shown = ", ".join(repr(lf.name) for lf in group)
            raise LabelingFunctionError(
                f"labeling function(s) {shown} failed on the data with "
                f"{type(exc).__name__}: {exc}") from exc
        for (j, lf), col in zip(members, cols, strict=True):
            out[j] = _check_vector(col, lf, n, classes, offset)
        del cols
    for j in out:
        out[j] = out[j].astype(_dtype_for([out[j]], k), copy=False)
    return out


def _check_vector(col: np.ndarray, lf: LabelingFunction, n: int, classes, offset) -> np.ndarray:
    if col.shape != (n,):
        raise LabelingFunctionError(f"labeling function {lf.name!r} returned votes of shape "
                                    f"{col.shape}; expected ({n},), one vote per row.")
    if col.dtype == bool or not np.issubdtype(col.dtype, np.integer):
        raise LabelingFunctionError(f"labeling function {lf.name!r} returned votes of dtype "
                                    f"{col.dtype}; expected integers (-1 = abstain).")
    bad = col < -1
    if classes is not None:
        bad |= col >= len(classes)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        failure = _Failure("value", lf.name, r, repr(int(col[r])),
                           _value_fix(int(col[r]), classes))
        if offset is None:
            raise _VectorFailure(failure)
        raise _failure_error(failure._replace(row=r + offset)) from None
    return col


# ------------------------------------------------------------------------------ assembling
def _dtype_for(arrays: list[np.ndarray], k: int | None) -> np.dtype:
    if k is not None:
        return smallest_label_dtype(k - 1)
    top = max((int(a.max()) for a in arrays if a.size), default=0)
    return smallest_label_dtype(max(top, 0))


def _assemble(columns: list, n: int, k: int | None):
    """Votes of all LFs on ``n`` rows: CSR of ``label + 1`` when sparse, else a dense array."""
    m = len(columns)
    counts = [int(np.count_nonzero(c >= 0)) for c in columns]
    nnz = sum(counts)
    dtype = _dtype_for(columns, k)
    if nnz < SPARSE_BELOW * n * m:
        data_dtype = smallest_label_dtype(_max_vote(columns) + 1)
        rows = np.empty(nnz, dtype=np.int64)
        cols = np.empty(nnz, dtype=np.int32)
        data = np.empty(nnz, dtype=data_dtype)
        at = 0
        for j, col in enumerate(columns):
            idx = np.flatnonzero(col >= 0)
            rows[at:at + len(idx)] = idx
            cols[at:at + len(idx)] = j
            data[at:at + len(idx)] = col[idx].astype(data_dtype) + 1
            at += len(idx)
        return sp.csr_matrix(sp.coo_matrix((data, (rows, cols)), shape=(n, m)))
    out = np.empty((n, m), dtype=dtype)
    for j, col in enumerate(columns):
        out[:, j] = col
    return out


def _max_vote(columns: list[np.ndarray]) -> int:
    """Largest vote in ``columns`` (0 when empty)."""
    return max((int(c.max()) for c in columns if c.size), default=0)


def _from_blocks(blocks: list, names: list[str], classes, errors: pd.DataFrame) -> LabelMatrix:
    """Stack partition blocks; mixed dense/sparse blocks follow the overall coverage."""
    sparse = [sp.issparse(b) for b in blocks]
    if any(sparse) and not all(sparse):
        cells = sum(b.shape[0] * b.shape[1] for b in blocks)
        nnz = sum(b.nnz if sp.issparse(b) else int(np.count_nonzero(b >= 0)) for b in blocks)
        if nnz < SPARSE_BELOW * cells:
            blocks = [b if sp.issparse(b) else
                      sp.csr_matrix(b.astype(smallest_label_dtype(int(b.max()) + 1)) + 1)
                      for b in blocks]
    return LabelMatrix.from_blocks(blocks, names, classes, errors)


def _collect(parts: list[_Part], names: list[str]) -> pd.DataFrame:
    """Global row indices for errors; raise the first failure."""
    offset = 0
    rows: list[tuple[int, str, str]] = []
    for part in parts:
        if part.failure is not None:
            err = _failure_error(part.failure._replace(row=part.failure.row + offset))
            raise err from err.__cause__
        rows.extend((offset + r, lf, msg) for r, lf, msg in part.errors)
        offset += part.n
    return _errors_frame(rows, names)


def _errors_frame(rows: list[tuple[int, str, str]], names: list[str] | None = None):
    frame = pd.DataFrame(rows, columns=["row", "lf", "error"])
    if rows and names is not None:
        order = {name: i for i, name in enumerate(names)}
        frame = frame.assign(_o=frame["lf"].map(order)).sort_values(["row", "_o"],
                                                                    kind="stable")
        frame = frame.drop(columns="_o").reset_index(drop=True)
    return frame.astype({"row": np.int64})


def _failure_error(f: _Failure) -> DawnError:
    if f.kind == "value":
        return LabelError(f"labeling function {f.lf!r} returned {f.value} on row {f.row}; "
                          f"{f.reason}")
    err = LabelingFunctionError(
        f"labeling function {f.lf!r} raised {f.value} on row {f.row} ({f.reason}). Fix the "
        "function, or pass fault_tolerant=True to record errors in L.errors and abstain there."
    )
    if f.exc is not None:
        if f.tb:
            f.exc.add_note("traceback in the worker:\n" + f.tb)
        err.__cause__ = f.exc
    return err


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
