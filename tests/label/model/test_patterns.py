"""Distinct vote patterns: the numba kernels agree with np.unique, dense or sparse."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.label import LabelMatrix
from dawn.label.model._patterns import fit_data, vote_patterns, vote_patterns_reference

FIELDS = ("indptr", "lfs", "labels", "counts", "inverse")


@st.composite
def label_arrays(draw):
    n = draw(st.integers(0, 40))
    m = draw(st.integers(1, 5))
    k = draw(st.integers(2, 4))
    flat = draw(st.lists(st.integers(-1, k - 1), min_size=n * m, max_size=n * m))
    return np.array(flat, dtype=np.int64).reshape(n, m)


def _same(a, b):
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


@settings(max_examples=60, deadline=None)
@given(label_arrays())
def test_dense_kernel_agrees_with_numpy_reference(L):
    _same(vote_patterns(L), vote_patterns_reference(L))


@settings(max_examples=60, deadline=None)
@given(label_arrays())
def test_sparse_kernel_agrees_with_numpy_reference(L):
    sparse = LabelMatrix(sp.csr_matrix(L + 1), [f"lf{j}" for j in range(L.shape[1])])
    assert sparse.is_sparse
    _same(vote_patterns(sparse), vote_patterns_reference(L))


def test_patterns_round_trip_to_rows():
    L = np.array([[0, -1, 1], [1, 1, -1], [0, -1, 1], [-1, -1, -1], [1, 1, -1]])
    P = vote_patterns(L)
    assert P.n_patterns == 3 and P.counts.tolist() == [2, 2, 1]
    np.testing.assert_array_equal(P.to_dense()[P.inverse], L)
    np.testing.assert_array_equal(P.to_csr().toarray() - 1, P.to_dense())


def test_many_rows_few_patterns_are_compressed():
    rng = np.random.default_rng(0)
    L = rng.integers(-1, 2, size=(50_000, 4))
    data = fit_data(L)
    assert data.kind == "patterns" and data.n_units <= 81
    assert data.weights.sum() == 50_000 and not data.sampled


def test_distinct_rows_are_kept_as_rows_and_sampled_when_many():
    rng = np.random.default_rng(0)
    L = rng.integers(-1, 2, size=(30_000, 40)).astype(np.int8)
    data = fit_data(L, max_rows=25_000, seed=3)
    assert data.kind == "rows" and data.sampled
    assert abs(data.n_rows - 25_000) < 500 and data.total_rows == 30_000
    again = fit_data(L, max_rows=25_000, seed=3)
    np.testing.assert_array_equal(data.X, again.X)
    np.testing.assert_array_equal(data.lf_votes(), (data.X >= 0).sum(axis=0))
