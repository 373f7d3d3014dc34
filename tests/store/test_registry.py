"""The model registry: versions, current/previous, promotion, rollback, lineage, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dawn.errors import ArtefactNotFoundError, StoreError
from dawn.store import ModelVersion, Project


@pytest.fixture
def project(tmp_path):
    with Project.init(tmp_path / "proj") as p:
        yield p


def register(project, name="spam", value=1.0, **kw):
    return project.registry.register_model(
        name, {"coef": np.full(3, value), "classes": np.array(["ham", "spam"])},
        {"kind": "logreg", "k": np.int64(2)}, **kw)


def test_register_get_and_load(project):
    v1 = register(project, metrics={"f1": np.float64(0.8)},
                  lineage={"data": "abc123", "label_model": 2, "lfs": ["a", "b"]})
    assert isinstance(v1, ModelVersion) and v1.version == 1 and v1.stage is None
    assert v1.metrics == {"f1": 0.8} and v1.meta == {"kind": "logreg", "k": 2}
    assert v1.lineage["data"] == "abc123" and v1.lineage["lfs"] == ["a", "b"]
    assert v1.lineage["dawn_version"]  # the code version is always recorded
    assert v1.artefact == project.root / ".dawn" / "models" / "spam" / "v1"
    arrays, meta = project.registry.load("spam", 1)
    np.testing.assert_array_equal(arrays["coef"], np.ones(3))
    assert arrays["classes"].tolist() == ["ham", "spam"] and meta["kind"] == "logreg"
    assert json.loads(json.dumps(v1.to_dict()))["version"] == 1
    v2 = register(project, value=2.0, parent=1)
    assert v2.version == 2 and v2.parent_version == 1
    assert project.registry.get("spam", "latest").version == 2
    assert project.registry.get("spam", "v1").version == 1
    assert project.registry.get("spam", "2").version == 2
    assert project.registry.list_models() == ["spam"]
    assert [v.version for v in project.registry.list_versions("spam")] == [1, 2]


def test_current_previous_promote_rollback(project):
    reg = project.registry
    register(project, promote=True)
    assert reg.get("spam").version == 1 and reg.get("spam").stage == "current"
    register(project, value=2.0)
    assert reg.get("spam", "current").version == 1  # registering does not promote
    assert reg.promote("spam", 2, reason="better f1").stage == "current"
    assert reg.get("spam").version == 2 and reg.get("spam", "previous").version == 1
    assert {v.version: v.stage for v in reg.list_versions("spam")} == {1: "previous",
                                                                        2: "current"}
    assert reg.promote("spam", 2).version == 2  # already current: nothing changes
    assert reg.get("spam", "previous").version == 1
    back = reg.rollback("spam")
    assert back.version == 1 and reg.get("spam").version == 1
    with pytest.raises(StoreError, match=r"no previous version to roll back to"):
        reg.rollback("spam")
    register(project, value=3.0, promote=True)
    assert reg.get("spam").version == 3 and reg.get("spam", "previous").version == 1
    np.testing.assert_array_equal(reg.load("spam")[0]["coef"], np.full(3, 3.0))


def test_versions_of_different_models_are_separate(project):
    register(project, "a")
    register(project, "b")
    register(project, "b")
    assert project.registry.list_models() == ["a", "b"]
    assert [v.version for v in project.registry.list_versions("b")] == [1, 2]


def test_unknown_model_and_version_list_the_known_ones(project):
    reg = project.registry
    with pytest.raises(ArtefactNotFoundError, match=r"has no models yet"):
        reg.get("spam")
    register(project, "spam-filter")
    with pytest.raises(ArtefactNotFoundError, match=r"no model 'spam-filtr'.*\['spam-filter'\]"
                                                    r".*Did you mean 'spam-filter'"):
        reg.get("spam-filtr")
    with pytest.raises(ArtefactNotFoundError, match=r"has no version 7; versions are \[1\]"):
        reg.get("spam-filter", 7)
    with pytest.raises(ArtefactNotFoundError, match=r"has no current version.*promote"):
        reg.get("spam-filter")
    with pytest.raises(ArtefactNotFoundError, match=r"has no previous version"):
        reg.get("spam-filter", "previous")
    with pytest.raises(ArtefactNotFoundError, match=r"'newest' is not understood"):
        reg.get("spam-filter", "newest")
    with pytest.raises(ArtefactNotFoundError, match=r"True is not understood"):
        reg.get("spam-filter", True)
    with pytest.raises(ArtefactNotFoundError, match=r"parent version 9 .* versions are \[1\]"):
        register(project, "spam-filter", parent=9)
    with pytest.raises(KeyError):  # still a KeyError for existing handlers
        reg.promote("spam-filter", 5)


@pytest.mark.parametrize("name", ["", "../evil", "a/b", "has space", "-dash", "x" * 200,
                                  "naïve", 3])
def test_bad_model_names(project, name):
    with pytest.raises(StoreError, match=r"is not allowed"):
        register(project, name)


def test_failed_registration_leaves_nothing(project):
    register(project, promote=True)
    with pytest.raises(StoreError, match=r"JSON cannot hold"):
        register(project, metrics={"f1": object()})
    with pytest.raises(StoreError, match=r"dtype object"):
        project.registry.register_model("spam", {"x": np.array([None])}, {})
    assert [v.version for v in project.registry.list_versions("spam")] == [1]
    assert sorted(p.name for p in (project.state_dir / "models" / "spam").iterdir()) == \
        ["v1.json", "v1.npz"]
    assert register(project).version == 2  # numbering is not disturbed


def test_crash_inside_a_transaction_rolls_everything_back(project):
    register(project, promote=True)
    with pytest.raises(RuntimeError, match=r"power cut"), project.transaction():
        register(project, value=2.0, promote=True)
        project.history.record("spam", {"acc": 0.9})
        project.outbox.enqueue("webhook", {"v": 2})
        raise RuntimeError("power cut")
    assert [v.version for v in project.registry.list_versions("spam")] == [1]
    assert project.registry.get("spam").version == 1
    assert project.history.query().empty and project.outbox.items() == []


def test_inner_error_caught_inside_a_transaction_undoes_only_the_inner_part(project):
    with project.transaction():
        register(project, "a")
        try:
            with project.transaction():
                register(project, "b")
                raise ValueError("inner")
        except ValueError:
            pass
    assert project.registry.list_models() == ["a"]


def test_registry_survives_reopening(tmp_path):
    with Project.init(tmp_path) as p:
        register(p, promote=True)
        register(p, value=2.0, promote=True)
    with Project.open(tmp_path, create=False) as p:
        assert p.registry.get("spam").version == 2
        assert p.registry.get("spam", "previous").version == 1
        np.testing.assert_array_equal(p.registry.load("spam")[0]["coef"], np.full(3, 2.0))


def test_moved_project_still_finds_its_artefacts(tmp_path):
    with Project.init(tmp_path / "a") as p:
        register(p, promote=True)
    (tmp_path / "a").rename(tmp_path / "b")
    with Project.open(tmp_path / "b") as p:
        assert p.registry.load("spam")[1]["kind"] == "logreg"
