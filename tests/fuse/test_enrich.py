"""Enrichment ranks sources by expected gain; the review queue picks unsure, impactful objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.errors import ConfigError, DataError
from dawn.fuse import Fusion, synthetic_claims
from dawn.fuse.enrich import value_of_claim


@pytest.fixture(scope="module")
def fitted():
    acc = np.r_[0.55, np.full(9, 0.8), 0.97]  # s0 poor, s10 excellent
    counts = np.r_[300, np.full(9, 60), 60]
    d = synthetic_claims(300, 11, n_values=2, claims_per_source=counts, accuracy=acc, seed=5)
    return Fusion("one_coin").fit(d.claims)


def test_value_of_a_claim_is_largest_on_undecided_objects_and_zero_for_coin_flips():
    v = value_of_claim(np.array([0.0, 1.0, 5.0]), 0.9, 2)
    assert v[0] > v[1] > v[2] >= 0
    assert value_of_claim(np.array([0.0]), 0.5, 2)[0] == pytest.approx(0.0)


def test_enrichment_says_fix_the_poor_busy_source_and_extend_the_excellent_one(fitted):
    e = fitted.enrichment()
    assert e.index[0] == "s0" and e.loc["s0", "action"] == "fix"
    assert e["gain_if_extended"].idxmax() == "s10"
    assert e.loc["s10", "gain_if_fixed"] < e.loc["s0", "gain_if_fixed"] / 5
    assert (e["gain"].diff().dropna() <= 0).all()
    assert e.loc["s0", "claims"] > 3 * e.loc["s1", "claims"]


def test_review_queue_orders_by_uncertainty_times_impact(fitted):
    q = fitted.review_queue(10)
    assert len(q) == 10 and (q["priority"].diff().dropna() <= 0).all()
    assert q["confidence"].max() < fitted.confidence_.median()
    impact = pd.Series(0.0, index=fitted.truth_.index)
    impact.iloc[-1] = 1.0
    assert fitted.review_queue(1, impact=impact).index[0] == fitted.truth_.index[-1]


def test_numeric_enrichment_ranks_the_noisiest_source_for_fixing():
    acc = np.r_[0.2, np.full(6, 0.8)]
    d = synthetic_claims(200, 7, claims_per_source=150, numeric=True, accuracy=acc, seed=1)
    f = Fusion().fit(d.claims)
    e = f.enrichment()
    assert e.index[0] == "s0" and e.loc["s0", "action"] == "fix"
    assert len(f.review_queue(3)) == 3


def test_bad_enrichment_arguments(fitted):
    with pytest.raises(ConfigError, match="target_accuracy"):
        fitted.enrichment(target_accuracy=1.5)
    with pytest.raises(ConfigError, match="extra_claims"):
        fitted.enrichment(extra_claims=0)
    with pytest.raises(ConfigError, match="n=0"):
        fitted.review_queue(0)
    with pytest.raises(DataError, match="shares no object"):
        fitted.review_queue(3, impact=pd.Series({"nope": 1.0}))
