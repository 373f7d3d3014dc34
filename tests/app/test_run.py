"""``run_project``: the app file end to end, its cache, and live drift checks."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import dawn
import dawn.monitor
from dawn.app.monitoring import check_live
from dawn.app.run import run_project
from dawn.demo.data import generate_comments
from dawn.demo.run import write_demo_project
from dawn.errors import ArtefactNotFoundError
from dawn.store import Project

ACTION = '\n[[action]]\nname = "alert"\non = "drift"\nlog = true\n'


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = write_demo_project(tmp_path_factory.mktemp("run") / "proj", n=400, seed=1)
    toml = folder / "dawn.toml"
    toml.write_text(toml.read_text().replace('type = "auto"', 'type = "linear"') + ACTION)
    return folder, run_project(folder)


@pytest.fixture
def project(trained, tmp_path):
    """A copy of the trained project, free to change."""
    return shutil.copytree(trained[0], tmp_path / "proj")


def test_run_registers_a_version_with_metrics_and_lineage(trained):
    folder, result = trained
    assert result.version == 1 and not result.up_to_date
    out = result.to_dict()
    for part in ("label_model", "end_model"):
        assert set(out[part]["f1"]) == {"ham", "spam"}
        assert all(0.0 <= v <= 1.0 for v in out[part]["f1"].values())
        assert set(out[part]["precision"]) == set(out[part]["recall"]) == {"ham", "spam"}
        assert 0.5 < out[part]["accuracy"] <= 1.0
    assert out["evaluated_rows"] == 80  # the seeded 20 % held out from both models
    with Project.open(folder) as proj:
        mv = proj.registry.get("comment-spam")
    assert mv.stage == "current"
    assert mv.metrics["end_model.f1.spam"] == out["end_model"]["f1"]["spam"]
    assert mv.metrics["label_model.f1.ham"] == out["label_model"]["f1"]["ham"]
    lineage = mv.lineage
    assert lineage["data"]["fingerprint"] == out["fingerprint"]
    assert [lf["name"] for lf in lineage["lfs"]][:2] == ["promo_channel", "check_out"]
    assert lineage["label_model"]["method"] and lineage["config_hash"] == out["config_hash"]
    assert lineage["metrics"]["end_model"]["f1"] == out["end_model"]["f1"]


def test_the_version_scores_rows_and_carries_a_monitoring_reference(trained):
    folder, _ = trained
    model = dawn.load(project=folder)
    rows = generate_comments(200, seed=7)
    assert set(model.predict(rows)) <= {"ham", "spam"}
    seen = model.monitor_features(rows)
    assert list(seen.columns) == ["account_age_days", "n_links", "text.length", "text.words",
                                  "prediction", "confidence"]
    reference = model.reference()
    assert isinstance(reference, dawn.monitor.DriftMonitor)
    same = generate_comments(400, seed=1)  # the training rows themselves
    assert not reference.check(_with_lfs(model, same)).drifted


def _with_lfs(model, rows):
    """monitor_features plus the LF vote columns the reference also holds."""
    from dawn.app.config import load_config
    from dawn.label import apply_lfs
    from dawn.monitor import lf_drift_frame

    config = load_config(model.lineage["app_file"])
    L = apply_lfs(config.labeling_functions(), rows, classes=config.classes)
    lf = lf_drift_frame(L).to_pandas()
    lf.columns = [f"lf.{c}" for c in lf.columns]
    return pd.concat([model.monitor_features(rows), lf], axis=1)


def test_rerun_with_nothing_changed_does_nothing(project):
    again = run_project(project)
    assert again.up_to_date and again.version == 1
    assert again.to_dict()["end_model"]["f1"]  # metrics come from the registered lineage
    with Project.open(project) as proj:
        assert [v.version for v in proj.registry.list_versions("comment-spam")] == [1]


def test_editing_one_lf_reapplies_only_that_lf(project):
    toml = project / "dawn.toml"
    toml.write_text(toml.read_text().replace('keywords = ["check out"]',
                                             'keywords = ["check out", "look at"]'))
    result = run_project(project)
    assert not result.up_to_date and result.version == 2
    assert result.applied == ["check_out"]
    assert "promo_channel" in result.cached and len(result.cached) == 8


def test_force_retrains_from_cached_votes(project):
    result = run_project(project, force=True)
    assert result.version == 2 and not result.up_to_date
    assert result.applied == [] and len(result.cached) == 9
    with Project.open(project) as proj:
        assert proj.registry.get("comment-spam").version == 2


def test_changed_data_relabels_everything(project):
    generate_comments(300, seed=5).to_csv(project / "comments.csv", index=False)
    result = run_project(project)
    assert result.version == 2 and len(result.applied) == 9 and result.cached == []


def test_check_live_records_history_and_emits_drift_to_the_actions(project):
    model = dawn.load(project=project)
    quiet = model.monitor_features(generate_comments(400, seed=11))  # fresh, same world
    report = check_live(project, "comment-spam", quiet)
    assert not report.drifted
    rows = generate_comments(400, seed=9)
    rows["text"] = rows["text"] + " " + rows["text"] + " " + rows["text"]  # 3× longer texts
    rows["account_age_days"] = rows["account_age_days"] * 5 + 400
    drifted = model.monitor_features(rows)
    report = check_live(project, "comment-spam", drifted)
    assert report.drifted and "text.length" in report.drifted_columns
    with Project.open(project) as proj:
        history = proj.history.query("comment-spam", metric="drift_share")
        items = [i for i in proj.outbox.items() if i.payload["action"] == "alert"]
    assert len(history) == 2 and set(history["version"]) == {1}
    assert len(items) == 1  # the demo's own log-drift action got its item too
    payload = items[0].payload
    assert payload["action"] == "alert" and payload["event"] == "drift"
    assert "text.length" in payload["data"]["drifted_columns"]
    assert payload["data"]["version"] == 1 and payload["data"]["drift_share"] > 0


def test_versions_without_a_reference_say_how_to_get_one(project):
    from dawn.app.training import train_project

    train_project(project)  # `dawn train` registers no monitoring reference
    with pytest.raises(ArtefactNotFoundError, match=r"no monitoring reference.*dawn run"):
        dawn.load(project=project).reference()
    with pytest.raises(ArtefactNotFoundError, match=r"no monitoring reference.*dawn run"):
        check_live(project, "comment-spam", pd.DataFrame({"x": np.arange(3)}))
