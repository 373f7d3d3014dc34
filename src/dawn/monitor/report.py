"""``DriftReport``: the result of :meth:`dawn.monitor.DriftMonitor.check`.

One row per monitored column (:meth:`DriftReport.to_pandas`), the segments the drift is
concentrated in (:attr:`DriftReport.segments`), a JSON-able summary for the history and
for actions (:meth:`DriftReport.summary`), JSON text (:meth:`DriftReport.to_json`) and a
self-contained HTML page (:meth:`DriftReport.to_html`: no external file, URL or script)
with a summary table and one inline SVG chart per drifted column — reference against
current, drawn from the sketches (histogram for numbers, bars for categories, missing vs
present for a missing-rate change), each an
``<svg class="dawn-chart" data-column="NAME">``.

>>> import numpy as np
>>> from dawn.monitor import DriftMonitor
>>> rng = np.random.default_rng(1)
>>> mon = DriftMonitor(explain=False).fit({"x": rng.normal(size=2000)})
>>> report = mon.check({"x": rng.normal(1.0, 1.0, size=2000)})
>>> report.drifted, report.summary()["drift_share"]
(True, 1.0)
>>> 'class="dawn-chart" data-column="x"' in report.to_html()
True
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "DriftReport"]

COLUMNS = ["column", "kind", "test", "statistic", "effect_size", "threshold", "p_value",
           "drifted", "n_reference", "n_current", "missing_reference", "missing_current",
           "details"]
SEGMENT_COLUMNS = ["items", "outliers", "count", "support", "risk_ratio", "ci_low", "ci_high",
                   "p_value"]
_REF, _CUR = "#7f8c9a", "#e4572e"


class DriftReport:
    """Per-column drift decisions and the sketches behind them (module docstring).

    Attributes
    ----------
    rows : list of dict, one per column (the rows of :meth:`to_pandas`)
    sketches : column → (reference sketch, current sketch)
    """

    def __init__(self, rows: list[dict[str, Any]], sketches: dict[str, tuple[Any, Any]],
                 segments: pd.DataFrame | None = None) -> None:
        self.rows = rows
        self.sketches = sketches
        self.segments = segments

    @property
    def segments(self) -> pd.DataFrame:
        """Segments (from :func:`dawn.explain.explain`) where current rows are concentrated;
        empty when nothing drifted or ``explain=False``."""
        if self._segments is None:
            return pd.DataFrame({c: pd.Series(dtype=object if c == "items" else "float64")
                                 for c in SEGMENT_COLUMNS})
        return self._segments

    @segments.setter
    def segments(self, value: pd.DataFrame | None) -> None:
        self._segments = value

    @property
    def drifted(self) -> bool:
        """Whether any column drifted."""
        return any(r["drifted"] for r in self.rows)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns, in monitoring order."""
        return [r["column"] for r in self.rows if r["drifted"]]

    def to_pandas(self) -> pd.DataFrame:
        """One row per column: ``column, kind, test, statistic, effect_size, threshold,
        p_value, drifted, n_reference, n_current, missing_reference, missing_current,
        details`` (missing_* are rates; details is a dict)."""
        df = pd.DataFrame([{c: r[c] for c in COLUMNS} for r in self.rows], columns=COLUMNS)
        return df.astype({"drifted": bool, "n_reference": "int64", "n_current": "int64"})

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary: ``drifted``, ``drift_share``, ``drifted_columns``,
        ``n_columns``, ``n_reference``, ``n_current``, per-column ``columns`` (test,
        effect_size, threshold, p_value, drifted) and the top ``segments``."""
        n_cols = len(self.rows)
        segs = self.segments.head(5)
        return _clean({
            "drifted": self.drifted,
            "drift_share": len(self.drifted_columns) / n_cols if n_cols else 0.0,
            "drifted_columns": self.drifted_columns,
            "n_columns": n_cols,
            "n_reference": max((r["n_reference"] for r in self.rows), default=0),
            "n_current": max((r["n_current"] for r in self.rows), default=0),
            "columns": {r["column"]: {k: r[k] for k in ("kind", "test", "effect_size",
                                                        "threshold", "p_value", "drifted")}
                        for r in self.rows},
            "segments": [{"items": s["items"], "support": s["support"],
                          "risk_ratio": s["risk_ratio"]} for s in segs.to_dict("records")],
        })

    def to_json(self) -> str:
        """JSON text: ``{"summary": ..., "columns": [rows], "segments": [...]}``."""
        return json.dumps(_clean({"summary": self.summary(),
                                  "columns": [{c: r[c] for c in COLUMNS} for r in self.rows],
                                  "segments": self.segments.to_dict("records")}),
                          allow_nan=False)

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page; written to ``path`` (UTF-8) when given."""
        page = _page(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def __repr__(self) -> str:
        return (f"DriftReport({len(self.drifted_columns)} of {len(self.rows)} columns "
                f"drifted: {self.drifted_columns[:8]})")


# -- JSON -----------------------------------------------------------------------------------
def _clean(obj: Any) -> Any:
    """JSON types only; NaN/inf become None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return str(obj)


# -- HTML -----------------------------------------------------------------------------------
_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{padding:4px 10px;border-bottom:1px solid #ddd;
text-align:left}tr.drift td{background:#fdecea}.chart{display:inline-block;margin:1em 1em 0 0}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}"""


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e-3 and v != 0 else f"{v:.4f}".rstrip("0").rstrip(".")
    return html.escape(str(v))


def _page(report: DriftReport) -> str:
    s = report.summary()
    head = (f"<h1>Drift report</h1><p>{len(s['drifted_columns'])} of {s['n_columns']} "
            f"columns drifted (share {s['drift_share']:.2f}); reference {s['n_reference']} "
            f"rows, current {s['n_current']} rows.</p>")
    cols = ["column", "kind", "test", "effect_size", "threshold", "p_value", "drifted",
            "missing_reference", "missing_current"]
    rows = "".join(
        f"<tr class=\"{'drift' if r['drifted'] else ''}\">"
        + "".join(f"<td>{_fmt(r[c])}</td>" for c in cols) + "</tr>" for r in report.rows)
    table = (f"<table><tr>{''.join(f'<th>{c}</th>' for c in cols)}</tr>{rows}</table>")
    segs = ""
    if len(report.segments):
        seg_rows = "".join(
            "<tr><td>" + html.escape(", ".join(f"{k} = {v}" for k, v in x["items"].items()))
            + f"</td><td>{_fmt(x['support'])}</td><td>{_fmt(x['risk_ratio'])}</td></tr>"
            for x in report.segments.head(20).to_dict("records"))
        segs = ("<h2>Where the current data is concentrated</h2><table><tr><th>segment</th>"
                f"<th>support</th><th>risk ratio</th></tr>{seg_rows}</table>")
    charts = "".join(_chart(r["column"], *report.sketches[r["column"]], test=r["test"])
                     for r in report.rows if r["drifted"] and r["column"] in report.sketches)
    legend = (f"<p class=\"legend\"><span style=\"background:{_REF}\"></span>reference"
              f"<span style=\"background:{_CUR}\"></span>current</p>") if charts else ""
    body = head + table + segs + (f"<h2>Drifted columns</h2>{legend}{charts}" if charts else "")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>dawn drift report"
            f"</title><style>{_CSS}</style></head><body>{body}</body></html>")


def _chart(column: str, ref: Any, cur: Any, test: str = "") -> str:
    from dawn.monitor.sketch import CategoricalSketch

    if test == "missing_rate":
        labels = ["missing", "present"]
        a = np.array([ref.missing_rate, 1 - ref.missing_rate])
        b = np.array([cur.missing_rate, 1 - cur.missing_rate])
        svg = _bars_svg(column, labels, a, b)
    elif isinstance(ref, CategoricalSketch):
        labels, a, b = _category_shares(ref, cur)
        svg = _bars_svg(column, labels, a, b)
    elif len(ref.edges) and ref.n_values and cur.n_values:
        lo, hi, a, b = _histogram(ref, cur)
        svg = _hist_svg(column, lo, hi, a, b)
    else:
        return ""
    return f"<div class=\"chart\"><h3>{html.escape(column)}</h3>{svg}</div>"


def _cdf_points(sk: Any) -> tuple[np.ndarray, np.ndarray]:
    cum = np.cumsum(sk.counts) / sk.n_values
    xp = np.concatenate([[min(sk.min, sk.edges[0])], sk.edges, [max(sk.max, sk.edges[-1])]])
    fp = np.concatenate([[0.0], cum[:-1], [1.0]])
    return xp, fp


def _histogram(ref: Any, cur: Any, bins: int = 30) -> tuple[float, float, np.ndarray,
                                                            np.ndarray]:
    pts = [_cdf_points(ref), _cdf_points(cur)]
    lo = min(float(np.interp(0.005, fp, xp)) for xp, fp in pts)
    hi = max(float(np.interp(0.995, fp, xp)) for xp, fp in pts)
    if not hi > lo:
        lo, hi = lo - 0.5 * max(1.0, abs(lo)), hi + 0.5 * max(1.0, abs(hi))
    grid = np.linspace(lo, hi, bins + 1)
    out = []
    for xp, fp in pts:
        f = np.interp(grid, xp, fp)
        share = np.diff(f)
        share[0] += f[0]
        share[-1] += 1 - f[-1]
        out.append(share)
    return lo, hi, out[0], out[1]


def _category_shares(ref: Any, cur: Any, top: int = 12) -> tuple[list[str], np.ndarray,
                                                                 np.ndarray]:
    n1, n2 = max(ref.n_values, 1), max(cur.n_values, 1)
    labels = [str(v) for v in ref.values] + [f"{v} (new)" for v in cur.extra]
    a = np.concatenate([ref.counts / n1, np.zeros(len(cur.extra))])
    b = np.concatenate([cur.counts / n2, np.array(list(cur.extra.values()), float) / n2])
    order = np.argsort(-np.maximum(a, b), kind="stable")
    keep, rest = order[:top], order[top:]
    labels = [labels[i] for i in keep] + ["other"]
    a = np.append(a[keep], a[rest].sum() + ref.outside() / n1)
    b = np.append(b[keep], b[rest].sum() + cur.other / n2)
    if a[-1] == 0 and b[-1] == 0:
        labels, a, b = labels[:-1], a[:-1], b[:-1]
    return labels, a, b


def _svg_open(column: str, width: int, height: int) -> str:
    return (f"<svg class=\"dawn-chart\" data-column=\"{html.escape(column, quote=True)}\" "
            f"width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" "
            f"role=\"img\" aria-label=\"{html.escape(column, quote=True)}: reference vs "
            "current\">")


def _hist_svg(column: str, lo: float, hi: float, a: np.ndarray, b: np.ndarray) -> str:
    width, height, pad = 480, 200, 24
    top = max(float(a.max()), float(b.max()), 1e-12)
    bw = (width - 2 * pad) / len(a)
    parts = [_svg_open(column, width, height)]
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        for k, (v, colour) in enumerate(((x, _REF), (y, _CUR))):
            h = (height - 2 * pad) * v / top
            parts.append(f"<rect x=\"{pad + i * bw + k * bw / 2:.1f}\" y=\"{height - pad - h:.1f}"
                         f"\" width=\"{bw / 2:.1f}\" height=\"{h:.1f}\" fill=\"{colour}\">"
                         f"<title>{'reference' if k == 0 else 'current'}: {v:.3f}</title>"
                         "</rect>")
    parts.append(f"<line x1=\"{pad}\" y1=\"{height - pad}\" x2=\"{width - pad}\" "
                 f"y2=\"{height - pad}\" stroke=\"#444\"/>")
    parts.append(f"<text x=\"{pad}\" y=\"{height - 6}\" font-size=\"11\">{_fmt(lo)}</text>")
    parts.append(f"<text x=\"{width - pad}\" y=\"{height - 6}\" font-size=\"11\" "
                 f"text-anchor=\"end\">{_fmt(hi)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _bars_svg(column: str, labels: list[str], a: np.ndarray, b: np.ndarray) -> str:
    row, left, width = 22, 140, 480
    height = row * len(labels) + 10
    top = max(float(np.max(a, initial=0)), float(np.max(b, initial=0)), 1e-12)
    span = width - left - 50
    parts = [_svg_open(column, width, height)]
    for i, (lab, x, y) in enumerate(zip(labels, a, b, strict=True)):
        y0 = 5 + i * row
        text = lab if len(lab) <= 20 else lab[:19] + "…"
        parts.append(f"<text x=\"{left - 6}\" y=\"{y0 + 13}\" font-size=\"11\" "
                     f"text-anchor=\"end\">{html.escape(text)}</text>")
        for k, (v, colour) in enumerate(((x, _REF), (y, _CUR))):
            parts.append(f"<rect x=\"{left}\" y=\"{y0 + k * 9}\" width=\"{span * v / top:.1f}\" "
                         f"height=\"8\" fill=\"{colour}\"><title>"
                         f"{'reference' if k == 0 else 'current'}: {v:.3f}</title></rect>")
        parts.append(f"<text x=\"{left + span * max(x, y) / top + 4:.1f}\" y=\"{y0 + 13}\" "
                     f"font-size=\"10\">{x:.2f} → {y:.2f}</text>")
    parts.append("</svg>")
    return "".join(parts)
