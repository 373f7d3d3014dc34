"""Interaction events: reading them, mapping ids to indices, and building the matrix.

Events are rows with a ``user``, an ``item`` and optionally a ``value`` (a rating or a
weight), a ``timestamp`` and a ``type``; the column names can be changed. Ids may be text
or integers; :class:`IdIndex` maps them to ``0..n-1`` and grows as new ids arrive.

>>> ev = read_events({"user": ["ann", "bob", "ann"], "item": [10, 11, 10]})
>>> users, items = IdIndex(), IdIndex()
>>> R = interaction_matrix(users.add(ev.users), items.add(ev.items), ev.values,
...                        (len(users), len(items)))
>>> R.toarray()
array([[2., 0.],
       [0., 1.]], dtype=float32)
>>> users.ids, items.lookup(["10", 12])
(['ann', 'bob'], array([ 0, -1]))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from dawn.data import as_frame
from dawn.errors import ColumnNotFoundError, DataError, EmptyDataError, SchemaError

__all__ = ["Events", "IdIndex", "interaction_matrix", "read_events"]


@dataclass(frozen=True)
class Events:
    """A batch of interaction events as arrays (one entry per event).

    Attributes
    ----------
    users, items : numpy.ndarray
        Raw ids: ``int64`` when the column holds integers, else an object array of ``str``.
    values : numpy.ndarray
        ``float32`` weights or ratings (1 when the data has no value column).
    timestamps : numpy.ndarray or None
        ``float64`` seconds (datetimes are converted), or None without a timestamp column.
    types : numpy.ndarray or None
        Event types as ``str`` (``"click"``, ``"buy"``, ...), or None.
    has_values : bool
        Whether the values came from a value column (else they are all 1).
    """

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    timestamps: np.ndarray | None = None
    types: np.ndarray | None = None
    has_values: bool = False

    def __len__(self) -> int:
        return len(self.users)

    def take(self, idx: np.ndarray) -> Events:
        """The events at ``idx`` (indices or a boolean mask)."""
        return Events(self.users[idx], self.items[idx], self.values[idx],
                      None if self.timestamps is None else self.timestamps[idx],
                      None if self.types is None else self.types[idx], self.has_values)

    def order(self) -> np.ndarray:
        """Indices putting the events in time order (stable; row order without timestamps)."""
        if self.timestamps is None:
            return np.arange(len(self))
        return np.argsort(self.timestamps, kind="stable")


def read_events(
    data: Any,
    *,
    user: str = "user",
    item: str = "item",
    value: str | None = None,
    timestamp: str | None = None,
    type: str | None = None,
    type_weights: Mapping[str, float] | None = None,
    missing_ok: bool = False,
) -> Events:
    """Read interaction events from a pandas / polars / Arrow table, a dict or a list of dicts.

    Parameters
    ----------
    data
        The events, one per row.
    user, item
        Names of the id columns (required).
    value, timestamp, type
        Names of the optional columns. ``None`` means the column ``"value"``,
        ``"timestamp"`` or ``"type"`` when it is present; a name given explicitly must exist.
    type_weights
        Multiply each event's value by the weight of its type (``{"view": 1, "buy": 5}``);
        types not listed keep weight 1.
    missing_ok
        Let explicitly named optional columns be absent too (new events may lack them).

    Raises
    ------
    ColumnNotFoundError
        A required or named column is missing.
    EmptyDataError
        No events.
    DataError
        A null id, a value that is NaN or infinite, or a timestamp that cannot be read.
    SchemaError
        A value column that is not numeric.
    """
    if isinstance(data, list):
        if data and not all(isinstance(r, Mapping) for r in data):
            raise DataError("events given as a list must be dicts like {'user': ..., 'item': "
                            "...}; got " + type_name(next(r for r in data
                                                          if not isinstance(r, Mapping))) + ".")
        keys = list(dict.fromkeys(k for r in data for k in r))
        data = {k: [r.get(k) for r in data] for k in keys}
    try:
        frame = as_frame(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaError(f"could not read the events as a table: {exc}. Make each column "
                          "one type (ids all text or all integers).") from None
    purpose = "the recommender's events"
    frame.require(user, item, purpose=purpose)
    if len(frame) == 0:
        raise EmptyDataError("no events: the data has no rows; pass at least one "
                             f"({user!r}, {item!r}) interaction.")
    users = _ids(frame, user)
    items = _ids(frame, item)
    value_col = _optional(frame, value, "value", missing_ok)
    if value_col is None:
        values = np.ones(len(frame), dtype=np.float32)
    else:
        raw = frame.numeric(value_col, purpose="event values (ratings or weights)")
        bad = ~np.isfinite(raw)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"column {value_col!r} has a missing or non-finite value at row "
                            f"{row} ({raw[row]!r}); drop those events or fill them.")
        values = raw.astype(np.float32)
    ts_col = _optional(frame, timestamp, "timestamp", missing_ok)
    timestamps = None if ts_col is None else _timestamps(frame, ts_col)
    type_col = _optional(frame, type, "type", missing_ok)
    types = None if type_col is None else frame.strings(type_col)
    if type_weights:
        if types is None:
            raise ColumnNotFoundError("type_weights needs a 'type' column in the events; add "
                                      "it or name it with type=...")
        names = np.asarray(list(type_weights), dtype=object)
        weights = np.asarray([float(type_weights[k]) for k in names], dtype=np.float32)
        pos = {k: i for i, k in enumerate(names)}
        codes, uniques = _factorize(types)
        factor = np.asarray([weights[pos[u]] if u in pos else 1.0 for u in uniques],
                            dtype=np.float32)
        values = values * factor[codes]
    return Events(users, items, values, timestamps, types, value_col is not None)


def type_name(obj: Any) -> str:
    return type(obj).__name__


def _optional(frame: Any, given: str | None, default: str, missing_ok: bool = False
              ) -> str | None:
    if given is not None and missing_ok and given not in frame:
        return None
    if given is not None:
        frame.require(given, purpose="the recommender's events")
        return given
    return default if default in frame else None


def _ids(frame: Any, name: str) -> np.ndarray:
    arr = frame.arrow(name)
    if arr.null_count:
        row = int(np.flatnonzero(np.asarray(arr.is_null()))[0])
        raise DataError(f"column {name!r} has a missing id at row {row}; every event needs a "
                        "user and an item — drop those rows first.")
    t = arr.type
    if pa.types.is_integer(t):
        return arr.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    if pa.types.is_floating(t):
        vals = arr.to_numpy(zero_copy_only=False)
        if np.all(np.isfinite(vals)) and np.all(vals == np.round(vals)):
            return vals.astype(np.int64)
        raise SchemaError(f"column {name!r} holds fractional numbers ({t}); ids must be text "
                          "or integers.")
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return frame.strings(name)
    raise SchemaError(f"column {name!r} has type {t}; ids must be text or integers.")


def _timestamps(frame: Any, name: str) -> np.ndarray:
    arr = frame.arrow(name)
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        import pyarrow.compute as pc

        secs = pc.cast(pc.cast(arr, pa.timestamp("us")), pa.int64())
        out = np.asarray(secs.to_numpy(zero_copy_only=False), dtype=np.float64) / 1e6
        if arr.null_count:
            out[np.asarray(arr.is_null())] = np.nan
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        out = frame.numeric(name).astype(np.float64)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        import pandas as pd

        try:
            parsed = pd.to_datetime(pd.Series(frame.numpy(name)), utc=True, format="mixed")
        except (ValueError, TypeError) as exc:
            raise DataError(f"column {name!r} has timestamps that cannot be read ({exc}); use "
                            "numbers (seconds) or ISO dates like 2024-05-01T12:00:00.") from None
        secs = (parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        out = np.array(secs.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    else:
        raise SchemaError(f"column {name!r} has type {t}; timestamps must be numbers "
                          "(seconds) or dates.")
    if np.isnan(out).any():
        row = int(np.flatnonzero(np.isnan(out))[0])
        raise DataError(f"column {name!r} has a missing timestamp at row {row}; fill it or "
                        "drop the timestamp column.")
    return out


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


class IdIndex:
    """Raw ids (text or integers) ↔ indices ``0..n-1``, growing as new ids arrive.

    A look-up tolerates the other spelling of an id: ``"42"`` finds ``42`` when the ids
    are integers (URLs carry text), and ``42`` finds ``"42"`` when they are text.

    >>> idx = IdIndex()
    >>> idx.add(np.array([7, 3, 7])).tolist(), idx.lookup(["3", "9"]).tolist()
    ([0, 1, 0], [1, -1])
    """

    def __init__(self, ids: Iterable[Any] = ()) -> None:
        self._ids: list[Any] = []
        self._pos: dict[Any, int] = {}
        self.kind: str | None = None  # "int" or "str" once ids arrive
        self._pd: Any = None  # cached pandas.Index for bulk look-ups
        ids = list(ids)
        if ids:
            self.add(np.asarray(ids, dtype=object if not _all_int(ids) else np.int64))

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, raw: Any) -> bool:
        return self.get(raw) >= 0

    @property
    def ids(self) -> list[Any]:
        """The raw ids in index order (Python ``int`` or ``str``)."""
        return list(self._ids)

    def id_of(self, index: np.ndarray) -> list[Any]:
        """Raw ids of ``index`` (``-1`` → ``None``)."""
        ids = self._ids
        return [ids[i] if i >= 0 else None for i in np.asarray(index).tolist()]

    def get(self, raw: Any) -> int:
        """Index of one raw id, ``-1`` when unknown."""
        key = self._key(raw)
        return -1 if key is None else self._pos.get(key, -1)

    def lookup(self, raws: Iterable[Any]) -> np.ndarray:
        """Indices of ``raws`` (``int64``; ``-1`` for unknown ids)."""
        arr = raws if isinstance(raws, np.ndarray) else np.asarray(list(raws), dtype=object)
        if len(arr) > 64 and self._ids:
            keys = arr if self._native(arr) else np.asarray([self._key(r) for r in arr],
                                                            dtype=object)
            return self._index().get_indexer(keys).astype(np.int64)
        return np.fromiter((self.get(r) for r in arr), dtype=np.int64, count=len(arr))

    def add(self, raws: np.ndarray) -> np.ndarray:
        """Indices of ``raws``, giving new ids the next free indices."""
        raws = np.asarray(raws)
        if self.kind is None and len(raws):
            self.kind = "int" if np.issubdtype(raws.dtype, np.integer) else "str"
        codes, uniques = _factorize(raws)
        known = self.lookup(uniques)
        fresh = np.flatnonzero(known < 0)
        if len(fresh):
            new = uniques[fresh]
            keys = new.tolist() if self._native(new) else [self._key(r) for r in new]
            if any(k is None for k in keys):
                bad = new[[k is None for k in keys].index(True)]
                raise DataError(f"id {bad!r} cannot be used with the existing {self.kind} "
                                "ids; keep ids all text or all integers.")
            start = len(self._ids)
            positions = range(start, start + len(keys))
            self._ids.extend(keys)
            self._pos.update(zip(keys, positions, strict=True))
            self._pd = None
            known[fresh] = np.arange(start, start + len(keys))
        return known[codes]

    def to_array(self) -> np.ndarray:
        """The ids as a plain numpy array (``int64`` or unicode) for saving."""
        if self.kind == "int":
            return np.asarray(self._ids, dtype=np.int64)
        return np.asarray(self._ids, dtype=str) if self._ids else np.zeros(0, dtype="<U1")

    @classmethod
    def from_array(cls, arr: np.ndarray) -> IdIndex:
        """Rebuild from :meth:`to_array`."""
        out = cls()
        if arr.size:
            out.add(arr if np.issubdtype(arr.dtype, np.integer) else arr.astype(object))
        elif np.issubdtype(arr.dtype, np.integer):
            out.kind = "int"
        return out

    def _key(self, raw: Any) -> Any:
        if isinstance(raw, (np.integer, int)) and not isinstance(raw, bool):
            return int(raw) if self.kind != "str" else str(int(raw))
        if isinstance(raw, str):
            if self.kind == "int":
                try:
                    return int(raw.strip())
                except ValueError:
                    return None
            return raw
        if isinstance(raw, (float, np.floating)) and float(raw).is_integer():
            return self._key(int(raw))
        return None if raw is None else self._key(str(raw))

    def _native(self, arr: np.ndarray) -> bool:
        """Whether ``arr``'s values are already keys of this index's kind."""
        if self.kind == "int":
            return np.issubdtype(arr.dtype, np.integer)
        if arr.dtype.kind == "U":
            return True
        return arr.dtype == object and all(isinstance(r, str) for r in arr.tolist())

    def _index(self) -> Any:
        if self._pd is None:
            import pandas as pd

            self._pd = pd.Index(self._ids)
        return self._pd


def _all_int(ids: list[Any]) -> bool:
    return all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids)


def interaction_matrix(users: np.ndarray, items: np.ndarray, values: np.ndarray,
                       shape: tuple[int, int], *, last_wins: bool = False,
                       order: np.ndarray | None = None) -> sp.csr_matrix:
    """The users × items ``float32`` CSR matrix of events.

    Duplicate ``(user, item)`` pairs are summed (implicit feedback), or with
    ``last_wins=True`` the last one in ``order`` (time order; row order by default) is kept
    (explicit ratings, where a new rating replaces the old one).
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    values = np.asarray(values, dtype=np.float32)
    if last_wins and len(users):
        seq = np.arange(len(users)) if order is None else np.argsort(order, kind="stable")
        key = users[seq] * np.int64(max(shape[1], 1)) + items[seq]
        # last occurrence of each key in time order
        rev = key[::-1]
        _, first_in_rev = np.unique(rev, return_index=True)
        keep = seq[len(seq) - 1 - first_in_rev]
        users, items, values = users[keep], items[keep], values[keep]
    R = sp.csr_matrix((values, (users, items)), shape=shape, dtype=np.float32)
    R.sum_duplicates()
    if not last_wins:
        R.eliminate_zeros()
    return R
