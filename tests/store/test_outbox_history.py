"""The action outbox (at-least-once, retries, idempotency), monitoring history and runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from dawn.errors import ArtefactNotFoundError, StoreError
from dawn.store import OutboxItem, Project


@pytest.fixture
def project(tmp_path):
    with Project.init(tmp_path) as p:
        yield p


# -- outbox --------------------------------------------------------------------------
def test_enqueue_claim_done(project):
    box = project.outbox
    a = box.enqueue("webhook", {"url": "http://x", "score": np.float32(0.5)})
    b = box.enqueue("command", {"argv": ["echo", "hi"]})
    items = box.claim(limit=10)
    assert [i.id for i in items] == [a, b] and all(isinstance(i, OutboxItem) for i in items)
    assert items[0].payload == {"url": "http://x", "score": 0.5}
    assert items[0].status == "claimed" and items[0].attempts == 1
    assert box.claim() == []  # claimed items are leased, not handed out twice
    box.mark_done(a)
    assert box.get(a).status == "done"
    assert [i.id for i in box.items("done")] == [a]
    assert [i.id for i in box.items("claimed")] == [b]


def test_claim_respects_limit_order_and_kinds(project):
    box = project.outbox
    ids = [box.enqueue("webhook" if i % 2 else "command", {"i": i}) for i in range(5)]
    assert [i.id for i in box.claim(limit=2)] == ids[:2]
    assert [i.payload["i"] for i in box.claim(kinds=["webhook"])] == [3]
    assert [i.payload["i"] for i in box.claim()] == [2, 4]


def test_idempotency_key_adds_an_action_once(project):
    box = project.outbox
    first = box.enqueue("webhook", {"n": 1}, key="drift-2024-05-01")
    assert box.enqueue("webhook", {"n": 2}, key="drift-2024-05-01") == first
    assert len(box.items()) == 1 and box.get(first).payload == {"n": 1}
    assert box.get(first).key == "drift-2024-05-01"


def test_expired_lease_makes_an_action_claimable_again(project):
    box = project.outbox
    a = box.enqueue("webhook", {})
    box.claim(lease=0)  # the worker "dies" holding it
    [again] = box.claim(lease=60)
    assert again.id == a and again.attempts == 2


def test_failures_retry_with_backoff_then_stop(project):
    box = project.outbox
    a = box.enqueue("webhook", {})
    box.claim()
    assert box.mark_failed(a, "HTTP 503", backoff=3600) == "pending"
    assert box.claim() == []  # held back by the backoff
    assert box.get(a).last_error == "HTTP 503"
    b = box.enqueue("webhook", {})
    for attempt in range(1, 4):
        [item] = box.claim(kinds=["webhook"])
        assert item.id == b and item.attempts == attempt
        status = box.mark_failed(b, f"boom {attempt}", max_attempts=3, backoff=0)
    assert status == "failed" and box.get(b).status == "failed"
    assert box.claim() == []
    box.requeue(b)
    assert [i.id for i in box.claim()] == [b]
    assert box.mark_failed(b, "no retry", retry=False) == "failed"


def test_late_failure_after_done_keeps_done(project):
    box = project.outbox
    a = box.enqueue("webhook", {})
    box.claim()
    box.mark_done(a)
    assert box.mark_failed(a, "late") == "done"


def test_delay_holds_an_action_back(project):
    project.outbox.enqueue("webhook", {}, delay=3600)
    assert project.outbox.claim() == []


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda b: b.enqueue("", {}), StoreError, "kind must be non-empty"),
    (lambda b: b.enqueue("webhook", {}, key=5), StoreError, "key must be text"),
    (lambda b: b.enqueue("webhook", {"f": object()}), StoreError, "JSON cannot hold"),
    (lambda b: b.claim(limit=0), StoreError, "limit must be at least 1"),
    (lambda b: b.mark_done(999), ArtefactNotFoundError, "no outbox item with id 999"),
    (lambda b: b.mark_failed(999, "x"), ArtefactNotFoundError, "id 999"),
    (lambda b: b.items("stuck"), StoreError, "'stuck' is not one of"),
])
def test_outbox_bad_inputs(project, call, error, message):
    with pytest.raises(error, match=message):
        call(project.outbox)


# -- history -------------------------------------------------------------------------
def test_record_and_query_history(project):
    h = project.history
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    for day in range(5):
        h.record("spam", {"coverage": 0.9 - day / 100, "psi": day / 10}, version=1 + day // 3,
                 ts=t0 + timedelta(days=day), details={"day": day})
    h.record("other", {"coverage": 0.5}, ts=t0)
    df = h.query("spam", metric="coverage")
    assert list(df.columns) == ["model", "version", "ts", "metric", "value", "details"]
    assert len(df) == 5 and df["ts"].is_monotonic_increasing
    assert df["value"].tolist() == pytest.approx([0.9, 0.89, 0.88, 0.87, 0.86])
    assert df["details"].iloc[2] == {"day": 2} and str(df["ts"].dt.tz) == "UTC"
    assert len(h.query("spam", since=t0 + timedelta(days=1), until="2024-05-03T00:00:00")) == 2
    assert len(h.query("spam", version=2)) == 4
    assert h.query("spam", metric="psi", limit=2)["value"].tolist() == [0.3, 0.4]
    assert set(h.query()["model"]) == {"spam", "other"}
    assert h.query("nobody").empty


def test_history_times_and_missing_values(project):
    h = project.history
    h.record("m", {"a": float("nan"), "b": None, "c": np.float32(1.5)}, ts=1_714_521_600)
    df = h.query("m")
    assert np.isnan(df["value"].iloc[0]) and np.isnan(df["value"].iloc[1])
    assert df["value"].iloc[2] == 1.5
    assert df["ts"].iloc[0] == pd.Timestamp("2024-05-01T00:00:00Z")
    h.record("m", {"a": 1.0}, ts="2024-05-01T02:00:00+02:00")  # offsets are honoured
    assert h.query("m", metric="a")["ts"].iloc[0] == pd.Timestamp("2024-05-01T00:00:00Z")


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("m", {}), {}, "non-empty dict"),
    (("", {"a": 1}), {}, "model must be non-empty"),
    (("m", {"a": "high"}), {}, "'high', which is not a number"),
    (("m", {"a": 1}), {"ts": "yesterday"}, "ts='yesterday' is not a time"),
])
def test_history_bad_inputs(project, args, kwargs, message):
    with pytest.raises(StoreError, match=message):
        project.history.record(*args, **kwargs)


# -- runs ----------------------------------------------------------------------------
def test_runs_track_success_and_failure(project):
    runs = project.runs
    with runs.track("label", {"lfs": 9}) as run:
        run.summary["coverage"] = np.float64(0.93)
    with pytest.raises(ValueError, match=r"bad data"), runs.track("train"):
        raise ValueError("bad data")
    train, label = runs.list()
    assert label.kind == "label" and label.status == "ok" and label.params == {"lfs": 9}
    assert label.summary == {"coverage": 0.93} and label.finished_at
    assert train.status == "failed" and train.error == "ValueError: bad data"
    assert [r.kind for r in runs.list("label")] == ["label"]
    rid = runs.start("monitor")
    assert runs.get(rid).status == "running"
    runs.finish(rid, summary={"drifted": ["age"]})
    assert runs.get(rid).summary == {"drifted": ["age"]}
    with pytest.raises(ArtefactNotFoundError, match=r"no run with id 999"):
        runs.get(999)
    with pytest.raises(ArtefactNotFoundError, match=r"no run with id 999"):
        runs.finish(999)
    with pytest.raises(StoreError, match=r"must be 'ok' or 'failed'"):
        runs.finish(rid, status="meh")
