"""Claims as integer codes: what every fusion method works on.

``object``, ``source`` and ``value`` columns are factorised (sorted, so codes do not depend
on row order). Rows with a missing object, source or value are dropped; a source that
claims one object several times keeps its first claim (both with a :class:`DawnWarning`).
Categorical values become codes ``0..K-1``; each distinct claimed ``(object, value)`` pair
is a *cell* (cells sorted by object, then value), the unit posteriors live on.

>>> import pandas as pd
>>> c = encode_claims(pd.DataFrame({"o": [1, 1, 2], "s": ["a", "b", "a"], "v": ["x", "y", "x"]}),
...                   "o", "s", "v", numeric=False)
>>> c.n_objects, c.n_sources, c.n_values, c.cell_obj.tolist(), c.claim_cell.tolist()
(2, 2, 2, [0, 0, 1], [0, 1, 2])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dawn.data import as_frame
from dawn.errors import DataError, DawnWarning, EmptyDataError, SchemaError, close_matches

__all__ = ["Claims", "encode_claims", "looks_numeric"]


@dataclass
class Claims:
    """Encoded claims (one per object × source)."""

    obj: np.ndarray  # int64 (c,)
    src: np.ndarray  # int64 (c,)
    val: np.ndarray  # int64 codes (categorical) or float64 (numeric)
    objects: pd.Index
    sources: pd.Index
    values: pd.Index | None  # categorical only
    numeric: bool
    n_dropped: int = 0
    n_duplicates: int = 0

    def __post_init__(self) -> None:
        self.n_objects = len(self.objects)
        self.n_sources = len(self.sources)
        self.n_values = 0 if self.values is None else len(self.values)
        self.claims_per_source = np.bincount(self.src, minlength=self.n_sources)
        self.claims_per_object = np.bincount(self.obj, minlength=self.n_objects)
        if not self.numeric:
            k = max(self.n_values, 1)
            keys, inv = np.unique(self.obj * k + self.val, return_inverse=True)
            self.claim_cell = inv.ravel()
            self.cell_obj = keys // k
            self.cell_val = keys % k
            self.obj_ptr = np.searchsorted(self.cell_obj, np.arange(self.n_objects + 1))

    @property
    def n_claims(self) -> int:
        return len(self.obj)

    @property
    def n_cells(self) -> int:
        return len(self.cell_obj)


def looks_numeric(values: pd.Series) -> bool:
    """Numeric (not bool) values with a fractional part or more than 20 distinct values."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = arr[np.isfinite(arr)]
    return bool((arr != np.round(arr)).any() or len(np.unique(arr)) > 20)


def _factorize(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    try:
        codes, uniques = pd.factorize(col, sort=True)
    except TypeError:  # mixed types that do not sort
        codes, uniques = pd.factorize(col.astype(str), sort=True)
    return codes.astype(np.int64), pd.Index(uniques)


def claims_frame(claims, object: str, source: str, value: str) -> pd.DataFrame:
    """The three columns of ``claims`` (any table dawn reads) as pandas, checked."""
    frame = as_frame(claims)
    frame.require(object, source, value, purpose="fusion")
    if len({object, source, value}) < 3:
        raise DataError(f"object, source and value must be three different columns; got "
                        f"object={object!r}, source={source!r}, value={value!r}.")
    df = frame.select([object, source, value]).to_pandas()
    if len(df) == 0:
        raise EmptyDataError("the claims table has no rows; give at least one claim "
                             f"(columns {object!r}, {source!r}, {value!r}).")
    return df


def encode_claims(claims, object: str, source: str, value: str, *, numeric: bool | None,
                  extra_values: pd.Series | None = None) -> Claims:
    """Encode a claims table (see the module docstring); ``numeric=None`` decides by
    :func:`looks_numeric`. ``extra_values`` (e.g. given truth) join the categorical domain."""
    df = claims_frame(claims, object, source, value)
    missing = df.isna().any(axis=1).to_numpy()
    if missing.any():
        warnings.warn(f"{int(missing.sum())} of {len(df)} claims have a missing object, "
                      "source or value and were dropped.", DawnWarning, stacklevel=3)
        df = df.loc[~missing]
        if len(df) == 0:
            raise EmptyDataError("every claim has a missing object, source or value.")
    if numeric is None:
        numeric = looks_numeric(df[value])
    obj, objects = _factorize(df[object])
    src, sources = _factorize(df[source])
    pair = obj * len(sources) + src
    first = np.unique(pair, return_index=True)[1]
    n_dup = len(df) - len(first)
    if n_dup:
        warnings.warn(f"{n_dup} claims repeat an (object, source) pair already claimed; "
                      "each source keeps its first claim per object.", DawnWarning,
                      stacklevel=3)
    keep = np.sort(first)
    obj, src = obj[keep], src[keep]
    vals = df[value].iloc[keep]
    if numeric:
        if not pd.api.types.is_numeric_dtype(vals) or pd.api.types.is_bool_dtype(vals):
            raise SchemaError(f"value column {value!r} has dtype {vals.dtype}; numeric "
                              "fusion needs numbers (or use value_type='categorical').")
        val = vals.to_numpy(dtype=np.float64)
        if not np.isfinite(val).all():
            raise SchemaError(f"value column {value!r} holds infinite numbers; drop them.")
        return Claims(obj, src, val, objects, sources, None, True,
                      int(missing.sum()), n_dup)
    if extra_values is not None and len(extra_values):
        both = pd.concat([vals.reset_index(drop=True),
                          pd.Series(extra_values.to_numpy(), dtype=vals.dtype
                                    if extra_values.dtype == vals.dtype else object)],
                         ignore_index=True)
        codes, values = _factorize(both)
        val = codes[:len(vals)]
    else:
        val, values = _factorize(vals.reset_index(drop=True))
    return Claims(obj, src, val, objects, sources, values, False, int(missing.sum()), n_dup)


def truth_codes(truth, claims: Claims) -> tuple[np.ndarray, np.ndarray]:
    """``(object codes, value codes or floats)`` of the given truth, checked against claims."""
    if not isinstance(truth, pd.Series):
        raise SchemaError(f"truth must be a pandas Series (object → value); got "
                          f"{type(truth).__name__}.")
    truth = truth.dropna()
    pos = claims.objects.get_indexer(truth.index)
    if (pos < 0).any():
        bad = [str(v) for v in truth.index[pos < 0][:3]]
        raise DataError(f"truth names {int((pos < 0).sum())} objects that no claim mentions "
                        f"(e.g. {bad[0]!r}); its index must hold object ids from the claims."
                        f"{close_matches(bad[0], [str(o) for o in claims.objects[:10_000]])}")
    if truth.index.has_duplicates:
        raise DataError("truth names an object more than once; give one value per object.")
    if claims.numeric:
        if not pd.api.types.is_numeric_dtype(truth):
            raise SchemaError(f"truth has dtype {truth.dtype} but the claims are numeric.")
        return pos.astype(np.int64), truth.to_numpy(dtype=np.float64)
    code = claims.values.get_indexer(truth.to_numpy())
    if (code < 0).any():  # only when types differ (e.g. "1" vs 1)
        bad = truth.to_numpy()[code < 0][0]
        raise DataError(f"truth value {bad!r} is not among the claimed values "
                        f"{list(claims.values[:10])}; check its type.")
    return pos.astype(np.int64), code.astype(np.int64)
