"""``DriftMonitor``: has the data changed since the reference, in which columns, and where?

``fit(reference)`` sketches every monitored column once (:mod:`dawn.monitor.sketch`);
``check(current)`` sketches the current data on the reference's edges / vocabulary and
decides drift per column by **effect size**, with a p-value only as a guard against
noise in small samples:

- numeric columns: the Wasserstein-1 distance between the two binned distributions
  (each slot of the sketch as a point mass at its mean, so shifts, variance changes and
  spikes all count) divided by the reference's standard deviation (by
  ``max(|mean|, 1)`` when the reference is constant). Default threshold **0.1**: for a
  pure mean shift the effect size is the shift in reference standard deviations, so the
  line is at a 0.1σ shift — a 0.2σ shift (effect 0.2) is drift at any sample size from
  about a thousand rows on each side, a 0.02σ shift (0.02) never is; variance × 1.5
  gives about 0.18, 3% of values moved by 8σ about 0.24. The guard is the smallest of
  three p-values (Kolmogorov–Smirnov on the binned CDFs, Welch's test of the means, a
  kurtosis-adjusted test of the log variance ratio), Bonferroni-adjusted (× 3).
- categorical columns: the Jensen–Shannon distance (base 2) between the category
  shares, values outside the reference's vocabulary pooled as one ``other`` category and
  categories too rare to compare (expected count below 5 on either side) pooled with it.
  Default threshold **0.1**; the guard is the chi-square test of the same table. The
  details name new categories (in current, not in the reference's vocabulary, at least
  5 rows) with their share, and vanished ones (expected at least 5 rows, none seen).
- every column: the missing-value rate (nulls, NaN, ±inf); a change of at least **0.05**
  (absolute) with a two-proportion test ``p < alpha`` is drift of that column (its row
  then reports ``test="missing_rate"``). Columns entirely missing in the reference are
  checked for this only.

A column drifts when its effect size reaches its threshold **and** ``p_value < alpha``.

Columns are sketched one at a time (a pandas DataFrame's numeric columns are read as numpy
views, not converted), side by side on threads for large tables.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(["a", "b"], 5000)})
>>> cur = pd.DataFrame({"x": rng.normal(0.5, 1, 5000), "c": rng.choice(["a", "b"], 5000)})
>>> report = DriftMonitor(explain=False).fit(ref).check(cur)
>>> report.drifted_columns
['x']
>>> report.to_pandas()[["column", "test", "drifted"]].to_dict("records")
[{'column': 'x', 'test': 'wasserstein', 'drifted': True}, \
{'column': 'c', 'test': 'jensen_shannon', 'drifted': False}]
"""

from __future__ import annotations

import copy
import io
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dawn.data.frame import as_frame
from dawn.errors import (
    ColumnNotFoundError,
    ConfigError,
    DataError,
    DawnWarning,
    EmptyDataError,
    NotFittedError,
    SchemaError,
    close_matches,
)
from dawn.monitor.report import DriftReport
from dawn.monitor.sketch import (
    CategoricalSketch,
    NumericSketch,
    categorical_sketch,
    family,
    numeric_sketch,
)

__all__ = ["DEFAULT_THRESHOLDS", "MISSING_RATE_THRESHOLD", "SEGMENT_ATTRIBUTES", "DriftMonitor",
           "compare"]

DEFAULT_THRESHOLDS = {"numeric": 0.1, "categorical": 0.1}
MISSING_RATE_THRESHOLD = 0.05
SEGMENT_ATTRIBUTES = 8  # columns the segments of a drift are made of (at most)
_PARALLEL_CELLS = 1_000_000  # rows × columns from which columns are sketched on threads
_MIN_EXPECTED = 5.0
_FORMAT = "dawn-drift-monitor"


class DriftMonitor:
    """Detect drift between a reference table and current data, column by column.

    Parameters
    ----------
    columns : columns to monitor (default: every numeric, text, boolean and dictionary
        column; date/time and nested columns are skipped unless named here)
    categorical : columns to treat as categorical although they are numbers
    threshold : effect size at which a column drifts — a float for every column, or
        ``{column: float}`` (others keep the defaults, :data:`DEFAULT_THRESHOLDS`)
    alpha : significance level of the p-value guard
    sample_size : rows kept on each side (seeded) to explain drift by segments; 20,000 a
        side are enough for a segment of 5% of the current rows with a risk ratio of 1.25
        (the explanation's thresholds) to be significant, and keep its cost fixed however
        large the data
    explain : when drift is found, find the segments it is concentrated in with
        :func:`dawn.explain.explain` on the kept reference rows against current rows
        (numbers binned at the reference's quintiles; pairs of values at most); see
        ``report.segments``. The segments are made of at most
        :data:`SEGMENT_ATTRIBUTES` columns: the drifted ones (strongest first), then the
        quiet categorical ones, then the quiet numeric ones with the largest effect sizes
    project, model : a :class:`dawn.store.Project` (or its path) and a model name
        (default ``"data"``); every check is then recorded in the project's history as
        ``effect.<column>`` and ``drift_share`` points with ``report.summary()``, and a
        ``"drift"`` event goes to ``actions`` (:class:`dawn.act.Action` list) when
        something drifted, in the same transaction
        (:func:`dawn.monitor.alerts.record_check`)
    seed : fixes the samples (edges and segment rows)

    Attributes
    ----------
    columns_ : list of monitored columns; kinds_ : column → ``"numeric"``,
    ``"categorical"`` or ``"missing"`` (entirely missing in the reference);
    thresholds_ : column → threshold; skipped_ : columns left out by default;
    n_reference_ : reference rows; sketches_ : column → reference sketch.
    """

    def __init__(self, columns: Sequence[str] | None = None, *,
                 categorical: Sequence[str] | None = None,
                 threshold: float | Mapping[str, float] | None = None, alpha: float = 0.01,
                 sample_size: int = 20_000, explain: bool = True, project: Any = None,
                 model: str | None = None, actions: Any = (), seed: int = 0) -> None:
        self.columns = columns
        self.categorical = categorical
        self.threshold = threshold
        self.alpha = alpha
        self.sample_size = sample_size
        self.explain = explain
        self.project = project
        self.actions = actions
        self.model = model
        self.seed = seed

    # -- fitting ------------------------------------------------------------------
    def fit(self, reference: Any) -> DriftMonitor:
        """Sketch ``reference`` (any table :func:`dawn.data.as_frame` reads); return self."""
        self._validate_params()
        frame = _Columns(reference)
        if len(frame) == 0:
            raise EmptyDataError("the reference table has no rows; fit the monitor on data "
                                 "with rows.")
        explicit = self.columns is not None
        names = _names(self.columns, "columns") if explicit else list(frame.columns)
        forced = _names(self.categorical, "categorical") if self.categorical is not None else []
        frame.require(*names, purpose="drift monitoring")
        for c in forced:
            if c not in names:
                raise ColumnNotFoundError(
                    f"categorical= names {c!r}, which is not a monitored column; monitored "
                    f"columns are {names}.{close_matches(c, names)}")
        kinds: dict[str, str] = {}
        skipped: list[str] = []
        for name in names:
            kind = _kind(frame.arrow(name).type, name, name in forced, explicit)
            if kind is None:
                skipped.append(name)
            else:
                kinds[name] = kind
        sketched = _map_columns(
            lambda name, parallel: _reference_sketch(frame.arrow(name), kinds[name], name,
                                                     self.seed, parallel),
            list(kinds), len(frame))
        sketches: dict[str, Any] = {}
        for name, sk in zip(list(kinds), sketched, strict=True):
            arr, kind = frame.arrow(name), kinds[name]
            if kind != "missing" and sk.n_values == 0:
                kind, sk = "missing", _missing_sketch(arr)
            if kind == "missing" and explicit:
                raise DataError(f"column {name!r} is entirely missing (null/NaN) in the "
                                "reference, so its distribution cannot be monitored; fill it, "
                                "or drop it from columns= (with columns=None such a column is "
                                "checked for its missing-value rate only).")
            kinds[name], sketches[name] = kind, sk
        if not kinds:
            raise ConfigError(f"no column to monitor: {skipped} are date/time or nested "
                              "columns; name the columns to monitor with columns=.")
        self.columns_ = list(kinds)
        self.kinds_ = kinds
        self.sketches_ = sketches
        self.skipped_ = skipped
        self.n_reference_ = len(frame)
        self.thresholds_ = self._thresholds()
        self._rng = np.random.default_rng(self.seed)
        self.reference_rows_ = (frame.sample(self.columns_, self.sample_size, self._rng)
                                if self.explain else None)
        self._reset_window()
        return self

    def _validate_params(self) -> None:
        t = self.threshold
        if t is not None and not isinstance(t, Mapping):
            _positive(t, "threshold")
        elif isinstance(t, Mapping):
            for k, v in t.items():
                _positive(v, f"threshold[{k!r}]")
        if not (isinstance(self.alpha, (int, float)) and not isinstance(self.alpha, bool)
                and 0 < self.alpha < 1):
            raise ConfigError(f"alpha={self.alpha!r} must be a number between 0 and 1 (the "
                              "significance level of the p-value guard), e.g. 0.01.")
        if (not isinstance(self.sample_size, (int, np.integer)) or isinstance(self.sample_size,
                                                                              bool)
                or self.sample_size < 1):
            raise ConfigError(f"sample_size={self.sample_size!r} must be a positive integer "
                              "(rows kept per side to explain drift).")
        if self.model is not None and (not isinstance(self.model, str) or not self.model):
            raise ConfigError(f"model={self.model!r} must be a non-empty name.")

    def _thresholds(self) -> dict[str, float]:
        t = self.threshold
        out = {}
        for c, kind in self.kinds_.items():
            out[c] = (MISSING_RATE_THRESHOLD if kind == "missing" else
                      float(t) if t is not None and not isinstance(t, Mapping) else
                      DEFAULT_THRESHOLDS[kind])
        if isinstance(t, Mapping):
            for k, v in t.items():
                if k not in out:
                    raise ConfigError(f"threshold names column {k!r}, which is not monitored; "
                                      f"monitored columns are {self.columns_}."
                                      f"{close_matches(str(k), self.columns_)}")
                out[k] = float(v)
        return out

    # -- checking -----------------------------------------------------------------
    def update(self, batch: Any) -> DriftMonitor:
        """Add ``batch`` to the current window (merged sketches); return self."""
        self._check_fitted("update")
        frame = _Columns(batch)
        if len(frame) == 0:
            return self
        sketches = self._sketch(frame)
        w = self._window
        w["sketches"] = sketches if w["sketches"] is None else {
            c: w["sketches"][c].merge(sketches[c]) for c in self.columns_}
        if self.explain:
            rows = frame.sample(self.columns_, self.sample_size, self._rng)
            w["rows"] = rows if w["rows"] is None else _merge_samples(
                w["rows"], w["n"], rows, len(frame), self.sample_size, self._rng)
        w["n"] += len(frame)
        return self

    def check(self, current: Any = None) -> DriftReport:
        """Compare ``current`` (or, when ``None``, the window fed by :meth:`update`, which
        is then reset) with the reference; return a :class:`DriftReport`."""
        self._check_fitted("check")
        if current is None:
            w = self._window
            if w["sketches"] is None:
                raise EmptyDataError("nothing to check: no rows were fed to update() since the "
                                     "last check; pass check(current) or call update(batch) "
                                     "first.")
            sketches, rows, frame = w["sketches"], w["rows"], None
            self._reset_window()
        else:
            frame = _Columns(current)
            if len(frame) == 0:
                raise EmptyDataError("the current table has no rows; pass data with rows to "
                                     "check.")
            sketches, rows = self._sketch(frame), None
        result = [compare(self.sketches_[c], sketches[c], kind=self.kinds_[c],
                          threshold=self.thresholds_[c], alpha=self.alpha, column=c)
                  for c in self.columns_]
        report = DriftReport(result, {c: (self.sketches_[c], sketches[c]) for c in self.columns_})
        if report.drifted and self.explain:
            attrs = _segment_attributes(result, self.kinds_)
            if frame is not None:  # current rows are sampled only when there is drift
                rows = frame.sample(attrs, self.sample_size, self._rng)
            if rows is not None:
                report.segments = self._segments(attrs, rows)
        if self.project is not None:
            self._record(report)
        return report

    def _sketch(self, frame: _Columns) -> dict[str, Any]:
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise ColumnNotFoundError(
                f"monitored column {missing[0]!r} is not in the current data (missing: "
                f"{missing}); its columns are {frame.columns}."
                f"{close_matches(missing[0], frame.columns)} Pass data with the reference's "
                "columns, or refit the monitor with columns= naming those to watch.")

        def one(c: str, parallel: bool) -> Any:
            arr, kind, ref = frame.arrow(c), self.kinds_[c], self.sketches_[c]
            if kind == "numeric":
                return numeric_sketch(_numeric_values(arr, c), like=ref, parallel=parallel)
            if kind == "categorical":
                return categorical_sketch(arr, like=ref, name=c)
            return _missing_sketch(arr)

        return dict(zip(self.columns_, _map_columns(one, self.columns_, len(frame)),
                        strict=True))

    def _segments(self, attrs: list[str], rows: pa.Table):
        from dawn.explain import explain

        ref = self.reference_rows_
        attrs = [c for c in attrs if ref is not None and c in ref.column_names]
        if not attrs:
            return None
        try:
            table = pa.concat_tables([ref.select(attrs), rows.select(attrs)],
                                     promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            warnings.warn(f"segments of the drift could not be found: reference and current "
                          f"columns have incompatible types ({exc}).", DawnWarning, stacklevel=3)
            return None
        # numbers binned at the reference's quintiles (from its sketch: no sorting here)
        table = pa.table({c: _quintiles(table.column(c).combine_chunks(), self.sketches_[c], c)
                          if self.kinds_[c] == "numeric" else table.column(c)
                          for c in table.column_names})
        mask = np.zeros(table.num_rows, bool)
        mask[ref.num_rows:] = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DawnWarning)
            return explain(table, outlier=mask, attributes=attrs, min_support=0.05,
                           min_risk_ratio=1.25, max_order=2)

    def _record(self, report: DriftReport) -> None:
        from dawn.monitor.alerts import record_check
        from dawn.store import Project

        project = self.project
        own = not isinstance(project, Project)
        if own:
            if not isinstance(project, (str, Path)):
                raise ConfigError(f"project= must be a dawn.store.Project or a folder path, "
                                  f"got {type(project).__name__}.")
            project = Project.open(project)
        try:
            record_check(project, report, model=self.model or "data", actions=self.actions)
        finally:
            if own:
                project.close()

    def _reset_window(self) -> None:
        self._window = {"sketches": None, "rows": None, "n": 0}

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "sketches_"):
            raise NotFittedError(f"this DriftMonitor is not fitted yet, so it cannot {what}; "
                                 "call .fit(reference) first (or load one with "
                                 "DriftMonitor.from_arrays).")

    def select(self, columns: Sequence[str]) -> DriftMonitor:
        """A copy of this fitted monitor that checks only ``columns`` (fitted ones).

        For data that lacks some reference columns on purpose — e.g. live traffic without
        the LF votes the reference was fitted with.
        """
        self._check_fitted("select columns")
        unknown = [c for c in columns if c not in self.kinds_]
        if unknown:
            raise ColumnNotFoundError(
                f"column {unknown[0]!r} is not monitored; the monitor's columns are "
                f"{self.columns_}.{close_matches(unknown[0], self.columns_)}")
        keep = [c for c in self.columns_ if c in set(columns)]
        mon = copy.copy(self)
        mon.columns_ = keep
        for name in ("kinds_", "sketches_", "thresholds_"):
            setattr(mon, name, {c: getattr(self, name)[c] for c in keep})
        if self.reference_rows_ is not None:
            mon.reference_rows_ = self.reference_rows_.select(keep)
        mon._reset_window()
        return mon

    # -- storage ------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)`` for :func:`dawn.store.save_artefact` (no pickle)."""
        self._check_fitted("be saved")
        arrays: dict[str, np.ndarray] = {}
        cat_meta: dict[str, Any] = {}
        for i, c in enumerate(self.columns_):
            sk = self.sketches_[c]
            if isinstance(sk, CategoricalSketch):
                a, m = sk.to_arrays(f"c{i}")
                arrays.update(a)
                cat_meta[str(i)] = m
            else:
                arrays.update(sk.to_arrays(f"c{i}"))
        if self.reference_rows_ is not None:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, self.reference_rows_.schema) as writer:
                writer.write_table(self.reference_rows_)
            arrays["reference_rows"] = np.frombuffer(sink.getvalue().to_pybytes(), np.uint8)
        t = self.threshold
        meta = {"format": _FORMAT, "version": 1,
                "params": {"columns": None if self.columns is None else list(self.columns),
                           "categorical": None if self.categorical is None else
                           list(self.categorical),
                           "threshold": dict(t) if isinstance(t, Mapping) else t,
                           "alpha": self.alpha, "sample_size": int(self.sample_size),
                           "explain": bool(self.explain), "model": self.model,
                           "seed": self.seed},
                "columns": self.columns_, "kinds": self.kinds_, "skipped": self.skipped_,
                "n_reference": self.n_reference_, "categorical_meta": cat_meta}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], *,
                    project: Any = None) -> DriftMonitor:
        """A fitted monitor from :meth:`to_arrays` output (``project=`` to record checks)."""
        if not isinstance(meta, Mapping) or meta.get("format") != _FORMAT:
            raise ConfigError("these arrays were not written by DriftMonitor.to_arrays (meta "
                              "format is missing); save the monitor with to_arrays().")
        mon = cls(**meta["params"], project=project)
        mon.columns_ = list(meta["columns"])
        mon.kinds_ = dict(meta["kinds"])
        mon.skipped_ = list(meta.get("skipped", []))
        mon.n_reference_ = int(meta["n_reference"])
        mon.sketches_ = {}
        arrays = dict(arrays)
        for i, c in enumerate(mon.columns_):
            if mon.kinds_[c] == "categorical":
                mon.sketches_[c] = CategoricalSketch.from_arrays(
                    arrays, meta["categorical_meta"][str(i)], f"c{i}")
            else:
                mon.sketches_[c] = NumericSketch.from_arrays(arrays, f"c{i}")
        mon.thresholds_ = mon._thresholds()
        mon._rng = np.random.default_rng(mon.seed)
        rows = arrays.get("reference_rows")
        mon.reference_rows_ = (pa.ipc.open_stream(io.BytesIO(np.asarray(rows, np.uint8)
                                                             .tobytes())).read_all()
                               if rows is not None else None)
        mon._reset_window()
        return mon

    def __repr__(self) -> str:
        fitted = f", {len(self.columns_)} columns" if hasattr(self, "columns_") else ""
        return f"DriftMonitor(threshold={self.threshold!r}, alpha={self.alpha}{fitted})"


# -- the decision --------------------------------------------------------------------------
def compare(ref: Any, cur: Any, *, kind: str, threshold: float, alpha: float,
            column: str = "column") -> dict[str, Any]:
    """One report row: ``ref`` vs ``cur`` sketches of one column (module docstring)."""
    miss = _compare_missing(ref, cur, alpha)
    base = {"column": column, "kind": kind, "n_reference": ref.n, "n_current": cur.n,
            "missing_reference": ref.missing_rate, "missing_current": cur.missing_rate}
    if kind == "missing":
        return {**base, **miss, "details": {}}
    main = (_compare_numeric(ref, cur, threshold, alpha) if kind == "numeric" else
            _compare_categorical(ref, cur, threshold, alpha))
    details = {**main.pop("details"), "missing_rate_change": miss["statistic"],
               "missing_rate_p": miss["p_value"]}
    row = miss if (miss["drifted"] and not main["drifted"]) else main
    return {**base, **row, "details": details}


def _compare_missing(ref: Any, cur: Any, alpha: float) -> dict[str, Any]:
    n1, n2 = ref.n, cur.n
    m1, m2 = ref.n_missing, cur.n_missing
    r1, r2 = m1 / n1, m2 / n2
    pooled = (m1 + m2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 1.0 if se == 0 else _two_sided(abs(r2 - r1) / se)
    diff = r2 - r1
    return {"test": "missing_rate", "statistic": diff, "effect_size": abs(diff),
            "threshold": MISSING_RATE_THRESHOLD, "p_value": p,
            "drifted": bool(abs(diff) >= MISSING_RATE_THRESHOLD - 1e-12 and p < alpha)}


def _compare_numeric(ref: NumericSketch, cur: NumericSketch, threshold: float,
                     alpha: float) -> dict[str, Any]:
    n1, n2 = ref.n_values, cur.n_values
    details: dict[str, Any] = {"mean_reference": ref.mean, "mean_current": cur.mean,
                               "std_reference": ref.std, "std_current": cur.std}
    if n1 == 0 or n2 == 0:
        return {"test": "wasserstein", "statistic": float("nan"), "effect_size": float("nan"),
                "threshold": threshold, "p_value": float("nan"), "drifted": False,
                "details": details}
    x1, w1 = ref.points()
    x2, w2 = cur.points()
    x = np.concatenate([x1, x2])
    w = np.concatenate([w1, -w2])
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order])[:-1]
    wasserstein = float(np.sum(np.abs(cum) * np.diff(x[order])))
    var1, mu4_1 = ref.central_moments()
    var2, mu4_2 = cur.central_moments()
    scale = math.sqrt(var1)
    if not scale > 1e-9 * max(1.0, abs(ref.mean)):
        scale = max(abs(ref.mean), 1.0)
    effect = wasserstein / scale
    # p-value guard: KS on binned CDFs, Welch on means, log variance ratio
    from scipy.special import kolmogorov

    d = float(np.max(np.abs(ref.cdf() - cur.cdf())))
    en = n1 * n2 / (n1 + n2)
    p_ks = float(kolmogorov((math.sqrt(en) + 0.12 + 0.11 / math.sqrt(en)) * d)) if d > 0 else 1.0
    se = math.sqrt(var1 / n1 + var2 / n2)
    dm = cur.mean - ref.mean
    p_mean = _two_sided(abs(dm) / se) if se > 0 else (1.0 if dm == 0 else 0.0)
    if var1 > 0 and var2 > 0:
        k1 = mu4_1 / var1 ** 2 if n1 > 3 else 3.0
        k2 = mu4_2 / var2 ** 2 if n2 > 3 else 3.0
        se_v = math.sqrt(max(k1 - 1, 0.1) / max(n1 - 1, 1) + max(k2 - 1, 0.1) / max(n2 - 1, 1))
        p_var = _two_sided(abs(math.log(var2 / var1)) / se_v)
    else:
        p_var = 1.0 if var1 == var2 else 0.0
    p = min(1.0, 3 * min(p_ks, p_mean, p_var))
    details.update({"ks_statistic": d, "p_ks": p_ks, "p_mean": p_mean, "p_variance": p_var})
    return {"test": "wasserstein", "statistic": wasserstein, "effect_size": effect,
            "threshold": threshold, "p_value": p,
            "drifted": bool(effect >= threshold and p < alpha), "details": details}


def _compare_categorical(ref: CategoricalSketch, cur: CategoricalSketch, threshold: float,
                         alpha: float) -> dict[str, Any]:
    r = np.append(ref.counts, ref.outside()).astype(np.float64)
    c = np.append(cur.counts, cur.outside()).astype(np.float64)
    n1, n2 = r.sum(), c.sum()
    details: dict[str, Any] = {}
    if n1 == 0 or n2 == 0:
        return {"test": "jensen_shannon", "statistic": float("nan"),
                "effect_size": float("nan"), "threshold": threshold, "p_value": float("nan"),
                "drifted": False, "details": details}
    tot = r + c
    small = np.minimum(tot * n1, tot * n2) / (n1 + n2) < _MIN_EXPECTED
    small[-1] = True  # "other" absorbs the rare categories
    r2 = np.append(r[~small], r[small].sum())
    c2 = np.append(c[~small], c[small].sum())
    p1, p2 = r2 / n1, c2 / n2
    m = (p1 + p2) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        js = 0.5 * (np.nansum(np.where(p1 > 0, p1 * np.log2(p1 / m), 0.0)) +
                    np.nansum(np.where(p2 > 0, p2 * np.log2(p2 / m), 0.0)))
    dist = float(math.sqrt(max(js, 0.0)))
    nz = (r2 + c2) > 0
    if nz.sum() >= 2:
        from scipy.special import chdtrc  # chi-square survival function

        t2 = r2[nz] + c2[nz]
        e1, e2 = t2 * n1 / (n1 + n2), t2 * n2 / (n1 + n2)
        stat = float(np.sum((r2[nz] - e1) ** 2 / e1 + (c2[nz] - e2) ** 2 / e2))
        p = float(chdtrc(nz.sum() - 1, stat))
    else:
        p = 1.0
    n_cur = max(cur.n_values, 1)
    new = {v: k / n_cur for v, k in cur.extra.items() if k >= _MIN_EXPECTED}
    details["new_categories"] = dict(sorted(new.items(), key=lambda kv: -kv[1])[:20])
    share_r = ref.counts / max(n1, 1)
    gone = np.flatnonzero((cur.counts == 0) & (share_r * n2 >= _MIN_EXPECTED))
    gone = gone[np.argsort(-share_r[gone], kind="stable")][:20]
    details["vanished_categories"] = [ref.values[i] for i in gone]
    details["p_chi2"] = p
    return {"test": "jensen_shannon", "statistic": dist, "effect_size": dist,
            "threshold": threshold, "p_value": p,
            "drifted": bool(dist >= threshold and p < alpha), "details": details}


def _two_sided(z: float) -> float:
    return float(math.erfc(z / math.sqrt(2.0)))


# -- helpers -------------------------------------------------------------------------------
def _names(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    try:
        names = list(value)
    except TypeError:
        raise ConfigError(f"{what}= must be a list of column names, got {value!r}.") from None
    if not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{what}= must hold column names (text), got {names!r}.")
    if not names and what == "columns":
        raise ConfigError("columns= is empty; name at least one column (or pass None for all).")
    if len(set(names)) != len(names):
        raise ConfigError(f"{what}= names a column twice: {names}.")
    return names


def _positive(value: Any, what: str) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer))
            or not math.isfinite(float(value)) or float(value) <= 0):
        raise ConfigError(f"{what}={value!r} must be a positive number (an effect size: "
                          "normalised Wasserstein for numbers, Jensen–Shannon distance for "
                          "categories), e.g. 0.1; or a dict {column: number}.")


def _kind(t: pa.DataType, name: str, forced: bool, explicit: bool) -> str | None:
    fam = family(t)
    if fam == "null":
        return "missing"
    if forced or fam in ("text", "bool") or pa.types.is_dictionary(t):
        return "categorical"
    if fam in ("integer", "float"):
        return "numeric"
    if explicit and fam == "temporal":
        return "numeric"
    if explicit:
        raise SchemaError(f"column {name!r} has type {t}, which drift monitoring cannot "
                          "read; monitor numbers, text, booleans or dates, or drop it from "
                          "columns=.")
    return None


def _numeric_values(arr: pa.Array, name: str) -> np.ndarray:
    t = arr.type
    fam = family(t)
    if fam == "temporal":
        arr = arr.cast(pa.int64() if not pa.types.is_date32(t) else pa.int32())
    elif fam == "null":
        return np.full(len(arr), np.nan)
    elif fam not in ("integer", "float", "bool"):
        raise SchemaError(f"column {name!r} was numeric in the reference but holds {t} values "
                          "now; convert it back to numbers (e.g. pandas.to_numeric) or refit "
                          "the monitor on the new data.")
    if pa.types.is_floating(arr.type) and arr.type == pa.float64() and not arr.null_count:
        return arr.to_numpy(zero_copy_only=False)
    return arr.cast(pa.float64()).to_numpy(zero_copy_only=False)


def _quintiles(arr: pa.Array, sketch: NumericSketch, name: str) -> pa.Array:
    """Values as labelled intervals between the reference's quintiles (nulls stay null)."""
    e = sketch.edges
    cuts = np.unique(e[np.round(np.linspace(0, len(e) - 1, 6)[1:-1]).astype(np.int64)])
    labels = [f"< {_short(cuts[0])}"]
    labels += [f"[{_short(a)}, {_short(b)})" for a, b in pairwise(cuts)]
    labels.append(f">= {_short(cuts[-1])}")
    x = _numeric_values(arr, name)
    codes = np.searchsorted(cuts, x, side="right").astype(np.int8)
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=~np.isfinite(x)),
                                          pa.array(labels, pa.string()))


def _short(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.4g}"


def _reference_sketch(arr: pa.Array, kind: str, name: str, seed: int,
                      parallel: bool = True) -> Any:
    if kind == "numeric":
        return numeric_sketch(_numeric_values(arr, name), seed=seed, parallel=parallel)
    if kind == "categorical":
        return categorical_sketch(arr, name=name)
    return _missing_sketch(arr)


def _missing_sketch(arr: pa.Array) -> NumericSketch:
    """Only the row and missing counts (for columns checked for their missing rate)."""
    n_missing = arr.null_count
    if pa.types.is_floating(arr.type):
        n_missing += int(pc.sum(pc.fill_null(pc.invert(pc.is_finite(arr)), False)).as_py()
                         or 0)
    return NumericSketch(np.zeros(0), 0.0, np.array([len(arr) - n_missing], np.int64),
                         np.zeros(1), int(n_missing), np.zeros(4), float("inf"), float("-inf"))


def _sample_index(n: int, k: int, rng: np.random.Generator) -> np.ndarray | None:
    """Sorted positions of ``k`` of ``n`` rows drawn without replacement (None: all)."""
    if n <= k:
        return None
    return np.sort(rng.choice(n, size=k, replace=False))


def _segment_attributes(rows: list[dict[str, Any]], kinds: Mapping[str, str]) -> list[str]:
    """The columns to explain a drift with, at most :data:`SEGMENT_ATTRIBUTES`: the drifted
    ones (strongest effect first), then the quiet categorical ones (segments are mostly
    made of categories: a device, a country, a version), then the quiet numeric ones with
    the largest effect sizes."""
    def strength(r: dict[str, Any]) -> float:
        e = r["effect_size"] / r["threshold"]
        return -e if e == e else 0.0  # NaN last

    drifted = sorted((r for r in rows if r["drifted"]), key=strength)
    quiet = [r for r in rows if not r["drifted"] and kinds[r["column"]] != "missing"]
    cats = sorted((r for r in quiet if kinds[r["column"]] == "categorical"), key=strength)
    nums = sorted((r for r in quiet if kinds[r["column"]] == "numeric"), key=strength)
    return [r["column"] for r in [*drifted, *cats, *nums]][:SEGMENT_ATTRIBUTES]


def _map_columns(fn: Any, names: list[str], n_rows: int) -> list[Any]:
    """``[fn(name, parallel) for name in names]``, on threads for large tables.

    The numba kernel (with ``parallel=False``) and Arrow's compute functions release the
    GIL, so columns run side by side, one per core; a lone large column uses numba's
    threads inside its kernel instead (``parallel=True``). Results are the same either way.
    """
    threads = 1
    if len(names) > 1 and n_rows * len(names) >= _PARALLEL_CELLS:
        threads = min(len(names), len(os.sched_getaffinity(0))
                      if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
        if threads > 1:
            import numba

            threads = min(threads, numba.get_num_threads())
    if threads <= 1:
        return [fn(name, True) for name in names]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda name: fn(name, False), names))


class _Columns:
    """The input table, its columns converted one at a time as the monitor asks for them.

    A pandas DataFrame's numeric columns are read as zero-copy numpy → Arrow views (NaN
    stays NaN: the sketches count it as missing) and its other columns through
    ``pyarrow.array``, so no column is converted that is not monitored; everything else
    goes through :func:`dawn.data.as_frame`.
    """

    def __init__(self, obj: Any) -> None:
        self._df = None
        if _plain_pandas(obj):
            self._df = obj
            self.columns = list(obj.columns)
            self._n = len(obj)
        else:
            self._frame = as_frame(obj)
            self.columns = self._frame.columns
            self._n = len(self._frame)
        self._cache: dict[str, pa.Array] = {}

    def __len__(self) -> int:
        return self._n

    def require(self, *names: str, purpose: str = "") -> None:
        """Raise :class:`ColumnNotFoundError` unless every name is a column."""
        for name in names:
            if name not in self.columns:
                why = f" (needed by {purpose})" if purpose else ""
                raise ColumnNotFoundError(f"column {name!r}{why} is not in the data; columns "
                                          f"are {self.columns}."
                                          f"{close_matches(name, self.columns)}")

    def arrow(self, name: str) -> pa.Array:
        """Column ``name`` as one Arrow array."""
        arr = self._cache.get(name)
        if arr is None:
            arr = self._frame.arrow(name) if self._df is None else _pandas_column(self._df,
                                                                                  name)
            self._cache[name] = arr
        return arr

    def sample(self, names: list[str], k: int, rng: np.random.Generator) -> pa.Table:
        """``k`` rows drawn without replacement (in table order) of columns ``names``."""
        idx = _sample_index(self._n, k, rng)
        take = None if idx is None else pa.array(idx, pa.int64())
        return pa.table({c: self.arrow(c) if take is None else self.arrow(c).take(take)
                         for c in names})


def _plain_pandas(obj: Any) -> bool:
    """A pandas DataFrame with unique text column names (others go through as_frame)."""
    if type(obj).__module__.split(".")[0] != "pandas":
        return False
    import pandas as pd

    return (isinstance(obj, pd.DataFrame) and all(isinstance(c, str) for c in obj.columns)
            and not obj.columns.duplicated().any())


def _pandas_column(df: Any, name: str) -> pa.Array:
    col = df[name]
    dtype = col.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        return pa.array(col.to_numpy())  # zero-copy for numbers; NaN stays NaN
    try:
        arr = pa.array(col, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arr = pa.Table.from_pandas(df[[name]], preserve_index=False).column(0)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr


def _merge_samples(a: pa.Table, na: int, b: pa.Table, nb: int, k: int,
                   rng: np.random.Generator) -> pa.Table:
    """A uniform sample of ``k`` rows of two batches from uniform samples of each."""
    size = min(k, na + nb)
    from_a = int(rng.hypergeometric(na, nb, size)) if na and nb else (size if na else 0)
    pa_idx = np.sort(rng.choice(a.num_rows, size=from_a, replace=False))
    pb_idx = np.sort(rng.choice(b.num_rows, size=size - from_a, replace=False))
    return pa.concat_tables([a.take(pa.array(pa_idx, pa.int64())),
                             b.take(pa.array(pb_idx, pa.int64()))], promote_options="permissive")
