"""Score counted attribute combinations and keep the minimal, significant explanations.

:func:`score_itemsets` is the one scoring entry point, shared by batch :func:`~dawn.explain.explain`
and the streaming explainer. It takes every counted itemset — a tuple of
``(attribute, value_label)`` pairs sorted by attribute — with its outlier and total row
counts, and returns the explanations, best first.

For the ratio metrics each itemset ``T`` is a 2×2 table: ``a`` outliers among its
``n_T`` rows, ``c`` outliers among the other rows.

- ``risk_ratio`` = ``(a / n_T) / (c / (N - n_T))``: how much likelier a row is an outlier
  inside the segment than outside. ``prevalence_ratio`` = ``(a / N_out) / (b / N_in)``
  (``b`` inliers in the segment): how much more common the segment is among outliers
  than among inliers (the natural metric of a test-vs-control :func:`~dawn.explain.diff`).
  When a cell of the table is zero, 0.5 is added to every cell (Haldane–Anscombe), so
  both ratios and their intervals are finite.
- ``ci_low`` / ``ci_high``: Katz's log interval at level ``1 - alpha`` (not adjusted).
- ``p_value``: one-sided Fisher exact test (hypergeometric tail) that the segment's outlier
  rate is higher than the rest's, **Bonferroni-adjusted** for the number of itemsets
  scored (``p × len(itemsets)``, capped at 1). Counts are rounded to integers for it, so
  decayed streaming counts work.
- ``support`` = ``a / N_out``, the share of outliers the segment covers.

An itemset is reported when ``support >= min_support``, the ratio ``>= min_risk_ratio``
and ``p_value <= alpha``, and it is **minimal**:

1. it beats every subset ``S`` in the list: among ``S``'s rows, the rows in ``T`` have a
   significantly higher outlier rate than the rows in ``S`` but not ``T`` (one-sided Fisher
   test at ``alpha / len(itemsets)``) — so ``a ∧ b ∧ f`` is dropped beside ``a ∧ b``
   unless ``f`` adds significantly. Subsets missing from the list are not compared.
2. it is not explained away by a qualifying superset ``T``: the rows of ``S`` outside
   ``T`` must still be an explanation against the rows outside ``S`` (ratio ``>=
   min_risk_ratio`` and significant at ``alpha / len(itemsets)``) — so ``a`` alone is
   dropped when its excess comes entirely from ``a ∧ b``.

Results are sorted by ``ratio × support`` (then outliers), best first.

``metric="mean_shift"`` scores a numeric target instead of outliers: pass
``moments=(sums, sums_of_squares, total_sum, total_sum_of_squares)`` of the target
(``outlier_counts`` and ``n_outliers`` are ignored). The shift is the segment's mean
minus the mean of the other rows, with Welch's t-test (one-sided, higher mean) and its
``1 - alpha`` interval; ``support`` is the share of all rows; ``min_risk_ratio`` does not
apply (a segment needs a positive, significant shift). Its columns are ``items, count,
support, mean, mean_shift, ci_low, ci_high, p_value``.

>>> items = [(("v", "x"),), (("v", "y"),)]
>>> res = score_itemsets(items, [40.0, 10.0], [100.0, 900.0], 50.0, 1000.0)
>>> res[["items", "outliers", "count", "support"]].to_dict("records")
[{'items': {'v': 'x'}, 'outliers': 40, 'count': 100, 'support': 0.8}]
>>> round(float(res.risk_ratio[0]), 2)
36.0
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from dawn.errors import ConfigError, SchemaError

__all__ = ["COLUMNS", "METRICS", "columns_for", "score_itemsets"]

METRICS = ("risk_ratio", "prevalence_ratio", "mean_shift")
COLUMNS = ["items", "outliers", "count", "support", "risk_ratio", "ci_low", "ci_high",
           "p_value"]
_MEAN_COLUMNS = ["items", "count", "support", "mean", "mean_shift", "ci_low", "ci_high",
                 "p_value"]

Itemset = tuple[tuple[str, str], ...]


def columns_for(metric: str) -> list[str]:
    """The result columns for ``metric`` (see the module docstring)."""
    _check_metric(metric)
    if metric == "mean_shift":
        return list(_MEAN_COLUMNS)
    return [metric if c == "risk_ratio" else c for c in COLUMNS]


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ConfigError(f"metric={metric!r} is not known; use one of {list(METRICS)}.")


def score_itemsets(itemsets: Sequence[Itemset], outlier_counts: Sequence[float] | None,
                   total_counts: Sequence[float], n_outliers: float | None, n_total: float, *,
                   min_support: float = 0.01, min_risk_ratio: float = 3.0,
                   alpha: float = 0.05, metric: str = "risk_ratio",
                   moments: tuple | None = None) -> pd.DataFrame:
    """Explanations among counted itemsets, best first (see the module docstring).

    Parameters
    ----------
    itemsets : tuples of ``(attribute, value_label)`` pairs sorted by attribute; every
        subset of a listed itemset should be listed too (Apriori) for minimality checks
    outlier_counts, total_counts : outlier rows and all rows matching each itemset
    n_outliers, n_total : outlier rows and all rows overall
    min_support, min_risk_ratio, alpha : thresholds (module docstring)
    metric : ``"risk_ratio"``, ``"prevalence_ratio"`` or ``"mean_shift"``
    moments : for ``"mean_shift"`` only: ``(sums, sumsqs, total_sum, total_sumsq)``

    Returns
    -------
    pandas.DataFrame
        Columns :func:`columns_for` ``(metric)``; empty (same columns) when nothing qualifies.
    """
    _check_metric(metric)
    for name, val, lo, hi in (("min_support", min_support, 0.0, 1.0),
                              ("alpha", alpha, 0.0, 1.0)):
        if not lo <= float(val) <= hi:
            raise ConfigError(f"{name}={val!r} must be between {lo} and {hi}.")
    if float(min_risk_ratio) < 0:
        raise ConfigError(f"min_risk_ratio={min_risk_ratio!r} must be >= 0.")
    items = [tuple(tuple(p) for p in s) for s in itemsets]
    tot = np.asarray(total_counts, dtype=np.float64).ravel()
    if len(tot) != len(items):
        raise SchemaError(f"total_counts has {len(tot)} values for {len(items)} itemsets.")
    N = float(n_total)
    if metric == "mean_shift":
        if moments is None or len(moments) != 4:
            raise ConfigError("metric='mean_shift' needs moments=(sums, sumsqs, total_sum, "
                              "total_sumsq) of the numeric target.")
        sums = np.asarray(moments[0], dtype=np.float64).ravel()
        sqs = np.asarray(moments[1], dtype=np.float64).ravel()
        if len(sums) != len(items) or len(sqs) != len(items):
            raise SchemaError("moments' sums and sumsqs need one value per itemset.")
        if not items or N <= 1:
            return _empty(metric)
        return _score_mean(items, tot, sums, sqs, N, float(moments[2]), float(moments[3]),
                           min_support, alpha)
    if outlier_counts is None or n_outliers is None:
        raise ConfigError(f"metric={metric!r} needs outlier_counts and n_outliers.")
    out = np.asarray(outlier_counts, dtype=np.float64).ravel()
    if len(out) != len(items):
        raise SchemaError(f"outlier_counts has {len(out)} values for {len(items)} itemsets.")
    N_out = float(n_outliers)
    if not items or N <= 0 or N_out <= 0 or N_out >= N:
        return _empty(metric)
    return _score_ratio(items, out, tot, N_out, N, min_support, min_risk_ratio, alpha, metric)


# -- ratio metrics --------------------------------------------------------------------------
def _ratio(a, n1, c, n0, metric, alpha, test=None):
    """Ratio, Katz interval and one-sided Fisher p-value of 2×2 tables (vectorised).

    ``test`` (a function of the ratios returning a boolean mask) limits the exact test —
    the costly part — to those tables; the others get p = 1.
    """
    from scipy.stats import hypergeom, norm

    a, n1, c, n0 = (np.maximum(np.asarray(x, dtype=np.float64), 0.0) for x in (a, n1, c, n0))
    b = np.maximum(n1 - a, 0.0)
    d = np.maximum(n0 - c, 0.0)
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    h = np.where(zero, 0.5, 0.0)
    a2, b2, c2, d2 = a + h, b + h, c + h, d + h
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "risk_ratio":
            value = (a2 / (a2 + b2)) / (c2 / (c2 + d2))
            var = 1 / a2 - 1 / (a2 + b2) + 1 / c2 - 1 / (c2 + d2)
        else:  # prevalence ratio: share of outliers vs share of inliers in the segment
            value = (a2 / (a2 + c2)) / (b2 / (b2 + d2))
            var = 1 / a2 - 1 / (a2 + c2) + 1 / b2 - 1 / (b2 + d2)
        z = norm.ppf(1 - alpha / 2) if alpha > 0 else np.inf
        se = np.sqrt(np.maximum(var, 0.0))
        lo = np.exp(np.log(value) - z * se)
        hi = np.exp(np.log(value) + z * se)
    p = np.ones(len(a))
    rows = np.arange(len(a)) if test is None else np.flatnonzero(test(value))
    if len(rows):
        ai, n1i, ci, n0i = (np.rint(x[rows]).astype(np.int64) for x in (a, n1, c, n0))
        ai = np.minimum(ai, n1i)
        ci = np.minimum(ci, n0i)
        pr = hypergeom.sf(ai - 1, n1i + n0i, ai + ci, n1i)
        p[rows] = np.where(n1i + n0i > 0, np.clip(pr, 0.0, 1.0), 1.0)
    return value, lo, hi, p


def _subset_pairs(items: list[Itemset], cand: np.ndarray, index: dict) -> tuple[np.ndarray, ...]:
    T, S = [], []
    for t in cand:
        s = items[t]
        for r in range(1, len(s)):
            for sub in combinations(s, r):
                si = index.get(sub)
                if si is not None:
                    T.append(t)
                    S.append(si)
    return np.array(T, dtype=np.int64), np.array(S, dtype=np.int64)


def _score_ratio(items, out, tot, N_out, N, min_support, min_ratio, alpha, metric):
    m = len(items)
    support = out / N_out
    big = support >= min_support - 1e-12
    # the exact test only where it can matter: large enough with a high enough ratio
    # (Bonferroni still counts every combination tested for support)
    value, lo, hi, p = _ratio(out, tot, N_out - out, N - tot, metric, alpha,
                              test=lambda value: big & (value >= min_ratio))
    p_adj = np.minimum(p * m, 1.0)
    ok = big & (value >= min_ratio) & (p_adj <= alpha)
    keep = _minimal(items, ok, m, alpha, min_ratio,
                    within=lambda T, S: _ratio(out[T], tot[T], out[S] - out[T],
                                               tot[S] - tot[T], metric, alpha)[3],
                    rest=lambda S, T: _ratio(out[S] - out[T], tot[S] - tot[T], N_out - out[S],
                                             N - tot[S], metric, alpha))
    rows = np.flatnonzero(keep)
    frame = pd.DataFrame({
        "items": [dict(items[i]) for i in rows],
        "outliers": _counts(out[rows]),
        "count": _counts(tot[rows]),
        "support": support[rows],
        metric: value[rows],
        "ci_low": lo[rows],
        "ci_high": hi[rows],
        "p_value": p_adj[rows],
    })
    return _sort(frame, metric, "outliers")


def _minimal(items, ok, m, alpha, min_ratio, within, rest) -> np.ndarray:
    """Qualifying itemsets that beat their subsets and are not explained by a superset."""
    index = {s: i for i, s in enumerate(items)}
    cand = np.flatnonzero(ok)
    T, S = _subset_pairs(items, cand, index)
    minimal = ok.copy()
    if len(T):
        fails = np.minimum(within(T, S) * m, 1.0) > alpha
        minimal[T[fails]] = False
    keep = minimal.copy()
    sel = minimal[T] & minimal[S] if len(T) else np.zeros(0, bool)
    if sel.any():
        Ts, Ss = T[sel], S[sel]
        value, _, _, p = rest(Ss, Ts)
        still = (np.minimum(p * m, 1.0) <= alpha) & (value >= min_ratio)
        keep[Ss[~still]] = False
    return keep


# -- mean shift -----------------------------------------------------------------------------
def _welch(n1, s1, q1, n0, s0, q0, alpha):
    from scipy.stats import t as student

    n1, n0 = np.asarray(n1, float), np.asarray(n0, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        v1 = np.maximum(q1 - s1 * m1, 0.0) / (n1 - 1)
        v0 = np.maximum(q0 - s0 * m0, 0.0) / (n0 - 1)
        shift = m1 - m0
        se2 = v1 / n1 + v0 / n0
        se = np.sqrt(se2)
        df = se2 ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v0 / n0) ** 2 / (n0 - 1))
        df = np.where(np.isfinite(df) & (df > 0), df, 1.0)
        stat = shift / se
        p = np.where(se > 0, student.sf(stat, df), np.where(shift > 0, 0.0, 1.0))
        half = student.ppf(1 - alpha / 2, df) * se if alpha > 0 else np.inf
    valid = (n1 >= 2) & (n0 >= 2)
    p = np.where(valid & np.isfinite(p), p, 1.0)
    return m1, shift, shift - half, shift + half, p


def _score_mean(items, tot, sums, sqs, N, S_all, Q_all, min_support, alpha):
    m = len(items)
    mean, shift, lo, hi, p = _welch(tot, sums, sqs, N - tot, S_all - sums, Q_all - sqs, alpha)
    p_adj = np.minimum(p * m, 1.0)
    support = tot / N
    ok = (support >= min_support - 1e-12) & (shift > 0) & (p_adj <= alpha)

    def within(T, S):
        return _welch(tot[T], sums[T], sqs[T], tot[S] - tot[T], sums[S] - sums[T],
                      sqs[S] - sqs[T], alpha)[4]

    def rest(S, T):
        _, sh, _, _, pr = _welch(tot[S] - tot[T], sums[S] - sums[T], sqs[S] - sqs[T],
                                 N - tot[S], S_all - sums[S], Q_all - sqs[S], alpha)
        return np.where(sh > 0, 1.0, 0.0), None, None, pr

    keep = _minimal(items, ok, m, alpha, 0.5, within, rest)
    rows = np.flatnonzero(keep)
    frame = pd.DataFrame({
        "items": [dict(items[i]) for i in rows],
        "count": _counts(tot[rows]),
        "support": support[rows],
        "mean": mean[rows],
        "mean_shift": shift[rows],
        "ci_low": lo[rows],
        "ci_high": hi[rows],
        "p_value": p_adj[rows],
    })
    return _sort(frame, "mean_shift", "count")


# -- output ---------------------------------------------------------------------------------
def _counts(x: np.ndarray) -> np.ndarray:
    return x.astype(np.int64) if np.all(x == np.rint(x)) else x


def _sort(frame: pd.DataFrame, metric: str, count_col: str) -> pd.DataFrame:
    if frame.empty:
        return _empty(metric)
    key = pd.DataFrame({"score": -(frame[metric] * frame["support"]).to_numpy(),
                        "n": -frame[count_col].to_numpy(dtype=float),
                        "name": [str(sorted(d.items())) for d in frame["items"]]})
    order = key.sort_values(["score", "n", "name"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def _empty(metric: str) -> pd.DataFrame:
    cols = columns_for(metric)
    data = {c: pd.Series([], dtype=object if c == "items" else
                         "int64" if c in ("outliers", "count") else "float64") for c in cols}
    return pd.DataFrame(data)
