"""Counting kernels of the streaming explainer: pairs and triples of heavy values per batch.

Rows arrive as ``HT``, an ``(m, n)`` int32 matrix of *heavy indices* (one row per
attribute, so each attribute is contiguous): ``HT[a, r]`` is the position of row ``r``'s
value of attribute ``a`` among that attribute's heavy values, or -1 when it is not heavy.
Attribute pair ``p = (pa[p], pb[p])`` owns the slots ``poff[p] : poff[p] + ha·hb`` of a
flat count array (slot ``poff[p] + x·hb + y`` for heavy values ``x`` of ``pa[p]`` and
``y`` of ``pb[p]``, ``hb = phb[p]``).

For triples, ``pmap`` maps every pair slot to the index of that heavy *pair* within its
attribute pair (or -1 when the pair is not heavy); attribute triple ``t`` combines pair
``tab[t]`` (its first two attributes), which must be heavy, with the heavy value of
attribute ``tcol[t]`` (``thc[t]`` heavy values), provided pairs ``tac[t]`` and ``tbc[t]``
are heavy too; it owns slots ``toff[t] + p·thc[t] + z``.

Each kernel returns ``(total, outliers)`` int64 count arrays over all rows and over rows
where ``out`` is true. The ``*_reference`` functions are plain numpy (one ``bincount``
per attribute pair / triple) and give the same counts; the numba versions walk the rows
once per attribute pair / triple without building index arrays.

>>> import numpy as np
>>> HT = np.array([[0, 0, 1], [1, 1, -1]], dtype=np.int32)   # 2 attributes × 3 rows
>>> out = np.array([True, False, True])
>>> args = (np.array([0]), np.array([1]), np.array([2]), np.array([0]), 4)
>>> [c.tolist() for c in count_pairs(HT, out, *args)]
[[0, 2, 0, 0], [0, 1, 0, 0]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["count_pairs", "count_pairs_reference", "count_triples", "count_triples_reference"]

_KERNELS: dict[str, object] = {}


def _kernels() -> dict[str, object]:
    if not _KERNELS:
        from numba import njit

        @njit(cache=True)
        def pairs(HT, out, pa, pb, phb, poff, size):  # pragma: no cover - numba
            tot = np.zeros(size, np.int64)
            o = np.zeros(size, np.int64)
            n = HT.shape[1]
            for p in range(pa.shape[0]):
                xs = HT[pa[p]]
                ys = HT[pb[p]]
                hb = phb[p]
                off = poff[p]
                for i in range(n):
                    x = xs[i]
                    y = ys[i]
                    if (x >= 0) & (y >= 0):
                        j = off + x * hb + y
                        tot[j] += 1
                        o[j] += out[i]
            return tot, o

        @njit(cache=True)
        def triples(HT, out, pa, pb, phb, poff, pmap, tab, tac, tbc, tcol, thc, toff,
                    size):  # pragma: no cover - numba
            n = HT.shape[1]
            rp = np.empty((pa.shape[0], n), np.int32)   # heavy-pair index per pair and row
            for p in range(pa.shape[0]):
                xs = HT[pa[p]]
                ys = HT[pb[p]]
                hb = phb[p]
                off = poff[p]
                for i in range(n):
                    x = xs[i]
                    y = ys[i]
                    rp[p, i] = pmap[off + x * hb + y] if (x >= 0) & (y >= 0) else -1
            tot = np.zeros(size, np.int64)
            o = np.zeros(size, np.int64)
            for t in range(tab.shape[0]):
                r1 = rp[tab[t]]
                r2 = rp[tac[t]]
                r3 = rp[tbc[t]]
                zs = HT[tcol[t]]
                w = thc[t]
                off = toff[t]
                for i in range(n):
                    p1 = r1[i]
                    if (p1 < 0) | (r2[i] < 0) | (r3[i] < 0):
                        continue
                    j = off + p1 * w + zs[i]
                    tot[j] += 1
                    o[j] += out[i]
            return tot, o

        _KERNELS["pairs"] = pairs
        _KERNELS["triples"] = triples
    return _KERNELS


def count_pairs(HT: np.ndarray, out: np.ndarray, pa: np.ndarray, pb: np.ndarray,
                phb: np.ndarray, poff: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair counts (numba; see the module docstring)."""
    return _kernels()["pairs"](_i32(HT), _u8(out), _i64(pa), _i64(pb), _i64(phb), _i64(poff),
                               int(size))


def count_triples(HT: np.ndarray, out: np.ndarray, pa: np.ndarray, pb: np.ndarray,
                  phb: np.ndarray, poff: np.ndarray, pmap: np.ndarray, tab: np.ndarray,
                  tac: np.ndarray, tbc: np.ndarray, tcol: np.ndarray, thc: np.ndarray,
                  toff: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Triple counts (numba; see the module docstring)."""
    return _kernels()["triples"](_i32(HT), _u8(out), _i64(pa), _i64(pb), _i64(phb),
                                 _i64(poff), _i64(pmap), _i64(tab), _i64(tac), _i64(tbc),
                                 _i64(tcol), _i64(thc), _i64(toff), int(size))


def count_pairs_reference(HT, out, pa, pb, phb, poff, size) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy reference of :func:`count_pairs`."""
    out = np.asarray(out, dtype=bool)
    tot = np.zeros(size, np.int64)
    o = np.zeros(size, np.int64)
    for p in range(len(pa)):
        x, y = HT[pa[p]].astype(np.int64), HT[pb[p]].astype(np.int64)
        ok = (x >= 0) & (y >= 0)
        j = poff[p] + x * phb[p] + y
        tot += np.bincount(j[ok], minlength=size)
        o += np.bincount(j[ok & out], minlength=size)
    return tot, o


def count_triples_reference(HT, out, pa, pb, phb, poff, pmap, tab, tac, tbc, tcol, thc, toff,
                            size) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy reference of :func:`count_triples`."""
    out = np.asarray(out, dtype=bool)
    pmap = np.asarray(pmap, dtype=np.int64)
    rp = np.full((len(pa), HT.shape[1]), -1, dtype=np.int64)
    for p in range(len(pa)):
        x, y = HT[pa[p]].astype(np.int64), HT[pb[p]].astype(np.int64)
        ok = (x >= 0) & (y >= 0)
        rp[p, ok] = pmap[poff[p] + x[ok] * phb[p] + y[ok]]
    tot = np.zeros(size, np.int64)
    o = np.zeros(size, np.int64)
    for t in range(len(tab)):
        ok = (rp[tab[t]] >= 0) & (rp[tac[t]] >= 0) & (rp[tbc[t]] >= 0)
        j = toff[t] + rp[tab[t]] * thc[t] + HT[tcol[t]]
        tot += np.bincount(j[ok], minlength=size)
        o += np.bincount(j[ok & out], minlength=size)
    return tot, o


def _i64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def _i32(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int32)


def _u8(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=bool).view(np.uint8)
