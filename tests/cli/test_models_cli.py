"""``dawn models``, ``dawn promote``, ``dawn rollback`` over a project's registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.conftest import dawn_in_process

from dawn.store import Project


def cli(*args, monkeypatch, capsys):
    """Run `dawn ...` in this process (see tests/conftest.py)."""
    return dawn_in_process([*args], monkeypatch, capsys)


@pytest.fixture
def project(tmp_path):
    lineage = {"data": {"rows": 500, "fingerprint": "abcdef0123456789"},
               "lfs": [{"name": "a"}, {"name": "b"}], "label_model": {"method": "majority"},
               "end_model": {"model": "linear"}}
    with Project.init(tmp_path) as proj:
        for f1 in (0.8, 0.9):
            proj.registry.register_model("spam", {"w": np.ones(2)}, {"big": list(range(50))},
                                         lineage=lineage, promote=True,
                                         metrics={"end_model.macro_f1": f1,
                                                  "end_model.accuracy": f1 + 0.05})
    return tmp_path


def test_models_lists_versions_with_stage_metrics_and_lineage(project, monkeypatch, capsys):
    code, out, err = cli("models", "--project", str(project), "--json",
                         monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    [model] = json.loads(out)["models"]
    assert model["name"] == "spam"
    assert [(v["version"], v["stage"]) for v in model["versions"]] == [(1, "previous"),
                                                                      (2, "current")]
    assert model["versions"][1]["metrics"]["end_model.macro_f1"] == 0.9
    assert model["versions"][0]["lineage"]["data"]["fingerprint"] == "abcdef0123456789"
    assert "meta" not in model["versions"][0]  # model internals stay out of the listing
    code, out, err = cli("models", "--project", str(project), monkeypatch=monkeypatch,
                         capsys=capsys)
    assert code == 0, err
    assert "model spam" in out and "current" in out and "previous" in out
    assert "500 rows" in out and "data abcdef01" in out and "2 LFs" in out


def test_promote_and_rollback_switch_the_current_version(project, monkeypatch, capsys):
    code, out, err = cli("promote", "spam", "1", "--project", str(project),
                         monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert "version 1 is current" in out
    with Project.open(project) as proj:
        assert proj.registry.get("spam").version == 1
    code, out, err = cli("rollback", "spam", "--project", str(project), "--json",
                         monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["version"] == 2 and json.loads(out)["stage"] == "current"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("promote", "spam", "7"), "has no version 7; versions are [1, 2]"),
        (("promote", "spma", "1"), "Did you mean 'spam'"),
        (("rollback", "spam"), "no previous version to roll back to"),
    ],
)
def test_bad_registry_commands_exit_2_with_the_fix(project, monkeypatch, capsys, args, message):
    if args[0] == "rollback":
        for _ in range(2):
            cli("rollback", "spam", "--project", str(project), monkeypatch=monkeypatch,
                capsys=capsys)
    code, _, err = cli(*args, "--project", str(project), monkeypatch=monkeypatch,
                         capsys=capsys)
    assert code == 2 and message in " ".join(err.split())


def test_models_outside_a_project(tmp_path, monkeypatch, capsys):
    code, _, err = cli("models", "--project", str(tmp_path), monkeypatch=monkeypatch,
                       capsys=capsys)
    assert code == 2 and "no dawn project" in err


def test_models_in_an_empty_project(tmp_path, monkeypatch, capsys):
    Project.init(tmp_path).close()
    code, out, _ = cli("models", "--project", str(tmp_path), monkeypatch=monkeypatch,
                       capsys=capsys)
    assert code == 0 and "no models registered yet" in out
