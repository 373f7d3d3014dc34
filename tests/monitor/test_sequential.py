"""BiasMonitor: the Flu Trends failure alarms at once, unbiased noise stays under the stated
false-alarm rate, streaming equals batching, and the numba kernels match numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.errors import ConfigError, DataError, SchemaError
from dawn.monitor.sequential import (
    BiasMonitor,
    _kernel,
    cusum_reference,
    page_hinkley_reference,
)

WEEKS = np.arange(400)
SEASONAL = 100 + 40 * np.sin(WEEKS * 2 * np.pi / 52)


def _flu(seed: int, n: int, factor: float, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Weekly truths and predictions ``factor`` too high from ``start`` on, 10% noise."""
    rng = np.random.default_rng(seed)
    truth = SEASONAL[:n] * np.exp(rng.normal(0, 0.05, n))
    pred = truth * np.where(np.arange(n) >= start, factor, 1.0) * (1 + rng.normal(0, 0.1, n))
    return pred, truth


def test_model_30_percent_high_from_the_start_alarms_at_the_end_of_the_warmup():
    for seed in range(30):
        pred, truth = _flu(seed, 60, 1.3)
        m = BiasMonitor(relative=True).update(pred, truth)
        assert m.alarm and m.direction == "high"
        assert m.alarm_at <= 20 - 1 + 5, seed  # within 5 observations after the warmup
        assert m.baseline_skill < 0  # last week's truth forecasts better than this model


def test_model_30_percent_high_after_a_good_start_alarms_within_a_few_observations():
    delays = []
    for seed in range(40):
        pred, truth = _flu(seed, 160, 1.3, start=100)
        m = BiasMonitor(relative=True).update(pred, truth)
        after = [i for i, d in m.alarms if i >= 100 and d == "high"]
        delays.append(after[0] - 100 + 1)
    delays = np.array(delays)
    assert np.median(delays) <= 3 and (delays <= 5).mean() >= 0.95 and delays.max() <= 8


def test_low_bias_alarms_low_and_absolute_residuals_work():
    rng = np.random.default_rng(0)
    truth = rng.normal(10, 1, 200)
    m = BiasMonitor().update(truth - 0.4 + rng.normal(0, 0.2, 200), truth)
    assert m.alarm and m.direction == "low" and m.alarm_at == 19


@pytest.mark.parametrize("method", ["cusum", "page_hinkley"])
def test_unbiased_noisy_model_stays_under_the_stated_false_alarm_rate(method):
    """Docstring: about 0.0021 false alarms per observation (ARL ~470); we allow 0.003 on
    average over seeded runs of 10,000 observations and 0.005 in any single run."""
    rates = []
    for seed in range(12):
        rng = np.random.default_rng(1000 + seed)
        truth = rng.uniform(50, 150, 10_000)
        m = BiasMonitor(method=method, relative=True).update(
            truth * np.exp(rng.normal(0, 0.1, 10_000)), truth)
        rates.append(len(m.alarms) / 10_000)
    assert np.mean(rates) <= 0.003
    assert max(rates) <= 0.005


def test_page_hinkley_detects_a_change_of_bias_not_a_bias_from_the_start():
    caught = 0
    for seed in range(20):
        pred, truth = _flu(seed, 200, 1.3, start=100)
        m = BiasMonitor(method="page_hinkley", relative=True).update(pred, truth)
        after = [i for i, d in m.alarms if 100 <= i <= 110 and d == "high"]
        caught += bool(after)
    assert caught >= 18
    pred, truth = _flu(0, 200, 1.3)
    assert not BiasMonitor(method="page_hinkley", relative=True).update(pred, truth).alarm


def test_constant_bias_and_spikes_do_not_inflate_the_scale():
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1.0, 20)
    fine = BiasMonitor().update(noise, np.zeros(20)).scale_
    biased = BiasMonitor().update(noise + 5.0, np.zeros(20)).scale_
    spiky = noise.copy()
    spiky[[4, 11]] += 50.0
    assert biased == pytest.approx(fine)
    assert 0.6 < fine < 1.6
    assert BiasMonitor().update(spiky, np.zeros(20)).scale_ < 2.5 * fine


def test_streaming_one_by_one_equals_one_batch_and_chunks():
    pred, truth = _flu(5, 400, 1.0)
    pred[250:] *= 1.25
    whole = BiasMonitor(relative=True).update(pred, truth)
    single = BiasMonitor(relative=True)
    for p, t in zip(pred, truth, strict=True):
        single.update(p, t)  # scalars
    chunks = BiasMonitor(relative=True)
    for a, b in [(0, 7), (7, 19), (19, 20), (20, 41), (41, 399), (399, 400)]:
        chunks.update(pd.Series(pred[a:b]), pd.Series(truth[a:b]))
    for m in (single, chunks):
        assert m.alarms == whole.alarms and m.n == whole.n == 400
        assert m.scale_ == whole.scale_
        np.testing.assert_allclose(m.statistic, whole.statistic, rtol=1e-12)
        assert m.baseline_skill == pytest.approx(whole.baseline_skill, rel=1e-12)
    assert whole.alarm and whole.alarms[-1][1] == "high"


def test_known_scale_tests_from_the_first_observation_and_alarms_repeat_after_restart():
    m = BiasMonitor(scale=1.0).update(np.full(12, 3.0), np.zeros(12))
    # z = 3, drift 0.5: S = 2.5, 5.0, 7.5 -> alarm at 2, restart, again at 5, 8, 11
    assert m.alarms == [(2, "high"), (5, "high"), (8, "high"), (11, "high")]
    assert m.alarm_at == 2 and m.direction == "high"
    np.testing.assert_array_equal(m.statistic, [0.0, 0.0])


def test_statistic_is_zero_during_warmup_and_reset_forgets():
    m = BiasMonitor().update(np.arange(10.0), np.zeros(10))
    assert m.scale_ is None and not m.alarm
    np.testing.assert_array_equal(m.statistic, [0.0, 0.0])
    m.update(np.full(30, 4.0) + np.random.default_rng(0).normal(0, 1, 30), np.zeros(30))
    assert m.alarm and m.scale_ is not None
    m.reset()
    assert (m.n, m.alarm, m.alarm_at, m.direction, m.scale_, m.baseline_skill) == (
        0, False, None, None, None, None)


def test_baseline_skill_compares_with_last_observed_truth():
    rng = np.random.default_rng(1)
    truth = np.cumsum(rng.normal(0, 5, 300))                 # a random walk: naive is decent
    good = truth + rng.normal(0, 1, 300)
    m = BiasMonitor().update(good, truth)
    naive_mae = np.abs(np.diff(truth)).mean()
    model_mae = np.abs(good - truth)[1:].mean()
    assert m.baseline_skill == pytest.approx(1 - model_mae / naive_mae)
    assert m.baseline_skill > 0.5
    assert BiasMonitor(baseline=None).update(good, truth).baseline_skill is None
    assert BiasMonitor().update(1.0, 2.0).baseline_skill is None  # no previous truth yet


# ---------------------------------------------------------------------- kernels vs numpy
def _kernel_run(method, z, drift, h, state):
    st_ = np.zeros(6)
    st_[: len(state)] = state
    idx = np.empty(len(z), dtype=np.int64)
    dirs = np.empty(len(z), dtype=np.int8)
    n = _kernel(method)(np.asarray(z, dtype=np.float64), drift, h, st_, idx, dirs)
    return [(int(i), int(d)) for i, d in zip(idx[:n], dirs[:n], strict=True)], st_


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-40, 40), min_size=1, max_size=200),
       st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.sampled_from([1.0, 2.5, 5.0]),
       st.integers(0, 16), st.integers(0, 16))
def test_cusum_kernel_matches_numpy_reference(zs, drift, h, hi0, lo0):
    z = np.array(zs) / 8.0  # multiples of 1/8: both computations are exact
    state = (min(hi0 / 4, h), min(lo0 / 4, h))
    alarms, final = cusum_reference(z, drift, h, state)
    k_alarms, k_state = _kernel_run("cusum", z, drift, h, state)
    assert k_alarms == alarms
    np.testing.assert_array_equal(k_state[:2], final)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(-6, 6, allow_nan=False), min_size=1, max_size=200),
       st.sampled_from([0.0, 0.3, 0.5]), st.sampled_from([1.0, 3.0, 5.0]),
       st.integers(0, 50))
def test_page_hinkley_kernel_matches_numpy_reference(zs, delta, h, warm):
    z = np.array(zs)
    # start from the state after `warm` zeros so the carried-over state is exercised
    _, state = page_hinkley_reference(np.zeros(warm), delta, h)
    alarms, final = page_hinkley_reference(z, delta, h, state)
    k_alarms, k_state = _kernel_run("page_hinkley", z, delta, h, state)
    assert k_alarms == alarms
    np.testing.assert_allclose(k_state, final, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    ({"method": "cusm"}, "Did you mean 'cusum'"),
    ({"threshold": 0}, "threshold must be a positive"),
    ({"threshold": float("nan")}, "threshold"),
    ({"drift": -1}, "drift must be a number >= 0"),
    ({"scale": 0.0}, "scale must be a positive"),
    ({"warmup": 2}, "warmup must be an integer >= 3"),
    ({"warmup": 2.5}, "warmup must be an integer"),
    ({"baseline": "mean"}, "baseline must be 'last'"),
])
def test_bad_parameters_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        BiasMonitor(**kwargs)


def test_bad_observations_have_clear_errors():
    m = BiasMonitor()
    with pytest.raises(SchemaError, match="predictions have 3 values but truths have 2"):
        m.update([1, 2, 3], [1, 2])
    with pytest.raises(DataError, match="truths contains nan at position 1"):
        m.update([1, 2], [1, np.nan])
    with pytest.raises(SchemaError, match="1-D"):
        m.update(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(DataError, match="predictions must be numbers"):
        m.update(["a", "b"], [1, 2])
    with pytest.raises(DataError, match="relative=True needs positive"):
        BiasMonitor(relative=True).update([1.0, 0.0], [1.0, 1.0])
    assert m.n == 0  # nothing was half-applied
