"""The HTTP API against a real uvicorn server: predict, explain, errors, models, drift,
promote/rollback without a restart; and explanations (contributions) in-process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.serve.conftest import HAM_ROW, MODEL, SPAM_ROW, wait_until

from dawn.serve.contrib import explain_rows, linear_contributions, tree_contributions
from dawn.store import Project


@pytest.fixture(scope="module")
def shared(trained_project, tmp_path_factory):
    """One server for the tests that do not change what is served."""
    import shutil

    from tests.serve.conftest import Server

    folder = tmp_path_factory.mktemp("api") / "project"
    shutil.copytree(trained_project, folder)
    server = Server(folder).start()
    yield server
    server.stop()


@pytest.fixture
def server(shared):
    return shared


def predict(client, rows, name=MODEL, **params):
    return client.post(f"/v1/models/{name}/predict", json={"rows": rows}, params=params)


def test_health_and_openapi_are_open(server):
    with server.client() as c:
        assert c.get("/health").json()["status"] == "ok"
        spec = c.get("/openapi.json").json()
    assert {"/health", "/v1/models", "/v1/models/{name}/predict",
            "/v1/models/{name}/drift"} <= set(spec["paths"])
    assert "PredictResponse" in spec["components"]["schemas"]


def test_predict_returns_classes_probabilities_and_integer_version(server):
    with server.client() as c:
        r = predict(c, [SPAM_ROW, HAM_ROW])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["predictions"] == ["spam", "ham"]
    assert body["classes"] == ["ham", "spam"]
    assert body["model"] == MODEL and body["version"] == 1 and type(body["version"]) is int
    assert np.allclose(np.sum(body["probabilities"], axis=1), 1.0)
    assert body["explanations"] is None


def test_explain_names_the_tokens_behind_a_prediction(server):
    with server.client() as c:
        r = predict(c, [SPAM_ROW, HAM_ROW], explain="true", top=8)
    assert r.status_code == 200, r.text
    spam, ham = r.json()["explanations"]
    assert 1 <= len(spam) <= 8
    features = [e["feature"] for e in spam]
    assert {"channel", "check", "free", "gift", "card", "account_age_days",
            "n_links"} & set(features)
    assert abs(spam[0]["contribution"]) >= abs(spam[-1]["contribution"])
    assert ham and all({"feature", "value", "contribution"} <= set(e) for e in ham)


@pytest.mark.parametrize(("body", "message"), [
    ({"rows": []}, r'"rows" is empty'),
    ({"rows": [{"txt": "hi", "account_age_days": 1, "n_links": 0}]},
     r"lack column\(s\) \['text'\].*Did you mean 'txt'"),
    ({"rows": [{"text": 42, "account_age_days": 1, "n_links": 0}]},
     r"column 'text' must hold text"),
    ({"rows": [{"text": "hi", "account_age_days": "old", "n_links": 0}]},
     r"column 'account_age_days' must hold numbers"),
    ({"rows": [{"text": "a", "account_age_days": 1, "n_links": 0},
               {"text": "b", "account_age_days": "x", "n_links": 0}]},
     r"'account_age_days' mixes value types \['int', 'str'\]"),
    ({"rows": [{"text": ["a"], "account_age_days": 1, "n_links": 0}]},
     r"rows\.0\.text: must be text, a number, true/false or null"),
    ({"rows": "not a list"}, r"malformed request — rows: "),
    ({"records": [{"text": "a"}]}, r"rows: Field required"),
])
def test_malformed_bodies_get_422_with_a_message(server, body, message):
    import re

    with server.client() as c:
        r = c.post(f"/v1/models/{MODEL}/predict", json=body)
    assert r.status_code == 422, r.text
    assert re.search(message, r.json()["detail"]), r.json()["detail"]


def test_body_that_is_not_json_gets_422(server):
    with server.client() as c:
        r = c.post(f"/v1/models/{MODEL}/predict", content=b"{oops",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "malformed request" in r.json()["detail"]


def test_unknown_model_is_404_naming_the_known_ones(server):
    with server.client() as c:
        r = predict(c, [SPAM_ROW], name="comment-spm")
        d = c.get("/v1/models/nothing/drift")
    assert r.status_code == 404
    assert "no model 'comment-spm'" in r.json()["detail"]
    assert "comment-spam" in r.json()["detail"]
    assert d.status_code == 404


def test_models_lists_versions_stage_and_metrics(server):
    with server.client() as c:
        models = c.get("/v1/models").json()["models"]
    assert [m["name"] for m in models] == [MODEL]
    m = models[0]
    assert m["current_version"] == 1 and m["classes"] == ["ham", "spam"]
    assert m["versions"][0]["stage"] == "current"
    assert "end_model.accuracy" in m["versions"][0]["metrics"]


def test_promote_and_rollback_switch_the_served_version_without_restart(project,
                                                                       server_factory):
    server = server_factory(project)
    with server.client() as c:
        assert predict(c, [SPAM_ROW]).json()["version"] == 1
        with Project.open(project) as p:
            arrays, meta = p.registry.load(MODEL, 1)
            p.registry.register_model(MODEL, arrays, meta, lineage={"copy_of": 1}, promote=True)
        assert predict(c, [SPAM_ROW]).json()["version"] == 2
        with Project.open(project) as p:
            p.registry.rollback(MODEL)
        assert predict(c, [SPAM_ROW]).json()["version"] == 1
        with Project.open(project) as p:
            p.registry.promote(MODEL, 2)
        assert predict(c, [SPAM_ROW]).json()["version"] == 2
        current = c.get("/v1/models").json()["models"][0]["current_version"]
    assert current == 2


def test_predictions_are_logged_for_monitoring_without_raw_text(server):
    from dawn.serve.predlog import recent

    mine = [dict(SPAM_ROW, account_age_days=7771), dict(HAM_ROW, account_age_days=7772)]
    with server.client() as c:
        answers = [predict(c, mine).json() for _ in range(3)]

    def logged():
        df = recent(server.folder, MODEL, 10_000)
        return df[df["account_age_days"] > 7770] if len(df) else df

    wait_until(lambda: len(logged()) >= 6, timeout=20)
    rows = logged()
    assert len(rows) == 6
    assert {"text.length", "text.words", "account_age_days", "n_links", "prediction",
            "confidence"} <= set(rows.columns)
    assert "text" not in rows.columns  # log_raw is off by default
    assert rows["prediction"].tolist() == [p for a in answers for p in a["predictions"]]
    assert np.allclose(rows["confidence"], [max(p) for a in answers for p in a["probabilities"]])
    assert rows["text.words"].iloc[1] == len(HAM_ROW["text"].split())


def test_drift_returns_the_latest_checks_newest_first(server):
    with Project.open(server.folder) as p:
        p.history.record(MODEL, {"drift_share": 0.0}, version=1, ts="2026-01-01T00:00:00",
                         details={"drifted_columns": []})
        p.history.record(MODEL, {"drift_share": 0.5}, version=1, ts="2026-01-02T00:00:00",
                         details={"drifted_columns": ["text.length"]})
    with server.client() as c:
        body = c.get(f"/v1/models/{MODEL}/drift", params={"limit": 1}).json()
        both = c.get(f"/v1/models/{MODEL}/drift").json()["checks"]
    assert body["model"] == MODEL
    assert [ch["drift_share"] for ch in body["checks"]] == [0.5]
    assert body["checks"][0]["details"]["drifted_columns"] == ["text.length"]
    assert [ch["drift_share"] for ch in both] == [0.5, 0.0]


# -- contributions, in-process -----------------------------------------------------------
@pytest.fixture(scope="module")
def comments():
    from dawn.demo.data import generate_comments

    df = generate_comments(600, seed=3)
    y = (df["label"] == "spam").to_numpy().astype(int)
    return df, np.column_stack([1 - y, y]).astype(float)


@pytest.mark.parametrize("kind", ["linear", "trees"])
def test_contributions_add_up_to_the_models_log_odds(comments, kind):
    from dawn.train import train

    df, P = comments
    clf = train(df, P, text="text", columns=["account_age_days", "n_links"], model=kind,
                classes=["ham", "spam"], seed=0)
    X = clf.featurizer.transform(df.head(40))
    target = clf.model.predict(X)
    sign = np.where(target == 1, 1.0, -1.0)
    if kind == "linear":
        C = linear_contributions(clf.model, X, target).toarray()
        b = clf.model.intercept_
        logit = np.log(clf.model.predict_proba(X)[:, 1] / clf.model.predict_proba(X)[:, 0])
        assert np.allclose(C.sum(1) + sign * (b[1] - b[0]), sign * logit, atol=1e-4)
    else:
        C, bias = tree_contributions(clf.model, X, target)
        raw = clf.model.decision_function(X)[:, 0]
        assert np.allclose(C.sum(1) + bias, sign * raw)
    out = explain_rows(clf, df.head(3), top=3)
    assert [len(r) <= 3 for r in out] == [True] * 3
    assert all(abs(r[0]["contribution"]) >= abs(r[-1]["contribution"]) for r in out if r)


def test_tree_contributions_for_three_classes_sum_to_the_centred_logit():
    from dawn.train.trees import BoostedTrees

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5])
    model = BoostedTrees(max_iter=15).fit(X, y)
    target = model.predict(X[:20])
    C, bias = tree_contributions(model, X[:20], target)
    raw = model.decision_function(X[:20])
    centred = raw - raw.mean(axis=1, keepdims=True)
    assert np.allclose(C.sum(1) + bias, centred[np.arange(20), target])
    assert np.abs(C[:, :2]).sum() > np.abs(C[:, 2:]).sum()  # the informative features


def test_explain_rows_rejects_top_below_one(comments):
    from dawn.errors import ConfigError
    from dawn.train import train

    df, P = comments
    clf = train(df, P, text="text", model="linear", classes=["ham", "spam"], seed=0)
    with pytest.raises(ConfigError, match="top = 0 must be at least 1"):
        explain_rows(clf, pd.DataFrame({"text": ["hi"]}), top=0)


def _random_forest(rng, n_features: int, n_trees: int, n_out: int, n_classes: int):
    """A random valid forest in dawn's node-array layout (full trees of depth 1-3)."""
    from types import SimpleNamespace

    keys = ("feature", "threshold", "left", "right", "value", "is_leaf", "missing_left")
    parts = {k: [] for k in keys}
    roots, tree_out, offset = [], [], 0
    for t in range(n_trees):
        depth = int(rng.integers(1, 4))
        n_nodes = 2 ** (depth + 1) - 1
        idx = np.arange(n_nodes)
        leaf = idx >= 2 ** depth - 1
        parts["feature"].append(np.where(leaf, -1, rng.integers(0, n_features, n_nodes)))
        parts["threshold"].append(rng.normal(size=n_nodes))
        parts["left"].append(np.where(leaf, -1, 2 * idx + 1 + offset))
        parts["right"].append(np.where(leaf, -1, 2 * idx + 2 + offset))
        parts["value"].append(rng.normal(size=n_nodes))
        parts["is_leaf"].append(leaf.astype(np.uint8))
        parts["missing_left"].append(rng.integers(0, 2, n_nodes).astype(np.uint8))
        roots.append(offset)
        tree_out.append(t % n_out)
        offset += n_nodes
    forest = {k: np.concatenate(v) for k, v in parts.items()}
    forest.update(roots=np.array(roots), tree_out=np.array(tree_out),
                  baseline=rng.normal(size=n_out),
                  classes=np.arange(n_classes if n_out > 1 else 2))
    return SimpleNamespace(forest_=forest, n_classes_=n_classes, learning_rate=0.1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), d=st.integers(1, 6),
       trees=st.integers(1, 8), multiclass=st.booleans())
def test_tree_contribution_kernel_matches_the_numpy_reference(seed, n, d, trees, multiclass):
    from dawn.serve.contrib import tree_contributions_reference

    rng = np.random.default_rng(seed)
    k = 3 if multiclass else 2
    model = _random_forest(rng, d, trees, k if multiclass else 1, k)
    X = rng.normal(size=(n, d))
    X[rng.random((n, d)) < 0.2] = np.nan
    target = rng.integers(0, k, n)
    C, bias = tree_contributions(model, X, target)
    C_ref, bias_ref = tree_contributions_reference(model, X, target)
    assert np.allclose(C, C_ref) and np.allclose(bias, bias_ref)
