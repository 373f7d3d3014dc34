"""``dawn run``: check, run, cached re-run, --force, --json — as a user runs it."""

from __future__ import annotations

import json

import pytest
from tests.conftest import dawn_in_process

from dawn.demo.run import write_demo_project


def cli(*args, monkeypatch, capsys):
    """Run `dawn run ...` in this process (see tests/conftest.py)."""
    return dawn_in_process(["run", *args], monkeypatch, capsys)


@pytest.fixture
def folder(tmp_path):
    folder = write_demo_project(tmp_path / "proj", n=300, seed=3)
    toml = folder / "dawn.toml"
    toml.write_text(toml.read_text().replace('type = "auto"', 'type = "linear"'))
    return folder


def test_check_prints_ok_without_doing_any_work(folder, monkeypatch, capsys):
    code, out, err = cli(str(folder), "--check", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert out.strip() == "ok"
    assert not (folder / ".dawn" / "models").exists()
    code, out, _ = cli(str(folder), "--check", "--json", monkeypatch=monkeypatch, capsys=capsys)
    report = json.loads(out)
    assert report["ok"] is True and report["rows"] == 300 and len(report["lfs"]) == 9


def test_check_fails_with_the_line_and_exit_code_2(folder, monkeypatch, capsys):
    toml = folder / "dawn.toml"
    toml.write_text(toml.read_text().replace('label = "ham"', 'label = "hamm"', 1))
    code, out, err = cli(str(folder), "--check", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2 and out == ""
    assert "dawn.toml, line" in err and "'hamm'" in err and "Did you mean 'ham'" in err
    assert "Traceback" not in err


def test_run_json_then_up_to_date_then_force(folder, monkeypatch, capsys):
    code, out, err = cli(str(folder / "dawn.toml"), "--json", monkeypatch=monkeypatch,
                         capsys=capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["model"] == "comment-spam" and report["version"] == 1
    assert not report["up_to_date"]
    for part in ("label_model", "end_model"):
        assert set(report[part]["f1"]) == {"ham", "spam"}
        assert set(report[part]) >= {"accuracy", "precision", "recall", "f1", "macro_f1"}
    assert len(report["lfs"]["applied"]) == 9 and report["fingerprint"]

    code, out, err = cli(str(folder), monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert "up to date: comment-spam v1" in out

    code, out, err = cli(str(folder), "--force", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert "registered comment-spam version 2" in out
    assert "LF votes reused from the cache" in out and "f1" in out


def test_missing_app_file(tmp_path, monkeypatch, capsys):
    code, _, err = cli(str(tmp_path / "nope.toml"), monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2 and "does not exist" in err and "dawn demo" in err
