"""PerformanceEstimator: under covariate shift the label-free estimate lands near the
realised accuracy / F1, its interval covers the truth in most seeded trials, delayed
labels are reconciled, and bad input gets clear dawn errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from dawn.errors import ConfigError, EmptyDataError, LabelError, NotFittedError, SchemaError
from dawn.monitor.performance import PerformanceEstimate, PerformanceEstimator
from dawn.store import load_artefact, save_artefact

W = np.array([1.5, -1.0, 0.8])  # the truth uses x3, which the model never sees


def _draw(rng, n, mean=(0.0, 0.0), scale=1.0):
    X = np.column_stack([rng.normal(mean[0], scale, n), rng.normal(mean[1], scale, n),
                         rng.normal(0, 1, n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ W + 0.3)))).astype(int)
    return X[:, :2], y


@pytest.fixture(scope="module")
def model():
    X, y = _draw(np.random.default_rng(0), 5000)
    lr = LogisticRegression().fit(X, y)

    def proba(X):  # an over-confident logistic model: calibration has work to do
        z = 2.5 * lr.decision_function(X)
        p = 1 / (1 + np.exp(-z))
        return np.column_stack([1 - p, p])
    return proba


def _f1(pred, y, pos=1):
    tp = ((pred == pos) & (y == pos)).sum()
    return 2 * tp / ((pred == pos).sum() + (y == pos).sum())


SHIFTS = {"none": {}, "toward boundary": {"scale": 0.4},
          "away from boundary": {"mean": (0.8, -0.8)}, "sideways": {"mean": (-0.6, -0.6)}}


@pytest.mark.parametrize("calibrate", [True, "temperature"])
@pytest.mark.parametrize("shift", sorted(SHIFTS))
def test_estimate_is_within_002_of_realised_under_covariate_shift(model, shift, calibrate):
    rng = np.random.default_rng(7)
    Xr, yr = _draw(rng, 20_000)
    Xc, yc = _draw(rng, 20_000, **SHIFTS[shift])
    Pr, Pc = model(Xr), model(Xc)
    pred = Pc.argmax(1)
    acc = PerformanceEstimator("accuracy", calibrate=calibrate).fit(Pr, yr).estimate(Pc)
    f1 = PerformanceEstimator("f1", calibrate=calibrate).fit(Pr, yr).estimate(Pc)
    assert abs(acc.value - (pred == yc).mean()) < 0.02
    assert abs(f1.value - _f1(pred, yc)) < 0.025  # the stated F1 tolerance
    assert acc.low < acc.value < acc.high and acc.n == 20_000 and acc.n_labelled == 0


def test_shift_toward_the_boundary_is_seen_as_a_drop(model):
    rng = np.random.default_rng(3)
    Xr, yr = _draw(rng, 10_000)
    pe = PerformanceEstimator().fit(model(Xr), yr)
    near = pe.estimate(model(_draw(rng, 10_000, scale=0.4)[0]))
    far = pe.estimate(model(_draw(rng, 10_000, mean=(1.5, -1.5))[0]))
    assert near.high < pe.reference_.value < far.low


def test_calibration_matters_for_an_overconfident_model(model):
    rng = np.random.default_rng(4)
    Xr, yr = _draw(rng, 10_000)
    Xc, yc = _draw(rng, 10_000, scale=0.4)
    realised = (model(Xc).argmax(1) == yc).mean()
    raw = PerformanceEstimator(calibrate=False).fit(model(Xr), yr).estimate(model(Xc))
    cal = PerformanceEstimator().fit(model(Xr), yr).estimate(model(Xc))
    assert raw.value - realised > 0.05          # raw confidence over-promises
    assert abs(cal.value - realised) < 0.02


@pytest.mark.parametrize("metric", ["accuracy", "f1"])
def test_interval_covers_realised_value_in_most_seeded_trials(model, metric):
    covered = 0
    trials = 40
    for seed in range(trials):
        rng = np.random.default_rng(100 + seed)
        Xr, yr = _draw(rng, 3000)
        Xc, yc = _draw(rng, 3000, **SHIFTS["toward boundary" if seed % 2 else "sideways"])
        Pc = model(Xc)
        e = PerformanceEstimator(metric, seed=seed).fit(model(Xr), yr).estimate(Pc)
        pred = Pc.argmax(1)
        realised = (pred == yc).mean() if metric == "accuracy" else _f1(pred, yc)
        covered += e.low <= realised <= e.high
    assert covered / trials >= 0.85  # nominal 0.95


def test_delayed_labels_are_reconciled(model):
    rng = np.random.default_rng(5)
    Xr, yr = _draw(rng, 5000)
    Xc, yc = _draw(rng, 5000, scale=0.5)
    Pc = model(Xc)
    pred = Pc.argmax(1)
    pe = PerformanceEstimator("accuracy").fit(model(Xr), yr)
    none = pe.estimate(Pc)
    labels = np.where(np.arange(5000) < 2500, yc, -1)
    half = pe.estimate(Pc, labels)
    assert half.n_labelled == 2500
    assert half.realised == pytest.approx((pred[:2500] == yc[:2500]).mean())
    assert half.high - half.low < none.high - none.low
    # the estimate is the realised part plus the expected part
    rest = pe.estimate(Pc[2500:])
    assert half.value == pytest.approx((half.realised * 2500 + rest.value * 2500) / 5000)
    full = pe.estimate(Pc, yc.astype(float))
    assert full.value == full.realised == full.low == full.high == (pred == yc).mean()
    with_nan = pe.estimate(Pc, np.where(labels >= 0, labels, np.nan))
    assert with_nan == half


def test_multiclass_accuracy_and_macro_f1():
    centres = np.array([[0, 0], [2, 0], [0, 2]])

    def draw(rng, n, shift=(0.0, 0.0)):
        X = rng.normal(size=(n, 2)) * 1.2 + shift
        logits = -((X[:, None, :] - centres[None]) ** 2).sum(-1) / 2
        P = np.exp(logits)
        P /= P.sum(1, keepdims=True)
        y = (rng.random((n, 1)) > np.cumsum(P, 1)).sum(1)
        Pm = np.exp(2 * logits)                      # over-confident model
        return Pm / Pm.sum(1, keepdims=True), y

    rng = np.random.default_rng(11)
    Pr, yr = draw(rng, 20_000)
    Pc, yc = draw(rng, 20_000, shift=(1.0, 1.0))
    pred = Pc.argmax(1)
    macro = np.mean([2 * ((pred == c) & (yc == c)).sum() / ((pred == c).sum() + (yc == c).sum())
                     for c in range(3)])
    for calibrate in (True, "temperature"):
        acc = PerformanceEstimator(calibrate=calibrate).fit(Pr, yr).estimate(Pc)
        f1 = PerformanceEstimator("f1", calibrate=calibrate).fit(Pr, yr).estimate(Pc)
        assert abs(acc.value - (pred == yc).mean()) < 0.02
        assert abs(f1.value - macro) < 0.025
    cal = PerformanceEstimator().fit(Pr, yr).calibrated(Pc)
    np.testing.assert_allclose(cal.sum(1), 1.0)


def test_one_dimensional_binary_proba_is_accepted_and_seed_fixes_interval(model):
    rng = np.random.default_rng(6)
    Xr, yr = _draw(rng, 3000)
    Pr, Pc = model(Xr), model(_draw(rng, 3000)[0])
    a = PerformanceEstimator("f1", seed=3).fit(Pr, yr).estimate(Pc)
    b = PerformanceEstimator("f1", seed=3).fit(Pr[:, 1], yr).estimate(Pc[:, 1])
    assert a == b
    d = a.to_dict()
    assert json.loads(json.dumps(d)) == d and set(d) == {
        "value", "low", "high", "metric", "n", "n_labelled", "realised"}


@pytest.mark.parametrize("calibrate", [True, "temperature", False])
def test_round_trip_through_the_store(model, tmp_path, calibrate):
    rng = np.random.default_rng(8)
    Xr, yr = _draw(rng, 3000)
    Pc = model(_draw(rng, 2000, scale=0.6)[0])
    pe = PerformanceEstimator("f1", calibrate=calibrate).fit(model(Xr), yr)
    save_artefact(tmp_path / "pe", *pe.to_arrays())
    again = PerformanceEstimator.from_arrays(*load_artefact(tmp_path / "pe"))
    assert again.estimate(Pc) == pe.estimate(Pc)
    assert again.reference_ == pe.reference_


# ---------------------------------------------------------------------- bad input
def _fitted():
    rng = np.random.default_rng(0)
    p = rng.random(200)
    return PerformanceEstimator().fit(np.column_stack([1 - p, p]),
                                      (rng.random(200) < p).astype(int))


@pytest.mark.parametrize("kwargs, match", [
    ({"metric": "acuracy"}, "Did you mean 'accuracy'"),
    ({"calibrate": "isotonc"}, "Did you mean 'isotonic'"),
    ({"confidence": 1.5}, r"confidence must be a number in \(0, 1\)"),
])
def test_bad_parameters_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PerformanceEstimator(**kwargs).fit(np.array([[0.2, 0.8]]), np.array([1]))


def test_bad_probabilities_and_labels_have_clear_errors():
    good = np.array([[0.2, 0.8], [0.6, 0.4]])
    pe = PerformanceEstimator()
    with pytest.raises(SchemaError, match=r"row 1 sums to 1\.2"):
        pe.fit(np.array([[0.2, 0.8], [0.6, 0.6]]), [1, 0])
    with pytest.raises(SchemaError, match=r"outside \[0, 1\]"):
        pe.fit(np.array([[-0.5, 1.5], [0.5, 0.5]]), [1, 0])
    with pytest.raises(SchemaError, match="contains NaN"):
        pe.fit(np.array([[np.nan, 0.5], [0.5, 0.5]]), [1, 0])
    with pytest.raises(SchemaError, match="shape"):
        pe.fit(np.ones((2, 2, 2)) / 2, [1, 0])
    with pytest.raises(SchemaError, match="give one label per row"):
        pe.fit(good, [1, 0, 1])
    with pytest.raises(LabelError, match=r"label 2 \(row 1\), outside 0..1"):
        pe.fit(good, [1, 2])
    with pytest.raises(LabelError, match="reference needs a true label for every row"):
        pe.fit(good, [1, -1])
    with pytest.raises(LabelError, match="reference needs a true label"):
        pe.fit(good, [1.0, np.nan])
    with pytest.raises(LabelError, match="integer class ids"):
        pe.fit(good, [1.5, 0])
    with pytest.raises(LabelError, match="integer class ids"):
        pe.fit(good, ["spam", "ham"])
    with pytest.raises(ConfigError, match="positive=3"):
        PerformanceEstimator("f1", positive=3).fit(good, [1, 0])


def test_estimate_errors():
    with pytest.raises(NotFittedError, match=r"call fit\(reference_proba, reference_labels\)"):
        PerformanceEstimator().estimate(np.array([[0.5, 0.5]]))
    pe = _fitted()
    with pytest.raises(SchemaError, match="3 class columns but the estimator was fitted on 2"):
        pe.estimate(np.full((4, 3), 1 / 3))
    with pytest.raises(EmptyDataError, match="no rows"):
        pe.estimate(np.zeros((0, 2)))
    with pytest.raises(LabelError, match="use -1 \\(or NaN\\) for rows whose truth is unknown"):
        pe.estimate(np.array([[0.5, 0.5]]), [5])
    with pytest.raises(SchemaError, match="not a PerformanceEstimator"):
        PerformanceEstimator.from_arrays({}, {"kind": "DriftMonitor"})
    assert isinstance(pe.estimate(np.array([[0.5, 0.5]]), [1]), PerformanceEstimate)
