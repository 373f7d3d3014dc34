"""top_k picks the best eligible items per row, in order, padded with -1."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.errors import ConfigError, DataError
from dawn.recommend._topk import top_k


def test_best_first_without_excluded_items():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [1.0, 0.0, 0.2, 0.3]], np.float32)
    seen = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 0]]))
    items, best = top_k(scores, 2, exclude=seen)
    assert items.tolist() == [[3, 2], [3, 2]]
    np.testing.assert_allclose(best, [[0.7, 0.5], [0.3, 0.2]])
    assert items.dtype == np.int64 and best.dtype == np.float32


def test_explicit_zero_in_exclude_still_excludes():
    ex = sp.csr_matrix((np.array([0.0]), (np.array([0]), np.array([1]))), shape=(1, 3))
    assert top_k(np.array([[0.0, 5.0, 1.0]]), 1, exclude=ex)[0].tolist() == [[2]]


def test_padding_when_too_few_eligible_items():
    items, best = top_k(np.array([[3.0, 2.0, 1.0]]), 5, exclude=sp.csr_matrix([[0, 1, 0]]))
    assert items.tolist() == [[0, 2, -1, -1, -1]]
    assert np.isneginf(best[0, 2:]).all()


def test_k_zero_and_one_dimensional_scores():
    items, best = top_k(np.array([1.0, 2.0]), 0)
    assert items.shape == (1, 0) and best.shape == (1, 0)
    assert top_k(np.array([1.0, 2.0]), 1)[0].tolist() == [[1]]


def test_ties_break_by_smaller_item_index():
    assert top_k(np.zeros((1, 6)), 3)[0].tolist() == [[0, 1, 2]]


def test_nan_and_inf_scores_are_never_recommended():
    items, _ = top_k(np.array([[np.nan, 1.0, np.inf, -np.inf, 0.5]]), 4)
    assert items.tolist() == [[1, 4, -1, -1]]


def test_allowed_as_indices_mask_and_per_row_mask():
    scores = np.array([[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    assert top_k(scores, 2, allowed=np.array([2, 3]))[0].tolist() == [[2, 3], [3, 2]]
    mask = np.array([True, False, True, False])
    assert top_k(scores, 2, allowed=mask)[0].tolist() == [[0, 2], [2, 0]]
    per_row = np.array([[False, True, False, False], [True, False, False, False]])
    assert top_k(scores, 2, allowed=per_row)[0].tolist() == [[1, -1], [0, -1]]
    assert top_k(scores, 2, allowed=np.array([], dtype=np.int64))[0].tolist() == [[-1, -1]] * 2


def test_scores_are_not_modified():
    scores = np.array([[1.0, 2.0]], np.float32)
    top_k(scores, 1, exclude=sp.csr_matrix([[0, 1]]))
    assert scores.tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize("k", [-1, 1.5, True, "3"])
def test_bad_k(k):
    with pytest.raises(ConfigError, match="k must be a non-negative integer"):
        top_k(np.zeros((1, 3)), k)


def test_bad_inputs_are_named():
    with pytest.raises(DataError, match="exclude has shape"):
        top_k(np.zeros((2, 3)), 1, exclude=sp.csr_matrix((1, 3)))
    with pytest.raises(DataError, match=r"allowed item index 7 is outside 0\.\.2"):
        top_k(np.zeros((1, 3)), 1, allowed=np.array([0, 7]))
    with pytest.raises(DataError, match="boolean allowed mask must have shape"):
        top_k(np.zeros((1, 3)), 1, allowed=np.array([True, False]))
    with pytest.raises(DataError, match="allowed must be item indices"):
        top_k(np.zeros((1, 3)), 1, allowed=np.array([0.5]))
    with pytest.raises(DataError, match="2-d array"):
        top_k(np.zeros((1, 2, 3)), 1)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.integers(1, 30), st.integers(0, 35), st.integers(0, 2**31 - 1))
def test_matches_a_full_sort(n, m, k, seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 5, (n, m)).astype(np.float32)  # many ties
    ex = sp.csr_matrix(rng.random((n, m)) < 0.3)
    allowed = rng.random(m) < 0.8
    items, best = top_k(scores, k, exclude=ex, allowed=allowed)
    dense_ex = ex.toarray()
    for r in range(n):
        eligible = [i for i in range(m) if allowed[i] and not dense_ex[r, i]]
        expect = sorted(eligible, key=lambda i: (-scores[r, i], i))[:k]
        expect += [-1] * (k - len(expect))
        assert items[r].tolist() == expect
        got = [i for i in items[r] if i >= 0]
        np.testing.assert_array_equal(best[r, :len(got)], scores[r, got])
