"""``Frame``: the one column view every dawn stage reads.

A :class:`Frame` is an immutable table of named columns backed by a ``pyarrow.Table``.
Stages ask it for a column as numpy (``frame.numpy("age")``), as a list-like of Python
strings (``frame.strings("text")``) or as Arrow (``frame.arrow("text")``); conversions
are cached, so every labeling function that reads ``text`` shares one conversion.

>>> import pandas as pd
>>> f = as_frame(pd.DataFrame({"text": ["hi", None], "n": [1.0, 2.0]}))
>>> len(f), f.columns
(2, ['text', 'n'])
>>> f.strings("text").tolist()
['hi', '']
>>> f.numpy("n")
array([1., 2.])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from dawn.errors import ColumnNotFoundError, DataError, SchemaError, close_matches

__all__ = ["Frame", "as_frame"]


class Frame:
    """An immutable table of named columns (see the module docstring)."""

    __slots__ = ("_cache", "_table")

    def __init__(self, table: pa.Table) -> None:
        if not isinstance(table, pa.Table):
            raise SchemaError(f"Frame wraps a pyarrow.Table, got {type(table).__name__}; "
                              "use dawn.data.as_frame(obj) to convert other objects.")
        self._table = table
        self._cache: dict[tuple[str, str], Any] = {}

    # -- shape -------------------------------------------------------------------
    def __len__(self) -> int:
        return self._table.num_rows

    @property
    def columns(self) -> list[str]:
        """Column names, in order."""
        return list(self._table.column_names)

    @property
    def table(self) -> pa.Table:
        """The underlying ``pyarrow.Table``."""
        return self._table

    def __contains__(self, name: object) -> bool:
        return name in self._table.column_names

    def __repr__(self) -> str:
        return f"Frame({len(self)} rows × {len(self.columns)} columns: {self.columns[:8]})"

    def __getstate__(self) -> bytes:  # pickled only for transport between processes
        # Arrow IPC writes only a slice's own rows (pickling a sliced Table ships its parent)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, self._table.schema) as writer:
            writer.write_table(self._table)
        return sink.getvalue().to_pybytes()

    def __setstate__(self, state: bytes) -> None:
        self._table = pa.ipc.open_stream(state).read_all()
        self._cache = {}

    # -- columns -----------------------------------------------------------------
    def require(self, *names: str, purpose: str = "") -> None:
        """Raise :class:`ColumnNotFoundError` unless every name is a column."""
        for name in names:
            if name not in self._table.column_names:
                why = f" (needed by {purpose})" if purpose else ""
                raise ColumnNotFoundError(
                    f"column {name!r}{why} is not in the data; columns are "
                    f"{self.columns}.{close_matches(name, self.columns)}"
                )

    def arrow(self, name: str, purpose: str = "") -> pa.Array:
        """The column as one contiguous ``pyarrow.Array``."""
        key = (name, "arrow")
        if key not in self._cache:
            self.require(name, purpose=purpose)
            col = self._table.column(name)
            self._cache[key] = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        return self._cache[key]

    def numpy(self, name: str, purpose: str = "") -> np.ndarray:
        """The column as numpy: numbers as float64 (nulls → NaN), bools as bool, others object."""
        key = (name, "numpy")
        if key not in self._cache:
            arr = self.arrow(name, purpose)
            t = arr.type
            if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
                if arr.null_count or pa.types.is_decimal(t):
                    out = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
                else:
                    out = arr.to_numpy(zero_copy_only=False)
            elif pa.types.is_boolean(t) and not arr.null_count:
                out = arr.to_numpy(zero_copy_only=False)
            elif pa.types.is_null(t):
                out = np.full(len(arr), np.nan)
            else:
                out = arr.to_numpy(zero_copy_only=False)
            self._cache[key] = out
        return self._cache[key]

    def numeric(self, name: str, purpose: str = "") -> np.ndarray:
        """The column as float64 (nulls → NaN); :class:`SchemaError` if it is not numeric."""
        arr = self.arrow(name, purpose)
        t = arr.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
                or pa.types.is_boolean(t) or pa.types.is_null(t)):
            why = f" for {purpose}" if purpose else ""
            raise SchemaError(
                f"column {name!r} has type {t}, but a numeric column is needed{why}; "
                "convert it first (e.g. pandas.to_numeric) or pick a numeric column."
            )
        key = (name, "float64")
        if key not in self._cache:
            self._cache[key] = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return self._cache[key]

    def strings(self, name: str, purpose: str = "") -> np.ndarray:
        """The column as an object array of Python ``str`` (nulls → ``""``)."""
        key = (name, "strings")
        if key not in self._cache:
            arr = self.arrow(name, purpose)
            if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
                    or pa.types.is_string_view(arr.type)):
                arr = arr.cast(pa.large_string()) if not pa.types.is_null(arr.type) else \
                    pa.array([None] * len(arr), pa.large_string())
            if arr.null_count:
                import pyarrow.compute as pc

                arr = pc.fill_null(arr, "")
            self._cache[key] = arr.to_numpy(zero_copy_only=False).astype(object, copy=False)
        return self._cache[key]

    # -- rows --------------------------------------------------------------------
    def slice(self, start: int, stop: int) -> Frame:
        """Rows ``start:stop`` as a new Frame (zero-copy)."""
        start = max(0, min(start, len(self)))
        stop = max(start, min(stop, len(self)))
        return Frame(self._table.slice(start, stop - start))

    def take(self, indices: Sequence[int] | np.ndarray) -> Frame:
        """Rows at ``indices`` as a new Frame (negative counts from the end; a boolean
        mask with one value per row selects the rows where it is true)."""
        idx = np.asarray(indices)
        n = len(self)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise SchemaError(f"a boolean row mask needs one value per row ({n}), got shape "
                                  f"{idx.shape}.")
            idx = np.flatnonzero(idx)
        elif idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise SchemaError(f"row indices must be integers, got dtype {idx.dtype}.")
        idx = idx.astype(np.int64, copy=False).ravel()
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = int(idx[(idx < -n) | (idx >= n)][0])
            raise DataError(f"row index {bad} is out of range for a table of {n} rows.")
        return Frame(self._table.take(pa.array(np.where(idx < 0, idx + n, idx))))

    def select(self, names: Iterable[str]) -> Frame:
        """Only the named columns."""
        names = list(names)
        self.require(*names)
        return Frame(self._table.select(names))

    def to_pandas(self):  # -> pandas.DataFrame
        """The Frame as a ``pandas.DataFrame``."""
        return self._table.to_pandas()


def as_frame(obj: Any) -> Frame:
    """Turn pandas, polars, pyarrow, a dict of columns or a Frame into a :class:`Frame`.

    Files and SQL go through :func:`dawn.data.read`.
    """
    if isinstance(obj, Frame):
        return obj
    if isinstance(obj, pa.Table):
        return Frame(obj)
    if isinstance(obj, pa.RecordBatch):
        return Frame(pa.Table.from_batches([obj]))
    mod = type(obj).__module__.split(".")[0]
    if mod == "pandas":
        import pandas as pd

        if isinstance(obj, pd.Series):
            obj = obj.to_frame(name=obj.name if obj.name is not None else "value")
        if isinstance(obj, pd.DataFrame):
            df = obj
            if not all(isinstance(c, str) for c in df.columns):
                df = df.rename(columns=str)
            if df.columns.duplicated().any():
                dup = sorted(set(df.columns[df.columns.duplicated()]))
                raise SchemaError(f"duplicate column names {dup}; rename them so each is unique.")
            return Frame(pa.Table.from_pandas(df, preserve_index=False))
    if mod == "polars":
        return Frame(obj.to_arrow() if hasattr(obj, "to_arrow") else pa.table(obj))
    if hasattr(obj, "__arrow_c_stream__"):
        return Frame(pa.table(obj))
    if isinstance(obj, Mapping):
        try:
            return Frame(pa.table({str(k): _as_arrow(v) for k, v in obj.items()}))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SchemaError(f"could not build a table from the given columns: {exc}") from None
    raise DataError(
        f"cannot read an object of type {type(obj).__name__} as a table; pass a pandas or "
        "polars DataFrame, a pyarrow Table, a dict of columns, or a path/SQL via dawn.data.read."
    )


def _as_arrow(values: Any) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise SchemaError(f"each column must be one-dimensional, got shape {arr.shape}.")
    return pa.array(arr if arr.dtype != object else list(arr))
