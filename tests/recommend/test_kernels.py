"""The recommender's numba kernels agree with their plain numpy / Python references."""

from __future__ import annotations

from contextlib import contextmanager

import numba
import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dawn.recommend._kernels import (
    _lcg_ref,
    als_cg,
    als_cg_reference,
    als_solve,
    als_solve_reference,
    als_solve_serial,
    bpr_epoch,
    bpr_epoch_reference,
    bpr_epoch_serial,
    bpr_seeds,
    dot_rows,
    dot_rows_reference,
    lcg_next,
    mf_epoch,
    mf_epoch_reference,
)

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

problems = st.tuples(
    st.integers(1, 12),                # rows (users)
    st.integers(1, 10),                # items
    st.integers(1, 6),                 # factors
    st.integers(0, 2**31 - 1),         # seed
    st.sampled_from([0.0, 0.3, 0.8]),  # density
    st.booleans(),                     # with negative (dispreferred) entries
)


@contextmanager
def one_thread():
    """Blocks run one after another, in order: the kernels replay the references exactly."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _confidences(n, m, density, negatives, rng):
    dense = (rng.random((n, m)) < density) * (1.0 + 5 * rng.random((n, m)))
    if negatives:
        dense *= np.where(rng.random((n, m)) < 0.3, -1.0, 1.0)
    C = sp.csr_matrix(dense)
    C.sort_indices()
    return C


@SETTINGS
@given(problems, st.integers(1, 5))
def test_als_cg_matches_reference(case, cg_steps):
    n, m, k, seed, density, negatives = case
    rng = np.random.default_rng(seed)
    C = _confidences(n, m, density, negatives, rng)
    Y = rng.normal(size=(m, k))
    gram = Y.T @ Y + 0.1 * np.eye(k)
    X = rng.normal(size=(n, k))
    X2 = X.copy()
    als_cg(C.indptr, C.indices, C.data, X, Y, gram, cg_steps)
    als_cg_reference(C.indptr, C.indices, C.data, X2, Y, gram, cg_steps)
    np.testing.assert_allclose(X, X2, rtol=1e-6, atol=1e-8)


@SETTINGS
@given(problems)
def test_als_solve_matches_reference_and_cg_converges_to_it(case):
    n, m, k, seed, density, negatives = case
    rng = np.random.default_rng(seed)
    C = _confidences(n, m, density, negatives, rng)
    Y = rng.normal(size=(m, k))
    gram = Y.T @ Y + 0.5 * np.eye(k)
    out = np.zeros((n, k))
    als_solve(C.indptr, C.indices, C.data, Y, gram, out)
    ref = als_solve_reference(C.indptr, C.indices, C.data, Y, gram)
    np.testing.assert_allclose(out, ref, rtol=1e-7, atol=1e-9)
    serial = np.zeros((n, k))
    als_solve_serial(C.indptr, C.indices, C.data, Y, gram, serial)
    np.testing.assert_array_equal(serial, out)
    # conjugate gradient reaches the exact solution in k steps (exact arithmetic)
    X = np.zeros((n, k))
    als_cg(C.indptr, C.indices, C.data, X, Y, gram, 4 * k)
    np.testing.assert_allclose(X, ref, rtol=1e-4, atol=1e-6)


def test_als_cg_float32_is_close_to_float64():
    rng = np.random.default_rng(0)
    C = _confidences(30, 20, 0.3, False, rng)
    Y = rng.normal(size=(20, 8)) * 0.3
    gram = Y.T @ Y + 0.1 * np.eye(8)
    X = np.zeros((30, 8))
    X32 = X.astype(np.float32)
    als_cg(C.indptr, C.indices, C.data, X, Y, gram, 3)
    als_cg(C.indptr, C.indices, C.data.astype(np.float32), X32, Y.astype(np.float32),
           gram.astype(np.float32), 3)
    np.testing.assert_allclose(X32, X, rtol=1e-3, atol=1e-4)


def test_lcg_matches_python_replay():
    ref = 12345
    for _ in range(50):
        state, out = lcg_next(np.uint64(ref))
        ref, out_ref = _lcg_ref(ref)
        assert int(state) & (2**64 - 1) == ref and int(out) == out_ref


@SETTINGS
@given(problems, st.integers(1, 4), st.integers(1, 200), st.booleans())
def test_bpr_epoch_matches_reference(case, n_blocks, n_samples, fix_items):
    n, m, k, seed, density, _ = case
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, m)) < max(density, 0.2)).astype(np.float64)
    dense[0, 0] = 1.0
    R = sp.csr_matrix(dense)
    R.sort_indices()
    indptr, indices = R.indptr.astype(np.int64), R.indices.astype(np.int32)
    users = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
    negatives = rng.integers(0, m, 50).astype(np.int32)
    X, Y, bias = rng.normal(size=(n, k)) * 0.1, rng.normal(size=(m, k)) * 0.1, np.zeros(m)
    lr_item = 0.0 if fix_items else 0.05
    seeds = bpr_seeds(seed, 3, n_blocks)
    states = [(X.copy(), Y.copy(), bias.copy()) for _ in range(3)]
    res = []
    with one_thread():
        for (Xc, Yc, bc), fn in zip(states, (bpr_epoch, bpr_epoch_serial, bpr_epoch_reference),
                                    strict=True):
            res.append(fn(users, indptr, indices, negatives, Xc, Yc, bc, 0.05, lr_item, 0.01,
                          n_samples, seeds))
    for (Xc, Yc, bc), (ll, taken) in zip(states[:2], res[:2], strict=True):
        np.testing.assert_allclose(Xc, states[2][0], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(Yc, states[2][1], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(bc, states[2][2], rtol=1e-6, atol=1e-9)
        assert taken == res[2][1]
        np.testing.assert_allclose(ll, res[2][0], rtol=1e-6, atol=1e-9)
    if fix_items:
        np.testing.assert_array_equal(states[0][1], Y)


def test_bpr_never_trains_on_a_seen_negative():
    # every item is seen by the only user: every sample is skipped, nothing moves
    R = sp.csr_matrix(np.ones((1, 3)))
    X, Y, bias = np.ones((1, 2)), np.ones((3, 2)), np.zeros(3)
    _, taken = bpr_epoch(np.zeros(3, np.int32), R.indptr.astype(np.int64),
                         R.indices.astype(np.int32), R.indices.astype(np.int32), X, Y, bias,
                         0.1, 0.1, 0.0, 100, bpr_seeds(0, 0, 2))
    assert taken == 0
    np.testing.assert_array_equal(Y, 1.0)


@SETTINGS
@given(problems, st.integers(1, 4))
def test_mf_epoch_matches_reference(case, n_blocks):
    n, m, k, seed, _, _ = case
    rng = np.random.default_rng(seed)
    nnz = int(rng.integers(1, 40))
    users = rng.integers(0, n, nnz).astype(np.int32)
    items = rng.integers(0, m, nnz).astype(np.int32)
    ratings = rng.integers(1, 6, nnz).astype(np.float64)
    perm = rng.permutation(nnz)
    P, Q = rng.normal(size=(n, k)) * 0.1, rng.normal(size=(m, k)) * 0.1
    bu, bi = np.zeros(n), np.zeros(m)
    P2, Q2, bu2, bi2 = P.copy(), Q.copy(), bu.copy(), bi.copy()
    mu = ratings.mean()
    with one_thread():
        sse = mf_epoch(users, items, ratings, perm, P, Q, bu, bi, mu, 0.01, 0.02, 0.03, n_blocks)
    sse2 = mf_epoch_reference(users, items, ratings, perm, P2, Q2, bu2, bi2, mu, 0.01, 0.02,
                              0.03)
    for a, b in ((P, P2), (Q, Q2), (bu, bu2), (bi, bi2)):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(sse, sse2, rtol=1e-7)


@SETTINGS
@given(st.integers(0, 8), st.integers(0, 30), st.integers(1, 9), st.integers(0, 2**31 - 1))
def test_dot_rows_matches_reference(n, m, k, seed):
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n, k)).astype(np.float32)
    Y = rng.normal(size=(m, k)).astype(np.float32)
    out = np.empty((n, m), np.float32)
    dot_rows(U, Y, out)
    np.testing.assert_allclose(out, dot_rows_reference(U, Y), rtol=1e-5, atol=1e-5)
