"""Triplet (FlyingSquid) label model: planted-truth recovery, imbalance, one-vs-rest
multi-class, one-sided LFs, edge cases and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.errors import ConfigError, LabelError
from dawn.label import LabelMatrix
from dawn.label.model.synthetic import synthetic_label_matrix
from dawn.label.model.triplet import fit_triplet


def planted(n, acc, cov, balance, seed=0):
    """Conditionally independent symmetric LFs with the given accuracies and coverages."""
    L, y, _ = synthetic_label_matrix(n, len(acc), len(balance), accuracies=acc, coverage=cov,
                                     class_balance=balance, seed=seed)
    return np.asarray(L), y


def lm(votes):
    return LabelMatrix(votes, [f"lf{j}" for j in range(votes.shape[1])])


def check_shapes(p, conf, m, k):
    assert p.shape == (k,) and np.isclose(p.sum(), 1.0)
    assert conf.shape == (m, k, k + 1)
    np.testing.assert_allclose(conf.sum(axis=2), 1.0)
    assert np.all(np.isfinite(conf)) and np.all(conf > 0) and np.all(conf < 1)


@settings(max_examples=5, deadline=None)
@given(st.lists(st.floats(0.65, 0.9), min_size=4, max_size=7), st.integers(0, 1000),
       st.floats(0.3, 0.7))
def test_recovers_planted_accuracies(acc, seed, pos):
    votes, _ = planted(30_000, acc, [0.5] * len(acc), [1 - pos, pos], seed)
    p, conf, info = fit_triplet(lm(votes), 2)
    check_shapes(p, conf, len(acc), 2)
    np.testing.assert_allclose(info["accuracies"], acc, atol=0.05)
    np.testing.assert_allclose(info["triplet_accuracies"], acc, atol=0.05)
    np.testing.assert_allclose(p, [1 - pos, pos], atol=0.05)


def test_imbalanced_classes_given_or_estimated():
    acc, balance = [0.85, 0.75, 0.7, 0.8, 0.65], [0.9, 0.1]
    votes, _ = planted(50_000, acc, [0.4, 0.3, 0.5, 0.3, 0.6], balance, seed=3)
    for cb in (balance, None):
        p, conf, info = fit_triplet(lm(votes), 2, class_balance=cb)
        np.testing.assert_allclose(info["accuracies"], acc, atol=0.03)
        np.testing.assert_allclose(p, balance, atol=0.02)
        np.testing.assert_allclose(conf[1, 1, 2], 0.3 * 0.75, atol=0.03)


def test_multiclass_one_vs_rest():
    acc, balance = [0.8, 0.7, 0.6, 0.75, 0.65], [0.4, 0.3, 0.2, 0.1]
    votes, _ = planted(40_000, acc, [0.5] * 5, balance, seed=4)
    p, conf, info = fit_triplet(lm(votes), 4)
    check_shapes(p, conf, 5, 4)
    np.testing.assert_allclose(info["accuracies"], acc, atol=0.03)
    np.testing.assert_allclose(p, balance, atol=0.03)
    # symmetric errors: a wrong vote is spread evenly over the other classes
    np.testing.assert_allclose(conf[0, 0, 2:], 0.5 * 0.2 / 3, atol=0.02)


def test_one_sided_lfs_get_their_precision():
    # three symmetric LFs plus two keyword-style LFs that only ever vote class 1
    rng = np.random.default_rng(99)
    votes, y = planted(60_000, [0.8, 0.75, 0.7], [0.6] * 3, [0.7, 0.3], seed=7)
    fire1 = rng.random(y.size) < np.where(y == 1, 0.5, 0.1)
    fire2 = rng.random(y.size) < np.where(y == 1, 0.3, 0.02)
    extra = np.stack([np.where(fire1, 1, -1), np.where(fire2, 1, -1)], axis=1)
    _, conf, info = fit_triplet(lm(np.hstack([votes, extra]).astype(np.int8)), 2)
    precision = [(y[f] == 1).mean() for f in (fire1, fire2)]
    np.testing.assert_allclose(info["accuracies"][3:], precision, atol=0.04)
    # their class-conditional firing rates are recovered
    np.testing.assert_allclose(conf[3, :, 2], [0.1, 0.5], atol=0.03)
    np.testing.assert_allclose(conf[4, :, 2], [0.02, 0.3], atol=0.03)


def test_lfs_that_never_or_always_fire():
    votes, _ = planted(10_000, [0.8, 0.7, 0.75, 0.9, 0.6], [0.5, 0.5, 0.5, 0.0, 1.0],
                       [0.6, 0.4], seed=1)
    p, conf, info = fit_triplet(lm(votes), 2)
    check_shapes(p, conf, 5, 2)
    assert any("never vote" in note and "[3]" in note for note in info["notes"])
    np.testing.assert_allclose(conf[3, :, 0], 1.0, atol=1e-5)
    assert abs(info["accuracies"][4] - 0.6) < 0.04


def test_constant_lf_is_uninformative():
    votes, _ = planted(20_000, [0.8, 0.7, 0.75], [0.6] * 3, [0.7, 0.3], seed=2)
    votes = np.hstack([votes, np.zeros((votes.shape[0], 1), np.int8)])
    _, conf, _ = fit_triplet(lm(votes), 2)
    np.testing.assert_allclose(conf[3, 0], conf[3, 1], atol=0.03)


def test_needs_three_overlapping_lfs():
    votes, _ = planted(1_000, [0.8, 0.7], [0.5, 0.5], [0.5, 0.5])
    with pytest.raises(ConfigError, match=r"at least 3 LFs that overlap.*method='majority'"):
        fit_triplet(lm(votes), 2)
    apart = np.full((30, 3), -1)
    for j in range(3):
        apart[j * 10:(j + 1) * 10, j] = np.arange(10) % 2
    with pytest.raises(ConfigError, match="no three of these LFs do"):
        fit_triplet(lm(apart), 2)


def test_deterministic_and_bad_inputs():
    votes, _ = planted(5_000, [0.8, 0.7, 0.6, 0.9], [0.4] * 4, [0.7, 0.3], seed=2)
    a, b = fit_triplet(lm(votes), 2), fit_triplet(lm(votes), 2)
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ConfigError, match="class_balance must be 2"):
        fit_triplet(lm(votes), 2, class_balance=[1.0])
    with pytest.raises(LabelError, match=r"outside 0\.\.1"):
        fit_triplet(lm(votes + (votes >= 0)), 2)
