"""Majority vote and weighted majority vote, on hand-computed cases."""

from __future__ import annotations

import numpy as np

from dawn.label.model import LabelModel
from dawn.label.model.majority import fit_majority, fit_weighted_majority, vote_weights

TIES = np.array([[0, 1, -1], [0, 0, 1], [-1, -1, -1], [1, -1, -1], [2, 1, 0]])


def test_majority_vote_with_ties_abstaining():
    model = LabelModel(3, method="majority").fit(TIES)
    assert model.predict(TIES).tolist() == [-1, 0, -1, 1, -1]


def test_random_tie_break_is_seeded_and_picks_a_tied_class():
    picks = set()
    for seed in range(12):
        model = LabelModel(3, method="majority", seed=seed).fit(TIES)
        pred = model.predict(TIES, tie_break="random")
        assert pred[0] in (0, 1) and pred[4] in (0, 1, 2)
        assert pred[[1, 2, 3]].tolist() == [0, -1, 1]
        assert (model.predict(TIES, tie_break="random") == pred).all()
        picks.add(int(pred[0]))
    assert picks == {0, 1}


def test_majority_probabilities_follow_the_vote_counts():
    L = np.array([[0, 0, 1], [1, 1, 1], [0, -1, -1], [1, 0, -1]])
    _cb, _conf, info = fit_majority(L, 2)
    assert np.isclose(info["accuracy"], 7 / 9)  # 7 of 9 votes agree with the majority
    model = LabelModel(2, method="majority").fit(L)
    P = model.predict_proba(L)
    assert P[1, 1] > P[0, 0] > 0.5 and np.isclose(P[0, 0], P[2, 0])  # both won by one vote
    assert np.isclose(P[3, 0], 0.5)
    np.testing.assert_allclose(model.accuracies_, 7 / 9)


def test_majority_works_with_one_lf():
    model = LabelModel(2, method="majority").fit(np.array([[0], [1], [-1]]))
    assert model.predict(np.array([[0], [1], [-1]])).tolist() == [0, 1, -1]


def test_weighted_majority_trusts_lfs_that_agree_with_the_others():
    # LF0 and LF1 always agree; LF2 contradicts them on half its votes
    L = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1]] * 5)
    _cb, _conf, info = fit_weighted_majority(L, 2)
    w = info["weights"]
    assert w[0] > w[2] and w[1] > w[2]
    model = LabelModel(2, method="weighted_majority").fit(L)
    row = np.array([[1, -1, 0]])  # plain majority would tie
    assert LabelModel(2, method="majority").fit(L).predict(row).tolist() == [-1]
    assert model.predict(row).tolist() == [1]
    assert model.accuracies_[0] > model.accuracies_[2]


def test_weighted_vote_is_argmax_of_weighted_counts():
    from dawn.label.model.synthetic import synthetic_label_matrix

    Lm, _, _ = synthetic_label_matrix(300, 4, 3, accuracies=[0.9, 0.7, 0.6, 0.5], seed=0)
    L = np.asarray(Lm)
    model = LabelModel(3, method="weighted_majority").fit(L)
    w = vote_weights(model.accuracies_, 3)
    scores = np.zeros((300, 3))
    for j in range(4):
        voted = L[:, j] >= 0
        scores[np.flatnonzero(voted), L[voted, j]] += w[j]
    pred = model.predict(L, tie_break="random")
    covered = (L >= 0).any(axis=1)
    assert (pred[covered] == scores[covered].argmax(axis=1)).mean() > 0.99
