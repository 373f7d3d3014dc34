"""Errors and warnings raised by dawn.

Every error dawn raises on purpose is a :class:`DawnError`, so ``except DawnError``
catches them all. Each also derives from the built-in exception a caller would
otherwise expect (``KeyError`` for a missing column, ``ValueError`` for bad values),
so existing handlers keep working. Messages name the bad value and say how to fix it.

The tree::

    DawnError
    ├── DataError (ValueError)            data that cannot be used as given
    │   ├── ColumnNotFoundError (KeyError) a named column is not in the data
    │   ├── SchemaError                    a column has the wrong type or shape
    │   ├── EmptyDataError                 a table with no rows
    │   └── SourceNotFoundError (FileNotFoundError)  a file or table that does not exist
    ├── LabelError (ValueError)           a label outside ``0..k-1`` / an unknown class name
    ├── LabelingFunctionError              a labeling function that is badly defined or fails
    │   └── RegexError                     a pattern that does not compile or can backtrack forever
    ├── NotFittedError (AttributeError)    an estimator used before ``fit``
    ├── ConfigError (ValueError)           a bad ``dawn.toml`` or argument combination
    ├── StoreError                         the project store cannot do what was asked
    │   └── ArtefactNotFoundError (KeyError)  no such model, version or artefact
    └── BackendError                       a runtime backend that is missing or failed

    DawnWarning (UserWarning)             something works, but probably not as intended
"""

from __future__ import annotations

__all__ = [
    "ArtefactNotFoundError",
    "BackendError",
    "ColumnNotFoundError",
    "ConfigError",
    "DataError",
    "DawnError",
    "DawnWarning",
    "EmptyDataError",
    "LabelError",
    "LabelingFunctionError",
    "NotFittedError",
    "RegexError",
    "SchemaError",
    "SourceNotFoundError",
    "StoreError",
]


class DawnError(Exception):
    """Base class of every error dawn raises on purpose."""

    def __str__(self) -> str:  # KeyError quotes its message; keep ours readable
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class DataError(DawnError, ValueError):
    """Data that cannot be used as given."""


class ColumnNotFoundError(DataError, KeyError):
    """A named column is not in the data."""


class SchemaError(DataError):
    """A column has the wrong type, shape or values for what was asked of it."""


class EmptyDataError(DataError):
    """A table, file or query result with no rows."""


class SourceNotFoundError(DawnError, FileNotFoundError):
    """A file, folder or table that does not exist."""


class LabelError(DawnError, ValueError):
    """A label outside ``0..k-1`` or a class name that is not among the classes."""


class LabelingFunctionError(DawnError):
    """A labeling function that is badly defined or fails on the data."""


class RegexError(LabelingFunctionError, ValueError):
    """A regular expression that does not compile or could backtrack for ever."""


class NotFittedError(DawnError, AttributeError):
    """An estimator used before ``fit`` was called."""


class ConfigError(DawnError, ValueError):
    """A bad ``dawn.toml`` entry or an invalid combination of arguments."""


class StoreError(DawnError):
    """The project store cannot do what was asked."""


class ArtefactNotFoundError(StoreError, KeyError):
    """No such model, version or artefact in the project store."""


class BackendError(DawnError):
    """A runtime backend that is not installed, not reachable or failed."""


class DawnWarning(UserWarning):
    """Something works, but probably not as the user intended."""


def close_matches(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    """Return a ``" Did you mean ...?"`` hint for ``name`` among ``candidates`` (or ``""``).

    >>> close_matches("txt", ["text", "label"])
    " Did you mean 'text'?"
    """
    import difflib

    found = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=3, cutoff=0.5)
    if not found:
        lower = {str(c).lower(): str(c) for c in candidates}
        if str(name).lower() in lower:
            found = [lower[str(name).lower()]]
    if not found:
        return ""
    return " Did you mean " + " or ".join(repr(f) for f in found) + "?"
