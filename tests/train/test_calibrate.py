"""Temperature scaling and the expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from dawn.errors import ConfigError, LabelError, NotFittedError, SchemaError
from dawn.store import load_artefact, save_artefact
from dawn.train.calibrate import TemperatureScaling, expected_calibration_error
from dawn.train.metrics import evaluate


def _calibrated(n=6000, k=3, seed=0):
    """Logits whose softmax is the true class distribution, and labels drawn from it."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, k))
    p = softmax(logits, axis=1)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return logits, y


def _nll(proba, y):
    return -np.log(proba[np.arange(len(y)), y]).mean()


@pytest.mark.parametrize(("scale", "direction"), [(3.0, 1), (0.4, -1)])
def test_fixes_over_and_under_confidence(scale, direction):
    logits, y = _calibrated()
    bad = logits * scale
    ts = TemperatureScaling().fit(bad[:3000], y[:3000])
    assert np.sign(np.log(ts.temperature_)) == direction
    assert ts.temperature_ == pytest.approx(scale, rel=0.15)
    held_bad, held_fixed = softmax(bad[3000:], axis=1), ts.transform(bad[3000:])
    assert _nll(held_fixed, y[3000:]) < _nll(held_bad, y[3000:])
    assert expected_calibration_error(held_fixed, y[3000:]) < \
        expected_calibration_error(held_bad, y[3000:]) / 2
    assert ts.nll_after_ < ts.nll_before_
    np.testing.assert_array_equal(held_fixed.argmax(axis=1), held_bad.argmax(axis=1))


def test_probabilities_in_and_soft_targets():
    logits, y = _calibrated()
    proba = softmax(logits * 3, axis=1)
    from_proba = TemperatureScaling().fit(proba, y)
    from_logits = TemperatureScaling().fit(logits * 3, y)
    assert from_proba.temperature_ == pytest.approx(from_logits.temperature_, rel=1e-3)
    # soft targets equal to the true distribution give the same temperature (in expectation)
    soft = TemperatureScaling().fit(logits * 3, softmax(logits, axis=1))
    assert soft.temperature_ == pytest.approx(3.0, rel=1e-3)
    out = from_proba.transform(proba)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_calibrated_model_keeps_temperature_near_one_and_ece_small():
    logits, y = _calibrated()
    ts = TemperatureScaling().fit(logits, y)
    assert ts.temperature_ == pytest.approx(1.0, abs=0.1)
    assert expected_calibration_error(softmax(logits, axis=1), y) < 0.03


def test_ece_by_hand_and_soft_labels():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.55, 0.45]])
    y = np.array([0, 0, 1, 0])
    # bins (15): 0.9 -> 13, 0.8 -> 12, 0.6 -> 9, 0.55 -> 8 : all alone
    expected = (abs(1 - 0.9) + abs(0 - 0.8) + abs(0 - 0.6) + abs(1 - 0.55)) / 4
    assert expected_calibration_error(proba, y) == pytest.approx(expected)
    assert expected_calibration_error(proba, y, n_bins=1) == pytest.approx(
        abs(0.5 - np.mean([0.9, 0.8, 0.6, 0.55])))
    soft = np.array([[0.7, 0.3]] * 4)
    assert expected_calibration_error(proba, soft, n_bins=1) == pytest.approx(
        abs(np.mean([0.7, 0.3, 0.7, 0.7]) - np.mean([0.9, 0.8, 0.6, 0.55])))
    assert evaluate(y, proba)["ece"] == pytest.approx(expected)


def test_save_load_round_trip(tmp_path):
    logits, y = _calibrated(n=500)
    ts = TemperatureScaling().fit(logits * 2, y)
    save_artefact(tmp_path / "cal", *ts.to_arrays())
    again = TemperatureScaling.from_arrays(*load_artefact(tmp_path / "cal"))
    assert again.temperature_ == ts.temperature_
    np.testing.assert_array_equal(again.transform(logits), ts.transform(logits))
    assert "T=" in repr(again)


def test_bad_inputs():
    logits, y = _calibrated(n=100)
    with pytest.raises(NotFittedError, match="fit"):
        TemperatureScaling().transform(logits)
    with pytest.raises(NotFittedError):
        TemperatureScaling().to_arrays()
    with pytest.raises(SchemaError, match="column_stack"):
        TemperatureScaling().fit(logits[:, 0], y)
    with pytest.raises(SchemaError, match="NaN"):
        TemperatureScaling().fit(np.full((3, 2), np.nan), [0, 1, 0])
    with pytest.raises(SchemaError, match="no rows"):
        TemperatureScaling().fit(np.zeros((0, 2)), [])
    with pytest.raises(SchemaError, match="rows"):
        TemperatureScaling().fit(logits, y[:5])
    with pytest.raises(LabelError, match="outside"):
        TemperatureScaling().fit(logits, np.full(100, 3))
    with pytest.raises(LabelError, match="outside"):
        TemperatureScaling().fit(logits, np.full(100, -1))
    with pytest.raises(LabelError, match="integer"):
        TemperatureScaling().fit(logits, np.full(100, 0.5))
    with pytest.raises(LabelError, match="summing to 1"):
        TemperatureScaling().fit(logits, np.full((100, 3), 0.5))
    with pytest.raises(SchemaError, match="class columns"):
        TemperatureScaling().fit(logits, np.full((100, 2), 0.5))
    with pytest.raises(SchemaError, match="sample_weight"):
        TemperatureScaling().fit(logits, y, sample_weight=np.ones(3))
    ts = TemperatureScaling().fit(logits, y)
    with pytest.raises(SchemaError, match="fitted on 3"):
        ts.transform(logits[:, :2])
    with pytest.raises(SchemaError, match="not a TemperatureScaling"):
        TemperatureScaling.from_arrays({"w": np.ones(2)}, {"kind": "Linear"})
    with pytest.raises(SchemaError, match="positive"):
        TemperatureScaling.from_arrays({"temperature": np.array([-1.0])},
                                       {"kind": "TemperatureScaling", "n_classes": 2})
    with pytest.raises(ConfigError, match="n_bins"):
        expected_calibration_error(softmax(logits, axis=1), y, n_bins=0)
    with pytest.raises(SchemaError, match="probabilities"):
        expected_calibration_error(logits, y)
    with pytest.raises(SchemaError, match="shape"):
        expected_calibration_error(np.ones(3), y)
