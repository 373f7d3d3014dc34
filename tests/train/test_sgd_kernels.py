"""The numba SGD and scoring kernels agree with their numpy references."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dawn.train._sgd_kernels import (
    CSRState,
    proba_csr,
    proba_dense,
    proba_reference,
    sgd_epoch_csr,
    sgd_epoch_dense,
    sgd_epoch_reference,
)

cases = st.tuples(
    st.integers(1, 40),            # rows
    st.integers(1, 6),             # features
    st.sampled_from([1, 2, 4]),    # outputs q (1 = binary)
    st.integers(0, 2**31 - 1),     # seed
    st.sampled_from([0.0, 1e-4, 0.05, 0.45]),  # alpha (0.45 with a large lr hits the cap)
    st.sampled_from([0.01, 0.5, 5.0]),         # eta0
    st.integers(-1, 30),           # avg_start (-1: no averaging)
)


def _problem(n, d, q, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.6)
    P = rng.dirichlet(np.ones(max(q, 2)), size=n)
    T = np.ascontiguousarray(P[:, 1:2] if q == 1 else P)
    sw = rng.random(n) + 0.25
    perm = rng.permutation(n)
    return X, T, sw, perm, rng


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_dense_epoch_matches_reference(case):
    n, d, q, seed, alpha, eta0, avg_start = case
    X, T, sw, perm, _ = _problem(n, d, q, seed)
    W, b = np.zeros((q, d)), np.zeros(q)
    avg = (np.zeros((q, d)), np.zeros(q), np.zeros(1))
    loss = sgd_epoch_dense(X, T, sw, W, b, perm, 3, eta0, alpha, 1, avg, avg_start)
    W2, b2 = np.zeros((q, d)), np.zeros(q)
    avg2 = (np.zeros((q, d)), np.zeros(q), np.zeros(1))
    loss2 = sgd_epoch_reference(X, T, sw, W2, b2, perm, 3, eta0, alpha, avg2, avg_start)
    np.testing.assert_allclose(W, W2, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(b, b2, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(avg[0], avg2[0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(avg[1], avg2[1], rtol=1e-9, atol=1e-10)
    assert avg[2][0] == avg2[2][0]
    np.testing.assert_allclose(loss, loss2, rtol=1e-9)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_csr_epoch_matches_reference(case):
    n, d, q, seed, alpha, eta0, avg_start = case
    X, T, sw, perm, _ = _problem(n, d, q, seed)
    Xs = sp.csr_matrix(X)
    state = CSRState(d, q, np.float64)
    loss = sgd_epoch_csr(Xs.indptr.astype(np.int64), Xs.indices, Xs.data, T, sw, state, perm,
                         3, eta0, alpha, 1, avg_start)
    W2, b2 = np.zeros((q, d)), np.zeros(q)
    avg2 = (np.zeros((q, d)), np.zeros(q), np.zeros(1))
    loss2 = sgd_epoch_reference(Xs, T, sw, W2, b2, perm, 3, eta0, alpha, avg2, avg_start)
    np.testing.assert_allclose(state.weights(), W2, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(state.b, b2, rtol=1e-9, atol=1e-10)
    if avg2[2][0] > 0:
        np.testing.assert_allclose(state.averaged(), avg2[0], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(state.ab, avg2[1], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(loss, loss2, rtol=1e-9)


def test_csr_scale_is_folded_back_when_it_gets_tiny():
    # α η close to the cap shrinks the scale by ~1/2 per step: 60 steps pass 1e-9
    X, T, sw, perm, _ = _problem(60, 3, 1, 0)
    Xs = sp.csr_matrix(X)
    state = CSRState(3, 1, np.float64)
    sgd_epoch_csr(Xs.indptr.astype(np.int64), Xs.indices, Xs.data, T, sw, state, perm, 0,
                  100.0, 0.45, 1, 10)
    W2, b2 = np.zeros((1, 3)), np.zeros(1)
    avg2 = (np.zeros((1, 3)), np.zeros(1), np.zeros(1))
    sgd_epoch_reference(X, T, sw, W2, b2, perm, 0, 100.0, 0.45, avg2, 10)
    assert state.ws[0] > 1e-9
    np.testing.assert_allclose(state.weights(), W2, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(state.averaged(), avg2[0], rtol=1e-6, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 30), st.integers(1, 6), st.sampled_from([1, 2, 5]),
       st.integers(0, 2**31 - 1))
def test_scoring_matches_reference(n, d, q, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.5) * 3
    W = rng.normal(size=(q, d)) * 4
    b = rng.normal(size=q)
    want = proba_reference(X, W, b)
    Xs = sp.csr_matrix(X)
    got_csr = proba_csr(Xs.indptr, Xs.indices, Xs.data, np.ascontiguousarray(W.T), b)
    got_dense = proba_dense(X, W, b)
    np.testing.assert_allclose(got_csr, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_dense, want, rtol=1e-10, atol=1e-12)
    assert got_csr.shape == (n, max(q, 2))


def test_scoring_is_stable_for_huge_scores():
    X = np.array([[1.0], [-1.0]])
    for W in (np.array([[800.0]]), np.array([[800.0], [-800.0], [0.0]])):
        p = proba_dense(X, W, np.zeros(W.shape[0]))
        assert np.isfinite(p).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_parallel_epoch_learns_like_serial():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 5))
    y = (X @ np.array([2.0, -1.0, 0.5, 0.0, 1.0]) > 0).astype(float)
    T = y.reshape(-1, 1)
    sw = np.ones(len(X))
    perm = rng.permutation(len(X))
    accs = []
    for threads in (1, 2):
        W, b = np.zeros((1, 5)), np.zeros(1)
        sgd_epoch_dense(X, T, sw, W, b, perm, 0, 0.2, 1e-4, threads)
        accs.append(float(((X @ W[0] + b[0] > 0) == y).mean()))
        Xs = sp.csr_matrix(X)
        state = CSRState(5, 1, np.float64)
        sgd_epoch_csr(Xs.indptr.astype(np.int64), Xs.indices, Xs.data, T, sw, state, perm, 0,
                      0.2, 1e-4, threads)
        accs.append(float(((X @ state.weights()[0] + state.b[0] > 0) == y).mean()))
    assert min(accs) > 0.95
