"""Auto-tuning: time splits, the budgeted seeded search, and model='auto'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.errors import ConfigError, DataError
from dawn.recommend import Recommender, time_split, tune
from dawn.recommend.tuning import (
    EASE_MAX_ITEMS,
    SPACES,
    _eligible,
    ease_dual_scores,
    user_split,
)


def planted_matrix(n_users=120, n_items=60, per_user=15, seed=0):
    """Taste clusters (3 × 20 items) with no overall popularity signal: a model that
    learns tastes beats popularity easily."""
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), per_user)
    items = (users % 3) * 20 + rng.integers(0, 20, len(users))
    ts = rng.uniform(0, 100, len(users))
    return users, items, np.ones(len(users), np.float32), ts


def test_time_split_holds_out_the_latest_events():
    ts = np.arange(10.0)
    assert time_split(ts, 0.2).tolist() == [False] * 8 + [True] * 2
    same = np.zeros(10)  # no time order: fall back to the last share of rows
    assert time_split(same, 0.3).sum() == 3
    with pytest.raises(ConfigError, match="between 0 and 1"):
        time_split(ts, 1.5)


def test_tuning_prefers_a_taste_model_over_popularity():
    u, i, v, t = planted_matrix()
    result = tune(u, i, v, t, (120, 60), budget=6, seed=0,
                  families=["popular", "knn", "ease", "als"],
                  defaults={"factors": 8, "threads": 1})
    table = result.table
    assert len(table) == 6
    assert list(table.columns[:3]) == ["family", "params", "ndcg@10"]
    assert table["ndcg@10"].is_monotonic_decreasing
    assert result.family != "popular"
    best_pop = table.loc[table.family == "popular", "ndcg@10"].max()
    assert result.score > 1.5 * best_pop
    again = tune(u, i, v, t, (120, 60), budget=6, seed=0,
                 families=["popular", "knn", "ease", "als"],
                 defaults={"factors": 8, "threads": 1})
    pd.testing.assert_frame_equal(again.table.drop(columns="fit_seconds"),
                                  table.drop(columns="fit_seconds"))


def test_ease_only_for_catalogues_that_fit_and_mf_only_for_ratings():
    assert "ease" in _eligible(None, 100, False)
    assert "ease" not in _eligible(None, EASE_MAX_ITEMS + 1, False)
    assert "mf" in _eligible(None, 100, True) and "mf" not in _eligible(None, 100, False)


def test_tuning_errors():
    u, i, v, t = planted_matrix()
    with pytest.raises(ConfigError, match="budget must be"):
        tune(u, i, v, t, (120, 60), budget=0)
    with pytest.raises(ConfigError, match=r"unknown model family 'alz'.*Did you mean 'als'"):
        tune(u, i, v, t, (120, 60), families=["alz"])
    with pytest.raises(ConfigError, match=r"split must be one of.*Did you mean 'user'"):
        tune(u, i, v, t, (120, 60), split="users")
    with pytest.raises(ConfigError, match="folds must be a positive integer"):
        tune(u, i, v, t, (120, 60), folds=0)
    # too few events per user to hold any out, and the last period brings only new users
    users = np.r_[np.zeros(4, int), np.arange(1, 3)]
    with pytest.raises(DataError, match="held-out events hold no new interactions"):
        tune(users, np.arange(6), np.ones(6, np.float32), np.arange(6.0), (3, 6),
             families=["popular"])


def test_user_split_holds_out_each_users_latest_events():
    users = np.r_[np.zeros(10, int), np.ones(4, int), np.full(6, 2)]
    ts = np.r_[np.arange(10.0)[::-1], np.arange(4.0), np.zeros(6)]
    mask = user_split(users, ts, 0.2)
    assert mask[:10].tolist() == [True, True] + [False] * 8    # user 0: its 2 latest
    assert not mask[10:14].any()                               # 4 events: below the minimum
    assert mask[14:].tolist() == [False] * 5 + [True]          # equal times: the last row
    assert user_split(users, ts, 0.2, min_events=3)[10:14].tolist() == [False] * 3 + [True]
    with pytest.raises(ConfigError, match="between 0 and 1"):
        user_split(users, ts, 0.0)


def test_per_user_validation_compares_on_many_more_users():
    """Users active only early on never reach a late time split; holding out each
    user's latest events makes every user with enough history a validation user."""
    rng = np.random.default_rng(1)
    n_users, per_user = 100, 20
    users = np.repeat(np.arange(n_users), per_user)
    items = (users % 3) * 20 + rng.integers(0, 20, len(users))
    start = np.repeat(rng.uniform(0, 100, n_users), per_user)  # each user's active spell
    ts = start + rng.uniform(0, 5, len(users))
    common = {"budget": 2, "seed": 0, "families": ["popular", "knn"]}
    by_time = tune(users, items, np.ones(len(users), np.float32), ts, (n_users, 60),
                   split="time", **common)
    by_user = tune(users, items, np.ones(len(users), np.float32), ts, (n_users, 60),
                   split="user", **common)
    both = tune(users, items, np.ones(len(users), np.float32), ts, (n_users, 60), **common)
    n_time = by_time.table.attrs["validation_users"]["time"]
    assert n_time < 30
    # (a few users only repeat items they had: nothing new to find for them)
    assert by_user.table.attrs["validation_users"]["user"] > 0.9 * n_users
    # both: users active only in the last period have no earlier events left to rank from
    assert both.table.attrs["validation_users"]["both"] > 2 * n_time
    assert by_user.family == both.family == "knn"  # tastes, not popularity


def test_search_steps_to_neighbouring_values_of_the_best():
    """After each family's defaults, candidates move one grid step from the family's best
    so far (λ for EASE), never repeating a candidate (defaults spelled out included)."""
    u, i, v, t = planted_matrix()
    result = tune(u, i, v, t, (120, 60), budget=5, seed=0, families=["ease", "knn"])
    table = result.table
    lams = [r["params"].get("regularization", 200.0) for _, r in table.iterrows()
            if r["family"] == "ease"]
    grid = SPACES["ease"]["regularization"]
    assert len(lams) == len(set(lams)) >= 2
    assert {200.0, 100.0, 400.0} & set(lams) - {200.0}     # a neighbour of the default
    assert all(lam in grid for lam in lams)
    knn = [r["params"] for _, r in table.iterrows() if r["family"] == "knn"]
    assert {"neighbors": 100, "shrinkage": 0.0} not in knn  # = the defaults, already tried


def test_auto_recommender_tunes_and_retunes():
    u, i, _, t = planted_matrix()
    df = pd.DataFrame({"user": u, "item": i, "timestamp": t})
    rec = Recommender(budget=5, factors=8, threads=1).fit(df)
    assert rec.family_ in ("knn", "ease", "als", "bpr")
    assert len(rec.tuning_) == 5 and rec.tuning_.loc[0, "family"] == rec.family_
    first = rec.tuning_
    assert rec.retune().result(timeout=120) is rec
    assert len(rec.tuning_) == 5
    assert rec.tuning_["family"].tolist() == first["family"].tolist()


@pytest.mark.slow
@pytest.mark.shared_data
def test_movielens_default_recommender_on_a_later_period():
    from tests.conftest import shared_data_path

    from dawn.recommend import evaluate

    df = pd.read_csv(shared_data_path("movielens-small", "ratings.csv"))
    df = df[df.rating >= 4]
    cut = df.timestamp.quantile(0.8)
    train, test = df[df.timestamp <= cut], df[df.timestamp > cut]
    rec = Recommender(user="userId", item="movieId", timestamp="timestamp").fit(train)
    assert set(rec.tuning_["family"]) >= {"popular", "knn", "ease", "als", "bpr"}
    m = evaluate(rec, test, k=10)
    assert m["users"] > 10
    assert m["ndcg@10"] > 0.09  # popularity 0.0985, EASE 0.1015 on these 21 users
    users = rec.tuning_.attrs["validation_users"]
    assert users["both"] > 300  # the time split alone left a few dozen


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("lam", [5.0, 200.0])
def test_ease_scored_through_its_user_dual_equals_the_fitted_model(binary, lam):
    """The tuner scores EASE candidates without the items × items matrix when users are
    fewer than items; the scores are the fitted model's."""
    import scipy.sparse as sp

    from dawn.recommend.models import EASE

    R = sp.random(40, 150, density=0.08, format="csr", dtype=np.float32, random_state=3)
    R.data = np.ceil(R.data * 3)
    R = sp.vstack([R, sp.csr_matrix((5, 150), dtype=np.float32)]).tocsr()  # idle users
    rows = R[:12]
    want = EASE(regularization=lam, binary=binary).fit(R).score(rows)
    got = ease_dual_scores(R, rows, lam, binary=binary)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
