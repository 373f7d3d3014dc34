"""Outlier classifiers: what they flag on known data, streaming updates, bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.errors import ConfigError, DataError, EmptyDataError, NotFittedError, SchemaError
from dawn.explain.classify import (
    MADClassifier,
    MCDClassifier,
    PercentileClassifier,
    make_classifier,
)


def _planted(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 2.0, n)
    idx = rng.choice(n, 10, replace=False)
    x[idx] = np.where(np.arange(10) % 2, 40.0, -25.0)
    return x, np.sort(idx)


# -- MAD ----------------------------------------------------------------------------------
def test_mad_flags_exactly_the_planted_outliers():
    x, idx = _planted()
    flagged = np.flatnonzero(MADClassifier(threshold=5.0).fit_predict(x))
    assert flagged.tolist() == idx.tolist()


def test_mad_is_robust_to_the_outliers_it_flags():
    x, _ = _planted()
    clf = MADClassifier().fit(x)
    assert clf.median_ == pytest.approx(10.0, abs=0.2)
    assert clf.scale_ == pytest.approx(2.0, rel=0.1)      # 1.4826·MAD ≈ the normal's sd


def test_mad_zero_falls_back_to_mean_absolute_deviation():
    clf = MADClassifier(threshold=3.0).fit([5.0] * 10 + [6.0])
    assert clf.mad_ == 0.0 and clf.scale_ > 0
    assert clf.predict([5.0, 6.0]).tolist() == [False, True]


def test_mad_all_equal_flags_any_other_value():
    clf = MADClassifier().fit([5.0] * 5)
    assert clf.scale_ == 0.0
    assert clf.predict([5.0, 5.1]).tolist() == [False, True]


def test_mad_score_is_the_robust_z_score():
    clf = MADClassifier().fit([1.0, 2.0, 3.0, 4.0, 5.0])
    assert clf.score([3.0, 3.0 + 1.4826 * 2]).tolist() == pytest.approx([0.0, 2.0])


# -- percentile ---------------------------------------------------------------------------
def test_percentile_is_exact_on_known_data():
    v = np.arange(1.0, 101.0)
    assert (np.flatnonzero(PercentileClassifier(high=0.95).fit_predict(v)) + 1).tolist() == \
        [96, 97, 98, 99, 100]
    both = PercentileClassifier(high=None, low=0.03).fit(v)
    assert (np.flatnonzero(both.predict(v)) + 1).tolist() == [1, 2, 3]
    assert both.high_ == np.inf


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"high": 99}, "0.99"),
    ({"high": None, "low": None}, "both are None"),
    ({"high": 0.5, "low": 0.9}, "must be below"),
    ({"high": 0.9, "decay": 0.0}, "decay"),
    ({"high": 0.9, "reservoir_size": 0}, "reservoir_size"),
])
def test_percentile_bad_parameters(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PercentileClassifier(**kwargs).fit([1.0, 2.0, 3.0])


# -- MCD ----------------------------------------------------------------------------------
def test_mcd_finds_outliers_across_the_correlation():
    rng = np.random.default_rng(0)
    X = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.95], [0.95, 1.0]], size=400)
    planted = np.array([[1.5, -1.5], [-1.5, 1.5], [2.0, -1.0], [-1.0, 2.0], [1.2, -1.8]])
    # each planted coordinate is unremarkable on its own
    assert (np.abs(planted) <= 2.0).all()
    Xp = np.vstack([X, planted])
    clf = MCDClassifier(seed=0).fit(Xp)
    flagged = clf.predict(Xp)
    assert flagged[-5:].all()
    assert flagged[:-5].mean() < 0.05                     # chi-square 0.975 cut-off
    assert clf.threshold_ == pytest.approx(7.3778, abs=1e-3)
    # per metric, MAD sees nothing unusual in the planted rows
    assert not MADClassifier().fit(Xp[:, 0]).predict(planted[:, 0]).any()


def test_mcd_same_seed_same_result():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    a = MCDClassifier(seed=3).fit(X)
    b = MCDClassifier(seed=3).fit(X)
    assert np.array_equal(a.location_, b.location_)
    assert np.array_equal(a.predict(X), b.predict(X))


def test_mcd_needs_more_rows_than_metrics():
    with pytest.raises(DataError, match="more rows than metrics"):
        MCDClassifier().fit([[1.0, 2.0], [3.0, 4.0]])


def test_mcd_checks_the_number_of_metrics():
    clf = MCDClassifier().fit(np.random.default_rng(0).normal(size=(100, 2)))
    with pytest.raises(SchemaError, match="fitted on 2 metrics"):
        clf.predict(np.zeros((3, 3)))


# -- missing values and bad inputs --------------------------------------------------------
@pytest.mark.parametrize("make", [MADClassifier, PercentileClassifier])
def test_nan_is_never_an_outlier_and_is_ignored_when_fitting(make):
    x, _ = _planted()
    with_nan = np.r_[x, np.nan, np.nan]
    a, b = make().fit(x), make().fit(with_nan)
    assert a.predict([np.nan, np.inf]).tolist() == [False, True]
    assert np.array_equal(a.predict(x), b.predict(x))


def test_mcd_nan_row_is_not_an_outlier():
    clf = MCDClassifier().fit(np.random.default_rng(0).normal(size=(200, 2)))
    assert clf.predict([[np.nan, 100.0], [100.0, 100.0]]).tolist() == [False, True]


@pytest.mark.parametrize("make", [MADClassifier, PercentileClassifier, MCDClassifier])
def test_not_fitted_error_says_what_to_call(make):
    with pytest.raises(NotFittedError, match=r"fit\(values\) or update\(batch\)"):
        make().predict([1.0, 2.0])


def test_all_nan_cannot_be_fitted():
    with pytest.raises(EmptyDataError, match="no finite values"):
        MADClassifier().fit([np.nan, np.nan])


def test_non_numeric_values_are_a_schema_error():
    with pytest.raises(SchemaError, match="numeric"):
        MADClassifier().fit(["a", "b"])


def test_one_metric_classifiers_reject_several_columns():
    with pytest.raises(SchemaError, match="MCDClassifier"):
        MADClassifier().fit(np.zeros((10, 2)))


def test_accepts_pandas():
    s = pd.Series([1.0, 2.0, 3.0, 100.0])
    assert MADClassifier().fit_predict(s).tolist() == [False, False, False, True]


def test_make_classifier():
    assert isinstance(make_classifier("MCD"), MCDClassifier)
    clf = MADClassifier(threshold=4.0)
    assert make_classifier(clf) is clf
    with pytest.raises(ConfigError, match="Did you mean 'percentile'"):
        make_classifier("percentil")


# -- streaming: damped reservoir ----------------------------------------------------------
def test_update_keeps_the_reservoir_bounded():
    rng = np.random.default_rng(0)
    clf = MADClassifier(reservoir_size=500)
    for _ in range(20):
        assert clf.update(rng.normal(size=1000)) is clf
        assert len(clf.reservoir_) <= 500
    assert clf.n_updates_ == 19                          # the first update fits


def test_update_adapts_to_a_shift():
    rng = np.random.default_rng(0)
    clf = MADClassifier(reservoir_size=1000, decay=0.7)
    for _ in range(10):
        clf.update(rng.normal(0.0, 1.0, 2000))
    assert clf.median_ == pytest.approx(0.0, abs=0.2)
    for _ in range(15):
        clf.update(rng.normal(10.0, 1.0, 2000))
    assert clf.median_ == pytest.approx(10.0, abs=0.3)
    assert clf.predict([0.0, 10.0]).tolist() == [True, False]
    # without damping the old regime still weighs as much as the new one
    flat = MADClassifier(reservoir_size=1000, decay=1.0)
    rng = np.random.default_rng(0)
    for mu in [0.0] * 10 + [10.0] * 15:
        flat.update(rng.normal(mu, 1.0, 2000))
    assert flat.median_ > 5.0 and abs(flat.median_ - 10.0) > abs(clf.median_ - 10.0)


def test_refit_every_holds_thresholds_between_refits():
    rng = np.random.default_rng(0)
    clf = PercentileClassifier(high=0.9, refit_every=3).fit(rng.normal(size=500))
    first = clf.high_
    clf.update(rng.normal(5.0, 1.0, 500)).update(rng.normal(5.0, 1.0, 500))
    assert clf.high_ == first
    clf.update(rng.normal(5.0, 1.0, 500))
    assert clf.high_ > first + 2


def test_update_with_nothing_finite_changes_nothing():
    clf = MADClassifier().update([np.nan])
    assert not hasattr(clf, "median_")
    clf.update([1.0, 2.0, 3.0]).update([])
    assert clf.n_updates_ == 0 and clf.median_ == 2.0


def test_same_seed_same_reservoir():
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=3000) for _ in range(4)]
    a, b = MADClassifier(reservoir_size=100, seed=5), MADClassifier(reservoir_size=100, seed=5)
    for x in batches:
        a.update(x)
        b.update(x)
    assert np.array_equal(a.reservoir_, b.reservoir_)


def test_mcd_streams_too():
    rng = np.random.default_rng(0)
    clf = MCDClassifier(reservoir_size=300, refit_every=2)
    for _ in range(4):
        clf.update(rng.normal(size=(400, 2)))
    assert clf.reservoir_.shape == (300, 2)
    assert clf.predict([[0.0, 0.0], [6.0, 6.0]]).tolist() == [False, True]
