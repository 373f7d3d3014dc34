"""Delivering actions: webhooks against a real local HTTP server that fails at first,
commands, log lines, the long-running worker, and the `dawn act` commands."""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dawn.act import Action, DeliveryStats, deliver, emit
from dawn.errors import ConfigError
from dawn.store import Project


class Hook:
    """A webhook receiver on 127.0.0.1 that answers ``status`` to the first ``fail_first``
    requests (then 200) and records every request."""

    def __init__(self, fail_first: int = 0, status: int = 503, body: str = "busy, try later",
                 sleep: float = 0.0) -> None:
        self.requests: list[tuple[dict[str, str], dict]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append((dict(self.headers), json.loads(raw)))
                time.sleep(sleep)
                ok = len(hook.requests) > fail_first
                self.send_response(200 if ok else status)
                self.end_headers()
                self.wfile.write(b"ok" if ok else body.encode())

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def keys(self) -> list[str]:
        return [h["Idempotency-Key"] for h, _ in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def project(tmp_path):
    with Project.init(tmp_path / "proj") as p:
        yield p


@pytest.fixture
def hook_factory():
    made: list[Hook] = []

    def make(**kwargs) -> Hook:
        made.append(Hook(**kwargs))
        return made[-1]

    yield make
    for h in made:
        h.close()


def test_webhook_is_retried_until_delivered_with_the_same_idempotency_key(project,
                                                                          hook_factory):
    hook = hook_factory(fail_first=2)
    acts = [Action("hook", on="drift", webhook=hook.url, backoff=0.01,
                   headers={"Authorization": "Bearer s3cret"})]
    [item_id] = emit(project, "drift", {"columns": ["age"], "share": 0.25}, actions=acts)
    stats = deliver(project, acts, once=True)
    assert stats == DeliveryStats(delivered=1, failed=0, retried=2)
    item = project.outbox.get(item_id)
    assert item.status == "done" and item.attempts == 3
    assert len(hook.requests) == 3 and set(hook.keys()) == {item.key}
    headers, body = hook.requests[-1]
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer s3cret"
    assert body["event"] == "drift" and body["action"] == "hook"
    assert body["data"] == {"columns": ["age"], "share": 0.25}
    assert body["idempotency_key"] == item.key and body["id"] == item_id
    assert [b["attempt"] for _, b in hook.requests] == [1, 2, 3]
    assert "attempt 2: POST" in (item.last_error or "") and "HTTP 503" in item.last_error


def test_webhook_gives_up_after_max_attempts(project, hook_factory):
    hook = hook_factory(fail_first=100, status=500, body="database\n  down")
    acts = [Action("hook", on="drift", webhook=hook.url, backoff=0.0, max_attempts=3)]
    [item_id] = emit(project, "drift", {"x": 1}, actions=acts)
    assert deliver(project, acts) == DeliveryStats(delivered=0, failed=1, retried=2)
    item = project.outbox.get(item_id)
    assert item.status == "failed" and len(hook.requests) == 3
    assert "HTTP 500" in item.last_error and "database down" in item.last_error
    assert deliver(project, acts) == DeliveryStats()  # failed for good: not retried again
    project.outbox.requeue(item_id)  # ... until someone requeues it


def test_several_events_each_delivered_once(project, hook_factory):
    hook = hook_factory()
    acts = [Action("hook", on="*", webhook=hook.url)]
    ids = [emit(project, f"e{i}", {"i": i}, actions=acts)[0] for i in range(7)]
    assert deliver(project, acts, limit=3).delivered == 7
    assert sorted(b["data"]["i"] for _, b in hook.requests) == list(range(7))
    assert len(set(hook.keys())) == 7
    assert all(project.outbox.get(i).status == "done" for i in ids)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_and_slow_webhooks_fail_with_the_reason(project, hook_factory):
    slow = hook_factory(sleep=1.0)
    acts = [Action("down", on="a", webhook=f"http://127.0.0.1:{_closed_port()}/x",
                   max_attempts=1),
            Action("slow", on="b", webhook=slow.url, timeout=0.2, max_attempts=1)]
    [down] = emit(project, "a", {}, actions=acts)
    [late] = emit(project, "b", {}, actions=acts)
    assert deliver(project, acts).failed == 2
    assert "refused" in project.outbox.get(down).last_error.lower()
    assert "timed out" in project.outbox.get(late).last_error.lower()


def test_an_item_whose_action_is_gone_is_failed_clearly(project):
    [item_id] = emit(project, "drift", {}, actions=[Action("old", on="drift", log=True)])
    stats = deliver(project, [Action("new", on="drift", log=True)])
    assert stats == DeliveryStats(failed=1)
    item = project.outbox.get(item_id)
    assert item.status == "failed" and item.attempts == 1
    assert "no action named 'old' is declared (declared: new)" in item.last_error


NOTIFY = """\
import json, os, pathlib, sys
event = json.load(sys.stdin)
assert json.loads(os.environ["DAWN_EVENT"]) == event
tries = pathlib.Path("tries.txt")
n = int(tries.read_text()) + 1 if tries.exists() else 1
tries.write_text(str(n))
if n < 2:
    sys.exit("not ready yet")
pathlib.Path("seen.json").write_text(json.dumps({"event": event,
                                                 "key": os.environ["DAWN_IDEMPOTENCY_KEY"]}))
"""


def test_command_fails_then_succeeds_in_the_project_folder(project):
    (project.root / "notify.py").write_text(NOTIFY)
    acts = [Action("script", on="drift", command=[sys.executable, "notify.py"], backoff=0.01)]
    [item_id] = emit(project, "drift", {"share": 0.5}, actions=acts)
    assert deliver(project, acts) == DeliveryStats(delivered=1, retried=1)
    seen = json.loads((project.root / "seen.json").read_text())
    item = project.outbox.get(item_id)
    assert seen["event"]["data"] == {"share": 0.5} and seen["key"] == item.key
    assert "exited with status 1: not ready yet" in item.last_error  # the first attempt


def test_command_timeouts_and_missing_programs(project):
    acts = [Action("sleepy", on="a", command=[sys.executable, "-c", "import time; "
                                               "time.sleep(10)"], timeout=0.3, max_attempts=1),
            Action("missing", on="b", command=["no-such-program-dawn"], max_attempts=1)]
    [slow] = emit(project, "a", {}, actions=acts)
    [gone] = emit(project, "b", {}, actions=acts)
    assert deliver(project, acts).failed == 2
    assert "did not finish within 0.3 s" in project.outbox.get(slow).last_error
    assert "'no-such-program-dawn' could not start" in project.outbox.get(gone).last_error


def test_an_action_slower_than_the_lease_keeps_its_item(project):
    acts = [Action("slow", on="a", command=[sys.executable, "-c", "import time; "
                                             "time.sleep(1.5)"], timeout=5)]
    [item_id] = emit(project, "a", {}, actions=acts)
    worker = threading.Thread(target=deliver, args=(project.root, acts),
                              kwargs={"lease": 0.2, "poll": 0.05})
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while project.outbox.get(item_id).status != "claimed" and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)  # past the 0.2 s lease: the worker extended it for the command
        assert project.outbox.claim() == []
    finally:
        worker.join(timeout=30)
    assert project.outbox.get(item_id).status == "done"


def test_retrain_runs_dawn_train_in_the_project_folder(project, monkeypatch):
    deliver_module = sys.modules["dawn.act.deliver"]  # dawn.act.deliver is the function
    marker = "import pathlib; pathlib.Path('retrained').write_text('yes')"
    monkeypatch.setattr(deliver_module, "retrain_command", lambda: [sys.executable, "-c", marker])
    acts = [Action("retrain", on="performance", retrain=True, when={"below": 0.8})]
    emit(project, "performance", {"value": 0.7}, actions=acts)
    assert deliver(project, acts).delivered == 1
    assert (project.root / "retrained").read_text() == "yes"


def test_log_action_writes_to_the_dawn_act_logger(project, caplog):
    acts = [Action("note", on="prediction", log="warning", when={"class": "spam"})]
    emit(project, "prediction", {"class": "spam", "confidence": 0.97}, actions=acts)
    emit(project, "prediction", {"class": "ham", "confidence": 0.97}, actions=acts)
    with caplog.at_level(logging.WARNING, logger="dawn.act"):
        assert deliver(project, acts).delivered == 1
    [record] = [r for r in caplog.records if r.name == "dawn.act"]
    assert record.levelno == logging.WARNING and "prediction" in record.getMessage()
    assert '"class": "spam"' in record.getMessage()


def test_the_worker_keeps_delivering_until_stopped(project, hook_factory):
    hook = hook_factory()
    acts = [Action("hook", on="*", webhook=hook.url)]
    stop = threading.Event()
    result: list[DeliveryStats] = []
    worker = threading.Thread(target=lambda: result.append(
        deliver(project.root, acts, once=False, poll=0.02, stop=stop)))
    worker.start()
    try:
        for i in range(3):
            emit(project, "tick", {"i": i}, actions=acts)
        deadline = time.monotonic() + 30
        while len(hook.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive() and result[0].delivered == 3


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"limit": 0}, r"limit = 0 must be a whole number of at least 1"),
    ({"lease": 0}, r"lease = 0 must be a number of seconds above 0"),
    ({"poll": -1}, r"poll = -1 must be a number of seconds above 0"),
    ({"actions": [Action("a", on="*", log=True)] * 2}, r"two actions are named 'a'"),
])
def test_bad_deliver_arguments(project, kwargs, match):
    actions = kwargs.pop("actions", [Action("a", on="*", log=True)])
    with pytest.raises(ConfigError, match=match):
        deliver(project, actions, **kwargs)


# -- the command line ---------------------------------------------------------------------
@pytest.fixture
def act_cli(monkeypatch, capsys):
    """Run `dawn act ...` in a folder as the `dawn` entry point runs commands (run_cli):
    returns (exit code, stdout, stderr)."""
    from dawn.cli._output import run_cli
    from dawn.cli.act import act_app

    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, cwd: Path) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["dawn act", *args])
        capsys.readouterr()
        try:
            run_cli(act_app)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_emit_and_deliver_once(tmp_path, hook_factory, act_cli, monkeypatch):
    hook = hook_factory(fail_first=1)
    (tmp_path / "dawn.toml").write_text(f"""
name = "demo"
[[action]]
name = "hook"
on = "drift"
webhook = "{hook.url}"
backoff = 0.01
headers = {{ X-Team = "${{DAWN_TEST_TEAM}}" }}

[[action]]
name = "perf-low"
on = "performance"
log = true
when = {{ below = 0.8 }}
""")
    monkeypatch.setenv("DAWN_TEST_TEAM", "ml")
    code, out, err = act_cli("emit", "drift", "--payload", '{"share": 0.4}', "--json",
                             cwd=tmp_path)
    assert code == 0, err
    emitted = json.loads(out)
    assert emitted["event"] == "drift" and len(emitted["enqueued"]) == 1
    code, out, err = act_cli("emit", "drift", "--payload", '{"share": 0.4}', cwd=tmp_path)
    assert code == 0 and "already queued" in out
    code, out, err = act_cli("emit", "performance", "--payload", '{"value": 0.9}',
                             cwd=tmp_path)
    assert code == 0 and "triggers none of the 2 actions" in out
    code, out, err = act_cli("deliver", "--once", "--json", cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out) == {"delivered": 1, "failed": 0, "retried": 1, "failures": []}
    assert len(hook.requests) == 2 and len(set(hook.keys())) == 1
    assert hook.requests[0][0]["X-Team"] == "ml"
    assert hook.requests[0][1]["data"] == {"share": 0.4}


def test_cli_errors_are_one_line_with_status_2(tmp_path, act_cli):
    code, _, err = act_cli("emit", "drift", cwd=tmp_path)
    assert code == 2 and "no dawn.toml" in err and "Traceback" not in err
    (tmp_path / "dawn.toml").write_text('[[action]]\nname = "x"\non = "drift"\nwebhok = "x"\n')
    code, _, err = act_cli("deliver", "--once", cwd=tmp_path)
    assert code == 2 and "Did you mean 'webhook'?" in err
    (tmp_path / "dawn.toml").write_text('[[action]]\nname = "x"\non = "drift"\nlog = true\n')
    code, _, err = act_cli("emit", "drift", "--payload", "{oops", cwd=tmp_path)
    assert code == 2 and "--payload is not valid JSON" in err
