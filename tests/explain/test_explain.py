"""explain(): planted segments are recovered exactly; inputs are checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from dawn.errors import ColumnNotFoundError, ConfigError, DawnWarning, EmptyDataError, SchemaError
from dawn.explain import explain
from dawn.explain.scoring import COLUMNS


def planted(n, m, k, segments, seed, base=0.01, rate=0.4):
    """n rows, m uniform attributes of k values; rows in any segment are outliers with
    probability ``rate``, the others with ``base``."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"a{j}": rng.integers(0, k, n).astype(str) for j in range(m)})
    inside = np.zeros(n, bool)
    for seg in segments:
        hit = np.ones(n, bool)
        for col, val in seg.items():
            hit &= df[col].to_numpy() == val
        inside |= hit
    df["outlier"] = rng.random(n) < np.where(inside, rate, base)
    return df


CASES = [  # (n, m, k, segments)
    (20_000, 4, 5, [{"a0": "1"}]),
    (20_000, 5, 5, [{"a0": "1", "a1": "2"}]),
    (40_000, 6, 5, [{"a0": "1", "a1": "2", "a2": "3"}]),
    (40_000, 6, 4, [{"a0": "1", "a1": "2"}, {"a3": "0"}]),
    (60_000, 8, 6, [{"a1": "1", "a4": "2", "a5": "0"}, {"a2": "3", "a6": "1"}]),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_planted_segments_are_recovered_exactly(case, seed):
    n, m, k, segments = CASES[case]
    df = planted(n, m, k, segments, seed)
    res = explain(df, outlier="outlier")
    assert list(res.columns) == COLUMNS
    assert sorted(map(str, res["items"])) == sorted(map(str, segments))
    assert (res.risk_ratio >= 3).all() and (res.p_value <= 0.05).all()
    assert (res.ci_low <= res.risk_ratio).all() and (res.risk_ratio <= res.ci_high).all()


def test_no_segment_planted_reports_nothing():
    for seed in range(3):
        df = planted(30_000, 6, 5, [], seed, base=0.05)
        assert explain(df, outlier="outlier").empty


def test_max_order_limits_combinations():
    df = planted(20_000, 5, 5, [{"a0": "1", "a1": "2"}], 0)
    res = explain(df, outlier="outlier", max_order=1)
    assert all(len(d) == 1 for d in res["items"])


def test_outlier_as_mask_predicate_and_model_errors():
    df = planted(20_000, 4, 5, [{"a2": "3"}], 0)
    mask = df.pop("outlier").to_numpy()
    want = [{"a2": "3"}]
    assert explain(df, outlier=mask)["items"].tolist() == want
    assert explain(df, outlier=pd.Series(mask))["items"].tolist() == want
    labels = np.zeros(len(df), int)
    predictions = mask.astype(int)  # a model that errs exactly on the outliers
    assert explain(df, outlier=predictions != labels)["items"].tolist() == want
    df2 = df.assign(y=mask)
    res = explain(df2, outlier=lambda d: d.y, attributes=["a0", "a1", "a2", "a3"])
    assert res["items"].tolist() == want
    assert explain(pl.from_pandas(df2), outlier="y")["items"].tolist() == want


def test_counts_are_exact():
    df = planted(5_000, 3, 3, [{"a0": "1"}], 0)
    res = explain(df, outlier="outlier")
    row = res.iloc[0]
    sel = df.a0 == "1"
    assert row.outliers == int(df.outlier[sel].sum()) and row["count"] == int(sel.sum())
    assert row.support == pytest.approx(row.outliers / df.outlier.sum())


def test_numeric_attributes_are_binned_and_nans_are_missing():
    rng = np.random.default_rng(0)
    n = 10_000
    x = rng.uniform(0, 100, n)
    x[rng.random(n) < 0.1] = np.nan
    cat = np.where(rng.random(n) < 0.05, None, rng.choice(["a", "b"], n))
    out = rng.random(n) < np.where(x > 80, 0.5, 0.01)
    res = explain(pd.DataFrame({"x": x, "c": cat, "o": out}), outlier="o", bins=5)
    assert len(res) == 1 and list(res["items"][0]) == ["x"]
    assert res["items"][0]["x"].startswith("[80") and res["items"][0]["x"].endswith(", 100]")
    nan_out = rng.random(n) < np.where(np.isnan(x), 0.5, 0.01)
    res = explain(pd.DataFrame({"x": x, "c": cat}), outlier=nan_out)
    assert res["items"].tolist() == [{"x": "missing"}]


def test_metric_chains_classifier_and_explain():
    rng = np.random.default_rng(0)
    n = 10_000
    df = pd.DataFrame({"host": rng.choice(["h1", "h2", "h3", "h4"], n),
                       "version": rng.choice(["v1", "v2"], n)})
    latency = rng.normal(100, 10, n)
    bad = (df.host == "h3") & (df.version == "v2")
    latency[bad.to_numpy()] += 200 * (rng.random(bad.sum()) < 0.5)
    df["latency"] = latency
    res = explain(df, metric="latency")
    assert res["items"].tolist() == [{"host": "h3", "version": "v2"}]
    res = explain(df, metric="latency", classifier="percentile")
    assert {"host": "h3", "version": "v2"} in res["items"].tolist()


def test_target_explains_a_higher_mean():
    rng = np.random.default_rng(0)
    n = 10_000
    df = pd.DataFrame({"host": rng.choice(["h1", "h2", "h3"], n),
                       "os": rng.choice(["x", "y"], n)})
    y = rng.normal(100, 10, n)
    y[(df.host == "h2").to_numpy()] += 5
    df["ms"] = y
    res = explain(df, target="ms")
    assert res["items"].tolist() == [{"host": "h2"}]
    assert res.mean_shift[0] == pytest.approx(5, abs=1)


@pytest.mark.parametrize("mask, why", [(np.zeros(100, bool), "no row"),
                                       (np.ones(100, bool), "every row")])
def test_no_or_all_outliers_warn_and_return_empty(mask, why):
    df = pd.DataFrame({"a": ["x", "y"] * 50})
    with pytest.warns(DawnWarning, match=why):
        res = explain(df, outlier=mask)
    assert res.empty and list(res.columns) == COLUMNS


def test_bad_inputs():
    df = pd.DataFrame({"country": ["fr", "de"] * 50, "label": ["spam", "ham"] * 50,
                       "flag": [True, False] * 50, "ms": np.arange(100.0)})
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'country'"):
        explain(df, outlier="flag", attributes=["contry"])
    with pytest.raises(ColumnNotFoundError, match="flg"):
        explain(df, outlier="flg")
    with pytest.raises(SchemaError, match=r"boolean column.*df\['label'\] == 'spam'"):
        explain(df, outlier="label")
    with pytest.raises(SchemaError, match="booleans are needed"):
        explain(df, outlier=np.arange(100))
    with pytest.raises(SchemaError, match=r"one value per row \(100\)"):
        explain(df, outlier=np.ones(5, bool))
    with pytest.raises(SchemaError, match="missing values"):
        explain(df, outlier=pd.Series([True, None] * 50, dtype="boolean"))
    with pytest.raises(ConfigError, match="only one of outlier=, metric="):
        explain(df, outlier="flag", metric="ms")
    with pytest.raises(ConfigError, match="say what to explain"):
        explain(df)
    with pytest.raises(ConfigError, match="max_order=4"):
        explain(df, outlier="flag", max_order=4)
    with pytest.raises(ConfigError, match="min_support=0"):
        explain(df, outlier="flag", min_support=0)
    with pytest.raises(ConfigError, match="cannot also be an attribute"):
        explain(df, outlier="flag", attributes=["flag"])
    with pytest.raises(SchemaError, match="numeric"):
        explain(df, metric="country")
    with pytest.raises(ConfigError, match="unknown classifier"):
        explain(df, metric="ms", classifier="zscore")
    with pytest.raises(EmptyDataError, match="no rows"):
        explain(df.iloc[:0], outlier="flag")
