"""``dawn recommend fit | evaluate | for`` as the `dawn` entry point runs them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tests.conftest import dawn_in_process

from dawn.store import Project


def cli(*args, monkeypatch, capsys):
    """Run `dawn recommend ...` in this process (see tests/conftest.py)."""
    return dawn_in_process(["recommend", *args], monkeypatch, capsys)


@pytest.fixture
def events_csv(tmp_path):
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(80), 10)
    items = (users % 2) * 20 + rng.integers(0, 20, len(users))
    path = tmp_path / "events.csv"
    pd.DataFrame({"customer": users, "product": items,
                  "when": rng.uniform(0, 100, len(users))}).to_csv(path, index=False)
    return path


COLS = ["--user", "customer", "--item", "product", "--timestamp", "when"]


def test_fit_registers_and_for_recommends(tmp_path, events_csv, monkeypatch, capsys):
    project = tmp_path / "proj"
    code, out, err = cli("fit", str(events_csv), "--name", "shop", *COLS, "--model", "knn",
                         "--project", str(project), "--json", monkeypatch=monkeypatch,
                         capsys=capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["name"] == "shop" and doc["version"] == 1 and doc["family"] == "knn"
    assert (doc["users"], doc["items"], doc["events"]) == (80, 40, 800)
    code, out, err = cli("for", "3", "-n", "4", "--project", str(project), "--json",
                         monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["name"] == "shop" and doc["source"] == "knn" and len(doc["items"]) == 4
    assert all(i >= 20 for i in doc["items"])  # user 3 is in the second taste group
    code, out, err = cli("for", "stranger", "--name", "shop", "--project", str(project),
                         monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and "shop for stranger (popular):" in out


def test_fit_auto_shows_the_search(tmp_path, events_csv, monkeypatch, capsys):
    code, out, err = cli("fit", str(events_csv), "--name", "shop", *COLS, "--project",
                         str(tmp_path / "p"), monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert "registered recommender shop v1" in out and "model search" in out


def test_evaluate_holds_out_the_latest_events(events_csv, monkeypatch, capsys):
    code, out, err = cli("evaluate", str(events_csv), *COLS, "--model", "knn",
                         "--test-fraction", "0.25", "-k", "5", "--json",
                         monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["train_events"] == 600 and doc["test_events"] == 200
    assert doc["metrics"]["ndcg@5"] > 0.05 and doc["metrics"]["users"] > 50
    code, out, _ = cli("evaluate", str(events_csv), *COLS, "--model", "popular",
                       monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and "metrics at k=10" in out and "ndcg@10" in out


def test_errors_are_one_line_messages(tmp_path, events_csv, monkeypatch, capsys):
    code, _, err = cli("fit", str(events_csv), "--name", "shop", "--project", str(tmp_path),
                       monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2 and "column 'user'" in err and "Traceback" not in err
    Project.init(tmp_path).close()
    code, _, err = cli("for", "1", "--project", str(tmp_path), monkeypatch=monkeypatch,
                       capsys=capsys)
    assert code == 2 and "no recommender" in err
    code, _, err = cli("fit", str(events_csv), "--name", "shop", *COLS, "--model", "alz",
                       "--project", str(tmp_path), monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2 and "Did you mean 'als'" in err
