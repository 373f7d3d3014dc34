"""Distinct vote patterns: the numba kernels agree with np.unique, dense or sparse, by exact
keys or by hashing; fingerprints tell matrices apart."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.label import LabelMatrix
from dawn.label.model._patterns import (
    _number_direct,
    _number_hashed,
    _numbered,
    _patterns_from,
    _prepared,
    fingerprint,
    fit_data,
    vote_patterns,
    vote_patterns_reference,
)

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


# -- the three ways of numbering patterns all agree with the reference ---------------------
def _hashed(L) -> object:
    src = _prepared(L)  # hash rows and compare votes: the path for wide rows
    return _patterns_from(src, *_numbered(src, None)[:3])


@settings(max_examples=60, deadline=None)
@given(label_arrays())
def test_hashed_rows_agree_with_numpy_reference(L):
    _same(_hashed(L), vote_patterns_reference(L))
    sparse = LabelMatrix(sp.csr_matrix(L + 1), [f"lf{j}" for j in range(L.shape[1])])
    _same(_hashed(sparse), vote_patterns_reference(L))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**62), min_size=0, max_size=60), st.integers(1, 8))
def test_key_table_numbers_like_the_direct_table(values, spread):
    keys = np.array([v % spread for v in values], dtype=np.int64)
    direct, hashed = keys.copy(), keys.copy()  # numbered in place: keys become the inverse
    rep_d, h_d = _number_direct(direct, spread)
    rep_h, h_h = _number_hashed(hashed)
    np.testing.assert_array_equal(rep_d, rep_h)
    np.testing.assert_array_equal(direct, hashed)
    assert h_d == h_h
    wide = np.array(values, dtype=np.int64)
    inverse = wide.copy()
    rep, _ = _number_hashed(inverse)
    _, first = np.unique(wide, return_index=True)
    np.testing.assert_array_equal(np.sort(rep), np.sort(first))
    np.testing.assert_array_equal(wide[rep][inverse], wide)  # same key, same pattern


def test_wide_rows_are_hashed_and_still_exact():
    rng = np.random.default_rng(1)
    base = rng.integers(-1, 2, size=(5, 45))  # 3**45 > 2**63: no exact keys
    L = base[rng.integers(0, 5, size=300)]
    assert fingerprint(L) is None
    _same(vote_patterns(L), vote_patterns_reference(L))


def test_large_key_space_uses_the_key_table():
    rng = np.random.default_rng(2)
    L = rng.integers(-1, 7, size=(200, 12))  # 9**12 keys: too many for a direct table
    L[::3] = L[0]
    _same(vote_patterns(L), vote_patterns_reference(L))


# -- fingerprints --------------------------------------------------------------------------
def test_fingerprint_is_the_same_dense_or_sparse_and_sees_any_change():
    rng = np.random.default_rng(3)
    L = rng.integers(-1, 3, size=(1_000, 6))
    sparse = LabelMatrix(sp.csr_matrix(L + 1), [f"lf{j}" for j in range(6)])
    fp = fingerprint(L)
    assert fp is not None and fp == fingerprint(sparse) == fingerprint(L.astype(np.int8))
    changed = L.copy()
    changed[500, 2] = (changed[500, 2] + 2) % 4 - 1
    assert fingerprint(changed) != fp
    swapped = L.copy()
    swapped[[1, 2]] = swapped[[2, 1]]
    assert (L[1] == L[2]).all() or fingerprint(swapped) != fp


def test_fit_data_keeps_the_row_map_only_for_every_row():
    rng = np.random.default_rng(4)
    L = rng.integers(-1, 2, size=(5_000, 4))
    full = fit_data(L)
    assert full.patterns is not None and full.fingerprint == fingerprint(L)
    np.testing.assert_array_equal(full.patterns.to_dense()[full.patterns.inverse], L)
    sample = fit_data(L, max_rows=1_000)
    assert sample.sampled and sample.patterns is None and sample.fingerprint is None
