"""A delivery worker killed mid-delivery loses nothing: after its lease runs out another
worker delivers the item again, and every repeat carries the same Idempotency-Key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import dawn
from dawn.act import Action, deliver, emit
from dawn.store import Project


class HoldingHook:
    """A receiver that holds the first request open (until ``release``) and answers every
    later one with 200 at once."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.received = threading.Event()
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.requests.append((self.headers["Idempotency-Key"], body))
                if len(hook.requests) == 1:
                    hook.received.set()
                    hook.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the worker that sent it is dead
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


WORKER = """\
import sys
from dawn.act import Action, deliver
acts = [Action("hook", on="*", webhook=sys.argv[2], timeout=2.0)]
deliver(sys.argv[1], acts, once=True, lease=1.0, poll=0.05)
"""


@pytest.fixture
def hook():
    h = HoldingHook()
    yield h
    h.close()


def test_a_worker_killed_mid_delivery_is_replaced_after_its_lease(tmp_path, hook):
    root = tmp_path / "proj"
    acts = [Action("hook", on="*", webhook=hook.url, timeout=2.0)]
    with Project.init(root) as project:
        ids = [emit(project, "drift", {"check": i}, actions=acts)[0] for i in range(3)]
        keys = {project.outbox.get(i).key for i in ids}
    src = str(Path(dawn.__file__).resolve().parents[1])
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(root), hook.url], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert hook.received.wait(60), worker.communicate(timeout=5)
        worker.send_signal(signal.SIGKILL)  # mid-delivery: the request is open, no answer yet
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL
    hook.release.set()

    with Project.open(root, create=False) as project:
        held = hook.requests[0][1]["id"]
        assert project.outbox.get(held).status == "claimed"  # leased to the dead worker
        started = time.monotonic()
        stats = deliver(project, acts, once=True, lease=1.0, poll=0.05)  # waits out the lease
        assert time.monotonic() - started < 30
        assert stats.delivered == 3 and stats.failed == 0
        items = [project.outbox.get(i) for i in ids]
        assert all(i.status == "done" for i in items)
        assert project.outbox.get(held).attempts == 2

    # the server saw every event; the one delivered twice carried the same key both times
    seen: dict[str, set[int]] = {}
    for key, body in hook.requests:
        assert body["idempotency_key"] == key
        seen.setdefault(key, set()).add(body["id"])
    assert set(seen) == keys and all(len(v) == 1 for v in seen.values())
    assert len(hook.requests) == 4
    assert [k for k, _ in hook.requests].count(hook.requests[0][0]) == 2


def test_events_emitted_while_no_worker_runs_wait_in_the_outbox(tmp_path, hook):
    hook.release.set()  # answer at once
    root = tmp_path / "proj"
    acts = [Action("hook", on="*", webhook=hook.url)]
    emit(root, "drift", {"i": 1}, actions=acts)  # each call opens and closes the project,
    emit(root, "drift", {"i": 2}, actions=acts)  # as separate processes would
    assert hook.requests == []
    assert deliver(root, acts).delivered == 2
    assert sorted(b["data"]["i"] for _, b in hook.requests) == [1, 2]
