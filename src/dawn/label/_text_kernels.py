"""Text kernels shared by keyword and regex labeling functions.

One pass over a string column's UTF-8 bytes finds, for every row, which of many
keywords occur in it. The keywords of a whole group of labeling functions go into one
trie over *code-point classes* (:class:`Trie`), and :func:`trie_hits` walks each row
once, starting a trie walk only where the row's next two symbols can begin a keyword
(and, in whole-word mode, where the previous symbol is not a word character). Whole-word
keywords that start with a word character go instead in a :class:`WordTable`:
:func:`word_hits` hashes each word of a row once and compares only the keywords filed
under that hash, which is faster on ordinary text.

Matching is exactly Python's ``re`` (Unicode mode): under ``re.IGNORECASE`` two
characters match when their simple lowercase forms are equal or are one of ``re``'s
extra case equivalences (``s``/``ſ``, ``k``/Kelvin sign, ``i``/``ı``/``İ``...), and a
word character is ``str.isalnum()`` or ``_``. Both rules are lookup tables over code
points below ``0x20000`` (:func:`unicode_tables`), so case folding happens inside the
kernel and no lowered copy of the column is made. Pure-ASCII rows are matched on their
bytes; other rows are decoded to code points first. Rows with a code point beyond the
tables (rare CJK extensions) are flagged so callers settle them with ``re``.

:func:`trie_hits_reference` is the plain-Python reference of the kernel and
:func:`utf8_column` gets a column's bytes and offsets from Arrow without copying.

>>> import pyarrow as pa
>>> data, offsets, valid = utf8_column(pa.array(["Free sale", "freedom", None, "ſale café"]))
>>> trie = Trie.build([("free", 0), ("sale", 1)], fold=True)
>>> hits, fallback = trie_hits(data, offsets, valid, trie, n_out=2, whole_word=True)
>>> hits.tolist(), fallback.tolist()
([[1, 1], [0, 0], [0, 0], [0, 1]], [False, False, False, False])
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numba import njit

__all__ = ["N_CODEPOINTS", "Trie", "WordTable", "trie_hits", "trie_hits_reference",
           "unicode_tables", "utf8_column", "word_hits"]

N_CODEPOINTS = 0x20000  # tables cover the BMP and the SMP (emoji included)
_PARALLEL_BYTES = 1 << 21  # columns larger than this are split over threads


def utf8_column(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A string column as ``(data uint8, offsets int64 (n+1), valid uint8 (n))``, zero-copy.

    Non-string columns are cast to strings; nulls are rows with ``valid == 0``.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    n = len(arr)
    if pa.types.is_null(arr.type):
        return (np.zeros(0, np.uint8), np.zeros(n + 1, np.int64), np.zeros(n, np.uint8))
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    bufs = arr.buffers()
    off_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(bufs[1], dtype=off_type)[arr.offset:arr.offset + n + 1]
    offsets = offsets.astype(np.int64, copy=False)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None and n else \
        np.zeros(0, np.uint8)
    if arr.null_count:
        valid = np.asarray(arr.is_valid()).astype(np.uint8)
    else:
        valid = np.ones(n, dtype=np.uint8)
    return data, offsets, valid


@functools.lru_cache(maxsize=1)
def unicode_tables() -> tuple[np.ndarray, np.ndarray]:
    """``(fold int32, word uint8)`` over code points ``< N_CODEPOINTS``, as ``re`` sees them.

    ``fold[c]`` is one representative of the characters ``re.IGNORECASE`` treats as equal
    to ``c``; ``word[c]`` is 1 when ``c`` matches ``\\w``.
    """
    import _sre

    try:
        from re._casefix import _EXTRA_CASES as extra
    except ImportError:  # pragma: no cover - other Python versions
        from re._compiler import _EXTRA_CASES as extra  # type: ignore[attr-defined]
    n = N_CODEPOINTS
    lower = np.fromiter((_sre.unicode_tolower(c) for c in range(n)), np.int32, n)
    fold = lower.copy()
    for lo, same in extra.items():
        if lo < n:
            fold[lower == lo] = min((lo, *same))
    word = np.fromiter((chr(c).isalnum() or c == 95 for c in range(n)), np.uint8, n)
    return fold, word


@dataclass(frozen=True)
class Trie:
    """A trie over code-point classes, as arrays the kernel reads.

    ``cls[c]`` is the class of code point ``c`` (0 when it occurs in no keyword; case
    folded when ``fold``); ``trans[state * n_cls + k]`` the next state (0 = none: the
    root is never a target); ``pair[k0 * n_cls + k1]`` whether a keyword can start with
    classes ``k0, k1`` (``k1 = 0``: a one-symbol keyword); outputs in CSR form.
    """

    cls: np.ndarray       # int32 (N_CODEPOINTS,)
    trans: np.ndarray     # int32 (n_states * n_cls,)
    pair: np.ndarray      # uint8 (n_cls * n_cls,)
    n_cls: int
    out_ptr: np.ndarray   # int32 (n_states + 1,)
    out_ids: np.ndarray   # int32
    fold: bool

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int]], *, fold: bool) -> Trie:
        """Build from ``(keyword, output_id)`` pairs; ``fold`` matches like ``re.IGNORECASE``."""
        fold_table, _ = unicode_tables()
        seqs = []
        for kw, out in entries:
            cps = [ord(ch) for ch in kw]
            if not cps or max(cps) >= N_CODEPOINTS:
                continue  # can only match rows that are settled with `re` anyway
            if fold:
                cps = [int(fold_table[c]) for c in cps]
            seqs.append((cps, int(out)))
        used = sorted({c for cps, _ in seqs for c in cps})
        lut = np.zeros(N_CODEPOINTS, dtype=np.int32)
        lut[np.asarray(used, dtype=np.int64)] = np.arange(1, len(used) + 1, dtype=np.int32)
        table = lut[fold_table] if fold else lut
        n_cls = len(used) + 1
        children: list[dict[int, int]] = [{}]
        outputs: list[set[int]] = [set()]
        for cps, out in seqs:
            state = 0
            for c in cps:
                k = int(lut[c])
                nxt = children[state].get(k)
                if nxt is None:
                    nxt = children[state][k] = len(children)
                    children.append({})
                    outputs.append(set())
                state = nxt
            outputs[state].add(out)
        trans = np.zeros((len(children), n_cls), dtype=np.int32)
        pair = np.zeros((n_cls, n_cls), dtype=np.uint8)
        for s, kids in enumerate(children):
            for k, t in kids.items():
                trans[s, k] = t
        for k0, s1 in children[0].items():
            if outputs[s1]:
                pair[k0, :] = 1
            for k1 in children[s1]:
                pair[k0, k1] = 1
        counts = np.array([len(o) for o in outputs], dtype=np.int32)
        out_ptr = np.zeros(len(children) + 1, dtype=np.int32)
        np.cumsum(counts, out=out_ptr[1:])
        out_ids = np.array([i for o in outputs for i in sorted(o)], dtype=np.int32)
        return cls(table, trans.ravel(), pair.ravel(), n_cls, out_ptr, out_ids, bool(fold))


_HASH_SEED = np.uint64(14695981039346656037)
_HASH_MUL = np.uint64(1099511628211)


def _word_hash(cps: Iterable[int]) -> int:
    """The kernel's word hash in Python: rotate-xor per code point (a short dependency
    chain), one multiply-xorshift mix per word, never 0."""
    m = 0xFFFFFFFFFFFFFFFF
    h = int(_HASH_SEED)
    for c in cps:
        h = (((h << 7) | (h >> 57)) & m) ^ c
    h = (h * int(_HASH_MUL)) & m
    return (h ^ (h >> 29)) | 1


@dataclass(frozen=True)
class WordTable:
    """Whole-word keywords that start with a word character, keyed by their first word.

    A hash table maps the hash of a keyword's first word (its longest prefix of word
    characters, case folded when ``fold``) to the keywords that start with it; the
    kernel hashes each word of a row once and checks only the keywords filed under it.
    """

    fold_table: np.ndarray  # int32 (N_CODEPOINTS,): case folding, or the identity
    keys: np.ndarray        # uint64 (size,): first-word hash, 0 = empty slot
    start: np.ndarray       # int32 (size,): slot -> range in kw_ids
    stop: np.ndarray        # int32 (size,)
    kw_ids: np.ndarray      # int32: keyword ids, grouped by slot
    kw_ptr: np.ndarray      # int32 (n_kw + 1,): keyword -> range in kw_cps
    kw_cps: np.ndarray      # int32: folded code points of all keywords
    kw_out: np.ndarray      # int32 (n_kw,): output id of each keyword

    @staticmethod
    def accepts(keyword: str) -> bool:
        """Whether ``keyword`` can go in a WordTable (it starts with a word character)."""
        _, word = unicode_tables()
        c = ord(keyword[0]) if keyword else N_CODEPOINTS
        return c < N_CODEPOINTS and bool(word[c]) and max(map(ord, keyword)) < N_CODEPOINTS

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int]], *, fold: bool) -> WordTable:
        fold_table, word = unicode_tables()
        table = fold_table if fold else np.arange(N_CODEPOINTS, dtype=np.int32)
        kws = [([int(table[ord(ch)]) for ch in kw], out) for kw, out in entries]
        firsts: dict[int, list[int]] = {}
        for i, (cps, _) in enumerate(kws):
            end = next((q for q, c in enumerate(cps) if not word[c]), len(cps))
            firsts.setdefault(_word_hash(cps[:end]), []).append(i)
        size = 1 << max(10, (16 * len(firsts) - 1).bit_length())  # sparse: most probes hit 0
        keys = np.zeros(size, dtype=np.uint64)
        start = np.zeros(size, dtype=np.int32)
        stop = np.zeros(size, dtype=np.int32)
        ids: list[int] = []
        for h, members in firsts.items():
            slot = h & (size - 1)
            while keys[slot]:
                slot = (slot + 1) & (size - 1)
            keys[slot] = h
            start[slot], stop[slot] = len(ids), len(ids) + len(members)
            ids.extend(members)
        lengths = [len(cps) for cps, _ in kws]
        ptr = np.zeros(len(kws) + 1, dtype=np.int32)
        np.cumsum(lengths, out=ptr[1:])
        cps_all = np.array([c for cps, _ in kws for c in cps], dtype=np.int32)
        return cls(table, keys, start, stop, np.array(ids, dtype=np.int32), ptr, cps_all,
                   np.array([out for _, out in kws], dtype=np.int32))


def word_hits(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray, table: WordTable,
              n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Whole-word matches of a :class:`WordTable`, like :func:`trie_hits` with ``whole_word``.

    Each word of each row is hashed once; only keywords filed under that hash are compared.
    """
    _, word = unicode_tables()
    n = len(offsets) - 1
    hits = np.zeros((n, n_out), dtype=np.uint8)
    fallback = np.zeros(n, dtype=np.uint8)
    args = (data, offsets, valid, table.fold_table, word, table.keys, table.start, table.stop,
            table.kw_ids, table.kw_ptr, table.kw_cps, table.kw_out, hits, fallback)
    _run_split(_word_hits_kernel, n, offsets, args)
    return hits, fallback.view(bool)


def _run_split(kernel, n: int, offsets: np.ndarray, args: tuple) -> None:
    """``kernel(r0, r1, *args)`` over all rows, split over threads for large columns."""
    n_threads = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                    else (os.cpu_count() or 1), 8)
    if n_threads <= 1 or n < 2 or offsets[-1] - offsets[0] < _PARALLEL_BYTES:
        kernel(0, n, *args)
        return
    from concurrent.futures import ThreadPoolExecutor

    # split at equal byte counts so threads get equal work
    cuts = np.searchsorted(offsets, np.linspace(offsets[0], offsets[-1], n_threads + 1))
    cuts = np.unique(np.clip(cuts, 0, n))
    cuts[0], cuts[-1] = 0, n
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(lambda ab: kernel(ab[0], ab[1], *args),
                      zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True)))


def trie_hits(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray, trie: Trie,
              n_out: int, whole_word: bool) -> tuple[np.ndarray, np.ndarray]:
    """Which outputs occur in each row: ``(hits uint8 (n, n_out), fallback bool (n))``.

    In whole-word mode a keyword counts only where it is neither preceded nor followed
    by a word character, i.e. ``(?<!\\w)kw(?!\\w)``. Null rows (``valid == 0``) are
    ``""``. Rows with ``fallback`` set (a code point beyond the tables) have no hits:
    settle them with ``re``. Large columns are split over threads (the kernel releases
    the GIL).
    """
    _, word = unicode_tables()
    n = len(offsets) - 1
    hits = np.zeros((n, n_out), dtype=np.uint8)
    fallback = np.zeros(n, dtype=np.uint8)
    args = (data, offsets, valid, trie.trans, trie.cls, trie.pair, trie.n_cls, trie.out_ptr,
            trie.out_ids, bool(whole_word), word, hits, fallback)
    _run_split(_trie_hits_kernel, n, offsets, args)
    return hits, fallback.view(bool)


def trie_hits_reference(texts: list[str | None], keywords: list[tuple[str, int]], n_out: int,
                        whole_word: bool, fold: bool) -> tuple[np.ndarray, np.ndarray]:
    """Plain-Python reference of :func:`trie_hits`: Python's ``re``, keyword by keyword."""
    n = len(texts)
    hits = np.zeros((n, n_out), dtype=np.uint8)
    fallback = np.zeros(n, dtype=bool)
    flags = re.IGNORECASE if fold else 0
    compiled = [(re.compile((r"(?<!\w)" + re.escape(kw) + r"(?!\w)") if whole_word
                            else re.escape(kw), flags), out) for kw, out in keywords if kw]
    for r, text in enumerate(texts):
        text = text or ""
        if any(ord(ch) >= N_CODEPOINTS for ch in text):
            fallback[r] = True
            continue
        for rx, out in compiled:
            if rx.search(text):
                hits[r, out] = 1
    return hits, fallback


# -- the kernel ------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _match_row(sym, s, e, r, trans, cls, pair, n_cls, out_ptr, out_ids, whole_word, word,
               hits):  # pragma: no cover - compiled
    i = s
    while i < e:
        c = sym[i]
        k0 = cls[c]
        if k0 != 0 and pair[k0 * n_cls + (cls[sym[i + 1]] if i + 1 < e else 0)] != 0:
            state = trans[k0]
            j = i + 1
            while state != 0:
                if out_ptr[state] != out_ptr[state + 1]:
                    if (not whole_word) or j == e or word[sym[j]] == 0:
                        for t in range(out_ptr[state], out_ptr[state + 1]):
                            hits[r, out_ids[t]] = 1
                if j == e:
                    break
                state = trans[state * n_cls + cls[sym[j]]]
                j += 1
        i += 1
        if whole_word and word[c] != 0:
            # inside a word no position is preceded by a non-word character: skip to the
            # first non-word character (itself preceded by a word character, so skip it too)
            while i < e and word[sym[i]] != 0:
                i += 1
            i += 1


@njit(cache=True, nogil=True)
def _decode_utf8(data, s, e, buf, limit):  # pragma: no cover - compiled
    """Decode ``data[s:e]`` into ``buf``; the number of code points, or -1 when a code point
    is at or beyond ``limit`` or the bytes are truncated."""
    m = 0
    i = s
    while i < e:
        b = np.int64(data[i])
        if b < 0x80:
            cp = b
            i += 1
        elif b < 0xE0 and i + 1 < e:
            cp = ((b & 0x1F) << 6) | (np.int64(data[i + 1]) & 0x3F)
            i += 2
        elif b < 0xF0 and i + 2 < e:
            cp = (((b & 0x0F) << 12) | ((np.int64(data[i + 1]) & 0x3F) << 6)
                  | (np.int64(data[i + 2]) & 0x3F))
            i += 3
        elif i + 3 < e:
            cp = (((b & 0x07) << 18) | ((np.int64(data[i + 1]) & 0x3F) << 12)
                  | ((np.int64(data[i + 2]) & 0x3F) << 6) | (np.int64(data[i + 3]) & 0x3F))
            i += 4
        else:
            return -1
        if cp >= limit:
            return -1
        buf[m] = cp
        m += 1
    return m


@njit(cache=True, nogil=True)
def _trie_hits_kernel(r0, r1, data, offsets, valid, trans, cls, pair, n_cls, out_ptr, out_ids,
                      whole_word, word, hits, fallback):  # pragma: no cover - compiled
    limit = cls.shape[0]
    longest = 0
    for r in range(r0, r1):
        longest = max(longest, offsets[r + 1] - offsets[r])
    buf = np.empty(longest + 1, dtype=np.int32)
    for r in range(r0, r1):
        if valid[r] == 0:
            continue
        s = offsets[r]
        e = offsets[r + 1]
        acc = 0
        for i in range(s, e):
            acc |= data[i]
        if acc < 128:
            _match_row(data, s, e, r, trans, cls, pair, n_cls, out_ptr, out_ids, whole_word,
                       word, hits)
            continue
        m = _decode_utf8(data, s, e, buf, limit)
        if m < 0:
            fallback[r] = 1
            continue
        _match_row(buf, 0, m, r, trans, cls, pair, n_cls, out_ptr, out_ids, whole_word, word,
                   hits)


@njit(cache=True, nogil=True)
def _match_words(sym, s, e, r, fold, word, keys, start, stop, kw_ids, kw_ptr, kw_cps, kw_out,
                 hits):  # pragma: no cover - compiled
    mask = np.uint64(keys.shape[0] - 1)
    i = s
    while i < e:
        while i < e and word[sym[i]] == 0:
            i += 1
        if i >= e:
            break
        ws = i
        h = _HASH_SEED
        while i < e and word[sym[i]] != 0:
            h = ((h << np.uint64(7)) | (h >> np.uint64(57))) ^ np.uint64(fold[sym[i]])
            i += 1
        h = h * _HASH_MUL
        h = (h ^ (h >> np.uint64(29))) | np.uint64(1)
        slot = h & mask
        while keys[slot] != 0:
            if keys[slot] == h:
                for t in range(start[slot], stop[slot]):
                    kw = kw_ids[t]
                    a = kw_ptr[kw]
                    length = kw_ptr[kw + 1] - a
                    if ws + length > e:
                        continue
                    q = 0
                    while q < length and fold[sym[ws + q]] == kw_cps[a + q]:
                        q += 1
                    if q == length and (ws + length == e or word[sym[ws + length]] == 0):
                        hits[r, kw_out[kw]] = 1
                break
            slot = (slot + np.uint64(1)) & mask


@njit(cache=True, nogil=True)
def _word_hits_kernel(r0, r1, data, offsets, valid, fold, word, keys, start, stop, kw_ids,
                      kw_ptr, kw_cps, kw_out, hits, fallback):  # pragma: no cover - compiled
    limit = fold.shape[0]
    longest = 0
    for r in range(r0, r1):
        longest = max(longest, offsets[r + 1] - offsets[r])
    buf = np.empty(longest + 1, dtype=np.int32)
    for r in range(r0, r1):
        if valid[r] == 0:
            continue
        s = offsets[r]
        e = offsets[r + 1]
        acc = 0
        for i in range(s, e):
            acc |= data[i]
        if acc < 128:
            _match_words(data, s, e, r, fold, word, keys, start, stop, kw_ids, kw_ptr, kw_cps,
                         kw_out, hits)
            continue
        m = _decode_utf8(data, s, e, buf, limit)
        if m < 0:
            fallback[r] = 1
            continue
        _match_words(buf, 0, m, r, fold, word, keys, start, stop, kw_ids, kw_ptr, kw_cps,
                     kw_out, hits)
