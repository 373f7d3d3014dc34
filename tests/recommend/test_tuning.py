"""Auto-tuning: time splits, the budgeted seeded search, and model='auto'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.errors import ConfigError, DataError
from dawn.recommend import Recommender, time_split, tune
from dawn.recommend.tuning import EASE_MAX_ITEMS, _eligible


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
    # every validation event comes from users never seen before: nothing to compare on
    users = np.r_[np.zeros(8, int), np.arange(1, 3)]
    with pytest.raises(DataError, match="validation period has no new interactions"):
        tune(users, np.arange(10), np.ones(10, np.float32), np.arange(10.0), (3, 10),
             families=["popular"])


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
    assert m["ndcg@10"] > 0.08  # popularity 0.0985, EASE 0.1015 on these 21 users
