"""Regex labeling functions: vote a label where ``re.search(pattern, text, flags)`` matches.

Results equal Python's ``re.search`` on every text, but a group of regex LFs is applied
much faster than a per-row loop:

1. **Literal prefilter.** A set of literals one of which every match must contain is
   read off the parse tree (``\\b(free|win)\\b`` needs ``free`` or ``win``). The literals
   of all regex LFs on a column go into one trie, found by one pass of the keyword kernel
   (:mod:`dawn.label._text_kernels`, exact Unicode case folding); only rows that contain
   one are searched.
2. **RE2 where it provably agrees.** A pattern built only of characters, classes,
   alternation, repeats, groups and anchors is translated to RE2 syntax with every
   character class spelled out as the exact set of ASCII characters Python's ``re`` would
   match (flags included), and run by Arrow (``match_substring_regex``) on pure-ASCII
   rows. Backreferences, lookarounds, possessive repeats and atomic groups stay in
   Python, as do all rows with non-ASCII text and the empty string.
3. **Python's re** for everything else, compiled once, over the rows that need it.

Patterns that do not compile, or that could backtrack catastrophically (see
:mod:`dawn.label._regex_safety`), raise :class:`~dawn.errors.RegexError` when the LF is
built. Because that check rejects the patterns that backtrack exponentially or with a
high polynomial degree, regex LFs take no ``timeout``: a timeout would need a thread or
process per search (``re`` cannot be interrupted), cost far more than the searches, and
turn a bad pattern into silently missing votes instead of an error at definition time.

>>> import pandas as pd
>>> from dawn.data import as_frame
>>> lf = regex_lf("prize", r"\\b(free|win)\\b", "spam")
>>> df = pd.DataFrame({"text": ["FREE ringtones", "freedom", "you win!", None]})
>>> lf.apply_frame(as_frame(df), classes=["ham", "spam"]).tolist()
[1, -1, 1, -1]
>>> lf({"text": "win big"})
'spam'
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from dawn.errors import LabelingFunctionError, RegexError
from dawn.label._regex_safety import check_regex, leaf_members, parse
from dawn.label.keyword import TextSearchLF, check_column, check_label

try:
    from re import _constants as C
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore[no-redef]

__all__ = ["RegexLF", "regex_lf"]

_ASCII = "".join(chr(c) for c in range(128))
_RE2_MAX_REPEAT = 1000
_MAX_LITERALS = 32
_FEW_ROWS = 1500  # below this many candidate rows, Python's re beats a round trip to Arrow


class RegexLF(TextSearchLF):
    """Votes ``label`` where ``pattern`` is found in ``column`` (see :func:`regex_lf`)."""

    def __init__(self, name: str, pattern: str | re.Pattern, label: Any, column: str = "text",
                 *, flags: int = re.IGNORECASE) -> None:
        super().__init__(name)
        if isinstance(pattern, re.Pattern):
            pattern, flags = pattern.pattern, pattern.flags & ~re.UNICODE
        if not isinstance(pattern, str):
            raise RegexError(f"labeling function {name!r}: the pattern must be a str, got "
                             f"{type(pattern).__name__} {pattern!r}.")
        if not isinstance(flags, int) or isinstance(flags, bool):
            raise LabelingFunctionError(f"labeling function {name!r}: flags must be re flags "
                                        f"(e.g. re.IGNORECASE), got {flags!r}.")
        self.label = check_label(label, name)
        self.column = check_column(column, name)
        try:
            self.regex = re.compile(pattern, flags)
        except re.error as exc:
            raise RegexError(f"labeling function {name!r}: regex {pattern!r} does not "
                             f"compile: {exc}.") from None
        except (ValueError, TypeError) as exc:
            raise RegexError(f"labeling function {name!r}: regex {pattern!r} cannot be used "
                             f"with flags {flags!r}: {exc}.") from None
        self.pattern, self.flags = pattern, flags
        try:
            check_regex(pattern, flags)
        except RegexError as exc:
            raise RegexError(f"labeling function {name!r}: {exc}") from None
        tree, global_flags = parse(pattern, flags)
        self.literals = _required(tree.data, global_flags)
        self.re2 = _to_re2(tree, global_flags)
        self.empty_match = self.regex.search("") is not None
        self._plans: dict[tuple, Any] = {}

    @classmethod
    def _group_matches(cls, group: list[RegexLF], arr) -> np.ndarray:
        return _group_matches(group, arr)


def regex_lf(name: str, pattern: str | re.Pattern, label: Any, column: str = "text", *,
             flags: int = re.IGNORECASE) -> RegexLF:
    """A labeling function that votes ``label`` where ``re.search(pattern, text, flags)``.

    Parameters
    ----------
    name : str
        The LF's name.
    pattern : str or re.Pattern
        A Python regular expression (a compiled one brings its own flags).
    label : int or str
        The label voted: an int ``0..k-1`` or a class name resolved when applied.
    column : str, default "text"
        The text column searched; nulls are searched as ``""``.
    flags : int, default re.IGNORECASE
        ``re`` flags; pass ``0`` to match case.

    Raises
    ------
    RegexError
        If the pattern does not compile or could backtrack catastrophically.

    Examples
    --------
    >>> lf = regex_lf("link", r"https?://\\S+", 1)
    >>> lf({"text": "see http://x.io"}), lf({"text": "no link"})
    (1, -1)
    """
    return RegexLF(name, pattern, label, column, flags=flags)


# -- applying a group ------------------------------------------------------------------
def _group_matches(group: list[RegexLF], arr) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    from dawn.label._text_kernels import Trie, trie_hits, utf8_column

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string()) if not pa.types.is_null(arr.type) else \
            pa.nulls(len(arr), pa.large_string())
    n = len(arr)
    data, offsets, valid = utf8_column(arr)
    nonempty = (np.diff(offsets) > 0) & (valid != 0)
    key = tuple((lf.pattern, lf.flags) for lf in group)
    plans = group[0]._plans
    tries = plans.get(key)
    if tries is None:
        entries: dict[bool, list[tuple[str, int]]] = {True: [], False: []}
        for j, lf in enumerate(group):
            for lit, case_sensitive in lf.literals or ():
                entries[case_sensitive].append((lit, j))
        tries = plans[key] = [Trie.build(e, fold=not cs) for cs, e in entries.items() if e]
    cand = np.zeros((n, len(group)), dtype=bool)
    has_filter = np.array([lf.literals is not None for lf in group])
    cand[:, ~has_filter] = True
    if tries:
        for trie in tries:
            hits, fallback = trie_hits(data, offsets, valid, trie, len(group), False)
            cand |= hits.view(bool)
        cand[fallback] = True
    cand &= nonempty[:, None]
    found = np.zeros((n, len(group)), dtype=bool)
    ascii_mask = None
    for j, lf in enumerate(group):
        if lf.empty_match:
            found[~nonempty, j] = True
        rows = np.flatnonzero(cand[:, j])
        if rows.size == 0:
            continue
        if lf.re2 is not None and rows.size >= _FEW_ROWS:
            if ascii_mask is None:
                ascii_mask = np.asarray(pc.fill_null(pc.string_is_ascii(arr), False)
                                        .to_numpy(zero_copy_only=False), dtype=bool)
            fast = cand[:, j] & ascii_mask
            if fast.sum() * 4 >= n:  # most rows: one pass over the whole column
                res = pc.match_substring_regex(arr, lf.re2)
            else:
                res = pc.match_substring_regex(arr.filter(fast), lf.re2)
            res = np.asarray(res.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
            if len(res) == n:
                found[fast, j] = res[fast]
            else:
                found[fast, j] = res
            rows = np.flatnonzero(cand[:, j] & ~ascii_mask)
            if rows.size == 0:
                continue
        search = lf.regex.search
        texts = arr.take(rows).to_pylist()
        found[rows, j] = [search(t) is not None for t in texts]
    return found


# -- what every match must contain -------------------------------------------------------
def _required(items, flags) -> list[tuple[str, bool]] | None:
    """Literals ``(text, case_sensitive)`` one of which every match contains, or None."""
    best: list[tuple[str, bool]] | None = None
    run: list[str] = []
    run_cs = True

    def consider(option):
        nonlocal best
        if option and len(option) <= _MAX_LITERALS and (
                best is None or _score(option) > _score(best)):
            best = option

    for op, av in items:
        if op is C.LITERAL:
            cs = not flags & re.IGNORECASE
            if run and cs != run_cs:
                consider([("".join(run), run_cs)])
                run = []
            run.append(chr(av))
            run_cs = cs
            continue
        if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue  # zero-width: the literals around it are still adjacent
        if run:
            consider([("".join(run), run_cs)])
            run = []
        option = None
        if op is C.SUBPATTERN:
            option = _required(av[3].data, (flags | av[1]) & ~av[2])
        elif op is C.ATOMIC_GROUP:
            option = _required(av.data, flags)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            option = _required(av[2].data, flags)
        elif op is C.BRANCH:
            alts = [_required(alt.data, flags) for alt in av[1]]
            if all(a is not None for a in alts):
                option = sorted({x for a in alts for x in a})
        consider(option)
    if run:
        consider([("".join(run), run_cs)])
    return best


def _score(option: list[tuple[str, bool]]) -> tuple[int, int]:
    return min(len(s) for s, _ in option), -len(option)


# -- translation to RE2 ------------------------------------------------------------------
class _NotRE2(Exception):
    pass


def _to_re2(tree, flags) -> str | None:
    """RE2 syntax that matches exactly like ``re`` on pure-ASCII, non-empty text, or None."""
    try:
        source = _re2_seq(tree.data, flags, tail=True)
    except _NotRE2:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # RE2 has its own limits (program size); make sure it accepts the translation
        pc.match_substring_regex(pa.array(["a"]), source)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # pragma: no cover
        return None
    return source


def _re2_class(op, av, flags) -> str:
    bits = leaf_members(op, av, flags, _ASCII)
    if not bits:
        return r"[^\x00-\x{10FFFF}]"
    parts, c = [], 0
    while c < 128:
        if bits >> c & 1:
            start = c
            while c + 1 < 128 and bits >> (c + 1) & 1:
                c += 1
            parts.append(f"\\x{{{start:x}}}" + (f"-\\x{{{c:x}}}" if c > start else ""))
        c += 1
    return "[" + "".join(parts) + "]"


def _re2_seq(items, flags, tail: bool) -> str:
    out = []
    last = len(items) - 1
    for i, (op, av) in enumerate(items):
        at_tail = tail and i == last
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, C.CATEGORY):
            out.append(_re2_class(op, av, flags))
        elif op is C.SUBPATTERN:
            out.append("(?:" + _re2_seq(av[3].data, (flags | av[1]) & ~av[2], at_tail) + ")")
        elif op is C.BRANCH:
            out.append("(?:" + "|".join(_re2_seq(a.data, flags, at_tail) for a in av[1]) + ")")
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, sub = av
            unbounded = hi == C.MAXREPEAT
            if lo > _RE2_MAX_REPEAT or (not unbounded and hi > _RE2_MAX_REPEAT):
                raise _NotRE2
            body = _re2_seq(sub.data, flags, False)
            out.append(f"(?:{body}){{{lo},{'' if unbounded else hi}}}")
        elif op is C.AT:
            out.append(_re2_anchor(av, flags, at_tail))
        else:  # backreferences, lookarounds, possessive/atomic, conditionals
            raise _NotRE2
    return "".join(out)


def _re2_anchor(av, flags, at_tail: bool) -> str:
    multiline = bool(flags & re.MULTILINE)
    if av is C.AT_BEGINNING:
        return "(?m:^)" if multiline else r"\A"
    if av is C.AT_BEGINNING_STRING:
        return r"\A"
    if av is C.AT_END:
        if multiline:
            return "(?m:$)"
        if not at_tail:  # Python's $ also matches before a final newline; RE2 cannot look
            raise _NotRE2
        return r"(?:\n?\z)"
    if av is C.AT_END_STRING:
        return r"\z"
    if av is C.AT_BOUNDARY:
        return r"\b"
    if av is C.AT_NON_BOUNDARY:
        return r"\B"
    raise _NotRE2
