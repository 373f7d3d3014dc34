"""``explain`` and ``diff``: the attribute combinations that make outliers abnormally likely.

The MacroBase DIFF pipeline in batch: decide which rows are outliers (a boolean column, a
mask, a predicate, or a numeric ``metric=`` classified by
:mod:`dawn.explain.classify`), dictionary-encode the attributes
(:mod:`dawn.explain.encode`: numbers binned, long tails lumped as ``"other"``, nulls as
``"missing"``), count every combination of up to ``max_order`` attribute values with
Apriori pruning (:mod:`dawn.explain._kernels`: items, pairs and triples frequent among the
outliers are found on the outlier rows alone, then one numba pass over all rows counts
them), and keep the minimal, significant explanations (:mod:`dawn.explain.scoring`, which
documents the statistics: risk ratio with Katz interval, one-sided Fisher test,
Bonferroni adjustment over the combinations counted, minimality both ways).

>>> import pandas as pd
>>> df = pd.DataFrame({"version": ["v47"] * 50 + ["v46"] * 950,
...                    "country": ["fr", "de"] * 500})
>>> df["spam"] = (df.version == "v47") & (df.index % 5 != 0)
>>> res = explain(df, outlier="spam")
>>> res[["items", "outliers", "count", "support"]].to_dict("records")
[{'items': {'version': 'v47'}, 'outliers': 40, 'count': 50, 'support': 1.0}]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dawn.data.frame import Frame, as_frame
from dawn.errors import (
    ColumnNotFoundError,
    ConfigError,
    DawnWarning,
    EmptyDataError,
    SchemaError,
    close_matches,
)

__all__ = ["diff", "explain"]

Outlier = str | np.ndarray | pd.Series | Sequence[bool] | Callable[[Any], Any]


def explain(data: Any, outlier: Outlier | None = None, *, metric: str | Sequence[str] | None = None,
            target: str | None = None, attributes: Sequence[str] | None = None,
            min_support: float = 0.01, min_risk_ratio: float = 3.0, max_order: int = 3,
            alpha: float = 0.05, classifier: Any = "mad", bins: int = 5,
            max_values: int = 100) -> pd.DataFrame:
    """Attribute combinations over-represented among outliers, best first.

    Parameters
    ----------
    data : pandas / polars / pyarrow table, dict of columns or Frame
    outlier : which rows are outliers — a boolean column's name, a boolean mask (array,
        list or Series, e.g. ``predictions != labels``), or a callable taking the data as a
        pandas DataFrame and returning such a mask
    metric : instead of ``outlier``: numeric column(s) whose extreme values are the
        outliers, found by ``classifier`` (``"mad"``, ``"percentile"``, ``"mcd"`` or a
        classifier instance from :mod:`dawn.explain.classify`; several columns need MCD)
    target : instead of either: a numeric column; explanations are then the segments
        whose mean ``target`` is significantly higher (``mean_shift``; rows with a missing
        target are left out)
    attributes : columns to explain with (default: all others; numbers are binned)
    min_support : least share of the outliers (of all rows, for ``target``) a combination covers
    min_risk_ratio : least risk ratio of a reported combination (not used with ``target``)
    max_order : largest number of attributes combined (1 to 3)
    alpha : significance level, after Bonferroni adjustment over the combinations counted
    bins, max_values : encoding of numeric and high-cardinality attributes
        (:func:`dawn.explain.encode.encode`)

    Returns
    -------
    pandas.DataFrame
        One row per explanation: ``items`` (dict attribute → value label), ``outliers``,
        ``count``, ``support``, ``risk_ratio``, ``ci_low``, ``ci_high``, ``p_value``. With
        ``target``: ``items, count, support, mean, mean_shift, ci_low, ci_high, p_value``.
        Empty (with a :class:`~dawn.errors.DawnWarning` saying why) when no row or every
        row is an outlier.
    """
    given = [name for name, v in (("outlier", outlier), ("metric", metric), ("target", target))
             if v is not None]
    if len(given) > 1:
        raise ConfigError(f"pass only one of outlier=, metric= and target= (got {given}): "
                          "outlier= says which rows are outliers, metric= has a classifier "
                          "find them from a numeric column, target= explains a numeric mean.")
    if not given:
        raise ConfigError("say what to explain: outlier= (a boolean column, mask or predicate), "
                          "metric= (a numeric column to classify) or target= (a numeric column "
                          "whose mean to explain).")
    frame = _nonempty(as_frame(data), "explain")
    _check_order(max_order)
    if target is not None:
        return _explain_target(frame, target, attributes, min_support, max_order, alpha, bins,
                               max_values)
    used: list[str] = []
    if outlier is not None:
        mask = _outlier_mask(frame, data, outlier)
        if isinstance(outlier, str):
            used = [outlier]
    else:
        cols = [metric] if isinstance(metric, str) else list(metric)
        if not cols:
            raise ConfigError("metric= needs at least one numeric column name.")
        frame.require(*cols, purpose="explain's metric")
        values = np.column_stack([frame.numeric(c, purpose="explain's metric") for c in cols])
        from dawn.explain.classify import make_classifier

        clf = make_classifier(classifier)
        mask = np.asarray(clf.fit_predict(values if len(cols) > 1 else values[:, 0]), bool)
        used = cols
    attrs = _attributes(frame, attributes, used)
    return _explain_mask(frame, mask, attrs, min_support=min_support,
                         min_risk_ratio=min_risk_ratio, max_order=max_order, alpha=alpha,
                         metric="risk_ratio", bins=bins, max_values=max_values,
                         what="outlier")


def diff(test: Any, control: Any, *, data: Any = None, time: str | None = None,
         attributes: Sequence[str] | None = None, min_support: float = 0.01,
         min_risk_ratio: float = 3.0, max_order: int = 3, alpha: float = 0.05,
         metric: str = "risk_ratio", bins: int = 5, max_values: int = 100) -> pd.DataFrame:
    """Attribute combinations that distinguish ``test`` rows from ``control`` rows.

    Either two tables (``diff(today, yesterday)``), or two time windows of one table:
    ``diff(test=(t1, t2), control=(t0, t1), data=df, time="ts")`` with half-open windows
    ``start <= df[time] < end`` (anything comparable with the column: numbers, timestamps,
    date strings). Test rows play the outliers of :func:`explain`.

    ``metric="risk_ratio"`` (default) rates how much likelier a row of the segment is a
    test row; ``"prevalence_ratio"`` how much more common the segment is in test than in
    control (its share of test rows over its share of control rows), which does not depend
    on how many rows each side has. The result's ratio column is named after the metric.

    >>> import pandas as pd
    >>> old = pd.DataFrame({"os": ["ios", "android"] * 500})
    >>> new = pd.DataFrame({"os": ["ios"] * 100 + ["android"] * 900})
    >>> res = diff(new, old, metric="prevalence_ratio", min_risk_ratio=1.5)
    >>> res["items"][0], round(float(res.prevalence_ratio[0]), 2)
    ({'os': 'android'}, 1.8)
    """
    if metric not in ("risk_ratio", "prevalence_ratio"):
        hint = (" For a numeric target's mean use explain(data, target=column)."
                if metric == "mean_shift" else "")
        raise ConfigError(f"diff's metric={metric!r} is not known; use 'risk_ratio' or "
                          f"'prevalence_ratio'.{hint}")
    _check_order(max_order)
    import pyarrow as pa

    if data is not None or time is not None:
        if data is None or time is None:
            raise ConfigError("comparing two time windows needs both data= (the table) and "
                              "time= (its time column), with test=/control= as (start, end).")
        frame = as_frame(data)
        frame.require(time, purpose="diff's time column")
        t = frame.table.column(time).to_pandas()
        masks = [_window(t, w, side) for w, side in ((test, "test"), (control, "control"))]
        parts = [frame.table.filter(pa.array(mk)) for mk in masks]
        exclude = [time]
        names = frame.columns
    else:
        parts_f = [as_frame(test), as_frame(control)]
        names = [c for c in parts_f[0].columns if c in parts_f[1].columns]
        exclude = []
        if attributes is not None:
            for f in parts_f:
                f.require(*attributes, purpose="diff's attributes")
        parts = [f.table for f in parts_f]
    for part, side in zip(parts, ("test", "control"), strict=True):
        if part.num_rows == 0:
            raise EmptyDataError(f"the {side} side of diff has no rows; give it some rows "
                                 "(check the window or the table).")
    attrs = list(attributes) if attributes is not None else [c for c in names if c not in exclude]
    if not attrs:
        raise ConfigError("test and control share no column to explain with; pass "
                          "attributes= columns present in both.")
    try:
        table = pa.concat_tables([p.select(attrs) for p in parts], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaError(f"test and control columns have incompatible types: {exc}; cast "
                          "them to the same type first.") from None
    frame = Frame(table)
    mask = np.zeros(len(frame), bool)
    mask[:parts[0].num_rows] = True
    return _explain_mask(frame, mask, attrs, min_support=min_support,
                         min_risk_ratio=min_risk_ratio, max_order=max_order, alpha=alpha,
                         metric=metric, bins=bins, max_values=max_values, what="test")


# -- inputs ---------------------------------------------------------------------------------
def _nonempty(frame: Frame, purpose: str) -> Frame:
    if len(frame) == 0:
        raise EmptyDataError(f"{purpose} got a table with no rows; pass data with rows.")
    return frame


def _check_order(max_order: Any) -> None:
    if (not isinstance(max_order, (int, np.integer)) or isinstance(max_order, bool)
            or not 1 <= max_order <= 3):
        raise ConfigError(f"max_order={max_order!r} must be 1, 2 or 3 (attributes combined).")


def _outlier_mask(frame: Frame, data: Any, outlier: Outlier) -> np.ndarray:
    n = len(frame)
    if isinstance(outlier, str):
        frame.require(outlier, purpose="explain's outlier column")
        import pyarrow as pa

        arr = frame.arrow(outlier)
        if not pa.types.is_boolean(arr.type):
            raise SchemaError(
                f"outlier column {outlier!r} has type {arr.type}, but a boolean column is "
                f"needed; make one first, e.g. df[{outlier!r}] == 'spam' or "
                f"df[{outlier!r}] > threshold, and pass it as outlier=.")
        if arr.null_count:
            raise SchemaError(f"outlier column {outlier!r} has {arr.null_count} missing values; "
                              "fill them first (e.g. .fillna(False)).")
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)
    if callable(outlier):
        df = data if isinstance(data, pd.DataFrame) else frame.to_pandas()
        outlier = outlier(df)
        what = "the outlier predicate's result"
    else:
        what = "the outlier mask"
    if isinstance(outlier, pd.Series):
        if outlier.isna().any():
            raise SchemaError(f"{what} has {int(outlier.isna().sum())} missing values; fill "
                              "them first (e.g. .fillna(False)).")
        values = outlier.to_numpy()
    else:
        values = np.asarray(outlier)
    if values.shape != (n,):
        raise SchemaError(f"{what} needs one value per row ({n}), got shape {values.shape}.")
    if values.dtype != bool:
        if values.dtype == object and all(isinstance(v, (bool, np.bool_)) for v in values):
            return values.astype(bool)
        raise SchemaError(f"{what} has dtype {values.dtype}, but booleans are needed; compare "
                          "first, e.g. outlier=predictions != labels or df.label == 'spam'.")
    return values


def _attributes(frame: Frame, attributes: Sequence[str] | None, used: list[str]) -> list[str]:
    if attributes is None:
        attrs = [c for c in frame.columns if c not in used]
    else:
        if isinstance(attributes, str):
            attributes = [attributes]
        attrs = list(attributes)
        for a in attrs:
            if a not in frame.columns:
                raise ColumnNotFoundError(
                    f"attribute {a!r} is not in the data; columns are {frame.columns}."
                    f"{close_matches(a, frame.columns)}")
            if a in used:
                raise ConfigError(f"{a!r} is what is being explained, so it cannot also be an "
                                  "attribute; drop it from attributes=.")
        if len(set(attrs)) != len(attrs):
            raise ConfigError(f"attributes= lists a column twice: {attrs}.")
    if not attrs:
        raise ConfigError("there is no attribute to explain with; pass attributes= columns.")
    return attrs


def _window(t: pd.Series, window: Any, side: str) -> np.ndarray:
    if not (isinstance(window, (tuple, list)) and len(window) == 2):
        raise ConfigError(f"the {side} window must be (start, end), got {window!r}.")
    start, end = window
    try:
        mask = (t >= start) & (t < end)
    except TypeError as exc:
        raise SchemaError(f"the {side} window {window!r} cannot be compared with the time "
                          f"column ({t.dtype}): {exc}.") from None
    return np.asarray(mask.fillna(False) if hasattr(mask, "fillna") else mask, dtype=bool)


# -- mining ---------------------------------------------------------------------------------
def _explain_mask(frame: Frame, mask: np.ndarray, attrs: list[str], *, min_support: float,
                  min_risk_ratio: float, max_order: int, alpha: float, metric: str, bins: int,
                  max_values: int, what: str) -> pd.DataFrame:
    from dawn.explain.encode import encode
    from dawn.explain.scoring import _empty, score_itemsets

    if not 0 < float(min_support) <= 1:
        raise ConfigError(f"min_support={min_support!r} must be in (0, 1] (share of the "
                          "outliers a combination covers).")
    n, n_out = len(mask), int(mask.sum())
    if n_out == 0 or n_out == n:
        which = "no row" if n_out == 0 else "every row"
        warnings.warn(f"{which} is an {what} ({n_out} of {n}), so nothing can explain "
                      f"{what}s; the result is empty. Check the {what} selection.",
                      DawnWarning, stacklevel=3)
        return _empty(metric)
    enc = encode(frame, attrs, bins=bins, max_values=max_values, rank_rows=mask)
    min_count = max(1, int(np.ceil(min_support * n_out - 1e-9)))
    itemsets, counts = _mine(enc, mask, min_count, max_order)
    return score_itemsets(itemsets, counts[0], counts[1], n_out, n, min_support=min_support,
                          min_risk_ratio=min_risk_ratio, alpha=alpha, metric=metric)


def _explain_target(frame: Frame, target: str, attributes, min_support, max_order, alpha,
                    bins, max_values) -> pd.DataFrame:
    from dawn.explain.encode import encode
    from dawn.explain.scoring import score_itemsets

    frame.require(target, purpose="explain's target")
    y = frame.numeric(target, purpose="explain's target")
    attrs = _attributes(frame, attributes, [target])
    keep = ~np.isnan(y)
    if not keep.any():
        raise EmptyDataError(f"target column {target!r} has no values; pass a numeric "
                             "column with values.")
    if not keep.all():
        frame = frame.take(np.flatnonzero(keep))
        y = y[keep]
    if not 0 < float(min_support) <= 1:
        raise ConfigError(f"min_support={min_support!r} must be in (0, 1] (share of rows).")
    enc = encode(frame, attrs, bins=bins, max_values=max_values)
    n = len(y)
    min_count = max(1, int(np.ceil(min_support * n - 1e-9)))
    weights = np.column_stack([y, y * y])
    itemsets, counts = _mine(enc, np.ones(n, bool), min_count, max_order, weights=weights)
    return score_itemsets(itemsets, None, counts[1], None, n, min_support=min_support,
                          alpha=alpha, metric="mean_shift",
                          moments=(counts[2][:, 0], counts[2][:, 1], float(y.sum()),
                                   float((y * y).sum())))


def _mine(enc, mask: np.ndarray, min_count: int, max_order: int,
          weights: np.ndarray | None = None) -> tuple[list, tuple[np.ndarray, ...]]:
    """Frequent itemsets among ``mask`` rows (Apriori, up to ``max_order``) with their
    ``mask``-row counts, all-row counts and all-row weight sums."""
    from dawn.explain._kernels import count_itemsets

    codes, card = enc.codes, enc.cardinality
    m = len(card)
    sub = codes if mask.all() else codes[mask]
    off = np.concatenate([[0], np.cumsum(card)])
    o1 = count_itemsets(sub, card)[0]
    freq = [np.flatnonzero(o1[off[j]:off[j + 1]] >= min_count) for j in range(m)]
    pairs = np.zeros((0, 4), np.int64)
    triples = np.zeros((0, 6), np.int64)
    o2 = o3 = np.zeros(0, np.int64)
    if max_order >= 2:
        blocks = [np.column_stack([np.full(len(freq[i]) * len(freq[j]), i),
                                   np.repeat(freq[i], len(freq[j])),
                                   np.full(len(freq[i]) * len(freq[j]), j),
                                   np.tile(freq[j], len(freq[i]))])
                  for i in range(m) for j in range(i + 1, m)]
        pairs = np.concatenate([pairs, *blocks]).astype(np.int64)
        if len(pairs):
            o2 = count_itemsets(sub, card, pairs)[1]
            keep = o2 >= min_count
            pairs, o2 = pairs[keep], o2[keep]
    if max_order >= 3 and len(pairs):
        triples = _triples(pairs, freq, card, m)
        if len(triples):
            o3 = count_itemsets(sub, card, pairs, triples)[2]
            keep = o3 >= min_count
            triples, o3 = triples[keep], o3[keep]
    # one pass over all rows counts every frequent itemset (and sums the weights)
    t1, t2, t3, w1, w2, w3 = count_itemsets(codes, card, pairs, triples, weights)
    items1 = np.concatenate([off[j] + freq[j] for j in range(m)]).astype(np.int64)
    attr1 = np.repeat(np.arange(m), [len(f) for f in freq])
    code1 = items1 - off[attr1]
    names, labels = enc.names, enc.labels

    def item(j, v):
        return (names[j], labels[j][v])

    itemsets = [(item(j, v),) for j, v in zip(attr1, code1, strict=True)]
    itemsets += [tuple(sorted((item(i, a), item(j, b)))) for i, a, j, b in pairs]
    itemsets += [tuple(sorted((item(i, a), item(j, b), item(k, c))))
                 for i, a, j, b, k, c in triples]
    outl = np.concatenate([o1[items1], o2, o3]).astype(np.float64)
    tot = np.concatenate([t1[items1], t2, t3]).astype(np.float64)
    wsum = np.concatenate([w1[items1], w2, w3]) if weights is not None else None
    return itemsets, (outl, tot, wsum)


def _triples(pairs: np.ndarray, freq: list[np.ndarray], card: np.ndarray, m: int) -> np.ndarray:
    """Triples whose three sub-pairs are all frequent (Apriori candidates)."""
    table = {}
    for i in range(m):
        for j in range(i + 1, m):
            sel = (pairs[:, 0] == i) & (pairs[:, 2] == j)
            if sel.any():
                t = np.zeros((card[i], card[j]), bool)
                t[pairs[sel, 1], pairs[sel, 3]] = True
                table[i, j] = (t, pairs[sel])
    out = [np.zeros((0, 6), np.int64)]
    for (i, j), (_, pij) in table.items():
        for k in range(j + 1, m):
            if (i, k) not in table or (j, k) not in table or not len(freq[k]):
                continue
            q = freq[k]
            ok = table[i, k][0][pij[:, 1][:, None], q[None, :]] & \
                table[j, k][0][pij[:, 3][:, None], q[None, :]]
            r, c = np.nonzero(ok)
            if len(r):
                out.append(np.column_stack([pij[r], np.full(len(r), k), q[c]]))
    return np.concatenate(out).astype(np.int64)
