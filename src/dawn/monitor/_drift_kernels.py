"""Binning kernel for numeric drift sketches (numba), with its numpy reference.

:func:`bin_column` puts every value of a float64 column into the *slots* defined by sorted,
unique reference edges ``e_0 < ... < e_B``: slot ``k`` holds the values with exactly ``k``
edges ``<= x`` (slot 0: ``x < e_0``; slot ``B + 1``: ``x >= e_B``). It returns each slot's
count and the sum of ``x - center`` over it, plus the column's missing count (NaN and
±inf), the power sums ``Σ (x - center)^p`` for ``p = 1..4``, the minimum and the maximum.
The slot of a value is found through a uniform lookup table over ``[e_0, e_B]`` (a cell
gives the slots it can hold; a value steps over the few edges inside its cell, or binary
searches a crowded one), so a
pass costs a few nanoseconds per value. Rows run in fixed blocks on
numba threads (the block count depends only on the number of rows, so results do not
depend on the thread count). :func:`bin_column_reference` is the plain numpy reference.

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
_LUT_PER_EDGE = 8  # lookup cells per edge


@njit(cache=True, parallel=True)
def _bin_kernel(x, edges, lut, lo, inv_w, center, n_blocks):  # pragma: no cover - numba
    n = x.shape[0]
    n_edges = edges.shape[0]
    n_slots = n_edges + 1
    n_cells = lut.shape[0] - 1
    top = edges[n_edges - 1]
    counts = np.zeros((n_blocks, n_slots), np.int64)
    sums = np.zeros((n_blocks, n_slots))
    stats = np.zeros((n_blocks, 7))
    for b in prange(n_blocks):
        start = b * n // n_blocks
        stop = (b + 1) * n // n_blocks
        cnt = np.zeros(n_slots, np.int64)
        sm = np.zeros(n_slots)
        miss = 0.0
        s2 = 0.0
        s3 = 0.0
        s4 = 0.0
        mn = np.inf
        mx = -np.inf
        for i in range(start, stop):
            v = x[i]
            if not np.isfinite(v):
                miss += 1.0
                continue
            if v < lo:
                k = 0
            elif v >= top:
                k = n_edges
            else:
                c = int((v - lo) * inv_w)
                if c >= n_cells:
                    c = n_cells - 1
                k = lut[c]
                z = lut[c + 1]
                if z - k > 3:  # a crowded cell (skewed data): binary search inside it
                    while k < z:
                        mid = (k + z + 1) >> 1
                        if edges[mid - 1] <= v:
                            k = mid
                        else:
                            z = mid - 1
                else:
                    while k < n_edges and edges[k] <= v:
                        k += 1
                while k > 0 and edges[k - 1] > v:  # rounding put v one cell too high
                    k -= 1
                while k < n_edges and edges[k] <= v:
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
        counts[b] = cnt
        sums[b] = sm
        stats[b, 0] = miss
        stats[b, 1] = sm.sum()
        stats[b, 2] = s2
        stats[b, 3] = s3
        stats[b, 4] = s4
        stats[b, 5] = mn
        stats[b, 6] = mx
    return counts, sums, stats


def _lookup(edges: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Uniform cells over ``[e_0, e_B]``; ``lut[c]`` = edges ``<=`` the start of cell ``c``."""
    lo, hi = float(edges[0]), float(edges[-1])
    n_cells = max(1, _LUT_PER_EDGE * len(edges))
    width = (hi - lo) / n_cells
    if not width > 0 or not np.isfinite(width):
        return np.zeros(2, np.int64) + len(edges), lo, 0.0
    starts = lo + width * np.arange(n_cells + 1)
    starts[-1] = hi
    lut = np.searchsorted(edges, starts, side="right").astype(np.int64)
    lut[1:] = np.maximum(lut[1:], lut[:-1])
    return lut, lo, 1.0 / width


def bin_column(x: np.ndarray, edges: np.ndarray, center: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slot counts, slot sums of ``x - center`` and the stats vector (see module docstring).

    Parameters
    ----------
    x : float64 values (NaN and ±inf count as missing)
    edges : sorted, unique, finite float64 edges (at least one)
    center : subtracted before summing, for numerically stable moments

    Returns
    -------
    counts : int64 (len(edges) + 1,)
    sums : float64 (len(edges) + 1,)
    stats : float64 (7,) in the order of :data:`STATS` (min/max are ±inf with no value)
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    lut, lo, inv_w = _lookup(edges)
    n_blocks = max(1, -(-len(x) // _BLOCK))
    counts, sums, stats = _bin_kernel(x, edges, lut, lo, inv_w, float(center), n_blocks)
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
