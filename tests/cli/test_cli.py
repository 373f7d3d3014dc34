"""The command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest


def dawn(*args, cwd=None):
    """Run the real `dawn` entry point in a subprocess; return (exit code, stdout, stderr)."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "dawn", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "proj"
    code, out, err = dawn("demo", str(folder), "--rows", "2000", "--json")
    assert code == 0, err
    return folder, json.loads(out)


def test_demo_writes_a_project_and_reports_imperfect_lfs(demo_json):
    folder, report = demo_json
    assert (folder / "dawn.toml").is_file() and (folder / "lfs.py").is_file()
    assert (folder / "comments.csv").is_file() and (folder / ".dawn").is_dir()
    assert report["rows"] == 2000 and report["classes"] == ["ham", "spam"]
    lfs = {row["lf"]: row for row in report["lfs"]}
    assert len(lfs) == 9
    accs = [row["Emp. Acc."] for row in lfs.values()]
    # realistic rules of thumb: useful but imperfect, overlapping and conflicting
    assert min(accs) >= 0.5 and max(accs) <= 0.999
    assert sum(0.6 <= a <= 0.95 for a in accs) >= 4
    assert any(row["Conflicts"] > 0 for row in lfs.values())
    assert 0.5 < report["label_coverage"] < 1.0
    assert all(0 < row["Coverage"] < 1 for row in lfs.values())


def test_demo_prints_a_table_for_people(tmp_path):
    code, out, err = dawn("demo", str(tmp_path / "p"), "--rows", "500")
    assert code == 0, err
    assert "promo_channel" in out and "label coverage" in out and "Next:" in out


def test_label_command_with_the_app_file_in_the_folder(demo_json):
    folder, report = demo_json
    code, out, err = dawn("label", "--json", cwd=folder)
    assert code == 0, err
    again = json.loads(out)
    assert again["lfs"] == report["lfs"]


def test_label_command_with_a_python_file_and_classes(tmp_path):
    pd.DataFrame({"text": ["win a free prize", "nice song", "FREE!!!", "hello"],
                  "label": ["spam", "ham", "spam", "ham"]}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "lfs.py").write_text(
        "from dawn.label import keyword_lf, labeling_function\n"
        "classes = ['ham', 'spam']\n"
        "free = keyword_lf('free', ['free', 'prize'], 'spam')\n"
        "@labeling_function()\n"
        "def polite(x):\n    return 'ham' if 'song' in x.text else -1\n"
    )
    code, out, err = dawn("label", str(tmp_path / "d.csv"), "--lfs", str(tmp_path / "lfs.py"),
                          "--gold", "label", "--json")
    assert code == 0, err
    report = json.loads(out)
    rows = {r["lf"]: r for r in report["lfs"]}
    assert set(rows) == {"free", "polite"}
    assert rows["free"]["Coverage"] == 0.5 and rows["free"]["Emp. Acc."] == 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["label", "missing.csv", "--lfs", "lfs.py"], "missing.csv"),
        (["label", "d.csv", "--lfs", "rules.txt"], ".py file"),
        (["label", "d.csv", "--lfs", "lfs.py", "--gold", "lable"], "Did you mean 'label'"),
        (["label", "d.csv", "--lfs", "lfs.py", "--backend", "gpu"], "backend='gpu'"),
        (["label", "d.csv"], "dawn.toml"),
    ],
)
def test_label_command_errors_are_one_clear_line(tmp_path, args, message):
    pd.DataFrame({"text": ["a", "b"], "label": [0, 1]}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "lfs.py").write_text(
        "from dawn.label import keyword_lf\nlf = keyword_lf('a', ['a'], 1)\n")
    (tmp_path / "rules.txt").write_text("")
    code, out, err = dawn(*args, cwd=tmp_path)
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err


def test_version():
    code, out, _ = dawn("--version")
    assert code == 0 and out.strip()


def test_label_command_shows_the_rows_behind_a_number(demo_json):
    folder, _ = demo_json
    code, out, err = dawn("label", "--show", "check_out", "--kind", "incorrect", "-n", "3",
                          "--json", cwd=folder)
    assert code == 0, err
    examples = json.loads(out)["examples"]
    assert len(examples) == 3
    for row in examples:  # check_out votes spam; these are the rows where that is wrong
        assert row["vote"] == "spam" and row["gold"] == "ham"
        assert "check out" in row["text"].lower()
    code, _, err = dawn("label", "--show", "nope", cwd=folder)
    assert code == 2 and "check_out" in err


def test_demo_goes_on_to_a_label_model_and_a_registered_end_model(demo_json):
    _, report = demo_json
    train = report["train"]
    assert train["model"] == "comment-spam" and train["version"] == 1
    assert train["label_model"]["method"] in {"majority", "weighted_majority", "dawid_skene",
                                              "pooled", "metal", "triplet"}
    assert train["label_model"]["reason"]
    metrics = train["metrics"]
    # evaluated on rows held out from both models; gold never used in training
    assert metrics["evaluated_rows"] > 300
    assert metrics["end_model"]["accuracy"] > 0.75
    assert metrics["label_model"]["coverage"] < 1.0 <= metrics["end_model"].get("coverage", 1.0)


def test_train_registers_a_new_version_and_predict_scores_a_file(tmp_path, demo_json):
    folder, _ = demo_json
    code, out, err = dawn("train", "--label-model", "majority", "--model", "linear", "--json",
                          cwd=folder)
    assert code == 0, err
    report = json.loads(out)
    assert report["label_model"]["method"] == "majority"
    assert report["end_model"]["model"] == "linear" and report["version"] >= 2
    out_csv = tmp_path / "scored.csv"
    code, out, err = dawn("predict", "comments.csv", "-o", str(out_csv), "--json", cwd=folder)
    assert code == 0, err
    scored = pd.read_csv(out_csv)
    assert {"prediction", "confidence", "p_ham", "p_spam"} <= set(scored.columns)
    assert len(scored) == 2000
    assert (scored["prediction"] == scored["label"]).mean() > 0.75
    assert json.loads(out)["version"] == report["version"]  # the current version scores


def test_python_load_scores_rows_like_the_cli(demo_json):
    import dawn

    folder, _ = demo_json
    model = dawn.load("comment-spam", project=folder)
    rows = pd.DataFrame({"text": ["check out my channel for beats", "i love this song so much"],
                         "account_age_days": [3, 900], "n_links": [0, 0]})
    assert model.predict(rows).tolist() == ["spam", "ham"]
    proba = model.predict_proba(rows)
    assert proba.shape == (2, 2) and abs(proba.sum(axis=1) - 1).max() < 1e-9


def test_predict_without_a_registered_model_says_what_to_do(tmp_path):
    pd.DataFrame({"text": ["a"]}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "dawn.toml").write_text('name = "nothing"\n')
    dawn("init", cwd=tmp_path)
    code, _, err = dawn("predict", "d.csv", cwd=tmp_path)
    assert code == 2 and "nothing" in err and "Traceback" not in err


def test_explain_command_on_planted_outliers(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    n = 5000
    df = pd.DataFrame({"version": rng.choice(["v1", "v2", "v3", "v4"], n),
                       "region": rng.choice(["eu", "us", "asia"], n)})
    rate = np.where((df["version"] == "v3") & (df["region"] == "eu"), 0.5, 0.01)
    df["flagged"] = rng.random(n) < rate
    df.to_csv(tmp_path / "d.csv", index=False)
    code, out, err = dawn("explain", "d.csv", "--outlier", "flagged", "--json", cwd=tmp_path)
    assert code == 0, err
    found = json.loads(out)["explanations"]
    assert found[0]["items"] == {"region": "eu", "version": "v3"}
    code, out, err = dawn("explain", "d.csv", "--outlier", "flagged", cwd=tmp_path)
    assert code == 0 and "version=v3" in out
    code, _, err = dawn("explain", "d.csv", cwd=tmp_path)
    assert code == 2 and "--outlier" in err


def test_demo_tour_monitors_drifted_traffic_and_acts(demo_json):
    folder, report = demo_json
    drift = report["drift"]
    assert drift["traffic_rows"] == 2000 and drift["drifted"]
    # the spam wave: more spam predicted, newer accounts, more links
    assert {"prediction", "account_age_days", "n_links"} <= set(drift["drifted_columns"])
    assert drift["segments"] and drift["actions_delivered"] == 1
    assert report["run"]["end_model"]["f1"].keys() == {"ham", "spam"}
    code, out, err = dawn("act", "deliver", "--once", "--json", cwd=folder)
    assert code == 0, err
    assert json.loads(out)["delivered"] == 0  # nothing left pending


def test_demo_serve_keeps_the_api_and_dashboard_up(tmp_path):
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("DAWN_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "dawn", "demo", str(tmp_path / "p"),
                             "--rows", "600", "--traffic", "300", "--serve", "--port",
                             str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the demo server did not come up"
            time.sleep(0.5)
        page = httpx.get(f"http://127.0.0.1:{port}/dashboard/models/comment-spam", timeout=10)
        assert page.status_code == 200 and "comment-spam" in page.text
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/models/comment-spam/predict",
                            json={"rows": [{"text": "check out my channel http://x.co",
                                            "account_age_days": 3, "n_links": 1}]}, timeout=10)
        assert answer.status_code == 200 and answer.json()["predictions"] == ["spam"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_error_messages_keep_square_brackets(tmp_path):
    (tmp_path / "nope.csv").write_text("text\nhello\n")
    (tmp_path / "dawn.toml").write_text('name = "x"\n[data]\npath = "nope.csv"\n[labels]\n'
                                        'classes = ["ham", "spam"]\n[[lf]]\nname = "a"\n'
                                        'keywords = ["b"]\nlabel = "spma"\n')
    code, _, err = dawn("run", "--check", cwd=tmp_path)
    assert code == 2 and "[[lf]] #1" in err and "'spam'" in err
