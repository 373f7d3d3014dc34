"""Dictionary-encode attribute columns into small integer codes for counting.

Every attribute becomes one column of an ``(n, m)`` int8 (or int16) code matrix plus the
label of each code, so counting runs over a few bytes per row:

- categorical columns (strings, booleans, dictionaries, dates...) keep their values;
- numeric columns with more than ``bins`` distinct values are cut into (at most) ``bins``
  quantile intervals labelled like ``"[10, 20)"`` (the last one closed, ``"[20, 30]"``);
  numeric columns with few distinct values stay categorical (``"3"``, ``"0.5"``);
- an attribute with more than ``max_values`` values keeps its ``max_values`` most frequent
  ones (ranked by their count among ``rank_rows`` first when given — the outliers, so
  nothing that could explain them is lumped — then by their count overall) and lumps the
  rest into ``"other"``;
- nulls and NaNs become their own value ``"missing"``.

>>> import pandas as pd
>>> enc = encode(pd.DataFrame({"v": ["a", "b", None, "a"], "x": [1.0, 2.0, 3.0, 4.0]}),
...              ["v", "x"], bins=2)
>>> enc.codes.tolist()
[[0, 0], [1, 0], [2, 1], [0, 1]]
>>> enc.labels
[['a', 'b', 'missing'], ['[1, 2.5)', '[2.5, 4]']]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dawn.data.frame import Frame, as_frame
from dawn.errors import ConfigError, SchemaError

__all__ = ["MISSING", "OTHER", "Encoded", "encode"]

MISSING = "missing"
OTHER = "other"
_MAX_CODES = 32_000  # int16 codes


@dataclass(frozen=True)
class Encoded:
    """Attributes as codes: ``codes[r, j]`` is row ``r``'s value of ``names[j]``, whose
    label is ``labels[j][codes[r, j]]``; ``cardinality[j] == len(labels[j])``."""

    codes: np.ndarray
    names: list[str]
    labels: list[list[str]]

    @property
    def cardinality(self) -> np.ndarray:
        """Number of values of each attribute (int64)."""
        return np.array([len(lab) for lab in self.labels], dtype=np.int64)


def encode(data: Any, attributes: Sequence[str], *, bins: int = 5, max_values: int = 100,
           rank_rows: np.ndarray | None = None) -> Encoded:
    """Encode ``attributes`` of ``data`` (see the module docstring).

    Parameters
    ----------
    data : pandas / polars / pyarrow table, dict of columns or Frame
    attributes : column names to encode, in order
    bins : number of quantile intervals for numeric columns (>= 2)
    max_values : values kept per attribute before the rest is lumped as ``"other"``
    rank_rows : optional boolean mask; values frequent among these rows are kept first

    Returns
    -------
    Encoded
        C-ordered ``(n, m)`` int8 codes (int16 when an attribute has more than 127 values).
    """
    frame = as_frame(data)
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins < 2:
        raise ConfigError(f"bins={bins!r} must be an integer >= 2 (quantile intervals per "
                          "numeric attribute).")
    if (not isinstance(max_values, (int, np.integer)) or isinstance(max_values, bool)
            or not 1 <= max_values <= _MAX_CODES - 2):
        raise ConfigError(f"max_values={max_values!r} must be an integer in 1..{_MAX_CODES - 2} "
                          "(values kept per attribute before the rest becomes 'other').")
    n = len(frame)
    if rank_rows is not None:
        rank_rows = np.asarray(rank_rows, dtype=bool)
        if rank_rows.shape != (n,):
            raise SchemaError(f"rank_rows needs one value per row ({n}), got shape "
                              f"{rank_rows.shape}.")
    columns: list[np.ndarray] = []
    labels: list[list[str]] = []
    for name in attributes:
        codes, labs = _encode_column(frame, name, bins, max_values, rank_rows)
        columns.append(codes)
        labels.append(labs)
    dtype = np.int8 if all(len(lab) <= 127 for lab in labels) else np.int16
    out = np.empty((n, len(columns)), dtype=dtype)
    for j, codes in enumerate(columns):
        out[:, j] = codes
    return Encoded(out, [str(a) for a in attributes], labels)


def _encode_column(frame: Frame, name: str, bins: int, max_values: int,
                   rank_rows: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    arr = frame.arrow(name, purpose="explain's attributes")
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        x = frame.numeric(name)
        finite = x[~np.isnan(x)]
        distinct = np.unique(finite)
        if len(distinct) > bins:
            return _bin(x, finite, bins)
        codes = np.searchsorted(distinct, x)
        labs = [_fmt(v) for v in distinct]
        return _with_missing(codes, np.isnan(x), labs, max_values, rank_rows)
    # a dictionary column (pandas Categorical) already has codes; others are encoded
    enc = arr if pa.types.is_dictionary(t) else pc.dictionary_encode(arr)
    values = enc.dictionary
    labs = [str(v) for v in values.to_pylist()]
    idx = enc.indices
    null = np.asarray(idx.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    codes = idx.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    return _with_missing(codes, null, labs, max_values, rank_rows)


def _bin(x: np.ndarray, finite: np.ndarray, bins: int) -> tuple[np.ndarray, list[str]]:
    edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))
    codes = np.searchsorted(edges[1:-1], x, side="right")
    labs = [f"[{_fmt(lo)}, {_fmt(hi)})" for lo, hi in pairwise(edges[:-1])]
    labs.append(f"[{_fmt(edges[-2])}, {_fmt(edges[-1])}]")
    nan = np.isnan(x)
    if nan.any():
        codes[nan] = len(labs)
        labs.append(MISSING)
    return codes, labs


def _with_missing(codes: np.ndarray, null: np.ndarray, labs: list[str], max_values: int,
                  rank_rows: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    k = len(labs)
    if null.any():
        codes = np.where(null, k, codes)
        labs = [*labs, MISSING]
        k += 1
    if k <= max_values:
        return codes, labs
    counts = np.bincount(codes, minlength=k)
    ranked = np.zeros(k) if rank_rows is None else np.bincount(codes[rank_rows], minlength=k)
    order = np.lexsort((np.arange(k), -counts, -ranked))  # by rank rows, then overall
    keep = np.sort(order[:max_values])
    remap = np.full(k, max_values, dtype=np.int64)
    remap[keep] = np.arange(max_values)
    return remap[codes], [labs[i] for i in keep] + [OTHER]


def _fmt(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.4g}"
