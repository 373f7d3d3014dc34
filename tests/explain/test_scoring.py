"""Scoring: ratios, intervals, adjusted p-values and minimality."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import fisher_exact

from dawn.errors import ConfigError, SchemaError
from dawn.explain.scoring import COLUMNS, columns_for, score_itemsets

A, B, F = ("a", "1"), ("b", "1"), ("f", "1")


def test_risk_ratio_interval_and_bonferroni_fisher_p_value():
    # 40 of 100 segment rows are outliers; 10 of the other 900
    res = score_itemsets([(A,), (B,)], [40, 10], [100, 500], 50, 1000, min_risk_ratio=1)
    row = res.iloc[0]
    assert row["items"] == {"a": "1"} and row.outliers == 40 and row["count"] == 100
    assert row.support == pytest.approx(0.8)
    assert row.risk_ratio == pytest.approx(0.4 / (10 / 900))
    se = np.sqrt(1 / 40 - 1 / 100 + 1 / 10 - 1 / 900)
    assert row.ci_low == pytest.approx(row.risk_ratio * np.exp(-1.959964 * se), rel=1e-5)
    assert row.ci_high == pytest.approx(row.risk_ratio * np.exp(1.959964 * se), rel=1e-5)
    p = fisher_exact([[40, 60], [10, 890]], alternative="greater").pvalue
    assert row.p_value == pytest.approx(min(1.0, 2 * p))  # two itemsets tested
    assert list(res.columns) == COLUMNS
    assert len(res) == 1  # b: 10 of 500 rows is below the other rows' rate


def test_zero_cell_gives_finite_corrected_ratio():
    res = score_itemsets([(A,)], [50], [100], 50, 1000)
    assert np.isfinite(res.risk_ratio[0]) and res.risk_ratio[0] > 100
    assert res.ci_low[0] < res.risk_ratio[0] < res.ci_high[0]


def test_superset_that_adds_nothing_is_not_reported():
    # a explains everything; a∧f has the same outlier rate as a∧¬f
    items = [(A,), (F,), (A, F)]
    res = score_itemsets(items, [60, 30, 30], [100, 500, 50], 60, 1000)
    assert res["items"].tolist() == [{"a": "1"}]


def test_subset_explained_away_by_its_superset_is_dropped():
    # all of a's outliers are in a∧b; a∧¬b is like the background
    items = [(A,), (B,), (A, B)]
    res = score_itemsets(items, [60, 62, 58], [200, 300, 60], 70, 2000)
    assert res["items"].tolist() == [{"a": "1", "b": "1"}]


def test_subset_with_its_own_excess_is_kept_beside_the_superset():
    items = [(A,), (B,), (A, B)]
    # a∧b: 50/50; a∧¬b: 100/250 (still far above the 20/1700 elsewhere)
    res = score_itemsets(items, [150, 55, 50], [300, 400, 50], 170, 2000)
    assert {frozenset(d.items()) for d in res["items"]} == {
        frozenset({A}), frozenset({A, B})}


def test_thresholds_filter():
    items = [(A,)]
    assert score_itemsets(items, [40], [100], 50, 1000, min_support=0.9).empty
    assert score_itemsets(items, [40], [100], 50, 1000, min_risk_ratio=100).empty
    assert len(score_itemsets(items, [40], [100], 50, 1000, alpha=0.05)) == 1


def test_decayed_float_counts_work():
    res = score_itemsets([(A,)], [40.5], [100.25], 50.5, 1000.75)
    assert len(res) == 1 and res.outliers.dtype == float


def test_prevalence_ratio():
    res = score_itemsets([(A,)], [40], [100], 50, 1000, metric="prevalence_ratio")
    assert list(res.columns) == columns_for("prevalence_ratio")
    assert res.prevalence_ratio[0] == pytest.approx((40 / 50) / (60 / 950))


def test_mean_shift():
    rng = np.random.default_rng(0)
    y = rng.normal(size=1000)
    seg = np.arange(1000) < 100
    y[seg] += 2.0
    other = (np.arange(1000) % 2 == 0)
    sums = [y[seg].sum(), y[other].sum()]
    sqs = [(y[seg] ** 2).sum(), (y[other] ** 2).sum()]
    res = score_itemsets([(A,), (B,)], None, [100, 500], None, 1000, metric="mean_shift",
                         moments=(sums, sqs, y.sum(), (y ** 2).sum()))
    assert list(res.columns) == columns_for("mean_shift")
    assert res["items"].tolist() == [{"a": "1"}]
    assert res.mean_shift[0] == pytest.approx(y[seg].mean() - y[~seg].mean())
    assert res.ci_low[0] < res.mean_shift[0] < res.ci_high[0]


@pytest.mark.parametrize("n_out", [0, 1000])
def test_no_or_all_outliers_give_an_empty_frame(n_out):
    res = score_itemsets([(A,)], [n_out / 10], [100], n_out, 1000)
    assert res.empty and list(res.columns) == COLUMNS


def test_bad_inputs():
    with pytest.raises(ConfigError, match="metric='lift'"):
        score_itemsets([(A,)], [1], [2], 3, 10, metric="lift")
    with pytest.raises(SchemaError, match="total_counts has 2 values for 1"):
        score_itemsets([(A,)], [1], [2, 3], 3, 10)
    with pytest.raises(ConfigError, match="moments"):
        score_itemsets([(A,)], None, [2], None, 10, metric="mean_shift")
    with pytest.raises(ConfigError, match="alpha=2"):
        score_itemsets([(A,)], [1], [2], 3, 10, alpha=2)
