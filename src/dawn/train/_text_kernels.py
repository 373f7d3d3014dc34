"""TF-IDF transform kernels: tokenise, look up, weight and normalise in one pass.

:func:`tfidf_transform` turns a string column into the same sparse TF-IDF matrix as
scikit-learn's ``TfidfVectorizer`` (token pattern ``(?u)\\b\\w\\w+\\b``, word n-grams
joined by one space, optional ``str.lower()``, ``tf`` or ``1 + log(tf)``, times ``idf``,
rows scaled to unit l2 norm) for a given vocabulary and ``idf``.

How it is fast: pure-ASCII rows are tokenised straight from the Arrow UTF-8 buffer by a
numba kernel (a token is a maximal run of ``[A-Za-z0-9_]`` of length two or more, which is
what the pattern finds on ASCII text), each n-gram is hashed (FNV-1a over the lowered
bytes, one space between tokens) and looked up in an open-addressing table over the
vocabulary's UTF-8 bytes (:class:`VocabTable`), and the row's CSR entries are written with
their weights and norm, rows split over threads. Rows with non-ASCII bytes are tokenised
exactly by Python's ``re`` with the same pattern (:func:`analyze`), and only their term
ids enter the kernel. :func:`tfidf_reference` is the plain-Python reference.

>>> import pyarrow as pa
>>> table = VocabTable.build(["cat", "dog", "the"])
>>> idf = np.array([1.5, 2.0, 1.0])
>>> X = tfidf_transform(pa.array(["The cat, the DOG!", None, "Émile's cat"]), table, idf,
...                     dtype=np.float64)
>>> np.round(X.toarray(), 3).tolist()
[[0.469, 0.625, 0.625], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from numba import njit, prange

__all__ = ["TOKEN_PATTERN", "VocabTable", "analyze", "tfidf_reference", "tfidf_transform"]

TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


def pack_strings(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as ``(utf8 bytes uint8, offsets int64 (n+1))``."""
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
    return data, offsets


def unpack_strings(data: np.ndarray, offsets: np.ndarray) -> list[str]:
    """Inverse of :func:`pack_strings`."""
    raw = np.asarray(data, dtype=np.uint8).tobytes()
    off = np.asarray(offsets, dtype=np.int64).tolist()
    return [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(off)]


@dataclass(frozen=True)
class VocabTable:
    """A vocabulary (term ``j`` = column ``j``) as arrays, with a hash table over it.

    ``data``/``offsets`` hold the terms' UTF-8 bytes; ``slots[h & (size-1)]`` is a term id
    (``-1`` = empty, linear probing) and ``slot_hash`` its 64-bit FNV-1a hash.
    """

    data: np.ndarray       # uint8
    offsets: np.ndarray    # int64 (V + 1,)
    slots: np.ndarray      # int32 (size,)
    slot_hash: np.ndarray  # uint64 (size,)

    @classmethod
    def build(cls, terms: list[str]) -> VocabTable:
        data, offsets = pack_strings(list(terms))
        return cls.from_arrays(data, offsets)

    @classmethod
    def from_arrays(cls, data: np.ndarray, offsets: np.ndarray) -> VocabTable:
        data = np.ascontiguousarray(data, dtype=np.uint8)
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        n = len(offsets) - 1
        size = 16
        while size < 2 * n:
            size *= 2
        slots = np.full(size, -1, dtype=np.int32)
        slot_hash = np.zeros(size, dtype=np.uint64)
        _build_table(data, offsets, slots, slot_hash)
        return cls(data, offsets, slots, slot_hash)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def terms(self) -> list[str]:
        return unpack_strings(self.data, self.offsets)


def analyze(text: str, ngram_range: tuple[int, int] = (1, 1), lowercase: bool = True
            ) -> list[str]:
    """The n-grams scikit-learn's word analyzer makes of ``text`` (Python reference)."""
    if lowercase:
        text = text.lower()
    tokens = _TOKEN_RE.findall(text)
    lo, hi = ngram_range
    grams: list[str] = []
    for n in range(lo, hi + 1):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def tfidf_reference(texts: list[str | None], terms: list[str], idf: np.ndarray,
                    ngram_range: tuple[int, int] = (1, 1), lowercase: bool = True,
                    sublinear_tf: bool = False) -> np.ndarray:
    """Dense TF-IDF rows by plain Python (the reference of :func:`tfidf_transform`)."""
    index = {t: j for j, t in enumerate(terms)}
    out = np.zeros((len(texts), len(terms)))
    for i, text in enumerate(texts):
        for gram in analyze(text or "", ngram_range, lowercase):
            j = index.get(gram)
            if j is not None:
                out[i, j] += 1.0
        row = out[i]
        nz = row > 0
        if sublinear_tf:
            row[nz] = 1.0 + np.log(row[nz])
        row *= idf
        norm = np.sqrt(np.sum(row * row))
        if norm > 0:
            row /= norm
    return out


def tfidf_transform(column: pa.Array | pa.ChunkedArray, table: VocabTable, idf: np.ndarray,
                    *, ngram_range: tuple[int, int] = (1, 1), lowercase: bool = True,
                    sublinear_tf: bool = False, dtype: type = np.float32,
                    index: dict[str, int] | Callable[[], dict[str, int]] | None = None
                    ) -> sp.csr_matrix:
    """TF-IDF of a string column as ``csr_matrix (n, V)`` (see the module docstring).

    ``index`` (term -> id, or a function returning it) is only needed for rows with
    non-ASCII text; it is built from ``table`` when missing.
    """
    from dawn.label._text_kernels import utf8_column

    data, offsets, valid = utf8_column(column)
    n = len(offsets) - 1
    lo, hi = int(ngram_range[0]), int(ngram_range[1])
    modes = _row_modes(data, offsets, valid)
    fb_rows = np.flatnonzero(modes == 1)
    fb_ptr = np.zeros(n + 1, dtype=np.int64)
    fb_ids = np.zeros(0, dtype=np.int32)
    if len(fb_rows):
        if index is None:
            index = {t: j for j, t in enumerate(table.terms())}
        elif callable(index):
            index = index()
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.large_string())
        texts = column.take(pa.array(fb_rows)).to_pylist()
        ids: list[int] = []
        counts = np.zeros(n, dtype=np.int64)
        for r, text in zip(fb_rows.tolist(), texts, strict=True):
            got = [j for g in analyze(text, (lo, hi), lowercase)
                   if (j := index.get(g)) is not None]
            counts[r] = len(got)
            ids.extend(got)
        np.cumsum(counts, out=fb_ptr[1:])
        fb_ids = np.asarray(ids, dtype=np.int32)
    lengths = np.diff(offsets)
    n_tok = (lengths + 1) // 3
    bound = np.zeros(n, dtype=np.int64)
    for g in range(lo, hi + 1):
        bound += np.maximum(n_tok - g + 1, 0)
    bound = np.where(modes == 0, bound, np.diff(fb_ptr))
    pad_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(bound, out=pad_ptr[1:])
    out_dtype = np.dtype(dtype)
    idx_pad = np.empty(pad_ptr[-1], dtype=np.int32)
    val_pad = np.empty(pad_ptr[-1], dtype=out_dtype)
    row_nnz = np.zeros(n, dtype=np.int64)
    n_chunks = max(1, min(n, 64))
    chunks = np.linspace(0, n, n_chunks + 1).astype(np.int64)
    _tfidf_kernel(data, offsets, modes, fb_ptr, fb_ids, table.data, table.offsets, table.slots,
                  table.slot_hash, np.ascontiguousarray(idf, dtype=np.float64), lo, hi,
                  bool(lowercase), bool(sublinear_tf), pad_ptr, idx_pad, val_pad, row_nnz,
                  chunks)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(row_nnz, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int32)
    values = np.empty(indptr[-1], dtype=out_dtype)
    _compact(pad_ptr, idx_pad, val_pad, indptr, indices, values, chunks)
    if indptr[-1] <= np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    X = sp.csr_matrix((values, indices, indptr), shape=(n, len(table)))
    X.has_sorted_indices = True
    return X


# --------------------------------------------------------------------------- kernels

@njit(cache=True)
def _build_table(data, offsets, slots, slot_hash):  # pragma: no cover - numba
    mask = np.uint64(len(slots) - 1)
    for j in range(len(offsets) - 1):
        h = _FNV_OFFSET
        for p in range(offsets[j], offsets[j + 1]):
            h = (h ^ np.uint64(data[p])) * _FNV_PRIME
        pos = h & mask
        while slots[pos] != -1:
            pos = (pos + np.uint64(1)) & mask
        slots[pos] = j
        slot_hash[pos] = h


@njit(cache=True, parallel=True)
def _row_modes(data, offsets, valid):  # pragma: no cover - numba
    """0 = ASCII row (tokenised by the kernel), 1 = non-ASCII row (Python), 2 = null."""
    n = len(offsets) - 1
    modes = np.zeros(n, dtype=np.uint8)
    for i in prange(n):
        if valid[i] == 0:
            modes[i] = 2
            continue
        for p in range(offsets[i], offsets[i + 1]):
            if data[p] >= 128:
                modes[i] = 1
                break
    return modes


@njit(cache=True, inline="always")
def _is_word(b):  # pragma: no cover - numba
    return (b >= 97 and b <= 122) or (b >= 65 and b <= 90) or (b >= 48 and b <= 57) or b == 95


@njit(cache=True, inline="always")
def _low(b, lowercase):  # pragma: no cover - numba
    if lowercase and b >= 65 and b <= 90:
        return b + 32
    return b


@njit(cache=True)
def _lookup(data, tok_s, tok_e, q, g, lowercase, vdata, voff, slots, slot_hash):
    # pragma: no cover - numba
    h = _FNV_OFFSET
    length = g - 1
    for t in range(q, q + g):
        if t > q:
            h = (h ^ np.uint64(32)) * _FNV_PRIME
        for p in range(tok_s[t], tok_e[t]):
            h = (h ^ np.uint64(_low(data[p], lowercase))) * _FNV_PRIME
        length += tok_e[t] - tok_s[t]
    mask = np.uint64(len(slots) - 1)
    pos = h & mask
    while slots[pos] != -1:
        if slot_hash[pos] == h:
            j = slots[pos]
            a = voff[j]
            if voff[j + 1] - a == length:
                ok = True
                k = a
                for t in range(q, q + g):
                    if t > q:
                        if vdata[k] != 32:
                            ok = False
                            break
                        k += 1
                    for p in range(tok_s[t], tok_e[t]):
                        if vdata[k] != _low(data[p], lowercase):
                            ok = False
                            break
                        k += 1
                    if not ok:
                        break
                if ok:
                    return j
        pos = (pos + np.uint64(1)) & mask
    return -1


@njit(cache=True)
def _sort_small(a, m):  # pragma: no cover - numba
    if m > 32:
        a[:m] = np.sort(a[:m])
        return
    for i in range(1, m):
        v = a[i]
        k = i - 1
        while k >= 0 and a[k] > v:
            a[k + 1] = a[k]
            k -= 1
        a[k + 1] = v


@njit(cache=True, parallel=True)
def _tfidf_kernel(data, offsets, modes, fb_ptr, fb_ids, vdata, voff, slots, slot_hash, idf,
                  lo, hi, lowercase, sublinear, pad_ptr, idx_pad, val_pad, row_nnz, chunks):
    # pragma: no cover - numba
    for c in prange(len(chunks) - 1):
        r0, r1 = chunks[c], chunks[c + 1]
        width = 1
        for i in range(r0, r1):
            width = max(width, pad_ptr[i + 1] - pad_ptr[i])
        tok_s = np.empty(width + hi, dtype=np.int64)
        tok_e = np.empty(width + hi, dtype=np.int64)
        ids = np.empty(width + 1, dtype=np.int32)
        wv = np.empty(width + 1, dtype=np.float64)
        for i in range(r0, r1):
            m = 0
            if modes[i] == 0:
                s, e = offsets[i], offsets[i + 1]
                nt = 0
                p = s
                while p < e:
                    if _is_word(data[p]):
                        q = p + 1
                        while q < e and _is_word(data[q]):
                            q += 1
                        if q - p >= 2:
                            tok_s[nt] = p
                            tok_e[nt] = q
                            nt += 1
                        p = q
                    else:
                        p += 1
                for g in range(lo, hi + 1):
                    for q in range(nt - g + 1):
                        j = _lookup(data, tok_s, tok_e, q, g, lowercase, vdata, voff, slots,
                                    slot_hash)
                        if j >= 0:
                            ids[m] = j
                            m += 1
            elif modes[i] == 1:
                for p in range(fb_ptr[i], fb_ptr[i + 1]):
                    ids[m] = fb_ids[p]
                    m += 1
            if m == 0:
                row_nnz[i] = 0
                continue
            _sort_small(ids, m)
            base = pad_ptr[i]
            u = 0
            sq = 0.0
            k = 0
            while k < m:
                j = ids[k]
                cnt = 0
                while k < m and ids[k] == j:
                    cnt += 1
                    k += 1
                tf = float(cnt)
                if sublinear:
                    tf = 1.0 + np.log(tf)
                w = tf * idf[j]
                sq += w * w
                idx_pad[base + u] = j
                wv[u] = w
                u += 1
            inv = 1.0 / np.sqrt(sq) if sq > 0 else 0.0
            for t in range(u):
                val_pad[base + t] = wv[t] * inv
            row_nnz[i] = u


@njit(cache=True, parallel=True)
def _compact(pad_ptr, idx_pad, val_pad, indptr, indices, values, chunks):
    # pragma: no cover - numba
    for c in prange(len(chunks) - 1):
        for i in range(chunks[c], chunks[c + 1]):
            a = pad_ptr[i]
            b = indptr[i]
            for t in range(indptr[i + 1] - b):
                indices[b + t] = idx_pad[a + t]
                values[b + t] = val_pad[a + t]
