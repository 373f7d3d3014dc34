"""Keyword labeling functions: vote a label when any of a few words or phrases occurs.

``keyword_lf`` matches exactly like Python's ``re`` would (whole words by default,
ignoring case by default), but all keyword LFs that read one column are applied in one
pass over the column's bytes (see :mod:`dawn.label._text_kernels`), so ten of them over
100,000 comments take milliseconds.

>>> import pandas as pd
>>> from dawn.data import as_frame
>>> lf = keyword_lf("promo", ["check out", "subscribe"], "spam")
>>> df = pd.DataFrame({"text": ["Check out my channel", "checkout", None, "SUBSCRIBE!"]})
>>> lf.apply_frame(as_frame(df), classes=["ham", "spam"]).tolist()
[1, -1, -1, 1]
>>> lf({"text": "please subscribe"})
'spam'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from dawn.errors import ColumnNotFoundError, LabelError, LabelingFunctionError
from dawn.label.base import ABSTAIN, LabelingFunction, resolve_label

__all__ = ["KeywordLF", "TextSearchLF", "keyword_lf"]

class TextSearchLF(LabelingFunction):
    """Base of LFs that vote ``label`` where a compiled ``self.regex`` finds a match in one
    text ``column``; subclasses say how a group of them is matched at once
    (``_group_matches(group, arr) -> bool (n, len(group))``)."""

    vectorized: ClassVar[bool] = True
    column: str
    label: Any
    regex: re.Pattern

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def __call__(self, row: Any) -> Any:
        """The vote on one row (``label`` or ``-1``); the row gives ``row[column]``."""
        text = text_value(row_value(row, self.column, self.name))
        return self.label if self.regex.search(text) is not None else ABSTAIN

    def apply_frame(self, frame, classes: Sequence[str] | None = None) -> np.ndarray:
        """Votes on every row of ``frame`` (int8/int16, -1 = abstain)."""
        return type(self).apply_many([self], frame, classes)[:, 0]

    @classmethod
    def apply_many(cls, lfs: Sequence[TextSearchLF], frame,
                   classes: Sequence[str] | None = None) -> np.ndarray:
        """Votes of many LFs of this kind, ``(n, len(lfs))``, sharing the work per column."""
        lfs = list(lfs)
        labels = [resolve_label(lf.label, classes, lf.name) for lf in lfs]
        n = len(frame)
        out = np.full((n, len(lfs)), ABSTAIN, dtype=votes_dtype(labels))
        by_column: dict[str, list[int]] = {}
        for j, lf in enumerate(lfs):
            by_column.setdefault(lf.column, []).append(j)
        for column, idx in by_column.items():
            group = [lfs[j] for j in idx]
            arr = frame.arrow(column, purpose=f"labeling function {group[0].name!r}")
            if n == 0:
                continue
            found = cls._group_matches(group, arr)
            out[:, idx] = np.where(found, np.asarray([labels[j] for j in idx]), ABSTAIN)
        return out

    @classmethod
    def _group_matches(cls, group: list, arr) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - every subclass defines it


class KeywordLF(TextSearchLF):
    """Votes ``label`` where any keyword occurs in ``column`` (see :func:`keyword_lf`)."""

    def __init__(self, name: str, keywords: Sequence[str] | str, label: Any,
                 column: str = "text", *, whole_word: bool = True,
                 case_sensitive: bool = False) -> None:
        super().__init__(name)
        self.keywords = _check_keywords(keywords, name)
        self.label = check_label(label, name)
        self.column = check_column(column, name)
        self.whole_word = _check_flag(whole_word, "whole_word", name)
        self.case_sensitive = _check_flag(case_sensitive, "case_sensitive", name)
        body = "|".join(re.escape(k) for k in self.keywords)
        if self.whole_word:
            body = rf"(?<!\w)(?:{body})(?!\w)"
        self.regex = re.compile(body, 0 if self.case_sensitive else re.IGNORECASE)
        self._plans: dict[tuple, Any] = {}

    @classmethod
    def _group_matches(cls, group: list[KeywordLF], arr) -> np.ndarray:
        return _group_hits(group, arr)


def keyword_lf(name: str, keywords: Sequence[str] | str, label: Any, column: str = "text", *,
               whole_word: bool = True, case_sensitive: bool = False) -> KeywordLF:
    """A labeling function that votes ``label`` when any keyword occurs in ``column``.

    Parameters
    ----------
    name : str
        The LF's name (shown in analyses).
    keywords : list of str
        Words or phrases (spaces and non-ASCII allowed); one string is one keyword.
    label : int or str
        The label voted: an int ``0..k-1`` or a class name resolved when applied.
    column : str, default "text"
        The text column read.
    whole_word : bool, default True
        Match only where the keyword is not part of a longer word, i.e. Python's
        ``re.search(r"(?<!\\w)" + re.escape(kw) + r"(?!\\w)", text)``; ``False`` matches
        substrings.
    case_sensitive : bool, default False
        ``False`` matches like ``re.IGNORECASE`` (Unicode case folding included).

    Returns
    -------
    KeywordLF

    Examples
    --------
    >>> lf = keyword_lf("money", ["$$$", "cash"], 1, whole_word=True)
    >>> lf({"text": "get CASH now"}), lf({"text": "cashew"})
    (1, -1)
    """
    return KeywordLF(name, keywords, label, column, whole_word=whole_word,
                     case_sensitive=case_sensitive)


# -- the shared pass ------------------------------------------------------------------
class _Plan:
    """The matchers of a group of keyword LFs, one pass each.

    Whole-word keywords that start with a word character go in a :class:`WordTable` per
    case mode (each word of a row is hashed once); the rest (substrings, keywords starting
    with punctuation) in a trie per (whole_word, case_sensitive) mode.
    """

    def __init__(self, group: Sequence[KeywordLF]) -> None:
        from dawn.label._text_kernels import Trie, WordTable

        words: dict[bool, list[tuple[str, int]]] = {}
        tries: dict[tuple[bool, bool], list[tuple[str, int]]] = {}
        for j, lf in enumerate(group):
            for kw in lf.keywords:
                if lf.whole_word and WordTable.accepts(kw):
                    words.setdefault(lf.case_sensitive, []).append((kw, j))
                else:
                    tries.setdefault((lf.whole_word, lf.case_sensitive), []).append((kw, j))
        self.matchers = [(WordTable.build(e, fold=not cs), True) for cs, e in words.items()]
        self.matchers += [(Trie.build(e, fold=not cs), ww) for (ww, cs), e in tries.items()]
        self.n_out = len(group)


def _group_hits(group: list[KeywordLF], arr) -> np.ndarray:
    from dawn.label._text_kernels import WordTable, trie_hits, utf8_column, word_hits

    key = tuple((lf.keywords, lf.whole_word, lf.case_sensitive) for lf in group)
    plan = group[0]._plans.get(key)
    if plan is None:
        plan = group[0]._plans[key] = _Plan(group)
    data, offsets, valid = utf8_column(arr)
    hits = fallback = None
    for matcher, whole_word in plan.matchers:
        if isinstance(matcher, WordTable):
            h, fb = word_hits(data, offsets, valid, matcher, plan.n_out)
        else:
            h, fb = trie_hits(data, offsets, valid, matcher, plan.n_out, whole_word)
        hits = h if hits is None else hits | h
        fallback = fb if fallback is None else fallback | fb
    rows = np.flatnonzero(fallback)
    if rows.size:  # rare code points beyond the kernel's tables: Python's re decides
        texts = [text_value(t) for t in arr.take(rows).to_pylist()]
        for j, lf in enumerate(group):
            search = lf.regex.search
            hits[rows, j] = [search(t) is not None for t in texts]
    return hits.view(bool)


# -- helpers shared by the declarative LFs ----------------------------------------------
def check_label(label: Any, name: str) -> Any:
    """Validate an LF's label at construction (class names are resolved later)."""
    if isinstance(label, str):
        if not label:
            raise LabelError(f"labeling function {name!r} has an empty class name as label.")
        return label
    if isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_)):
        return resolve_label(int(label), None, name)
    resolve_label(label, None, name)  # raises with the standard message
    raise LabelError(f"labeling function {name!r} needs a label (an int or class name), "
                     f"got {label!r}.")


def check_column(column: Any, name: str) -> str:
    if not isinstance(column, str) or not column:
        raise LabelingFunctionError(f"labeling function {name!r}: column must be a non-empty "
                                    f"column name (str), got {column!r}.")
    return column


def _check_flag(value: Any, option: str, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise LabelingFunctionError(f"labeling function {name!r}: {option} must be True or "
                                    f"False, got {value!r}.")
    return bool(value)


def _check_keywords(keywords: Any, name: str) -> tuple[str, ...]:
    if isinstance(keywords, str):
        keywords = [keywords]
    try:
        items = list(keywords)
    except TypeError:
        raise LabelingFunctionError(f"labeling function {name!r}: keywords must be a list of "
                                    f"strings, got {keywords!r}.") from None
    if not items:
        raise LabelingFunctionError(f"labeling function {name!r} has an empty keyword list; "
                                    "give at least one keyword, e.g. ['free'].")
    for kw in items:
        if not isinstance(kw, str):
            raise LabelingFunctionError(f"labeling function {name!r}: keyword {kw!r} is a "
                                        f"{type(kw).__name__}, not a string; quote it.")
        if not kw:
            raise LabelingFunctionError(f"labeling function {name!r} has an empty keyword "
                                        "''; remove it (it would match every row).")
    return tuple(dict.fromkeys(items))


def votes_dtype(labels: Sequence[int]) -> type:
    """int8 when every label fits, else int16 (int32 beyond that)."""
    top = max(labels, default=0)
    return np.int8 if top < 127 else np.int16 if top < 32767 else np.int32


def row_value(row: Any, column: str, name: str) -> Any:
    """``row[column]`` (or ``row.column``) for one row, as given to ``__call__``."""
    try:
        return row[column]
    except (KeyError, IndexError, TypeError):
        pass
    try:
        return getattr(row, column)
    except AttributeError:
        raise ColumnNotFoundError(f"column {column!r} (needed by labeling function {name!r}) "
                                  f"is not in the row {row!r}.") from None


def text_value(value: Any) -> str:
    """A cell as text: ``None``/NaN become ``""``, other non-strings ``str(value)``."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and value != value):
        return ""
    try:
        import pandas as pd

        if pd.isna(value) is True:
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)
