"""Binning kernel for numeric drift sketches (numba), with its numpy reference.

:func:`bin_column` puts every value of a float64 column into the *slots* defined by sorted,
unique reference edges ``e_0 < ... < e_B``: slot ``k`` holds the values with exactly ``k``
edges ``<= x`` (slot 0: ``x < e_0``; slot ``B + 1``: ``x >= e_B``). It returns each slot's
count and the sum of ``x - center`` over it, plus the column's missing count (NaN and
±inf), the power sums ``Σ (x - center)^p`` for ``p = 1..4``, the minimum and the maximum.

The slot of a value is found through a uniform lookup table over the central edges
(``e_3 .. e_{B-3}``, so a long tail does not stretch the cells; 32 cells per edge): a cell
gives the slots its values can fall in, almost always one or two, and a value compares
itself with the edge inside its cell; values in a crowded cell or beyond the central edges
binary-search the edges. A pass costs a few nanoseconds per value. Rows run in fixed
blocks whose partial sums are added in block order, on numba threads
(``parallel=True``) or on the calling thread (``parallel=False``, which releases the GIL
so several columns can run on Python threads at once): results are the same either way and
do not depend on the thread count. :func:`bin_column_reference` is the plain numpy
reference.

>>> import numpy as np
>>> x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan])
>>> counts, sums, stats = bin_column(x, np.array([0.0, 1.0]), 0.0)
>>> counts.tolist(), sums.tolist()
([1, 2, 2], [-1.0, 0.5, 3.0])
>>> stats.tolist()
[1.0, 2.5, 6.25, 8.125, 18.0625, -1.0, 2.0]
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["STATS", "bin_column", "bin_column_reference"]

# layout of the ``stats`` vector
STATS = ("n_missing", "s1", "s2", "s3", "s4", "min", "max")
_BLOCK = 1 << 16  # rows per block
_LUT_PER_EDGE = 32  # lookup cells per edge
_TRIM = 3  # edges at each end left out of the lookup range (tails binary-search)


@njit(cache=True, nogil=True)
def _bin_block(x, start, stop, edges, lut, lo, hi, inv_w, center, cnt, sm,
               stats):  # pragma: no cover - numba
    """Rows ``start:stop`` into ``cnt`` / ``sm`` (zeroed) and ``stats`` (7,)."""
    n_edges = edges.shape[0]
    n_cells = lut.shape[0] - 1
    miss = 0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    mn = np.inf
    mx = -np.inf
    for i in range(start, stop):
        v = x[i]
        if not v - v == 0.0:  # NaN or ±inf
            miss += 1
            continue
        if v >= lo and v < hi:
            c = int((v - lo) * inv_w)
            if c >= n_cells:
                c = n_cells - 1
            k = lut[c]
            z = lut[c + 1]
        else:
            k = 0
            z = n_edges
        if z - k > 2:  # binary search for the number of edges <= v in k..z
            while k < z:
                mid = (k + z + 1) >> 1
                if edges[mid - 1] <= v:
                    k = mid
                else:
                    z = mid - 1
        else:
            while k < z and edges[k] <= v:
                k += 1
        d = v - center
        cnt[k] += 1
        sm[k] += d
        d2 = d * d
        s2 += d2
        s3 += d2 * d
        s4 += d2 * d2
        mn = min(mn, v)
        mx = max(mx, v)
    stats[0] = miss
    stats[1] = sm.sum()
    stats[2] = s2
    stats[3] = s3
    stats[4] = s4
    stats[5] = mn
    stats[6] = mx


@njit(cache=True, parallel=True)
def _bin_parallel(x, edges, lut, lo, hi, inv_w, center, n_blocks):  # pragma: no cover
    n = x.shape[0]
    counts = np.zeros((n_blocks, edges.shape[0] + 1), np.int64)
    sums = np.zeros((n_blocks, edges.shape[0] + 1))
    stats = np.zeros((n_blocks, 7))
    for b in prange(n_blocks):
        _bin_block(x, b * n // n_blocks, (b + 1) * n // n_blocks, edges, lut, lo, hi, inv_w,
                   center, counts[b], sums[b], stats[b])
    return counts, sums, stats


@njit(cache=True, nogil=True)
def _bin_serial(x, edges, lut, lo, hi, inv_w, center, n_blocks):  # pragma: no cover
    n = x.shape[0]
    counts = np.zeros((n_blocks, edges.shape[0] + 1), np.int64)
    sums = np.zeros((n_blocks, edges.shape[0] + 1))
    stats = np.zeros((n_blocks, 7))
    for b in range(n_blocks):
        _bin_block(x, b * n // n_blocks, (b + 1) * n // n_blocks, edges, lut, lo, hi, inv_w,
                   center, counts[b], sums[b], stats[b])
    return counts, sums, stats


def _lookup(edges: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """Uniform cells over ``[lo, hi)`` (the central edges): ``(lut, lo, hi, 1 / width)``.

    An edge's cell is computed with the kernel's own arithmetic, which is monotone in the
    value, so a value in cell ``c`` has every edge of a lower cell below or at it and every
    edge of a higher cell above it: its slot lies in ``lut[c] .. lut[c + 1]``, where
    ``lut[c]`` counts the edges in cells below ``c`` (edges under ``lo`` in all of them).
    """
    m = len(edges)
    t = min(_TRIM, (m - 1) // 2)
    lo, hi = float(edges[t]), float(edges[m - 1 - t])
    n_cells = max(1, _LUT_PER_EDGE * m)
    width = (hi - lo) / n_cells
    if not width > 0 or not np.isfinite(width):  # one central edge: search everything
        return np.zeros(2, np.int64), lo, lo, 0.0
    inv_w = 1.0 / width
    cells = np.minimum(((edges - lo) * inv_w).astype(np.int64), n_cells - 1)
    cells[edges < lo] = -1
    cells[edges >= hi] = n_cells
    lut = np.searchsorted(cells, np.arange(n_cells + 1), side="left").astype(np.int64)
    return lut, lo, hi, inv_w


def bin_column(x: np.ndarray, edges: np.ndarray, center: float, *, parallel: bool = True
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slot counts, slot sums of ``x - center`` and the stats vector (see module docstring).

    Parameters
    ----------
    x : float64 values (NaN and ±inf count as missing)
    edges : sorted, unique, finite float64 edges (at least one)
    center : subtracted before summing, for numerically stable moments
    parallel : blocks on numba's threads (True) or on the calling thread, GIL released
        (False); the results are identical

    Returns
    -------
    counts : int64 (len(edges) + 1,)
    sums : float64 (len(edges) + 1,)
    stats : float64 (7,) in the order of :data:`STATS` (min/max are ±inf with no value)
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    lut, lo, hi, inv_w = _lookup(edges)
    n_blocks = max(1, -(-len(x) // _BLOCK))
    kernel = _bin_parallel if parallel and n_blocks > 1 else _bin_serial
    counts, sums, stats = kernel(x, edges, lut, lo, hi, inv_w, float(center), n_blocks)
    out = stats.sum(axis=0)
    out[5] = stats[:, 5].min()
    out[6] = stats[:, 6].max()
    return counts.sum(axis=0), sums.sum(axis=0), out


def bin_column_reference(x: np.ndarray, edges: np.ndarray, center: float
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numpy reference of :func:`bin_column` (same outputs)."""
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    v = x[ok]
    k = np.searchsorted(np.asarray(edges, np.float64), v, side="right")
    n_slots = len(edges) + 1
    d = v - center
    counts = np.bincount(k, minlength=n_slots).astype(np.int64)
    sums = np.bincount(k, weights=d, minlength=n_slots)
    stats = np.array([float((~ok).sum()), d.sum(), (d ** 2).sum(), (d ** 3).sum(),
                      (d ** 4).sum(), v.min() if len(v) else np.inf,
                      v.max() if len(v) else -np.inf])
    return counts, sums, stats
