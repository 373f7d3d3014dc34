"""Sufficient statistics: the numba kernels agree with plain references, bad input errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dawn.errors import ConfigError, LabelError, SchemaError
from dawn.label import LabelMatrix
from dawn.label.model import _stats as S


def brute_joint(votes: np.ndarray, k: int) -> np.ndarray:
    """O by definition, with plain loops (independent of the one-hot reference)."""
    n, m = votes.shape
    obs = np.zeros((m * k, m * k), np.int64)
    for r in range(n):
        for j, jj in itertools.product(range(m), range(m)):
            a, b = votes[r, j], votes[r, jj]
            if a >= 0 and b >= 0 and (j != jj or a == b):
                obs[j * k + a, jj * k + b] += 1
    return obs


@st.composite
def label_matrices(draw):
    k = draw(st.integers(2, 4))
    m = draw(st.integers(1, 5))
    n = draw(st.integers(0, 40))
    votes = draw(arrays(np.int8, (n, m), elements=st.integers(-1, k - 1)))
    return votes, k


def as_inputs(votes: np.ndarray):
    names = [f"lf{j}" for j in range(votes.shape[1])]
    sparse = LabelMatrix(sp.csr_matrix((votes + 1).astype(np.int16)), names)
    return [LabelMatrix(votes, names), sparse, votes]


@settings(max_examples=60, deadline=None)
@given(label_matrices())
def test_joint_counts_match_references(case):
    votes, k = case
    expected = brute_joint(votes, k)
    for L in as_inputs(votes):
        np.testing.assert_array_equal(S.joint_counts(L, k), expected)
        np.testing.assert_array_equal(S.joint_counts_reference(L, k), expected)


@settings(max_examples=40, deadline=None)
@given(label_matrices(), st.integers(0, 2**16))
def test_pair_and_weighted_kernels_match_references(case, seed):
    votes, k = case
    m = votes.shape[1]
    W = np.random.default_rng(seed).normal(size=(m, m))
    for L in as_inputs(votes):
        cov, agree = S.pair_counts(L, k)
        cov_ref, agree_ref = S.pair_counts_reference(L, k)
        np.testing.assert_array_equal(cov, cov_ref)
        np.testing.assert_array_equal(agree, agree_ref)
        np.testing.assert_allclose(S.weighted_class_votes(L, k, W),
                                   S.weighted_class_votes_reference(L, k, W), atol=1e-9)


def test_vote_stats_without_joint_equals_with_joint():
    rng = np.random.default_rng(0)
    votes = np.where(rng.random((500, 6)) < 0.4, rng.integers(0, 3, (500, 6)), -1)
    L = LabelMatrix(votes, list("abcdef"))
    a, b = S.vote_stats(L, 3, joint=True), S.vote_stats(L, 3, joint=False)
    assert b.joint is None
    np.testing.assert_array_equal(a.label_covote, b.label_covote)
    np.testing.assert_array_equal(a.agree, b.agree)
    np.testing.assert_array_equal(a.counts, [[(votes[:, j] == c).sum() for c in range(3)]
                                             for j in range(6)])
    np.testing.assert_array_equal(np.diag(a.covote), (votes >= 0).sum(axis=0))
    W = rng.random((6, 6))
    np.testing.assert_allclose(S.weighted_votes(a, W), S.weighted_votes(b, W))


def test_hand_computed_small_case():
    L = LabelMatrix(np.array([[0, 0, -1], [1, 0, 1], [-1, 1, 1]]), ["a", "b", "c"])
    st_ = S.vote_stats(L, 2)
    assert st_.covote.tolist() == [[2, 2, 1], [2, 3, 2], [1, 2, 2]]
    assert st_.agree.tolist() == [[2, 1, 1], [1, 3, 1], [1, 1, 2]]
    assert st_.counts.tolist() == [[1, 1], [2, 1], [0, 2]]


def test_labels_outside_cardinality_are_rejected():
    L = LabelMatrix(np.array([[0, 2], [1, -1]]), ["a", "b"])
    with pytest.raises(LabelError, match=r"label 2, outside 0\.\.1"):
        S.joint_counts(L, 2)
    sparse = LabelMatrix(sp.csr_matrix(np.array([[1, 3], [2, 0]])), ["a", "b"])
    with pytest.raises(LabelError, match=r"label 2, outside 0\.\.1"):
        S.vote_stats(sparse, 2)
    with pytest.raises(LabelError, match="cardinality must be an integer >= 2"):
        S.vote_stats(L, 1)
    with pytest.raises(SchemaError, match="2-D integer array"):
        S.vote_stats(np.array([[0.5, 1.0]]), 2)


def test_finish_confusion_rows_sum_to_one_and_are_clipped():
    cond = np.array([[[0.7, 0.0], [0.2, 0.9]], [[0.8, 0.6], [np.nan, 0.0]]])
    conf = S.finish_confusion(cond, eps=1e-6)
    assert conf.shape == (2, 2, 3)
    np.testing.assert_allclose(conf.sum(axis=2), 1.0)
    assert np.all(conf >= 1e-6 * 0.99) and np.all(np.isfinite(conf))
    np.testing.assert_allclose(conf[0, 0], [0.3, 0.7, 1e-6], atol=1e-5)


def test_check_class_balance():
    np.testing.assert_allclose(S.check_class_balance([2, 2], 2), [0.5, 0.5])
    assert S.check_class_balance(None, 3) is None
    with pytest.raises(ConfigError, match="class_balance must be 3 positive numbers"):
        S.check_class_balance([0.5, 0.5], 3)
    with pytest.raises(ConfigError, match="positive"):
        S.check_class_balance([1.0, 0.0], 2)
