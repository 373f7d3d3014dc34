"""The shared posterior kernel agrees with its numpy reference, dense or sparse."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.label import LabelMatrix
from dawn.label.model._ci import predict_proba_ci, predict_proba_reference


@st.composite
def models(draw):
    k = draw(st.sampled_from([2, 3, 5, 11]))
    n = draw(st.integers(0, 30))
    m = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    L = rng.integers(-1, k, size=(n, m))
    L[rng.random((n, m)) < 0.4] = -1
    conf = rng.dirichlet(np.ones(k + 1), size=(m, k))
    if draw(st.booleans()):
        conf[0, 0, 1] = 0.0  # zero probabilities are clipped, never -inf
    cb = rng.dirichlet(np.ones(k))
    return L, cb, conf


@settings(max_examples=80, deadline=None)
@given(models())
def test_dense_kernel_agrees_with_reference(model):
    L, cb, conf = model
    np.testing.assert_allclose(predict_proba_ci(L, cb, conf),
                               predict_proba_reference(L, cb, conf), rtol=1e-9, atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(models())
def test_sparse_kernel_agrees_with_reference(model):
    L, cb, conf = model
    sparse = LabelMatrix(sp.csr_matrix(L + 1), [f"lf{j}" for j in range(L.shape[1])])
    got = predict_proba_ci(sparse, cb, conf)
    np.testing.assert_allclose(got, predict_proba_reference(L, cb, conf), rtol=1e-9, atol=1e-12)
    assert np.isfinite(got).all()


def test_rows_without_votes_get_the_class_balance():
    conf = np.tile([[0.5, 0.4, 0.1], [0.5, 0.1, 0.4]], (3, 1, 1))  # abstain rate equal
    P = predict_proba_ci(np.full((2, 3), -1), np.array([0.7, 0.3]), conf)
    np.testing.assert_allclose(P, [[0.7, 0.3], [0.7, 0.3]])


def test_extreme_votes_stay_finite_and_normalised():
    conf = np.tile([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], (60, 1, 1))
    P = predict_proba_ci(np.zeros((1, 60), dtype=np.int8), np.array([0.5, 0.5]), conf)
    assert np.isfinite(P).all() and np.isclose(P.sum(), 1.0) and P[0, 0] > 0.999
