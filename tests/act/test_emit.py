"""Emitting events: one outbox item per triggered action, in the caller's transaction,
deduplicated, rate-limited and cooled down so a flapping signal does not spam."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dawn.act import Action, Emitted, emit
from dawn.act.emit import event_key
from dawn.errors import ConfigError, StoreError
from dawn.store import Project


@pytest.fixture
def project(tmp_path):
    with Project.init(tmp_path) as p:
        yield p


def test_one_item_per_matching_action(project):
    acts = [Action("hook", on="drift", webhook="http://127.0.0.1:9/h"),
            Action("low", on="performance", log=True, when={"below": 0.8}),
            Action("all", on="*", log=True)]
    ids = emit(project, "drift", {"columns": ["age"]}, actions=acts)
    assert isinstance(ids, Emitted) and isinstance(ids, list) and len(ids) == 2
    items = [project.outbox.get(i) for i in ids]
    assert [i.payload["action"] for i in items] == ["hook", "all"]
    assert all(i.kind == "action" and i.status == "pending" for i in items)
    p = items[0].payload
    assert p["event"] == "drift" and p["data"] == {"columns": ["age"]} and p["emitted_at"]
    assert items[0].key == f"drift:{event_key('drift', {'columns': ['age']})}:hook"
    assert emit(project, "performance", {"value": 0.9}, actions=acts).enqueued == [ids[1] + 1]
    assert len(emit(project, "performance", {"value": 0.7}, actions=acts)) == 2


def test_explicit_key_is_the_idempotency_key(project):
    acts = [Action("hook", on="drift", webhook="http://127.0.0.1:9/h")]
    [i] = emit(project, "drift", {"v": 1}, actions=acts, key="2024-06-01")
    assert project.outbox.get(i).key == "drift:2024-06-01:hook"


def test_the_same_event_twice_is_queued_once(project):
    acts = [Action("hook", on="drift", webhook="http://127.0.0.1:9/h")]
    first = emit(project, "drift", {"a": 1, "b": [1, 2]}, actions=acts)
    again = emit(project, "drift", {"b": [1, 2], "a": 1}, actions=acts)  # same JSON, reordered
    assert again == first and again.enqueued == [] and again.duplicates == first
    other = emit(project, "drift", {"a": 2}, actions=acts)
    assert other.enqueued and other != first
    keyed = emit(project, "drift", {"a": 3}, actions=acts, key="k")
    assert emit(project, "drift", {"a": 4}, actions=acts, key="k") == keyed


def test_numpy_values_and_nan_become_plain_json(project):
    acts = [Action("all", on="*", log=True)]
    [i] = emit(project, "drift", {"share": np.float32(0.25), "n": np.int64(3),
                                  "w": np.array([1.0, np.nan])}, actions=acts)
    assert project.outbox.get(i).payload["data"] == {"share": 0.25, "n": 3, "w": [1.0, None]}


def test_emit_joins_the_callers_transaction(project):
    acts = [Action("all", on="*", log=True)]
    with pytest.raises(RuntimeError), project.transaction():
        project.history.record("m", {"drift_share": 0.5})
        emit(project, "drift", {"x": 1}, actions=acts)
        raise RuntimeError("the check failed after emitting")
    assert project.outbox.items() == [] and project.history.query("m").empty
    with project.transaction():
        project.history.record("m", {"drift_share": 0.5})
        emit(project, "drift", {"x": 1}, actions=acts)
    assert len(project.outbox.items()) == 1 and len(project.history.query("m")) == 1


def test_emit_to_a_project_path(tmp_path):
    ids = emit(tmp_path, "drift", {"x": 1}, actions=[Action("all", on="*", log=True)])
    with Project.open(tmp_path, create=False) as p:
        assert p.outbox.get(ids[0]).payload["action"] == "all"


def test_rate_limit_suppresses_a_flapping_signal(project):
    acts = [Action("hook", on="drift", webhook="http://127.0.0.1:9/h", rate_limit="3/minute"),
            Action("free", on="drift", log=True)]
    results = [emit(project, "drift", {"share": i / 100}, actions=acts) for i in range(10)]
    assert sum(len(r.enqueued) for r in results) == 3 + 10
    assert [r.suppressed for r in results[3:]] == [{"hook": "rate_limit"}] * 7
    assert results[0].suppressed == {}
    # the window slides: items from more than a minute ago no longer count
    project._db.conn.execute("UPDATE action_outbox SET created_at = '2000-01-01T00:00:00.000000"
                             "+00:00'")
    assert emit(project, "drift", {"share": 0.5}, actions=acts).suppressed == {}


def test_cooldown_suppresses_repeats_of_the_event(project):
    acts = [Action("hook", on="drift", webhook="http://127.0.0.1:9/h", cooldown=3600)]
    assert len(emit(project, "drift", {"share": 0.3}, actions=acts)) == 1
    flapping = [emit(project, "drift", {"share": 0.3 + i / 100}, actions=acts)
                for i in range(1, 6)]
    assert all(r == [] and r.suppressed == {"hook": "cooldown"} for r in flapping)
    assert len(emit(project, "performance", {"value": 1}, actions=[
        Action("perf", on="performance", log=True, cooldown=3600)])) == 1  # other action/event


def test_cooldown_is_per_key_when_keys_are_given(project):
    acts = [Action("hook", on="drift", webhook="http://127.0.0.1:9/h", cooldown=3600)]
    a = emit(project, "drift", {"share": 0.3}, actions=acts, key="model-a")
    b = emit(project, "drift", {"share": 0.3}, actions=acts, key="model-b")
    assert a.enqueued and b.enqueued
    again = emit(project, "drift", {"share": 0.4}, actions=acts, key="model-a")
    assert again == a and again.duplicates == a  # the same occurrence, already queued


def test_after_the_cooldown_the_event_fires_again_with_a_new_key(project):
    acts = [Action("hook", on="drift", webhook="http://127.0.0.1:9/h", cooldown=0.2)]
    [first] = emit(project, "drift", {"share": 0.3}, actions=acts, key="model-a")
    assert emit(project, "drift", {"share": 0.3}, actions=acts, key="model-a") == [first]
    time.sleep(0.3)
    [second] = emit(project, "drift", {"share": 0.3}, actions=acts, key="model-a")
    assert second != first
    k1, k2 = project.outbox.get(first).key, project.outbox.get(second).key
    assert k1 == "drift:model-a:hook" and k2.startswith("drift:model-a:hook@") and k1 != k2


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"event": ""}, ConfigError, r"event must be a non-empty name"),
    ({"event": "*"}, ConfigError, r"not '\*'"),
    ({"payload": [1, 2]}, ConfigError, r"payload of event 'drift' must be a JSON object"),
    ({"payload": {"f": object()}}, ConfigError, r"cannot be sent as JSON: payload\['f'\] is a"),
    ({"key": ""}, ConfigError, r"key must be non-empty text"),
    ({"actions": [Action("a", on="*", log=True)] * 2}, ConfigError, r"two actions are named"),
    ({"actions": ["a"]}, ConfigError, r"must be dawn.act.Action objects"),
])
def test_bad_emits(project, kwargs, error, match):
    args = {"event": "drift", "payload": {}, "actions": [Action("a", on="*", log=True)],
            **kwargs}
    with pytest.raises(error, match=match):
        emit(project, args.pop("event"), args.pop("payload"), **args)


# -- the outbox helpers emit relies on ---------------------------------------------------
def _set_times(project, times):
    for i, t in times.items():
        project._db.conn.execute("UPDATE action_outbox SET created_at = ? WHERE id = ?",
                                 (f"2030-01-01T00:{t // 60:02d}:{t % 60:02d}.000000+00:00", i))


@pytest.mark.parametrize("seed", range(8))
def test_count_recent_matches_a_full_scan(project, seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    box = project.outbox
    with project.transaction():
        ids = [box.enqueue("action" if rng.random() < 0.7 else "other",
                           {"action": str(rng.choice(["a", "b"]))}) for _ in range(n)]
        times = np.sort(rng.integers(0, 3600, n))  # ids grow with time, with ties
        _set_times(project, dict(zip(ids, times.tolist(), strict=True)))
    now = int(rng.integers(0, 3700))
    import dawn.store.outbox as outbox_module

    def fake_now(offset_s=0.0):
        t = now + offset_s
        return f"2030-01-01T00:{int(t) // 60:02d}:{int(t) % 60:02d}.000000+00:00" if t >= 0 \
            else "2029-12-31T00:00:00.000000+00:00"

    monkeypatch.setattr(outbox_module, "utcnow", fake_now)
    for window in (0, 1, 30, 600, 5000):
        items = [box.get(i) for i in ids]
        since = fake_now(-window)
        assert box.count_recent(window) == sum(i.created_at >= since for i in items)
        assert box.count_recent(window, kind="action", where={"action": "a"}) == sum(
            i.created_at >= since and i.kind == "action" and i.payload["action"] == "a"
            for i in items)


def test_count_recent_on_an_empty_outbox_and_bad_arguments(project):
    assert project.outbox.count_recent(60) == 0
    project.outbox.enqueue("action", {"flag": True, "none": None, "n": 2})
    assert project.outbox.count_recent(60, where={"flag": True, "none": None, "n": 2}) == 1
    assert project.outbox.count_recent(60, where={"flag": False}) == 0
    project.outbox.enqueue("action", {"flag": True})
    assert project.outbox.count_recent(60, at_most=1) == 1
    assert project.outbox.count_recent(60, at_most=5) == 2
    with pytest.raises(StoreError, match="seconds must be a non-negative number"):
        project.outbox.count_recent(-1)
    with pytest.raises(StoreError, match=r"where\['x'\] = \[1\]: compare payload keys"):
        project.outbox.count_recent(60, where={"x": [1]})


def test_next_due_extend_and_find(project):
    box = project.outbox
    assert box.next_due() is None and box.find("k") is None
    a = box.enqueue("action", {}, key="k", delay=30)
    assert box.find("k").id == a and 25 < box.next_due() <= 30
    assert box.next_due(kinds=["other"]) is None
    b = box.enqueue("action", {})
    assert box.next_due() == 0.0
    [item] = box.claim(lease=20)
    assert item.id == b and 15 < box.next_due() <= 20  # a dead worker's lease runs out
    box.mark_failed(a, "boom", retry=False)  # failed items never come due
    assert box.extend(b, 100) and 95 < box.next_due() <= 100 and box.claim() == []
    box.mark_done(b)
    assert box.next_due() is None and not box.extend(b, 100)  # done: nothing to hold
