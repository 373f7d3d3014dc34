"""HTTP routes: events in (fold-in), recommendations out, durable across restarts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI, Header, HTTPException
from fastapi.testclient import TestClient

from dawn.recommend import Recommender
from dawn.serve.recommend_routes import recommend_router
from dawn.store import Project


def events() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(60), 8)
    items = (users % 2) * 20 + rng.integers(0, 20, len(users))
    return pd.DataFrame({"uid": users, "sku": items, "ts": rng.uniform(0, 100, len(users))})


@pytest.fixture
def project(tmp_path):
    rec = Recommender("als", factors=4, iterations=10, regularization=1.0, alpha=5.0,
                      threads=1, user="uid", item="sku", timestamp="ts").fit(events())
    with Project.init(tmp_path) as proj:
        rec.save(proj, "shop")
        proj.registry.register_model("spam", {"w": np.ones(2)}, {}, promote=True)
    return tmp_path


def app_for(folder, key: str | None = None) -> TestClient:
    def require_key(authorization: str | None = Header(None)) -> None:
        if key is not None and authorization != f"Bearer {key}":
            raise HTTPException(401, detail="missing or wrong API key")

    app = FastAPI()
    app.include_router(recommend_router(folder, require_key))
    return TestClient(app)


def test_known_and_unknown_users(project):
    client = app_for(project)
    r = client.get("/v1/recommenders/shop/users/3", params={"n": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["source"] == "als" and len(body["items"]) == 5 and body["user"] == "3"
    assert all(int(i) >= 20 for i in body["items"])  # user 3 likes items 20..39
    r = client.get("/v1/recommenders/shop/users/nobody")
    assert r.status_code == 200
    assert r.json()["source"] == "popular" and len(r.json()["items"]) == 10


def test_events_fold_in_at_once_and_survive_a_restart(project):
    client = app_for(project)
    batch = {"events": [{"user": 1000, "item": 5, "value": 2.0, "timestamp": 101},
                        {"user": "1000", "item": 6, "timestamp": 102},
                        {"user": 1000, "item": 999, "timestamp": 103}]}
    r = client.post("/v1/recommenders/shop/events", json=batch)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 3, "new_users": 1, "new_items": 1, "users": 61,
                        "items": 41}
    r = client.get("/v1/recommenders/shop/users/1000")
    assert r.json()["source"] == "knn"
    assert not {5, 6, 999} & set(r.json()["items"])
    more = {"events": [{"user": 1000, "item": j} for j in (7, 8)]}  # no timestamp: now
    client.post("/v1/recommenders/shop/events", json=more)
    served = client.get("/v1/recommenders/shop/users/1000").json()
    assert served["source"] == "als"
    # a new server process: the events come back from the project folder
    restarted = app_for(project).get("/v1/recommenders/shop/users/1000").json()
    assert restarted == served
    with Project.open(project) as proj:
        assert Recommender.load(proj, "shop").explain_source(1000) == "popular"


def test_malformed_events_are_422_and_change_nothing(project):
    client = app_for(project)
    for body in ({"events": [{"item": 1}]}, {"events": []}, {"rows": []},
                 {"events": [{"user": "a", "item": 1, "value": "lots"}]},
                 {"events": [{"user": "a", "item": 1, "timestamp": 1},
                             {"user": "b", "item": 2}]}):
        r = client.post("/v1/recommenders/shop/events", json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"]
    r = client.post("/v1/recommenders/shop/events",
                    json={"events": [{"user": 1, "item": "not-a-number"}]})
    assert r.status_code == 422 and "not-a-number" in r.json()["detail"]
    ok = client.post("/v1/recommenders/shop/events", json={"events": [{"user": 1, "item": 2}]})
    assert ok.json()["users"] == 60  # the rejected batches added nobody


def test_unknown_recommender_is_404_naming_the_known_ones(project):
    client = app_for(project)
    r = client.get("/v1/recommenders/shopp/users/1")
    assert r.status_code == 404
    assert "'shop'" in r.json()["detail"] and "Did you mean" in r.json()["detail"]
    r = client.post("/v1/recommenders/spam/events", json={"events": [{"user": 1, "item": 2}]})
    assert r.status_code == 404 and "not a recommender" in r.json()["detail"]
    assert client.get("/v1/recommenders/shop/users/1", params={"n": 0}).status_code == 422


def test_a_new_version_is_picked_up(project):
    client = app_for(project)
    before = client.get("/v1/recommenders/shop/users/1").json()
    rec = Recommender("popular", user="uid", item="sku", timestamp="ts").fit(events())
    rec.save(project, "shop")
    after = client.get("/v1/recommenders/shop/users/1").json()
    assert before["source"] == "als" and after["source"] == "popular"


def test_routes_use_the_key_dependency(project):
    client = app_for(project, key="s3cret")
    assert client.get("/v1/recommenders/shop/users/1").status_code == 401
    r = client.get("/v1/recommenders/shop/users/1",
                   headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200
