"""Dawid–Skene EM: kernel vs reference, a hand-checked M-step, planted truth recovered."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.label.model import LabelModel, dawid_skene
from dawn.label.model._ci import log_tables
from dawn.label.model._patterns import FitData, fit_data
from dawn.label.model.dawid_skene import (
    em_accumulate,
    em_accumulate_reference,
    fit_dawid_skene,
)
from dawn.label.model.synthetic import synthetic_label_matrix


@st.composite
def em_cases(draw):
    k = draw(st.sampled_from([2, 3, 9]))
    n = draw(st.integers(1, 40))
    m = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    L = rng.integers(-1, k, size=(n, m))
    L[rng.random((n, m)) < 0.3] = -1
    base, logtab = log_tables(rng.dirichlet(np.ones(k)),
                              rng.dirichlet(np.ones(k + 1), size=(m, k)))
    return L, base, logtab


@settings(max_examples=60, deadline=None)
@given(em_cases())
def test_em_kernels_agree_with_reference(case):
    L, base, logtab = case
    n, m = L.shape
    want = em_accumulate_reference(L, np.ones(n), base, logtab)
    rows = FitData(np.ascontiguousarray(L), np.ones(n), m, n, n, "rows", False)
    sparse_rows = FitData(sp.csr_matrix(L + 1), np.ones(n), m, n, n, "rows", False)
    pats = fit_data(L)  # patterns: CSR with counts as weights
    assert pats.kind == "patterns"
    runs = [em_accumulate(data, base, logtab) for data in (rows, sparse_rows, pats)]
    if len(base) <= dawid_skene._SPLIT_K:  # the three-pass E-step, whatever the size
        runs += [dawid_skene._em_split(data, base, logtab) for data in (sparse_rows, pats)]
    for counts, mass, ll in runs:
        np.testing.assert_allclose(counts, want[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(mass, want[1], rtol=1e-9, atol=1e-12)
        assert np.isclose(ll, want[2], rtol=1e-9)


def test_three_pass_e_step_gives_the_same_statistics_in_blocks(monkeypatch):
    rng = np.random.default_rng(0)
    L = rng.integers(-1, 3, size=(300, 4))
    base, logtab = log_tables(np.array([0.2, 0.3, 0.5]), rng.dirichlet(np.ones(4), size=(4, 3)))
    data = fit_data(L)
    monkeypatch.setattr(dawid_skene, "_SPLIT_UNITS", 1)
    whole = em_accumulate(data, base, logtab)
    monkeypatch.setattr(dawid_skene, "_BLOCK", 7)  # many blocks of 7 patterns
    blocks = em_accumulate(data, base, logtab)
    want = em_accumulate_reference(L, np.ones(300), base, logtab)
    for got in (whole, blocks):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-9)
        assert np.isclose(got[2], want[2], rtol=1e-9)


def test_first_m_step_matches_hand_computation():
    # majority labels: 0, 1, 0, 1. LF0 and LF1 always agree with them, LF2 half the time
    L = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 1], [1, 1, 0]])
    cb, conf, info = fit_dawid_skene(L, 2, smoothing=0.0, max_iter=0)
    np.testing.assert_allclose(cb, [0.5, 0.5])
    np.testing.assert_allclose(conf[0], [[0, 1, 0], [0, 0, 1]], atol=1e-5)
    np.testing.assert_allclose(conf[2], [[0, 0.5, 0.5], [0, 0.5, 0.5]], atol=1e-5)
    assert info["n_iter"] == 0 and not info["converged"]


def test_em_reaches_a_fixed_point_that_trusts_the_reliable_lfs():
    L = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 1], [1, 1, 0], [0, -1, 0], [-1, 1, 0]])
    model = LabelModel(2, method="dawid_skene", smoothing=0.0, tol=1e-9).fit(L)
    assert model.info_["converged"]
    acc = model.accuracies_
    assert acc[0] > 0.99 and acc[1] > 0.99 and acc[2] < 0.75
    # a row where LF2 contradicts LF0 follows LF0
    assert model.predict(np.array([[1, -1, 0]])).tolist() == [1]


@settings(max_examples=6, deadline=None)
@given(k=st.sampled_from([2, 3]), seed=st.integers(0, 1000),
       acc=st.floats(0.65, 0.9), cov=st.floats(0.3, 0.8))
def test_recovers_planted_accuracies(k, seed, acc, cov):
    rng = np.random.default_rng(seed)
    accs = np.clip(acc + rng.uniform(-0.05, 0.05, 5), 0.55, 0.95)
    L, _Y, truth = synthetic_label_matrix(20_000, 5, k, accuracies=accs, coverage=cov,
                                         seed=seed)
    model = LabelModel(k, method="dawid_skene").fit(L)
    assert np.abs(model.accuracies_ - truth).max() < 0.05


def test_imbalanced_classes_are_recovered():
    L, Y, truth = synthetic_label_matrix(40_000, 6, 2, accuracies=0.8, coverage=0.5,
                                         class_balance=[0.9, 0.1], seed=4)
    model = LabelModel(2, method="dawid_skene").fit(L)
    np.testing.assert_allclose(model.class_balance_, [0.9, 0.1], atol=0.02)
    assert np.abs(model.accuracies_ - truth).max() < 0.03
    mv = LabelModel(2, method="majority").fit(L)
    assert model.score(L, Y)["accuracy"] >= mv.score(L, Y, tie_break="random")["accuracy"]


def test_given_class_balance_is_kept():
    L, _, _ = synthetic_label_matrix(5_000, 4, 3, seed=1)
    model = LabelModel(3, method="dawid_skene").fit(L, class_balance=[0.2, 0.3, 0.5])
    np.testing.assert_allclose(model.class_balance_, [0.2, 0.3, 0.5], atol=1e-6)


def test_lfs_that_never_or_always_fire():
    L, Y, _ = synthetic_label_matrix(10_000, 5, 2, accuracies=0.8,
                                     coverage=[0.0, 1.0, 0.5, 0.5, 0.5], seed=2)
    model = LabelModel(2, method="dawid_skene").fit(L)
    assert np.isnan(model.accuracies_[0]) and model.coverage_[0] == 0
    assert abs(model.accuracies_[1] - 0.8) < 0.03 and model.coverage_[1] == 1
    P = model.predict_proba(L)
    assert np.isfinite(P).all()
    assert model.score(L, Y)["accuracy"] > 0.8


def test_many_classes_do_not_blow_up():
    L, Y, truth = synthetic_label_matrix(6_000, 6, 200, accuracies=0.85, coverage=0.6,
                                         seed=5)
    model = LabelModel(200, method="dawid_skene", tol=1e-3).fit(L)
    assert model.confusion_.shape == (6, 200, 201)
    assert model.predict_proba(L).shape == (6_000, 200)
    assert model.score(L, Y, tie_break="random")["accuracy"] > 0.9
    auto = LabelModel(200).fit(L)
    assert auto.method_ == "weighted_majority" and "200×200" in auto.method_reason_
    assert np.abs(auto.accuracies_ - truth).max() < 0.03


def test_sampled_fit_is_deterministic_and_close_to_full():
    L, Y, truth = synthetic_label_matrix(30_000, 30, 2, seed=7)
    a = LabelModel(2, method="dawid_skene", max_rows=10_000, seed=1).fit(L)
    b = LabelModel(2, method="dawid_skene", max_rows=10_000, seed=1).fit(L)
    full = LabelModel(2, method="dawid_skene", max_rows=None).fit(L)
    np.testing.assert_array_equal(a.confusion_, b.confusion_)
    assert abs(a.info_["fit_rows"] - 10_000) < 400 and full.info_["fit_rows"] == 30_000
    assert abs(a.score(L, Y)["accuracy"] - full.score(L, Y)["accuracy"]) < 0.005
    assert np.abs(a.accuracies_ - truth).max() < 0.05


def test_needs_three_lfs():
    with pytest.raises(Exception, match="needs at least 3 LFs"):
        LabelModel(2, method="dawid_skene").fit(np.array([[0, 1], [1, 1]]))
