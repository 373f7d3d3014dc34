"""Online quality of served recommendations: metrics route, drop rule, background retune."""

from __future__ import annotations

import math
from concurrent.futures import Future

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dawn.errors import ConfigError
from dawn.recommend import Recommender
from dawn.recommend.metrics import ServedLists
from dawn.serve.recommend_routes import RecommenderService, recommend_router
from dawn.store import Project


def events() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(60), 8)
    items = (users % 2) * 20 + rng.integers(0, 20, len(users))
    return pd.DataFrame({"uid": users, "sku": items, "ts": rng.uniform(0, 100, len(users))})


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("online")
    rec = Recommender("popular", user="uid", item="sku", timestamp="ts").fit(events())
    with Project.init(path) as proj:
        rec.save(proj, "shop")
    return path


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_for(folder, **options):
    clock = options.pop("clock", None) or Clock()
    service = RecommenderService(folder, clock=clock, **options)
    app = FastAPI()
    app.include_router(recommend_router(folder, lambda: None, service=service))
    return TestClient(app), service, clock


@pytest.fixture
def retunes(monkeypatch):
    calls = []

    def fake_retune(self, *, background=False):
        calls.append(background)
        fut = Future()
        fut.set_result(self)
        return fut

    monkeypatch.setattr(Recommender, "retune", fake_retune)
    return calls


def serve(client, user, n=5):
    r = client.get(f"/v1/recommenders/shop/users/{user}", params={"n": n})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def post(client, pairs):
    body = {"events": [{"user": u, "item": i} for u, i in pairs]}
    r = client.post("/v1/recommenders/shop/events", json=body)
    assert r.status_code == 200, r.text


def metrics(client):
    r = client.get("/v1/recommenders/shop/metrics")
    assert r.status_code == 200, r.text
    return r.json()


def plant(client, first, n_hit, n_miss):
    """``n_hit`` served lists that each get a click, then ``n_miss`` that get none."""
    for j in range(n_hit):
        user = 1000 + first + j
        post(client, [(user, serve(client, user)[1])])
    for j in range(n_miss):
        serve(client, 1000 + first + n_hit + j)


def history(service):
    return service.project.history.query("shop")


def test_metrics_route_matches_a_hand_computed_sequence(folder, retunes):
    client, _, clock = client_for(folder)
    fresh = metrics(client)
    assert fresh["lists"] == 0 and fresh["hit_rate"] is None and fresh["precision"] is None
    a, b, c = serve(client, 1), serve(client, 2), serve(client, 3)
    late = serve(client, 4)
    clock.now += 10
    post(client, [(1, a[1]), (1, a[1]),              # rank 2, counted once
                  (2, 999),                          # not on 2's list
                  (3, c[0]), (3, c[2]),              # ranks 1 and 3
                  (4000, a[0])])                     # 4000 was served nothing
    clock.now += 1801
    post(client, [(4, late[0])])                # after the attribution window
    m = metrics(client)
    assert (m["lists"], m["impressions"], m["clicks"]) == (4, 20, 3)
    assert m["hit_rate"] == pytest.approx(2 / 4)
    assert m["precision"] == pytest.approx(3 / 20)
    assert m["mrr"] == pytest.approx((1 / 2 + 0 + 1 + 0) / 4)
    assert m["total"] == {"lists": 4, "impressions": 20, "clicks": 3, "lists_hit": 2}
    assert m["window"]["since"] == 1000.0 and m["window"]["capacity"] == 10_000
    assert not m["drop"]["dropped"] and "z-test" in m["drop"]["rule"]
    assert m["retune"]["started"] == 0 and not retunes
    assert len(b) == 5


def test_a_planted_drop_records_history_and_starts_one_retune(folder, retunes):
    client, service, _ = client_for(folder, settle_seconds=0, drop_window=40, min_lists=10,
                                    alpha=0.01)
    before = len(history(service))
    plant(client, 0, n_hit=20, n_miss=0)
    assert not retunes  # a steady hit rate triggers nothing
    plant(client, 20, n_hit=0, n_miss=20)
    post(client, [(5000, 1)])  # the next events batch runs the check
    assert retunes == [True]
    points = history(service).iloc[before:]
    hit = points[points["metric"] == "online_hit_rate"]
    assert len(hit) == 1 and hit["value"].iloc[0] == 0.0
    assert hit["details"].iloc[0]["action"] == "retune"
    assert points[points["metric"] == "online_hit_rate_before"]["value"].iloc[0] == 1.0
    m = metrics(client)
    assert m["retune"]["started"] == 1 and not m["retune"]["running"]
    post(client, [(5000, 2)])
    assert retunes == [True]  # only lists served after the retune count from now on
    assert metrics(client)["drop"]["earlier"]["lists"] == 0


def test_at_most_one_retune_runs_at_a_time(folder, monkeypatch):
    pending: list[Future] = []

    def slow_retune(self, *, background=False):
        pending.append(Future())
        return pending[-1]

    monkeypatch.setattr(Recommender, "retune", slow_retune)
    client, _, _ = client_for(folder, settle_seconds=0, drop_window=40, min_lists=10)
    plant(client, 0, 20, 20)
    post(client, [(5001, 1)])
    assert len(pending) == 1 and metrics(client)["retune"]["running"]
    plant(client, 100, 20, 20)
    post(client, [(5001, 1)])
    assert len(pending) == 1  # still running: no second one
    pending[0].set_exception(RuntimeError("boom"))
    assert metrics(client)["retune"]["last_error"] == "RuntimeError: boom"
    post(client, [(5001, 1)])
    assert len(pending) == 2
    status = metrics(client)["retune"]
    assert status["started"] == 2 and status["running"]


def test_no_trigger_without_enough_traffic_or_before_lists_settle(folder, retunes):
    client, service, clock = client_for(folder, settle_seconds=0, drop_window=40,
                                        min_lists=10)
    before = len(history(service))
    plant(client, 0, 9, 9)  # 9 lists per half < min_lists
    post(client, [(5001, 1)])
    m = metrics(client)
    assert not m["drop"]["dropped"] and m["drop"]["recent"]["lists"] == 9
    assert not retunes and len(history(service)) == before

    client, service, clock = client_for(folder, settle_seconds=60, drop_window=40,
                                        min_lists=10)
    plant(client, 0, 20, 20)
    post(client, [(5001, 1)])
    assert not retunes  # the lists are too young to judge
    clock.now += 61
    post(client, [(5001, 1)])
    assert retunes == [True]


def test_auto_retune_off_still_records_the_drop(folder, retunes):
    client, service, _ = client_for(folder, settle_seconds=0, drop_window=40, min_lists=10,
                                    auto_retune=False)
    before = len(history(service))
    plant(client, 0, 20, 20)
    post(client, [(5001, 1)])
    assert not retunes
    points = history(service).iloc[before:]
    assert points["details"].iloc[0]["action"] == "none"


def test_memory_is_bounded(folder):
    client, _, _ = client_for(folder, capacity=5, drop_window=4, min_lists=2)
    first = serve(client, 2000)
    for j in range(1, 8):
        serve(client, 2000 + j)
    post(client, [(2000, first[0]), (2007, serve(client, 2007)[0])])
    m = metrics(client)
    assert m["lists"] == 5 and m["total"]["lists"] == 9
    assert m["clicks"] == 1  # 2000's list was forgotten


def test_unknown_recommender_and_bad_options(folder):
    client, _, _ = client_for(folder)
    r = client.get("/v1/recommenders/shopp/metrics")
    assert r.status_code == 404 and "Did you mean" in r.json()["detail"]
    with pytest.raises(ConfigError, match=r"window \(20\) must not exceed capacity"):
        RecommenderService(folder, capacity=10, drop_window=20)
    with pytest.raises(ConfigError, match=r"min_lists \(60\) per half needs window"):
        RecommenderService(folder, drop_window=100, min_lists=60)
    with pytest.raises(ConfigError, match="min_drop must be a number"):
        RecommenderService(folder, min_drop=1.5)
    with pytest.raises(ConfigError, match="alpha must be"):
        ServedLists(alpha=-0.1)
    with pytest.raises(ConfigError, match="settle_seconds must be"):
        ServedLists(settle_seconds=-1)
    with pytest.raises(ConfigError, match="capacity must be an integer"):
        ServedLists(capacity=0)


def test_drop_test_p_value_is_the_one_sided_two_proportion_z_test():
    from scipy.stats import norm

    clock = Clock()
    sl = ServedLists(window=100, min_lists=10, settle_seconds=0, clock=clock)
    hits = [1] * 35 + [0] * 15 + [1] * 20 + [0] * 30
    for j, h in enumerate(hits):
        sl.record(j, ["a", "b"])
        if h:
            sl.update([j], ["b"])
    t = sl.drop_test()
    p1, p2, pooled = 35 / 50, 20 / 50, 55 / 100
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (2 / 50))
    assert t["p_value"] == pytest.approx(norm.sf(z))
    assert t["relative_drop"] == pytest.approx((p1 - p2) / p1) and t["dropped"]
    assert t["earlier"] == {"lists": 50, "hit_rate": p1}
