"""A server killed with SIGKILL under load restarts into the same state: the same models
and versions, every acknowledged outbox entry, an intact database."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
from tests.serve.conftest import HAM_ROW, MODEL, SPAM_ROW

from dawn.store import Project

ACTION = '''
[[action]]
name = "every-prediction"
on = "prediction"
log = true
'''


def _hammer(url: str, stop: threading.Event, acknowledged: list[int]) -> None:
    """Send predictions until stopped (or the server dies); count rows answered 200."""
    with httpx.Client(base_url=url, timeout=5.0) as c:
        while not stop.is_set():
            try:
                r = c.post(f"/v1/models/{MODEL}/predict", json={"rows": [SPAM_ROW, HAM_ROW]})
            except httpx.HTTPError:
                return
            if r.status_code == 200:
                acknowledged.append(len(r.json()["predictions"]))


def test_kill_9_under_load_loses_no_version_and_no_acknowledged_outbox_entry(
        project, server_factory):
    (project / "dawn.toml").write_text((project / "dawn.toml").read_text() + ACTION)
    server = server_factory(project)
    with Project.open(project) as p:  # a second version, registered while serving
        arrays, meta = p.registry.load(MODEL, 1)
        p.registry.register_model(MODEL, arrays, meta, metrics={"note": 2.0}, promote=True)
    with server.client() as c:
        before = c.get("/v1/models").json()["models"]
    assert before[0]["current_version"] == 2

    stop, acknowledged = threading.Event(), []
    senders = [threading.Thread(target=_hammer, args=(server.url, stop, acknowledged))
               for _ in range(2)]
    for t in senders:
        t.start()
    deadline = time.monotonic() + 30
    while sum(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # mid-traffic: requests in flight, log batches pending
    stop.set()
    for t in senders:
        t.join(30)
    assert sum(acknowledged) >= 40

    db = project / ".dawn" / "state.sqlite"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        queued = con.execute("SELECT count(*) FROM action_outbox").fetchone()[0]
    assert queued >= sum(acknowledged)  # each answered row had its outbox entry committed

    restarted = server_factory(project)
    with restarted.client() as c:
        after = c.get("/v1/models").json()["models"]
        r = c.post(f"/v1/models/{MODEL}/predict", json={"rows": [SPAM_ROW]})
    assert after == before
    assert r.status_code == 200 and r.json()["version"] == 2
    with Project.open(project) as p:
        assert [v.version for v in p.registry.list_versions(MODEL)] == [1, 2]
        assert p.registry.get(MODEL).metrics == {"note": 2.0}

