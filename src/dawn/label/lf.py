"""Python labeling functions: ``@labeling_function``, ``@preprocessor`` and ``Row``.

A Python labeling function is a plain function of one row that returns a label (an int
``0..k-1`` or a class name), or ``-1`` / ``None`` to abstain. :func:`~dawn.label.apply_lfs`
calls it on a :class:`Row`: a light read-only view of one row whose fields read as
attributes (``x.text``) or keys (``x["text"]``).

>>> @labeling_function()
... def short(x):
...     return 0 if len(x.text) < 10 else -1
>>> short
PythonLF('short')
>>> short(make_row({"text": "hi there"}))
0

With ``label=`` the function is a predicate: true votes that label, false abstains.

>>> @labeling_function(label="spam", resources={"words": {"prize", "free"}})
... def prize(x, words):
...     return any(w in words for w in x.text.lower().split())
>>> prize(make_row({"text": "Free prize inside"})), prize(make_row({"text": "hello"}))
('spam', -1)

Preprocessors add or replace fields before the LF sees the row; return a dict of new
fields (or a row). Snorkel's preprocessors, which copy the row and set attributes on the
copy, work on a :class:`Row` as well.

>>> @preprocessor(memoize=True)
... def words(x):
...     return {"n_words": len(x.text.split())}
>>> @labeling_function(pre=[words])
... def wordy(x):
...     return 1 if x.n_words > 3 else -1
>>> wordy(make_row({"text": "one two three four five"}))
1
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from dawn.errors import ColumnNotFoundError, LabelingFunctionError, close_matches
from dawn.label.base import ABSTAIN, LabelingFunction

__all__ = [
    "MutableRow",
    "Preprocessor",
    "PythonLF",
    "Row",
    "as_lf",
    "labeling_function",
    "make_row",
    "preprocessor",
    "row_class",
]

try:  # the C accessor namedtuple uses; plain ``itemgetter`` would go through Row.__getitem__
    from _collections import _tuplegetter
except ImportError:  # pragma: no cover - other Python implementations
    def _tuplegetter(index: int, doc: str) -> property:
        return property(lambda self: tuple.__getitem__(self, index), doc=doc)

# Row's own API; a column with one of these names is read as ``x["get"]``, not ``x.get``.
_ROW_API = frozenset({"get", "keys", "items", "with_fields", "to_dict"})


# ---------------------------------------------------------------------------------- rows
class Row(tuple):
    """One row of data, read-only: ``x.text``, ``x["text"]``, ``x.get(name, default)``.

    A Row is a tuple of the row's values with the field names kept once per schema (a
    subclass per set of columns, built by :func:`row_class`), so building one costs about
    as much as building a tuple and reading ``x.text`` is a C-level lookup. Iterating a
    Row yields its values (as iterating a pandas Series does); ``in`` and ``keys`` work on
    field names. Fields named like a Row method (``get``, ``keys``, ``items``,
    ``with_fields``, ``to_dict``) or starting with ``_`` are read as ``x["name"]``.

    Rows cannot be changed; :meth:`with_fields` returns a new Row with fields added or
    replaced. ``copy.copy(row)`` and a pickle round trip give a :class:`MutableRow` (same
    reading API, plus setting attributes), which is how Snorkel's preprocessors — they copy
    the row, then ``setattr`` new fields on the copy — work unchanged.

    >>> x = make_row({"text": "hi", "n": 3})
    >>> x.text, x["n"], x.get("missing", 0), "text" in x, x.keys()
    ('hi', 3, 0, True, ['text', 'n'])
    >>> x
    Row(text='hi', n=3)
    >>> x.with_fields(n=4, upper="HI")
    Row(text='hi', n=4, upper='HI')
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _index: dict[str, int] = {}  # noqa: RUF012 - replaced per schema subclass, never mutated

    # -- reading --------------------------------------------------------------------
    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key])
            except KeyError:
                raise ColumnNotFoundError(self._missing(key)) from None
        return tuple.__getitem__(self, key)

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self._index:  # a field shadowed by Row's API or starting with "_"
            return tuple.__getitem__(self, self._index[name])
        raise AttributeError(self._missing(name))

    def _missing(self, name: str) -> str:
        return (f"this row has no field {name!r}; its fields are {list(self._fields)}."
                f"{close_matches(name, self._fields)}")

    def get(self, key: str, default: Any = None) -> Any:
        """The value of field ``key``, or ``default`` when there is no such field."""
        i = self._index.get(key)
        return default if i is None else tuple.__getitem__(self, i)

    def keys(self) -> list[str]:
        """Field names, in order."""
        return list(self._fields)

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs, in order."""
        return list(zip(self._fields, self, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """The row as a ``dict``."""
        return dict(zip(self._fields, self, strict=True))

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" if k.isidentifier() else f"{k!r}: {v!r}"
                         for k, v in zip(self._fields, self, strict=True))
        return f"Row({body})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._fields == other._fields and tuple.__eq__(self, other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = tuple.__hash__

    # -- changing (by copying) ------------------------------------------------------
    def with_fields(self, fields: Mapping[str, Any] | None = None, /, **more: Any) -> Row:
        """A new Row with ``fields`` (and keyword fields) added or replaced."""
        new = dict(fields) if fields else {}
        new.update(more)
        if not new:
            return self
        cls = row_class(self._fields + tuple(k for k in new if k not in self._index))
        values = list(self)
        for key, value in new.items():
            i = self._index.get(key)
            if i is None:
                values.append(value)
            else:
                values[i] = value
        return tuple.__new__(cls, values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"a Row is read-only (setting {name!r}); return a dict of new fields from a "
            "@preprocessor, or use x.with_fields(...) / copy.copy(x) for a changed copy."
        )

    __delattr__ = __setattr__  # type: ignore[assignment]

    def __reduce__(self):
        return (MutableRow, (self.to_dict(),))

    def __copy__(self) -> MutableRow:
        return MutableRow(self.to_dict())

    def __deepcopy__(self, memo: dict) -> MutableRow:
        import copy

        return MutableRow(copy.deepcopy(self.to_dict(), memo))


_ROW_CLASSES: dict[tuple[str, ...], type[Row]] = {}


def row_class(fields: Sequence[str]) -> type[Row]:
    """The :class:`Row` subclass for these field names (built once per schema, then cached).

    >>> R = row_class(["text", "n"])
    >>> R(("hi", 3)).n
    3
    """
    fields = tuple(str(f) for f in fields)
    cls = _ROW_CLASSES.get(fields)
    if cls is None:
        if len(set(fields)) != len(fields):
            dup = sorted({f for f in fields if fields.count(f) > 1})
            raise LabelingFunctionError(f"a row cannot have duplicate field names {dup}.")
        namespace: dict[str, Any] = {
            "__slots__": (),
            "_fields": fields,
            "_index": {f: i for i, f in enumerate(fields)},
        }
        for i, f in enumerate(fields):
            if f not in _ROW_API and not f.startswith("_"):
                namespace[f] = _tuplegetter(i, f"field {f!r}")
        cls = type("Row", (Row,), namespace)
        cls.__module__ = __name__
        _ROW_CLASSES[fields] = cls
    return cls


def make_row(values: Mapping[str, Any]) -> Row:
    """A :class:`Row` from a mapping of field name to value.

    >>> make_row({"a": 1}).a
    1
    """
    return row_class(list(values))(tuple(values.values()))


def rows_from_columns(fields: Sequence[str], columns: Sequence[Sequence[Any]], n: int) -> list[Row]:
    """``n`` rows from column-wise Python lists (one per field), built without a Python loop."""
    cls = row_class(fields)
    if not columns:
        return [cls(())] * n
    return list(map(functools.partial(tuple.__new__, cls), zip(*columns, strict=True)))


class MutableRow:
    """A changeable copy of a :class:`Row` (what ``copy.copy`` and pickling give back).

    It reads like a Row and also accepts ``x.field = value`` — what Snorkel's preprocessors
    do to the copy they make. The Row it came from is unchanged.

    >>> import copy
    >>> x = make_row({"text": "hi"})
    >>> y = copy.copy(x)
    >>> y.upper = y.text.upper()
    >>> y, x
    (MutableRow(text='hi', upper='HI'), Row(text='hi'))
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        object.__setattr__(self, "_data", dict(data))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_data":
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(self._missing(name)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._data[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._data[name]
        except KeyError:
            raise AttributeError(self._missing(name)) from None

    def _missing(self, name: str) -> str:
        fields = list(self._data)
        return (f"this row has no field {name!r}; its fields are {fields}."
                f"{close_matches(name, fields)}")

    def __getitem__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise ColumnNotFoundError(self._missing(key)) from None

    def get(self, key: str, default: Any = None) -> Any:
        """The value of field ``key``, or ``default``."""
        return self._data.get(key, default)

    def keys(self) -> list[str]:
        """Field names, in order."""
        return list(self._data)

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs, in order."""
        return list(self._data.items())

    def to_dict(self) -> dict[str, Any]:
        """The row as a ``dict``."""
        return dict(self._data)

    def with_fields(self, fields: Mapping[str, Any] | None = None, /, **more: Any) -> MutableRow:
        """A new MutableRow with fields added or replaced."""
        data = dict(self._data)
        data.update(fields or {})
        data.update(more)
        return MutableRow(data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MutableRow):
            return self._data == other._data
        return NotImplemented

    def __hash__(self) -> int:  # Snorkel's memoizing preprocessors key their cache on rows
        return hash(tuple(self._data.items()))

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" if k.isidentifier() else f"{k!r}: {v!r}"
                         for k, v in self._data.items())
        return f"MutableRow({body})"

    def __reduce__(self):
        return (MutableRow, (dict(self._data),))

    def __copy__(self) -> MutableRow:
        return MutableRow(self._data)


def _add_fields(x: Any, fields: Mapping[str, Any]) -> Any:
    """``x`` with ``fields`` added, for Rows and for the row types Snorkel users pass."""
    if isinstance(x, (Row, MutableRow)):
        return x.with_fields(fields)
    if isinstance(x, Mapping):
        return {**x, **fields}
    import copy

    y = copy.copy(x)
    for k, v in fields.items():
        setattr(y, k, v)
    return y


# --------------------------------------------------------------------------- preprocessors
class Preprocessor:
    """A function run on a row before a labeling function sees it (see :func:`preprocessor`)."""

    def __init__(self, f: Callable[[Any], Any], name: str | None = None, *,
                 memoize: bool = False) -> None:
        if not callable(f):
            raise LabelingFunctionError(f"a preprocessor wraps a function, got {f!r}.")
        self.f = f
        self.name = name or getattr(f, "__name__", type(f).__name__)
        self.memoize = memoize
        self.reset_cache()

    def reset_cache(self) -> None:
        """Forget memoized results."""
        self._cache: dict[Any, Any] = {}

    def __call__(self, x: Any) -> Any:
        if self.memoize:
            try:
                return self._cache[x]
            except KeyError:
                pass
            except TypeError:  # a row holding unhashable values: just compute
                return self._run(x)
            out = self._cache[x] = self._run(x)
            return out
        return self._run(x)

    def _run(self, x: Any) -> Any:
        out = self.f(x)
        if out is None:
            raise LabelingFunctionError(
                f"preprocessor {self.name!r} returned None; return a dict of new fields "
                "(e.g. {'n_words': ...}) or the row (x.with_fields(...))."
            )
        if isinstance(out, Mapping) and not isinstance(out, (Row, MutableRow)):
            return _add_fields(x, out)
        return out

    def __repr__(self) -> str:
        return f"Preprocessor({self.name!r}{', memoize=True' if self.memoize else ''})"


@overload
def preprocessor(f: Callable[[Any], Any], /) -> Preprocessor: ...
@overload
def preprocessor(f: None = None, /, *, name: str | None = None,
                 memoize: bool = False) -> Callable[[Callable[[Any], Any]], Preprocessor]: ...


def preprocessor(f=None, /, *, name=None, memoize=False):
    """Decorate a function of a row into a :class:`Preprocessor`.

    The function returns a dict of new (or replaced) fields, or a row (e.g.
    ``x.with_fields(...)``). With ``memoize=True`` results are cached per distinct row (in
    each worker process), which pays off for expensive steps such as NLP parsing.
    Works bare (``@preprocessor``) or called (``@preprocessor(memoize=True)``).

    >>> @preprocessor
    ... def lower(x):
    ...     return {"text": x.text.lower()}
    >>> lower(make_row({"text": "HeLLo"}))
    Row(text='hello')
    """
    if f is not None:
        return Preprocessor(f, name, memoize=memoize)
    return lambda func: Preprocessor(func, name, memoize=memoize)


# -------------------------------------------------------------------------- labeling functions
class PythonLF(LabelingFunction):
    """A labeling function written in Python, called on one row at a time.

    Parameters
    ----------
    name : str
        Unique name (the column of the label matrix).
    f : callable
        ``f(x, **resources)``: a label (int ``0..k-1`` or class name), ``-1``/``None`` to
        abstain; with ``label`` given, a condition instead.
    label : int or str, optional
        Makes ``f`` a predicate: a true result votes ``label``; ``False``, ``None``, ``0`` and
        ``-1`` abstain.
    resources : mapping, optional
        Keyword arguments passed to ``f`` on every call (word lists, compiled patterns, ...).
    pre : list of callables, optional
        Preprocessors run in order on the row first (dawn's or Snorkel's).
    """

    vectorized = False

    def __init__(self, name: str, f: Callable[..., Any], *, label: Any = None,
                 resources: Mapping[str, Any] | None = None,
                 pre: Sequence[Callable[[Any], Any]] | None = None) -> None:
        super().__init__(name)
        if not callable(f):
            raise LabelingFunctionError(f"labeling function {name!r} wraps {f!r}, which is "
                                        "not callable; pass a function of one row.")
        if isinstance(label, bool):
            raise LabelingFunctionError(f"labeling function {name!r}: label={label!r}; give an "
                                        "int 0..k-1 or a class name.")
        if label is not None and not isinstance(label, (int, str)):
            raise LabelingFunctionError(f"labeling function {name!r}: label={label!r} must be "
                                        "an int 0..k-1 or a class name.")
        pre = list(pre or [])
        for p in pre:
            if not callable(p):
                raise LabelingFunctionError(f"labeling function {name!r}: preprocessor {p!r} "
                                            "is not callable; decorate it with @preprocessor.")
        self.f = f
        self.label = label
        self.resources = dict(resources or {})
        self.pre = pre

    def __call__(self, x: Any) -> Any:
        for p in self.pre:
            x = p(x)
            if x is None:
                raise LabelingFunctionError(
                    f"preprocessor {getattr(p, 'name', p)!r} of labeling function "
                    f"{self.name!r} returned None; it must return the row."
                )
        out = self.f(x, **self.resources)
        if self.label is None:
            return out
        if out is None or (type(out) is int and out == -1) or not out:
            return ABSTAIN
        return self.label

    def row_function(self) -> Callable[[Any], Any]:
        """The cheapest callable giving this LF's raw vote on one row (used by ``apply_lfs``)."""
        if self.pre or self.label is not None:
            return self.__call__
        if self.resources:
            return functools.partial(self.f, **self.resources)
        return self.f


def as_lf(obj: Any) -> LabelingFunction:
    """``obj`` as a dawn labeling function.

    dawn LFs are returned as they are; any other callable with a string ``name`` (such as
    Snorkel's ``LabelingFunction``) is wrapped in a :class:`PythonLF`.

    >>> class SnorkelLike:
    ...     name = "lf"
    ...     def __call__(self, x):
    ...         return 1
    >>> as_lf(SnorkelLike())
    PythonLF('lf')
    """
    if isinstance(obj, LabelingFunction):
        return obj
    name = getattr(obj, "name", None)
    if callable(obj) and isinstance(name, str) and name:
        return PythonLF(name, obj)
    hint = ""
    if callable(obj):
        hint = " Decorate the function with @labeling_function() to make it one."
    if callable(obj) and isinstance(getattr(obj, "__name__", None), str):
        shown = f"{obj.__name__!r}"
    else:
        shown = repr(obj) if len(repr(obj)) <= 80 else repr(obj)[:77] + "..."
    raise LabelingFunctionError(
        f"{shown} (a {type(obj).__name__}) is not a labeling function; pass dawn LFs "
        f"(labeling_function, keyword_lf, regex_lf, ...) or objects with a name that can be "
        f"called on a row.{hint}"
    )


@overload
def labeling_function(name: Callable[..., Any], /) -> PythonLF: ...
@overload
def labeling_function(name: str | None = None, *, label: Any = None,
                      resources: Mapping[str, Any] | None = None,
                      pre: Sequence[Callable[[Any], Any]] | None = None,
                      ) -> Callable[[Callable[..., Any]], PythonLF]: ...


def labeling_function(name=None, *, label=None, resources=None, pre=None):
    """Decorate a function of one row into a labeling function (a :class:`PythonLF`).

    Use it as ``@labeling_function()``, ``@labeling_function("name", ...)`` or bare
    ``@labeling_function``. The LF's name defaults to the function's name. See
    :class:`PythonLF` for ``label``, ``resources`` and ``pre``.

    >>> @labeling_function
    ... def has_link(x):
    ...     return 1 if "http" in x.text else -1
    >>> has_link.name
    'has_link'
    """
    if callable(name) and not isinstance(name, str):
        return PythonLF(getattr(name, "__name__", type(name).__name__), name)
    if name is not None and not isinstance(name, str):
        raise LabelingFunctionError(f"labeling_function(name={name!r}): the name must be a "
                                    "string.")

    def wrap(f: Callable[..., Any]) -> PythonLF:
        lf_name = name or getattr(f, "__name__", None)
        if not lf_name or lf_name == "<lambda>":
            raise LabelingFunctionError(
                "a labeling function made from a lambda needs a name: "
                "labeling_function('my_name')(lambda x: ...)."
            )
        return PythonLF(lf_name, f, label=label, resources=resources, pre=pre)

    return wrap
