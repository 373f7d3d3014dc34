"""Checks and estimates stored in the history and turned into events, in one transaction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.act import Action, deliver
from dawn.errors import ConfigError
from dawn.monitor import DriftMonitor, PerformanceEstimate
from dawn.monitor.alerts import record_check, record_estimate
from dawn.store import Project


@pytest.fixture
def project(tmp_path):
    with Project.init(tmp_path / "p") as proj:
        yield proj


def frames(shift: float, n: int = 4000, seed: int = 0):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b"], n)})
    cur = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b"], n)})
    cur.loc[cur["g"] == "a", "x"] += shift
    return ref, cur


ACTIONS = [Action("on-drift", on="drift", log=True),
           Action("on-explanation", on="explanation", log=True),
           Action("accuracy-low", on="performance", log=True, when={"below": 0.8})]


def test_drift_is_recorded_and_alerted_with_its_explanation(project):
    ref, cur = frames(shift=1.0)
    report = DriftMonitor().fit(ref).check(cur)
    assert report.drifted_columns == ["x"]
    ids = record_check(project, report, model="m", version=3, actions=ACTIONS)
    items = {project.outbox.get(i).payload["action"]: project.outbox.get(i).payload
             for i in ids}
    assert set(items) == {"on-drift", "on-explanation"}
    assert items["on-drift"]["data"]["drifted_columns"] == ["x"]
    top = items["on-explanation"]["data"]["segments"][0]["items"]
    assert top.get("g") == "a"  # the shift was planted in group a
    history = project.history.query("m")
    assert set(history["metric"]) == {"drift_share", "effect.x", "effect.g"}
    assert history["version"].unique().tolist() == [3]
    # the same drift again the same day is not a second alert
    assert record_check(project, report, model="m", version=3, actions=ACTIONS) == list(ids)
    assert deliver(project, ACTIONS, once=True).delivered == 2


def test_no_drift_is_recorded_but_alerts_nobody(project):
    ref, cur = frames(shift=0.0)
    report = DriftMonitor().fit(ref).check(cur)
    assert record_check(project, report, model="m", actions=ACTIONS) == []
    assert project.outbox.items() == []
    assert project.history.query("m", metric="drift_share")["value"].tolist() == [0.0]


def test_a_failed_alert_undoes_the_history_record(project):
    ref, cur = frames(shift=1.0)
    report = DriftMonitor().fit(ref).check(cur)
    with pytest.raises(ConfigError, match="Action objects"):
        record_check(project, report, model="m", actions=[object()])
    assert project.history.query("m").empty


def test_monitor_with_project_records_and_alerts(project):
    ref, cur = frames(shift=1.0)
    monitor = DriftMonitor(project=project, model="m", actions=ACTIONS[:1]).fit(ref)
    monitor.check(cur)
    [item] = project.outbox.items()
    assert item.payload["action"] == "on-drift"
    assert len(project.history.query("m", metric="drift_share")) == 1


def test_performance_alerts_only_below_the_line(project):
    good = PerformanceEstimate(0.91, 0.89, 0.93, "accuracy", 1000, 0, None)
    bad = PerformanceEstimate(0.72, 0.69, 0.75, "accuracy", 1000, 0, None)
    assert record_estimate(project, good, model="m", actions=ACTIONS) == []
    [item_id] = record_estimate(project, bad, model="m", actions=ACTIONS)
    assert project.outbox.get(item_id).payload["data"]["value"] == 0.72
    values = project.history.query("m", metric="estimated_accuracy")["value"].tolist()
    assert values == [0.91, 0.72]
