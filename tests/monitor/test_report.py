"""DriftReport: the table, JSON, summary and a self-contained HTML page with its charts."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from dawn.monitor import DriftMonitor, DriftReport
from dawn.monitor.report import COLUMNS


@pytest.fixture(scope="module")
def report() -> DriftReport:
    rng = np.random.default_rng(0)
    n = 4000
    ref = pd.DataFrame({"amount": rng.lognormal(3, 1, n), "age": rng.normal(40, 10, n),
                        "country": rng.choice(["fr", "de", "it"], n),
                        "note": np.where(rng.random(n) < 0.05, None, "ok")})
    cur = ref.copy()
    cur["amount"] = cur["amount"] * 1.5
    cur.loc[: n // 4, "country"] = "es & <b>pt</b>"  # a new category with HTML in it
    cur.loc[: n // 3, "note"] = None
    return DriftMonitor(sample_size=2000).fit(ref).check(cur)


class _Charts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.charts: list[str] = []
        self.rects = 0
        self.tags: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "svg" and a.get("class") == "dawn-chart":
            self.charts.append(a["data-column"])
        if tag == "rect":
            self.rects += 1
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_table_has_one_row_per_column(report):
    df = report.to_pandas()
    assert list(df.columns) == COLUMNS
    assert df["column"].tolist() == ["amount", "age", "country", "note"]
    assert report.drifted_columns == ["amount", "country", "note"]
    assert df["drifted"].dtype == bool and df["n_current"].tolist() == [4000] * 4
    note = df.set_index("column").loc["note"]
    assert note.test == "missing_rate" and note.missing_current > 0.3
    details = df.set_index("column").loc["country", "details"]
    assert details["new_categories"] == {"es & <b>pt</b>": pytest.approx(0.25, abs=0.01)}


def test_summary_and_json_are_plain_json(report):
    s = report.summary()
    json.dumps(s, allow_nan=False)
    assert s["drifted"] is True and s["drift_share"] == 0.75
    assert s["drifted_columns"] == ["amount", "country", "note"]
    assert s["columns"]["age"]["drifted"] is False
    doc = json.loads(report.to_json())
    assert set(doc) == {"summary", "columns", "segments"}
    assert [c["column"] for c in doc["columns"]] == ["amount", "age", "country", "note"]
    assert doc["segments"] and doc["segments"][0]["items"]


def test_segments_point_at_the_new_category(report):
    seg = report.segments
    assert len(seg) and {"items", "support", "risk_ratio"} <= set(seg.columns)
    assert any(items.get("country") == "es & <b>pt</b>" for items in seg["items"])


def test_html_is_self_contained_with_a_chart_per_drifted_column(report, tmp_path):
    path = tmp_path / "drift.html"
    page = report.to_html(path)
    assert path.read_text(encoding="utf-8") == page
    parser = _Charts()
    parser.feed(page)
    assert parser.charts == ["amount", "country", "note"]
    assert parser.rects > 20
    assert "script" not in parser.tags and not parser.urls
    assert "http" not in page and "<b>pt</b>" not in page  # no URL, text escaped
    assert "es &amp; &lt;b&gt;pt&lt;/b&gt;" in page
    note_chart = page[page.index('data-column="note"'):]
    assert ">missing</text>" in note_chart[:note_chart.index("</svg>")]


def test_quiet_report_has_no_charts():
    rng = np.random.default_rng(1)
    ref = {"x": rng.normal(size=1000)}
    report = DriftMonitor().fit(ref).check({"x": rng.normal(size=1000)})
    assert not report.drifted and report.segments.empty
    parser = _Charts()
    parser.feed(report.to_html())
    assert parser.charts == []
    assert report.summary()["drift_share"] == 0.0
    assert "0 of 1 columns drifted" in repr(report).replace("DriftReport(", "")
