"""Offline ranking metrics against hand-computed cases, and online click metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from dawn.errors import ConfigError, DataError
from dawn.recommend.metrics import (
    OnlineMetrics,
    index_hits,
    metrics_from_hits,
    ranking_metrics,
)


def test_one_user_by_hand():
    # relevant {b, d}; list a b c d e → hits at ranks 2 and 4
    m = ranking_metrics([["a", "b", "c", "d", "e"]], [{"b", "d"}], k=5, n_items=10)
    assert m["precision@5"] == pytest.approx(2 / 5)
    assert m["recall@5"] == pytest.approx(1.0)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert m["ndcg@5"] == pytest.approx(dcg / idcg)
    assert m["map@5"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert m["hit_rate@5"] == 1.0
    assert m["mrr@5"] == pytest.approx(1 / 2)
    assert m["coverage@5"] == pytest.approx(5 / 10)
    assert m["users"] == 1


def test_averages_over_users_with_relevant_items_only():
    m = ranking_metrics([[1, 2], [3, 4], [5, 6]], [{1}, set(), {9}], k=2)
    assert m["users"] == 2
    assert m["hit_rate@2"] == 0.5
    assert m["precision@2"] == pytest.approx(0.25)
    assert m["ndcg@2"] == pytest.approx(0.5)
    assert math.isnan(m["coverage@2"])  # no catalogue size given


def test_short_lists_and_padding_count_as_misses():
    m = ranking_metrics([["x"]], [{"x", "y", "z"}], k=3)
    assert m["precision@3"] == pytest.approx(1 / 3)
    assert m["recall@3"] == pytest.approx(1 / 3)
    padded = ranking_metrics(np.array([[4, -1, -1]]), [{4, 7}], k=3)
    assert padded["precision@3"] == pytest.approx(1 / 3)
    assert padded["ndcg@3"] == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_perfect_and_empty_rankings():
    m = ranking_metrics([[1, 2, 3]], [{1, 2, 3}], k=3)
    assert m["ndcg@3"] == pytest.approx(1.0) and m["map@3"] == pytest.approx(1.0)
    m = ranking_metrics([[1]], [set()], k=3)
    assert m["users"] == 0 and math.isnan(m["ndcg@3"])


def test_index_fast_path_agrees_with_generic_lists():
    rng = np.random.default_rng(0)
    top = rng.integers(-1, 30, (40, 10))
    rel = sp.random(40, 30, density=0.1, random_state=1, format="csr")
    rel.data[:] = 1
    hits, n_rel = index_hits(top, rel)
    keep = n_rel > 0
    fast = metrics_from_hits(hits[keep], n_rel[keep])
    lists = [[x for x in row if x >= 0] for row in top.tolist()]
    sets = [set(rel[u].indices.tolist()) for u in range(40)]
    slow = ranking_metrics([[int(x) if x >= 0 else None for x in row] for row in top.tolist()],
                           sets, k=10)
    for name in ("precision@10", "recall@10", "ndcg@10", "map@10", "hit_rate@10", "mrr@10"):
        assert fast[name] == pytest.approx(slow[name])
    assert len(lists) == 40


def test_bad_arguments():
    with pytest.raises(ConfigError, match="k must be a positive integer"):
        ranking_metrics([[1]], [{1}], k=0)
    with pytest.raises(DataError, match="2 lists but relevant has 1"):
        ranking_metrics([[1], [2]], [{1}], k=1)


def test_online_metrics_count_recommended_then_clicked():
    om = OnlineMetrics()
    om.record(42, ["a", "b", "c"]).record("bob", ["x", "y"])
    om.update({"user": ["42", "42", "42", "bob", "zed"], "item": ["c", "c", "a", "q", "a"]})
    r = om.results()
    assert r["lists"] == 2 and r["impressions"] == 5
    assert r["clicks"] == 2            # c once (repeat ignored) and a; bob's q not shown
    assert r["hit_rate"] == 0.5
    assert r["mrr"] == pytest.approx((1 / 3) / 2)  # first click on 42's list at rank 3
    assert r["ctr"] == pytest.approx(2 / 5)
    om.record("bob", ["q"])            # a new list replaces the old one
    om.update([{"user": "bob", "item": "q"}])
    assert om.results()["clicks"] == 3
    assert math.isnan(OnlineMetrics().results()["ctr"])
