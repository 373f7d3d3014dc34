"""The Recommender: fit, recommend, the cold-start ladder, fold-in, refit, persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.errors import ColumnNotFoundError, ConfigError, DataError, NotFittedError, StoreError
from dawn.recommend import Recommender
from dawn.store import Project

N_CLUSTERS, PER_CLUSTER = 3, 40
ALS = {"factors": 4, "iterations": 10, "regularization": 1.0, "alpha": 5.0, "threads": 1}


def planted(n_users: int = 150, per_user: int = 12, seed: int = 0) -> pd.DataFrame:
    """Users in 3 taste clusters of 40 items each; within a cluster item popularity is
    skewed, so rankings are meaningful; one off-cluster event per user as noise."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, PER_CLUSTER + 1) ** 0.8
    p /= p.sum()
    rows = []
    for u in range(n_users):
        c = u % N_CLUSTERS
        picks = rng.choice(PER_CLUSTER, per_user, replace=False, p=p) + c * PER_CLUSTER
        noise = rng.integers(N_CLUSTERS * PER_CLUSTER)
        for j in [*picks.tolist(), int(noise)]:
            rows.append((f"u{u}", f"i{j}", float(rng.uniform(0, 1000))))
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def cluster(item: str) -> int:
    return int(item[1:]) // PER_CLUSTER


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return planted()


@pytest.fixture(scope="module")
def als(events) -> Recommender:
    return Recommender("als", **ALS).fit(events)


def fresh_als(events) -> Recommender:
    return Recommender("als", **ALS).fit(events)


def test_fit_returns_self_and_recommends_the_users_cluster(events):
    rec = Recommender("als", **ALS)
    assert rec.fit(events) is rec
    assert (rec.n_users, rec.n_items) == (150, 120)
    assert rec.n_events == len(events)
    seen = set(events.loc[events.user == "u3", "item"])
    top = rec.recommend("u3", n=10)
    assert len(top) == 10 and not seen & set(top)
    assert sum(cluster(i) == 0 for i in top) >= 9
    assert rec.explain_source("u3") == "als"
    assert repr(rec).startswith("Recommender(als, 150 users")


def test_same_seed_same_recommendations(events, als):
    again = fresh_als(events)
    assert again.recommend("u7", n=10) == als.recommend("u7", n=10)


def test_filters_and_exclude_seen(als, events):
    seen = set(events.loc[events.user == "u1", "item"])
    with_seen = als.recommend("u1", n=120, exclude_seen=False)
    assert seen <= set(with_seen)
    only = ["i40", "i41", "i0", "nope"]
    got = als.recommend("u1", n=10, only=only)
    assert set(got) <= {"i40", "i41", "i0"} - seen
    top = als.recommend("u1", n=5)
    assert not set(top[:2]) & set(als.recommend("u1", n=5, exclude=top[:2]))


def test_cold_start_ladder(events):
    rec = fresh_als(events)
    assert rec.explain_source("stranger") == "popular"
    pop = rec.recommend("stranger", n=5)
    assert len(pop) == 5
    assert rec.recommend("another stranger", n=5) == pop
    rec.partial_fit({"user": ["newbie"], "item": ["i45"]})  # one event: item-kNN
    assert rec.explain_source("newbie") == "knn"
    knn_top = rec.recommend("newbie", n=10)
    assert "i45" not in knn_top and sum(cluster(i) == 1 for i in knn_top) >= 8
    rec.partial_fit({"user": ["newbie"] * 4, "item": ["i41", "i42", "i43", "i44"]})
    assert rec.explain_source("newbie") == "als"  # five events: the main model
    top = rec.recommend("newbie", n=10)
    assert sum(cluster(i) == 1 for i in top) >= 9


def test_folded_in_user_matches_a_full_refit(events):
    target = "u4"  # cluster 1
    without = events[events.user != target]
    rec = Recommender("als", **ALS).fit(without)
    assert rec.explain_source(target) == "popular"
    rec.partial_fit(events[events.user == target])
    folded = rec.recommend(target, n=10)
    full = fresh_als(events).recommend(target, n=10)
    assert rec.explain_source(target) == "als"
    assert len(set(folded) & set(full)) >= 8


def test_known_user_with_new_events_is_refolded(events):
    rec = fresh_als(events)
    before = rec.recommend("u0", n=10)  # cluster 0
    clicks = [f"i{j}" for j in range(100, 120)]  # cluster 2's 20 least popular items
    rec.partial_fit({"user": ["u0"] * 20, "item": clicks})
    after = rec.recommend("u0", n=10)
    assert after != before
    assert sum(cluster(i) == 2 for i in after) >= 5
    assert not set(after) & set(clicks)


def test_new_items_get_factors_from_the_users_who_touched_them(events):
    rec = fresh_als(events)
    fans = [f"u{u}" for u in range(0, 60, 3)]  # 20 users of cluster 0
    rec.partial_fit({"user": fans, "item": ["brand-new"] * len(fans)})
    assert rec.n_items == 121
    assert "brand-new" not in rec.recommend("u3", n=120)  # a fan: seen already
    for user in ("u63", "u66", "u69"):  # cluster 0, not fans
        assert "brand-new" in rec.recommend(user, n=10)
    assert "brand-new" not in rec.recommend("u1", n=10)  # cluster 1
    similar = rec.similar_items("brand-new", n=5)
    assert sum(cluster(i) == 0 for i in similar) >= 4


def test_a_new_user_bringing_new_items_is_served_from_exact_factors(events):
    """A new user whose events bring new items: the items are solved from that user (and
    the user then folded in against them) without recomputing YᵀY over the catalogue;
    what is served equals a fold-in against freshly computed statistics."""
    rec = fresh_als(events)
    rec.recommend("u0", n=3)  # fold-in statistics cached
    for j in range(3):
        history = [*[f"i{x}" for x in range(0, 40, 4)][j:j + 8], f"new{j}a", f"new{j}b"]
        rec.partial_fit({"user": [f"newbie{j}"] * len(history), "item": history})
        got = rec.recommend(f"newbie{j}", n=10)
        assert sum(cluster(i) == 0 for i in got if i.startswith("i")) >= 8
    model = rec.model_
    Y = model.item_factors_.astype(np.float64)
    np.testing.assert_allclose(model._gram(), Y.T @ Y + model.regularization
                               * np.eye(Y.shape[1]), rtol=1e-5, atol=1e-7)
    assert rec.n_items == 126 and np.abs(model.item_factors_[-6:]).sum() > 0
    assert rec.similar_items("new2b", n=1) == ["new2a"]  # solved from the same user


def test_similar_items_and_recommend_many(als):
    sim = als.similar_items("i81", n=5)
    assert len(sim) == 5 and "i81" not in sim and sum(cluster(i) == 2 for i in sim) >= 4
    df = als.recommend_many(["u0", "nobody", "u1"], n=3)
    assert list(df.columns) == ["user", "rank", "item", "score", "source"]
    assert df.shape == (9, 5)
    assert df.groupby("user")["rank"].apply(list).to_dict() == {
        "u0": [1, 2, 3], "nobody": [1, 2, 3], "u1": [1, 2, 3]}
    assert set(df.loc[df.user == "nobody", "source"]) == {"popular"}
    assert df.loc[df.user == "u1", "item"].tolist() == als.recommend("u1", n=3)


def test_integer_ids_accept_text_lookups():
    df = pd.DataFrame({"uid": [1, 1, 2, 2, 3], "mid": [10, 11, 10, 12, 10]})
    rec = Recommender("knn", user="uid", item="mid").fit(df)
    assert rec.recommend("3", n=2) == rec.recommend(3, n=2) == [11, 12]
    assert all(isinstance(i, int) for i in rec.recommend(3, n=2))


def test_duplicates_sum_when_implicit_and_latest_rating_wins_when_explicit():
    imp = Recommender("popular").fit({"user": ["a", "a", "b"], "item": ["x", "x", "y"]})
    assert imp._history_rows(np.array([0])).toarray().tolist() == [[2.0, 0.0]]
    ratings = {"user": ["a", "a", "b", "b"], "item": ["x", "x", "x", "y"],
               "rating": [5.0, 1.0, 3.0, 4.0], "timestamp": [2, 1, 1, 1]}
    exp = Recommender("popular", feedback="explicit", value="rating").fit(ratings)
    assert exp._history_rows(np.array([0])).toarray().tolist() == [[5.0, 0.0]]
    exp.partial_fit({"user": ["a"], "item": ["x"], "rating": [2.0], "timestamp": [3]})
    assert exp._history_rows(np.array([0])).toarray().tolist() == [[2.0, 0.0]]


def test_explicit_ratings_with_biased_mf():
    rng = np.random.default_rng(1)
    users = rng.integers(0, 40, 800)
    items = rng.integers(0, 30, 800)
    ratings = np.clip(np.round(3 + (users % 2 * 2 - 1) * (items % 2 * 2 - 1)
                               + rng.normal(0, 0.3, 800)), 1, 5)
    df = pd.DataFrame({"user": users, "item": items, "rating": ratings})
    rec = Recommender("mf", feedback="explicit", value="rating", factors=4, iterations=100,
                      threads=1).fit(df)
    assert rec.explain_source(0) == "mf"
    top = rec.recommend(0, n=5)  # even users rate even items 4, odd items 2
    assert len(top) == 5 and sum(i % 2 == 0 for i in top) >= 4
    assert sum(i % 2 == 1 for i in rec.recommend(1, n=5)) >= 4


@pytest.mark.parametrize("kwargs, match", [
    ({"model": "alss"}, "unknown model 'alss'.*Did you mean 'als'"),
    ({"model": "auto", "alpha": 2.0}, "need a model family"),
    ({"model": "als", "alpah": 2.0}, "no parameter 'alpah'.*Did you mean 'alpha'"),
    ({"feedback": "ratings"}, "feedback must be"),
    ({"factors": 0}, "factors must be a positive integer"),
    ({"half_life": -1}, "half_life must be positive"),
])
def test_bad_parameters(events, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Recommender(**kwargs).fit(events)


def test_bad_calls_and_malformed_events(events, als):
    with pytest.raises(NotFittedError, match="call fit"):
        Recommender().recommend("u1")
    with pytest.raises(ConfigError, match="n must be a positive integer"):
        als.recommend("u1", n=0)
    with pytest.raises(DataError, match="unknown item 'i999'"):
        als.similar_items("i999")
    with pytest.raises(ConfigError, match="list of user ids"):
        als.recommend_many("u1")
    rec = fresh_als(events)
    before = rec.n_events
    with pytest.raises(ColumnNotFoundError, match="'item'"):
        rec.partial_fit({"user": ["u1"], "itm": ["i1"]})
    with pytest.raises(DataError, match="missing id"):
        rec.partial_fit({"user": ["u1", None], "item": ["i1", "i2"]})
    assert rec.n_events == before


def test_save_and_load_round_trip(tmp_path, events):
    rec = fresh_als(events)
    rec.partial_fit({"user": ["late", "late"], "item": ["i0", "i1"]})
    rec.partial_fit({"user": ["u5"] * 3, "item": ["i90", "i91", "i92"]})
    version = rec.save(tmp_path, "shop")
    assert version.version == 1 and version.stage == "current"
    with Project.open(tmp_path) as project:
        back = Recommender.load(project, "shop")
    for user in ("u5", "late", "u1", "nobody"):
        assert back.recommend(user, n=10) == rec.recommend(user, n=10)
        assert back.explain_source(user) == rec.explain_source(user)
    assert back.similar_items("i3", 5) == rec.similar_items("i3", 5)
    assert (back.n_users, back.n_items, back.n_events) == (rec.n_users, rec.n_items,
                                                           rec.n_events)
    back.partial_fit({"user": ["late"], "item": ["i2"]})  # still learns after loading
    assert "i2" not in back.recommend("late", n=120)


def test_load_refuses_other_models(tmp_path):
    with Project.open(tmp_path) as project:
        project.registry.register_model("spam", {"w": np.ones(2)}, {}, promote=True)
        with pytest.raises(StoreError, match="not a recommender"):
            Recommender.load(project, "spam")
    with pytest.raises(ConfigError, match="project must be"):
        Recommender("popular").fit({"user": [1], "item": [2]}).save(42, "x")


def test_refit_in_background_keeps_events_added_meanwhile(events):
    rec = fresh_als(events)
    future = rec.refit(background=True)
    rec.partial_fit({"user": ["during"] * 6, "item": [f"i{j}" for j in range(40, 46)]})
    assert future.result(timeout=60) is rec
    assert rec.n_events == len(events) + 6
    assert rec.explain_source("during") == "als"
    assert sum(cluster(i) == 1 for i in rec.recommend("during", n=10)) >= 8
    done = rec.refit()  # synchronous: already done
    assert done.done() and done.result() is rec
    assert rec.recommend("during", n=10)  # now part of the model itself


def test_auto_on_too_few_events_falls_back_to_knn_with_a_warning():
    from dawn.errors import DawnWarning

    tiny = {"user": ["a", "a", "b", "c"], "item": ["x", "y", "x", "z"]}
    with pytest.warns(DawnWarning, match="could not tune.*item-kNN"):
        rec = Recommender().fit(tiny)
    assert rec.family_ == "knn" and rec.tuning_ is None
    assert rec.recommend("b", n=1) == ["y"]


def test_public_names_import():
    import dawn.recommend

    for name in dawn.recommend.__all__:
        assert getattr(dawn.recommend, name) is not None


@pytest.mark.parametrize("model", ["popular", "knn"])
def test_refit_of_baseline_families(events, model):
    rec = Recommender(model).fit(events)
    rec.partial_fit({"user": ["late"] * 2, "item": ["i0", "i1"]})
    assert rec.refit().result() is rec
    assert rec.family_ == model and rec.n_events == len(events) + 2
    assert rec.recommend("late", n=3)
