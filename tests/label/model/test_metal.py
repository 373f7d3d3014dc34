"""MeTaL matrix completion: planted-truth recovery, imbalance, edge cases, bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.errors import ConfigError, DawnWarning, LabelError
from dawn.label import LabelMatrix
from dawn.label.model.metal import fit_metal
from dawn.label.model.synthetic import synthetic_label_matrix


def planted(n, acc, cov, balance, seed=0):
    """Conditionally independent symmetric LFs with the given accuracies and coverages."""
    L, y, _ = synthetic_label_matrix(n, len(acc), len(balance), accuracies=acc, coverage=cov,
                                     class_balance=balance, seed=seed)
    return L, y


def check_shapes(p, conf, m, k):
    assert p.shape == (k,) and np.isclose(p.sum(), 1.0)
    assert conf.shape == (m, k, k + 1)
    np.testing.assert_allclose(conf.sum(axis=2), 1.0)
    assert np.all(np.isfinite(conf)) and np.all(conf > 0) and np.all(conf < 1)


@settings(max_examples=5, deadline=None)
@given(st.lists(st.floats(0.65, 0.9), min_size=4, max_size=7), st.integers(0, 1000))
def test_recovers_planted_accuracies(acc, seed):
    L, _ = planted(30_000, acc, [0.5] * len(acc), [0.5, 0.5], seed)
    p, conf, info = fit_metal(L, 2)
    check_shapes(p, conf, len(acc), 2)
    np.testing.assert_allclose(info["accuracies"], acc, atol=0.04)
    np.testing.assert_allclose(p, [0.5, 0.5], atol=0.05)


@pytest.mark.parametrize("given_balance", [True, False])
def test_imbalanced_classes(given_balance):
    acc, balance = [0.85, 0.75, 0.7, 0.8, 0.65], [0.85, 0.15]
    L, _ = planted(40_000, acc, [0.4, 0.3, 0.5, 0.3, 0.6], balance, seed=3)
    p, conf, info = fit_metal(L, 2, class_balance=balance if given_balance else None)
    np.testing.assert_allclose(info["accuracies"], acc, atol=0.03)
    np.testing.assert_allclose(p, balance, atol=0.03)
    assert info["class_balance_source"] == ("given" if given_balance else "estimated")
    # the confusion holds the class-conditional rates, not only the accuracy
    np.testing.assert_allclose(conf[0, 0, 1], 0.4 * 0.85, atol=0.02)
    np.testing.assert_allclose(conf[0, 1, 2], 0.4 * 0.85, atol=0.03)


def test_multiclass():
    acc, balance = [0.8, 0.7, 0.6, 0.75, 0.65, 0.7], [0.5, 0.3, 0.2]
    L, _ = planted(30_000, acc, [0.5] * 6, balance, seed=5)
    p, conf, info = fit_metal(L, 3)
    check_shapes(p, conf, 6, 3)
    np.testing.assert_allclose(info["accuracies"], acc, atol=0.03)
    np.testing.assert_allclose(p, balance, atol=0.03)


def test_lfs_that_never_or_always_fire():
    L, _ = planted(10_000, [0.8, 0.7, 0.75, 0.9, 0.6], [0.5, 0.5, 0.5, 0.0, 1.0],
                   [0.6, 0.4], seed=1)
    p, conf, info = fit_metal(L, 2)
    check_shapes(p, conf, 5, 2)
    assert any("never vote" in note and "[3]" in note for note in info["notes"])
    np.testing.assert_allclose(conf[3, :, 0], 1.0, atol=1e-5)  # always abstains
    np.testing.assert_allclose(conf[4, :, 0], 0.0, atol=0.01)  # never abstains
    assert abs(info["accuracies"][4] - 0.6) < 0.04


def test_no_overlaps_is_flagged_not_nan():
    votes = np.full((30, 3), -1)
    for j in range(3):
        votes[j * 10:(j + 1) * 10, j] = np.arange(10) % 2
    p, conf, info = fit_metal(LabelMatrix(votes, list("abc")), 2)
    check_shapes(p, conf, 3, 2)
    assert any("not identifiable" in note for note in info["notes"])


def test_deterministic():
    L, _ = planted(5_000, [0.8, 0.7, 0.6, 0.9], [0.4] * 4, [0.7, 0.3], seed=2)
    a, b = fit_metal(L, 2, seed=1), fit_metal(L, 2, seed=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_size_limit_points_to_dawid_skene():
    L, _ = planted(100, [0.7] * 30, [0.5] * 30, [0.5, 0.5])
    with pytest.raises(ConfigError, match="dawid_skene"):
        fit_metal(L, 2, max_mk=40)
    with pytest.warns(DawnWarning, match="large"):
        _, _, info = fit_metal(L, 2, warn_mk=40)
    assert any("dawid_skene" in note for note in info["notes"])


def test_bad_inputs():
    L, _ = planted(100, [0.7] * 3, [0.5] * 3, [0.5, 0.5])
    with pytest.raises(ConfigError, match="class_balance must be 2 positive numbers"):
        fit_metal(L, 2, class_balance=[0.2, 0.3, 0.5])
    bad = LabelMatrix(np.array([[0, 3, -1], [1, 0, 2]]), list("abc"))
    with pytest.raises(LabelError, match=r"outside 0\.\.1"):
        fit_metal(bad, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_metal(L, 2)  # no warning at small size
