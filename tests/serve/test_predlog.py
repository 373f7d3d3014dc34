"""The prediction log (batching, retention, raw text off by default, reading back) and the
server's background work: live drift checks and action triggers."""

from __future__ import annotations

import sqlite3
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.serve.conftest import HAM_ROW, MODEL, SPAM_ROW, wait_until

from dawn.errors import ConfigError
from dawn.serve.predlog import PredictionLog, count_new, last_id, recent
from dawn.serve.service import ServeSettings, Service
from dawn.store import Project

CLASSES = ["ham", "spam"]


@pytest.fixture
def folder(tmp_path) -> Path:
    Project.init(tmp_path).close()
    return tmp_path


def rows(n: int, offset: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    i = np.arange(offset, offset + n)
    df = pd.DataFrame({"text": [f"comment number {k}" for k in i], "age": i})
    p = (i % 2).astype(float) * 0.8 + 0.1
    return df, np.column_stack([1 - p, p])


def log_rows(log: PredictionLog, n: int, offset: int = 0, version: int = 1) -> None:
    df, proba = rows(n, offset)
    log.log(MODEL, version, df, proba, CLASSES, text_columns=["text"], feature_columns=["age"])


def n_logged(folder: Path) -> int:
    with sqlite3.connect(folder / ".dawn" / "state.sqlite") as con:
        return con.execute("SELECT count(*) FROM prediction_log").fetchone()[0]


def test_logged_rows_read_back_as_monitoring_features(folder):
    log = PredictionLog(folder).start()
    log_rows(log, 3)
    assert log.flush()
    df = recent(folder, MODEL, 10)
    assert df.columns.tolist() == ["age", "text.length", "text.words", "prediction",
                                   "confidence"]
    assert df["age"].tolist() == [0, 1, 2]
    assert df["prediction"].tolist() == ["ham", "spam", "ham"]
    assert df["text.words"].tolist() == [3, 3, 3]
    assert "text" not in df  # only what monitoring needs
    log.stop()


def test_log_raw_keeps_the_text(folder):
    log = PredictionLog(folder, log_raw=True).start()
    log_rows(log, 2)
    log.stop()  # stop writes what is queued
    assert recent(folder, MODEL, 5)["text"].tolist() == ["comment number 0",
                                                         "comment number 1"]


def test_the_writer_flushes_by_itself_within_the_interval(folder):
    log = PredictionLog(folder, flush_interval=0.2).start()
    log_rows(log, 5)
    wait_until(lambda: n_logged(folder) == 5, timeout=10)
    log.stop()


def test_a_large_call_is_written_in_batches_of_max_batch_rows(folder, monkeypatch):
    log = PredictionLog(folder, max_batch=500).start()
    sizes = []
    real = log._db.transaction

    def counting():
        sizes.append(n_logged(folder))
        return real()

    monkeypatch.setattr(log._db, "transaction", counting)
    log_rows(log, 1200)
    log.stop()
    assert n_logged(folder) == 1200
    assert sizes[:3] == [0, 500, 1000]  # three transactions of ≤ 500 rows


def test_requests_with_differing_column_types_are_all_logged(folder):
    log = PredictionLog(folder).start()
    proba = np.array([[0.3, 0.7]])
    for age in (3, 4.5, None, "unknown"):  # int, float, null, then text: one batch
        log.log(MODEL, 1, pd.DataFrame({"text": ["hi there"], "age": [age]}), proba, CLASSES,
                text_columns=["text"], feature_columns=["age"])
    log.stop()
    assert log.errors == 0 and log.written == 4
    assert recent(folder, MODEL, 10)["text.words"].tolist() == [2, 2, 2, 2]


def test_retention_keeps_the_newest_max_rows(folder):
    log = PredictionLog(folder, max_rows=50).start()
    for k in range(4):
        log_rows(log, 30, offset=30 * k)
        assert log.flush()
    log.stop()
    df = recent(folder, MODEL, 1000)
    assert len(df) == 50
    assert df["age"].tolist() == list(range(70, 120))


def test_retention_by_age_deletes_old_rows(folder):
    from dawn.store.schema import Database, utcnow

    db = Database(folder / ".dawn" / "state.sqlite")
    with db.transaction() as conn:
        conn.execute("INSERT INTO prediction_log (model, version, ts, row) VALUES "
                     "(?, 1, ?, '{\"age\": -1}')", (MODEL, utcnow(-3 * 86400)))
    db.close()
    log = PredictionLog(folder, max_days=2).start()
    log_rows(log, 2)
    log.stop()
    assert recent(folder, MODEL, 10)["age"].tolist() == [0, 1]


def test_count_new_and_filters(folder):
    log = PredictionLog(folder).start()
    log_rows(log, 4, version=1)
    log_rows(log, 3, offset=100, version=2)
    log.stop()
    assert count_new(folder, MODEL) == (7, last_id(folder))
    n, last = count_new(folder, MODEL, version=2)
    assert n == 3
    assert count_new(folder, MODEL, after_id=last) == (0, last)
    assert recent(folder, MODEL, 2, version=1)["age"].tolist() == [2, 3]
    assert recent(folder, "other", 5).empty


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"flush_interval": 0}, "flush_interval = 0 must be > 0"),
    ({"max_batch": 0}, "max_batch = 0 must be at least 1"),
    ({"max_rows": 0}, "log_max_rows = 0 must be at least 1"),
    ({"max_days": -1}, "log_max_days = -1 must be > 0"),
])
def test_bad_log_settings(folder, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PredictionLog(folder, **kwargs)


@pytest.mark.parametrize(("table", "message"), [
    ({"log_rows": 5}, r"unknown key 'log_rows' in \[serve\].*Did you mean"),
    ({"log_raw": "yes"}, r"log_raw = 'yes' must be true or false"),
    ({"monitor_interval": -1}, r"monitor_interval = -1 must be a number >= 0"),
    ({"monitor_min_rows": 2.5}, r"monitor_min_rows = 2.5 must be a whole number >= 1"),
    ({"log_max_rows": True}, r"log_max_rows = True must be a whole number"),
])
def test_bad_serve_table(table, message):
    with pytest.raises(ConfigError, match=message):
        ServeSettings.from_table(table)


def test_serve_table_is_read_from_dawn_toml(project):
    toml = project / "dawn.toml"
    toml.write_text(toml.read_text() + "\n[serve]\nlog_raw = true\nmonitor_min_rows = 5\n")
    service = Service(project)
    assert service.settings.log_raw is True and service.settings.monitor_min_rows == 5
    assert service.settings.log_max_rows == 1_000_000
    service.close()


# -- the service's background work, with stand-ins for monitoring and actions -----------
def test_monitor_checks_new_rows_of_the_current_version(project, monkeypatch):
    import dawn.app.monitoring as monitoring

    calls = []
    monkeypatch.setattr(monitoring, "check_live",
                        lambda p, name, df: calls.append((name, df)) or "report")
    service = Service(project, settings=ServeSettings(monitor_min_rows=4,
                                                      monitor_interval=0)).start()
    service.predict(MODEL, [SPAM_ROW, HAM_ROW, SPAM_ROW])
    assert service.log.flush()
    assert service.monitor_once() == []  # 3 < monitor_min_rows
    service.predict(MODEL, [HAM_ROW, SPAM_ROW])
    assert service.log.flush()
    assert service.monitor_once() == ["report"]
    name, df = calls[0]
    assert name == MODEL and len(df) == 5
    assert {"text.length", "account_age_days", "prediction", "confidence"} <= set(df.columns)
    assert service.monitor_once() == []  # nothing new since
    service.close()


def test_monitor_errors_are_kept_not_raised(project):
    from dawn.app.training import train_project

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_project(project / "dawn.toml")  # v2, registered without a monitoring reference
    service = Service(project, settings=ServeSettings(monitor_min_rows=1,
                                                      monitor_interval=0)).start()
    service.predict(MODEL, [SPAM_ROW])
    assert service.log.flush()
    assert service.monitor_once() == []  # train_project stores no monitoring reference
    assert service.monitor_errors and "comment-spam v2" in service.monitor_errors[0]
    service.close()


class _Action:
    def __init__(self, name: str, on: str) -> None:
        self.name, self.on = name, on


def test_prediction_events_are_emitted_only_when_an_action_wants_them(project, monkeypatch):
    import dawn.act as act

    emitted = []
    monkeypatch.setattr(act, "emit", lambda project, event, payload, *, actions, key:
                        emitted.append((event, payload, key)) or [1])
    monkeypatch.setattr(act, "deliver", lambda *a, stop, **k: stop.wait())
    quiet = Service(project, actions=[_Action("alert", "drift")], log=False).start()
    quiet.predict(MODEL, [SPAM_ROW])
    quiet.close()
    assert emitted == []
    loud = Service(project, actions=[_Action("spam-hook", "prediction")], log=False).start()
    out = loud.predict(MODEL, [SPAM_ROW, HAM_ROW])
    loud.close()
    assert [e[0] for e in emitted] == ["prediction", "prediction"]
    payload = emitted[0][1]
    assert payload["class"] == out["predictions"][0] == payload["prediction"]
    assert payload["confidence"] == pytest.approx(max(out["probabilities"][0]))
    assert payload["model"] == MODEL and payload["version"] == 1
    assert payload["row"] == SPAM_ROW
    assert emitted[0][2] != emitted[1][2]  # one outbox key per row


def test_action_delivery_runs_in_the_background_until_stop(project, monkeypatch):
    import dawn.act as act

    started, stopped = threading.Event(), threading.Event()

    def deliver(proj, actions, *, once, stop):
        assert once is False and [a.name for a in actions] == ["hook"]
        started.set()
        stop.wait()
        stopped.set()

    monkeypatch.setattr(act, "deliver", deliver)
    service = Service(project, actions=[_Action("hook", "drift")], log=False).start()
    assert started.wait(10)
    service.close()
    assert stopped.is_set()


@pytest.mark.slow  # trains with `dawn run` and starts a server: ~10-20 s
def test_the_server_checks_live_traffic_for_drift_and_reports_it(tmp_path, server_factory):
    """End to end: `dawn run` stores a reference; drifted traffic sent to the server is
    logged, checked in the background and shows up at /v1/models/{name}/drift."""
    from dawn.app.run import run_project
    from dawn.demo.run import write_demo_project

    folder = write_demo_project(tmp_path / "live", n=800)
    toml = folder / "dawn.toml"
    toml.write_text(toml.read_text() + "\n[serve]\nmonitor_interval = 0.5\n"
                    "monitor_min_rows = 40\n")
    run_project(folder)
    server = server_factory(folder)
    drifted = [{"text": "buy cheap followers now " * 12, "account_age_days": 1,
                "n_links": 6} for _ in range(10)]
    with server.client() as c:
        for _ in range(5):
            assert c.post(f"/v1/models/{MODEL}/predict", json={"rows": drifted}).status_code \
                == 200

        def checks():
            return c.get(f"/v1/models/{MODEL}/drift").json()["checks"]

        found = wait_until(checks, timeout=30)
    assert found[0]["version"] == 1
    assert found[0]["drift_share"] > 0
    assert "text.length" in found[0]["details"]["drifted_columns"]


def test_drift_checks_without_a_version_or_value_read_as_null(project):
    with Project.open(project) as p:
        p.history.record(MODEL, {"drift_share": float("nan")}, details={"note": "x"})
    service = Service(project, log=False)
    (check,) = service.drift(MODEL)
    assert check["version"] is None and check["drift_share"] is None
    assert check["details"] == {"note": "x"}
    service.close()
