"""The dashboard's pages, access rule and escaping, through FastAPI's TestClient."""

from __future__ import annotations

import json
import re
import warnings
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("jinja2")

from fastapi import FastAPI
from fastapi.testclient import TestClient

from dawn.serve import dashboard
from dawn.serve.dashboard import COOKIE, dashboard_router
from dawn.store import Project

NAME = "comment-spam"
KEY = "s3cret-key"
EVIL = "</script><script>alert(1)</script>"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# -- fixtures ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    """A demo project trained for real (v1), then v2 registered with a richer lineage."""
    from dawn.app.training import train_project
    from dawn.demo.run import write_demo_project

    folder = write_demo_project(tmp_path_factory.mktemp("dash"), n=300, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_project(folder / "dawn.toml")
    with Project.open(folder) as project:
        v1 = project.registry.get(NAME)
        arrays, meta = v1.load()
        lineage = dict(v1.lineage)
        lineage["lf_analysis"] = [
            {"lf": "has_link", "coverage": 0.31, "overlaps": 0.2, "conflicts": 0.05,
             "emp_accuracy": 0.91},
            {"lf": f"odd{EVIL}", "coverage": 0.1, "overlaps": 0.0, "conflicts": 0.0,
             "emp_accuracy": None},
        ]
        lineage["label_model"] = {**lineage["label_model"],
                                  "accuracies": {"has_link": 0.87, "song_talk": 0.73}}
        metrics = {**v1.metrics, "end_model": {"f1": {"ham": 0.9, "spam": 0.8}}}
        project.registry.register_model(NAME, arrays, meta, lineage=lineage, metrics=metrics,
                                        parent=1, promote=True)
        for i in range(4):
            project.history.record(
                NAME, {"drift_share": i / 4, "effect.text.length": 0.1 * i,
                       "effect.confidence": 0.05 * i, f"effect.col{EVIL}": 0.01},
                version=2, ts=T0 + timedelta(hours=i),
                details={"drifted_columns": ["text.length"] if i >= 2 else [],
                         "segments": [{"items": {"prediction": "spam", "n_links": EVIL},
                                       "support": 0.4, "risk_ratio": 3.5, "count": 40,
                                       "outliers": 30}]})
        project.history.record(NAME, {"coverage": 0.9}, version=2, ts=T0)  # not a drift check
        failing = project.outbox.enqueue("action", {"action": "hook", "event": "drift"}, key="b")
        project.outbox.claim(limit=1)
        project.outbox.mark_failed(failing, f"HTTP 500 {EVIL}", retry=False)
        project.outbox.enqueue("action", {"action": "alert", "event": "drift", "data": {}},
                               key="a")
    return folder


def client_for(folder, **kwargs) -> TestClient:
    app = FastAPI()
    app.include_router(dashboard_router(folder, **kwargs))
    return TestClient(app)


@pytest.fixture(scope="module")
def client(project_dir):
    return client_for(project_dir, api_key="")


class Tables(HTMLParser):
    """Rows of text of every <table id=...> and the <script type=application/json> bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.scripts: dict[str, str] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._script: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "script" and a.get("type") == "application/json":
            self._script = a["id"]
            self.scripts[self._script] = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._script:
            self.scripts[self._script] += data


def parse(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


# -- content -----------------------------------------------------------------------
def test_index_lists_models_versions_metrics_and_lineage(client):
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert f'href="/dashboard/models/{NAME}"' in text
    assert "current: v2" in text
    assert "v1" in text and "previous" in text
    assert "end_model.f1.spam" in text  # nested metrics are flattened
    assert "label_model.accuracy" in text
    assert "fingerprint" in text and "comments.csv" in text
    assert "<dt>label model</dt>" in text and "<dt>end model</dt>" in text


def test_model_page_shows_lf_tables_drift_explanations_and_actions(client):
    page = client.get(f"/dashboard/models/{NAME}")
    assert page.status_code == 200
    doc = parse(page.text)
    lf = doc.tables["lf-analysis-table"]
    assert lf[0] == ["lf", "coverage", "overlaps", "conflicts", "emp_accuracy"]
    assert lf[1] == ["has_link", "0.31", "0.2", "0.05", "0.91"]
    assert lf[2][0] == f"odd{EVIL}" and lf[2][4] == "—"
    acc = doc.tables["lf-accuracy-table"]
    assert acc[1:] == [["has_link", "0.87"], ["song_talk", "0.73"]]
    checks = doc.tables["drift-checks"]
    assert checks[1] == ["2026-01-01 03:00:00", "2", "0.75", "text.length"]
    assert checks[-1][3] == "none" and len(checks) == 5
    segs = doc.tables["segments-table"]
    assert segs[0] == ["segment", "support", "risk_ratio", "count", "outliers"]
    assert "prediction = spam" in segs[1][0] and EVIL in segs[1][0]
    outbox = doc.tables["outbox-table"]
    assert outbox[0] == ["id", "action", "event", "status", "attempts", "created (UTC)",
                         "last error"]
    failed = next(r for r in outbox[1:] if r[1] == "hook")
    assert failed[3] == "failed" and failed[4] == "1" and failed[6].startswith("HTTP 500")
    assert next(r for r in outbox[1:] if r[1] == "alert")[3] == "pending"


def test_charts_are_divs_filled_from_embedded_json(client):
    page = client.get(f"/dashboard/models/{NAME}")
    assert page.text.count('class="dawn-chart"') == 2
    doc = parse(page.text)
    share = json.loads(doc.scripts["chart-drift-share-data"])
    assert share["data"][0]["y"] == [0.0, 0.25, 0.5, 0.75]
    assert share["data"][0]["x"][0].startswith("2026-01-01T00:00:00")
    effects = json.loads(doc.scripts["chart-effect-sizes-data"])
    names = [t["name"] for t in effects["data"]]
    assert names[:2] == ["text.length", "confidence"]
    assert f"col{EVIL}" in names  # the name survives the trip, escaped in the page
    assert "coverage" not in names  # only metrics of the drift checks
    assert '<script src="/dashboard/static/plotly.min.js?v=' in page.text
    assert "Plotly.newPlot" in page.text


def test_everything_from_the_store_is_escaped(client):
    text = client.get(f"/dashboard/models/{NAME}").text
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)" in text
    # the JSON in <script type="application/json"> cannot close its tag
    for body in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', text, re.S):
        assert "<" not in body and ">" not in body


def test_version_without_recorded_analysis_says_not_recorded(project_dir):
    with Project.open(project_dir) as project:
        v1 = project.registry.get(NAME, 1)
        arrays, meta = v1.load()
        bare = {k: v for k, v in v1.lineage.items() if k != "lf_analysis"}
        bare["label_model"] = {k: v for k, v in bare["label_model"].items()
                               if k != "accuracies"}
        new = project.registry.register_model(NAME, arrays, meta, lineage=bare, promote=True)
    try:
        text = client_for(project_dir, api_key="").get(f"/dashboard/models/{NAME}").text
    finally:
        with Project.open(project_dir) as project:
            project.registry.promote(NAME, 2)
    assert f"LF analysis: not recorded for v{new.version}." in text
    assert f"Label-model accuracies: not recorded for v{new.version}." in text


def test_model_without_drift_checks_has_no_charts(project_dir):
    with Project.open(project_dir) as project:
        arrays, meta = project.registry.load(NAME, 1)
        project.registry.register_model("quiet", arrays, meta, promote=True)
    page = client_for(project_dir, api_key="").get("/dashboard/models/quiet")
    assert page.status_code == 200
    assert "No drift checks recorded yet." in page.text
    assert "No explanation segments in the latest drift check." in page.text
    assert "dawn-chart" not in page.text and "plotly.min.js" not in page.text


def test_unknown_model_is_404_naming_the_known_ones(client):
    page = client.get("/dashboard/models/coment-spam")
    assert page.status_code == 404
    assert "Unknown model" in page.text and "comment-spam" in page.text
    bad = client.get("/dashboard/models/..%2F..%2Fetc")
    assert bad.status_code == 404


def test_a_folder_that_is_not_a_project(tmp_path):
    c = client_for(tmp_path / "nothing", api_key="")
    page = c.get("/dashboard")
    assert page.status_code == 200 and "No dawn project at" in page.text
    assert c.get("/dashboard/models/x").status_code == 404
    assert not (tmp_path / "nothing").exists()  # the dashboard never creates state


def test_outbox_and_effect_size_charts_are_bounded(tmp_path):
    with Project.init(tmp_path) as project:
        project.registry.register_model("m", {"w": [1.0]}, {}, promote=True)
        many = {f"effect.c{i:02d}": i / 100 for i in range(15)}
        project.history.record("m", {"drift_share": 0.5, **many}, version=1, ts=T0)
        for i in range(dashboard.MAX_OUTBOX + 5):
            project.outbox.enqueue("action", {"action": "a", "event": "e"}, key=str(i))
    doc = parse(client_for(tmp_path, api_key="").get("/dashboard/models/m").text)
    assert len(doc.tables["outbox-table"]) == dashboard.MAX_OUTBOX + 1
    effects = json.loads(doc.scripts["chart-effect-sizes-data"])
    assert [t["name"] for t in effects["data"]][:2] == ["c14", "c13"]
    assert len(effects["data"]) == dashboard.MAX_COLUMNS_CHARTED
    text = client_for(tmp_path, api_key="").get("/dashboard/models/m").text
    assert "the 12 largest of 15" in text


def test_a_real_drift_check_is_charted_and_explained(tmp_path):
    import numpy as np
    import pandas as pd

    from dawn.monitor import DriftMonitor
    from dawn.monitor.alerts import record_check

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"n_links": rng.integers(0, 3, 1000), "age": rng.normal(100, 10, 1000)})
    cur = ref.assign(n_links=ref["n_links"] + 2)
    monitor = DriftMonitor().fit(ref)
    with Project.init(tmp_path) as project:
        project.registry.register_model("m", {"w": [1.0]}, {}, promote=True)
        record_check(project, monitor.check(ref), model="m", version=1)
        record_check(project, monitor.check(cur), model="m", version=1)
    doc = parse(client_for(tmp_path, api_key="").get("/dashboard/models/m").text)
    assert [r[2:] for r in doc.tables["drift-checks"][1:]] == [["0.5", "n_links"], ["0", "none"]]
    effects = json.loads(doc.scripts["chart-effect-sizes-data"])
    assert sorted(t["name"] for t in effects["data"]) == ["age", "n_links"]
    assert all(len(t["y"]) == 2 for t in effects["data"])
    assert doc.tables["segments-table"][1][0].startswith("n_links = ")


def test_without_plotly_pages_still_work_and_say_how_to_get_charts(client, monkeypatch):
    monkeypatch.setattr(dashboard, "_plotly_file", lambda: None)
    page = client.get(f"/dashboard/models/{NAME}")
    assert page.status_code == 200
    assert "Charts need plotly" in page.text and "plotly.min.js" not in page.text
    js = client.get("/dashboard/static/plotly.min.js")
    assert js.status_code == 404 and "pip install 'dawn[serve]'" in js.text


# -- static files and headers --------------------------------------------------------
def test_plotly_is_served_locally_with_long_cache(client):
    js = client.get("/dashboard/static/plotly.min.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert "max-age=31536000" in js.headers["cache-control"]
    assert "plotly" in js.text[:2000].lower()
    css = client.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and ".dawn-chart" in css.text


def test_pages_send_a_strict_content_security_policy(client):
    page = client.get(f"/dashboard/models/{NAME}")
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<script nonce="{nonce}">' in page.text
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "http" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    again = client.get(f"/dashboard/models/{NAME}").headers["content-security-policy"]
    assert again != csp  # a fresh nonce per page


# -- access ------------------------------------------------------------------------
@pytest.fixture
def locked(project_dir):
    return client_for(project_dir, api_key=KEY)


def test_without_a_key_pages_show_the_login_form_with_401(locked):
    for path in ("/dashboard", f"/dashboard/models/{NAME}"):
        page = locked.get(path)
        assert page.status_code == 401
        assert 'name="key"' in page.text and 'type="password"' in page.text
        assert f'name="next" value="{path}"' in page.text
        assert NAME not in page.text.replace(f'value="{path}"', "")  # nothing leaks
        assert page.headers["www-authenticate"].startswith("Bearer")


def test_bearer_header_opens_pages_and_a_wrong_one_does_not(locked):
    ok = locked.get("/dashboard", headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200 and NAME in ok.text
    for header in (f"Bearer {KEY}x", "Bearer ", KEY, f"Basic {KEY}"):
        assert locked.get("/dashboard", headers={"Authorization": header}).status_code == 401


def test_login_form_sets_an_httponly_strict_cookie_then_pages_open(project_dir):
    c = client_for(project_dir, api_key=KEY)
    wrong = c.post("/dashboard/login", data={"key": "nope", "next": "/dashboard"},
                   follow_redirects=False)
    assert wrong.status_code == 401
    assert "That key is not right" in wrong.text and 'name="key"' in wrong.text
    assert "set-cookie" not in wrong.headers
    good = c.post("/dashboard/login", data={"key": KEY, "next": f"/dashboard/models/{NAME}"},
                  follow_redirects=False)
    assert good.status_code == 303
    assert good.headers["location"] == f"/dashboard/models/{NAME}"
    cookie = good.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/dashboard" in cookie
    assert KEY.lower() not in cookie  # a token derived from the key, not the key
    assert c.get(f"/dashboard/models/{NAME}").status_code == 200  # the client keeps the cookie
    out = c.post("/dashboard/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/dashboard/login"
    assert c.get("/dashboard").status_code == 401


def test_a_cookie_holding_the_key_itself_works_and_a_forged_one_does_not(project_dir):
    c = client_for(project_dir, api_key=KEY)
    c.cookies.set(COOKIE, KEY)
    assert c.get("/dashboard").status_code == 200
    c = client_for(project_dir, api_key=KEY)
    c.cookies.set(COOKIE, "0" * 64)
    assert c.get("/dashboard").status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/dashboard",
                                    "/v1/models", "/dashboard/login", "/dashboard\\@evil", ""])
def test_login_never_redirects_off_the_dashboard(locked, target):
    page = locked.post("/dashboard/login", data={"key": KEY, "next": target},
                       follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/dashboard"


def test_a_missing_or_oversized_login_form_is_refused(locked):
    assert locked.post("/dashboard/login", data={"next": "/dashboard"}).status_code == 401
    huge = {"key": KEY, "pad": "x" * 10_000}
    assert locked.post("/dashboard/login", data=huge).status_code == 401


def test_key_from_the_environment(project_dir, monkeypatch):
    monkeypatch.setenv("DAWN_API_KEY", KEY)
    c = client_for(project_dir)
    assert c.get("/dashboard").status_code == 401
    assert c.get("/dashboard", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    monkeypatch.setenv("DAWN_API_KEY", "")
    assert client_for(project_dir).get("/dashboard").status_code == 200


def test_open_dashboard_needs_no_login(client):
    page = client.get("/dashboard/login", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/dashboard"
    assert "Log out" not in client.get("/dashboard").text


def test_static_files_need_no_key(locked):
    assert locked.get("/dashboard/static/dashboard.css").status_code == 200
    assert locked.get("/dashboard/static/plotly.min.js").status_code == 200


# -- shaping helpers -----------------------------------------------------------------
def test_segments_in_any_pandas_orient_become_one_table():
    records = [{"items": {"a": 1}, "support": 0.5, "risk_ratio": 2.0}]
    split = {"columns": ["items", "support", "risk_ratio"], "data": [[{"a": 1}, 0.5, 2.0]]}
    lists = {"items": [{"a": 1}], "support": [0.5], "risk_ratio": [2.0]}
    want = {"columns": ["segment", "support", "risk_ratio"], "rows": [[{"a": 1}, 0.5, 2.0]]}
    for form in (records, split, lists):
        assert dashboard._segments({"segments": form}) == want
    assert dashboard._segments({}) is None and dashboard._segments({"segments": []}) is None


def test_json_for_script_tags_round_trips_and_drops_nan():
    value = {"x": [1.0, float("nan"), float("inf")], "s": "</script>&\u2028"}
    text = str(dashboard._json_script(value))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"x": [1.0, None, None], "s": "</script>&\u2028"}


def test_cells_are_formatted_for_people():
    assert [dashboard._fmt(v) for v in (None, 0.123456, float("nan"), True, [1, "a"], 3)] == \
        ["—", "0.1235", "—", "yes", "1, a", "3"]
