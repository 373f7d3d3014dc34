"""The dashboard: server-rendered pages over a project's registry, history and outbox.

``dashboard_router(project_path)`` returns a FastAPI router whose routes start with
``/dashboard``; include it in an app with ``app.include_router(router)``. Pages:

- ``/dashboard``: every model, its latest versions with stage, metrics and lineage summary;
- ``/dashboard/models/{name}``: versions and metrics, the LF analysis table and the label
  model's learned LF accuracies (from the current version's lineage), recent drift checks
  drawn over time (drift share and per-column effect sizes), the segments that explain
  the latest drift, and the action outbox (status, attempts, last error).

Charts are drawn in the browser by plotly.js, served from the installed ``plotly``
package at ``/dashboard/static/plotly.min.js`` (no CDN, no build step). The pages only
read the store and shape what they read; every query is bounded.

Access follows the API's rule: when ``api_key`` (or the environment variable
``DAWN_API_KEY``) is set, pages need ``Authorization: Bearer <key>`` or the ``dawn_key``
cookie set by the login form at ``/dashboard/login``; otherwise they are open.

>>> import tempfile
>>> from fastapi import FastAPI
>>> from fastapi.testclient import TestClient
>>> from dawn.store import Project
>>> folder = tempfile.mkdtemp()
>>> Project.init(folder).close()
>>> app = FastAPI()
>>> app.include_router(dashboard_router(folder, api_key="s3cret"))
>>> client = TestClient(app)
>>> client.get("/dashboard").status_code
401
>>> page = client.get("/dashboard", headers={"Authorization": "Bearer s3cret"})
>>> page.status_code, "No models are registered" in page.text
(200, True)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

if TYPE_CHECKING:
    from dawn.store import Project

__all__ = ["COOKIE", "dashboard_router"]

#: The cookie the login form sets.
COOKIE = "dawn_key"
#: Bounds on what a page reads from the store.
MAX_MODELS = 200
MAX_VERSIONS = 25
MAX_CHECKS = 100
MAX_POINTS = 5000
MAX_COLUMNS_CHARTED = 12
MAX_OUTBOX = 50
MAX_SEGMENTS = 20
MAX_METRICS = 30
_MAX_FORM_BYTES = 4096
_HERE = Path(__file__).parent
_COOKIE_MAX_AGE = 12 * 3600


def dashboard_router(project_path: str | Path, *, api_key: str | None = None) -> APIRouter:
    """The dashboard's routes (all under ``/dashboard``) for the project at ``project_path``.

    Parameters
    ----------
    project_path
        The project folder (or any folder below it). It is opened read-only on each
        request; a folder that is not a project shows an empty dashboard with a hint.
    api_key
        The key pages require. ``None`` reads ``DAWN_API_KEY`` from the environment;
        when neither is set (or it is empty) the dashboard is open.

    Returns
    -------
    fastapi.APIRouter
        Include it with ``app.include_router(router)`` (no extra prefix).
    """
    from dawn.serve.auth import api_key_from_env

    guard = _Guard(api_key_from_env(api_key))
    root = Path(project_path)
    env = _templates()
    router = APIRouter(prefix="/dashboard", include_in_schema=False)

    def page(request: Request, template: str, status: int = 200, **context: Any
             ) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        plotly = _plotly_file()
        html = env.get_template(template).render(
            nonce=nonce, show_logout=guard.enabled and template != "login.html",
            css_url=_path(request, "dashboard_css"), home_url=_path(request, "dashboard_index"),
            logout_url=_path(request, "dashboard_logout"),
            plotly_url=f"{_path(request, 'dashboard_plotly')}?v={_plotly_version()}"
            if plotly else None, **context)
        response = HTMLResponse(html, status_code=status)
        response.headers.update(_page_headers(nonce))
        return response

    def login_page(request: Request, *, status: int, error: str | None = None,
                   next_url: str | None = None) -> HTMLResponse:
        response = page(request, "login.html", status, error=error,
                        action=_path(request, "dashboard_login_submit"),
                        next_url=_safe_next(next_url or request.url.path, request))
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="dawn"'
        return response

    @router.get("", name="dashboard_index", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        if not guard.allows(request):
            return login_page(request, status=401)
        project = _open(root)
        if project is None:
            return page(request, "index.html", models=[], missing=str(root))
        with project:
            models = [_model_summary(project, name)
                      for name in project.registry.list_models()[:MAX_MODELS]]
        for m in models:
            m["url"] = request.url_for("dashboard_model", name=m["name"]).path
        return page(request, "index.html", models=models, missing=None)

    @router.get("/models/{name}", name="dashboard_model", response_class=HTMLResponse)
    def model(request: Request, name: str) -> Response:
        if not guard.allows(request):
            return login_page(request, status=401)
        from dawn.errors import StoreError

        project = _open(root)
        if project is None:
            return page(request, "error.html", 404, title="No project",
                        message=f"{str(root)!r} is not a dawn project yet; run `dawn run` in it.")
        with project:
            try:
                context = _model_page(project, name)
            except StoreError as exc:  # unknown model or a name that cannot be one
                return page(request, "error.html", 404, title="Unknown model", message=str(exc))
        return page(request, "model.html", **context)

    @router.get("/login", name="dashboard_login", response_class=HTMLResponse)
    def login_form(request: Request, next: str | None = None) -> Response:
        if not guard.enabled:
            return RedirectResponse(_path(request, "dashboard_index"), status_code=303)
        return login_page(request, status=200, next_url=next)

    @router.post("/login", name="dashboard_login_submit", response_class=HTMLResponse)
    async def login_submit(request: Request) -> Response:
        form = await _read_form(request)
        next_url = _safe_next(form.get("next"), request)
        if not guard.enabled:
            return RedirectResponse(next_url, status_code=303)
        if form.get("key") is None or not guard.matches(form["key"]):
            return login_page(request, status=401, next_url=next_url,
                              error="That key is not right. Use the server's DAWN_API_KEY.")
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(COOKIE, guard.token, max_age=_COOKIE_MAX_AGE,
                            path=_path(request, "dashboard_index"), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    @router.post("/logout", name="dashboard_logout")
    def logout(request: Request) -> Response:
        response = RedirectResponse(_path(request, "dashboard_login"), status_code=303)
        response.delete_cookie(COOKIE, path=_path(request, "dashboard_index"), httponly=True,
                               samesite="strict")
        return response

    @router.get("/static/plotly.min.js", name="dashboard_plotly")
    def plotly_js() -> Response:
        path = _plotly_file()
        if path is None:
            return PlainTextResponse("plotly is not installed; charts need it: "
                                     "pip install 'dawn[serve]'", status_code=404)
        return FileResponse(path, media_type="text/javascript", headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff"})

    @router.get("/static/dashboard.css", name="dashboard_css")
    def css() -> Response:
        return FileResponse(_HERE / "static" / "dashboard.css", media_type="text/css",
                            headers={"Cache-Control": "public, max-age=86400",
                                     "X-Content-Type-Options": "nosniff"})

    return router


# -- access ------------------------------------------------------------------------
class _Guard:
    """The key check: a Bearer header or the login cookie, compared in constant time."""

    def __init__(self, key: str | None) -> None:
        self.enabled = key is not None
        self._key = (key or "").encode()
        # the cookie holds a token derived from the key, not the key itself
        self.token = hmac.new(self._key, b"dawn-dashboard-cookie-v1",
                              hashlib.sha256).hexdigest() if key else ""

    def matches(self, given: str) -> bool:
        return self.enabled and hmac.compare_digest(given.encode(), self._key)

    def allows(self, request: Request) -> bool:
        from dawn.serve.auth import key_matches

        if not self.enabled:
            return True
        if key_matches(request.headers.get("authorization"), self._key.decode()):
            return True
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return False
        # the login form's token, or the key itself put in the cookie by hand
        return hmac.compare_digest(cookie.encode(), self.token.encode()) or self.matches(cookie)


async def _read_form(request: Request) -> dict[str, str]:
    """An url-encoded form body (at most a few KB) as {field: first value}."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items() if v}


def _safe_next(target: str | None, request: Request) -> str:
    """Where to go after logging in: a dashboard path on this server, never elsewhere."""
    home = _path(request, "dashboard_index")
    if (not target or not target.startswith(home) or target.startswith("//")
            or "\\" in target or any(c in target for c in "\r\n")
            or target.startswith(_path(request, "dashboard_login"))):
        return home
    return target


def _page_headers(nonce: str) -> dict[str, str]:
    csp = ("default-src 'none'; "
           f"script-src 'self' 'nonce-{nonce}'; "
           "style-src 'self' 'unsafe-inline'; "  # plotly.js adds <style> rules itself
           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return {"Content-Security-Policy": csp, "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin"}


def _path(request: Request, route: str) -> str:
    return request.url_for(route).path


# -- resources ---------------------------------------------------------------------
@lru_cache(maxsize=1)
def _templates():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = _fmt
    env.filters["json_script"] = _json_script
    return env


@lru_cache(maxsize=1)
def _plotly_file() -> Path | None:
    """plotly.js as shipped inside the installed ``plotly`` Python package, if any."""
    import importlib.resources

    try:
        resource = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"
    except ModuleNotFoundError:
        return None
    path = Path(str(resource))
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _plotly_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("plotly")
    except PackageNotFoundError:
        return "0"


def _open(root: Path) -> Project | None:
    from dawn.errors import SourceNotFoundError
    from dawn.store import Project

    try:
        return Project.open(root, create=False)
    except SourceNotFoundError:
        return None


# -- shaping what the store holds for the templates ---------------------------------
def _fmt(value: Any) -> str:
    """A cell: numbers to 4 significant digits, nothing as a dash, the rest as text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} = {_fmt(v)}" for k, v in value.items())
    return str(value)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf to null, numpy scalars to Python."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_script(value: Any):
    """JSON for a ``<script type="application/json">`` body: no ``<``, ``>``, ``&`` in it."""
    from markupsafe import Markup

    text = json.dumps(_clean(value), allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)


def _flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """Nested metrics as ``{"a.b": leaf}``."""
    if not isinstance(doc, Mapping):
        return {prefix or "value": doc}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


def _lineage_summary(lineage: Mapping[str, Any]) -> dict[str, Any]:
    data = lineage.get("data") if isinstance(lineage.get("data"), Mapping) else {}
    lm = lineage.get("label_model") if isinstance(lineage.get("label_model"), Mapping) else {}
    end = lineage.get("end_model")
    lfs = lineage.get("lfs")
    source = data.get("source")
    if isinstance(source, Mapping):
        source = source.get("path") or source.get("query")
    fingerprint = data.get("fingerprint")
    return {
        "data": source,
        "rows": data.get("rows"),
        "fingerprint": str(fingerprint)[:12] if fingerprint else None,
        "label model": lm.get("method"),
        "end model": end.get("model") if isinstance(end, Mapping) else end,
        "LFs": len(lfs) if isinstance(lfs, list) else None,
        "dawn": lineage.get("dawn_version"),
    }


def _version_row(v: Any) -> dict[str, Any]:
    return {"version": v.version, "stage": v.stage,
            "created_at": v.created_at[:19].replace("T", " "),
            "parent": v.parent_version, "metrics": _flatten(v.metrics),
            "lineage": _lineage_summary(v.lineage)}


def _versions(project: Project, name: str) -> list[Any]:
    """The newest ``MAX_VERSIONS`` versions, newest first."""
    return project.registry.list_versions(name)[-MAX_VERSIONS:][::-1]


def _model_summary(project: Project, name: str) -> dict[str, Any]:
    versions = _versions(project, name)
    current = next((v.version for v in versions if v.stage == "current"), None)
    return {"name": name, "current": current, "versions": [_version_row(v) for v in versions]}


def _lf_analysis(lineage: Mapping[str, Any]) -> dict[str, Any] | None:
    records = lineage.get("lf_analysis")
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        return None
    columns = ["lf", "coverage", "overlaps", "conflicts"]
    if any("emp_accuracy" in r for r in records):
        columns.append("emp_accuracy")
    return {"columns": columns, "rows": [[r.get(c) for c in columns] for r in records]}


def _accuracies(lineage: Mapping[str, Any]) -> list[tuple[str, Any]] | None:
    lm = lineage.get("label_model")
    acc = lm.get("accuracies") if isinstance(lm, Mapping) else None
    if isinstance(acc, Mapping):
        return [(str(k), v) for k, v in acc.items()]
    return None


def _segments(details: Mapping[str, Any]) -> dict[str, Any] | None:
    """The latest check's explanation segments as a table (None when it holds none)."""
    segs = details.get("segments")
    if isinstance(segs, Mapping) and "columns" in segs and "data" in segs:  # orient="split"
        segs = [dict(zip(segs["columns"], row, strict=False)) for row in segs["data"]]
    elif isinstance(segs, Mapping):  # orient="list": {column: [values]}
        n = max((len(v) for v in segs.values() if isinstance(v, list)), default=0)
        segs = [{k: v[i] if isinstance(v, list) and i < len(v) else None
                 for k, v in segs.items()} for i in range(n)]
    if not isinstance(segs, list) or not segs:
        return None
    segs = [s for s in segs[:MAX_SEGMENTS] if isinstance(s, Mapping)]
    preferred = ["items", "support", "risk_ratio", "count", "outliers"]
    seen = [c for s in segs for c in s]
    columns = [c for c in preferred if c in seen]
    columns += [c for c in dict.fromkeys(seen) if c not in columns]
    return {"columns": ["segment" if c == "items" else c for c in columns],
            "rows": [[s.get(c) for c in columns] for s in segs]}


def _effect_series(project: Project, name: str, checks: Any, x: list[str]
                   ) -> dict[str, tuple[list[str], list[Any]]]:
    """Per-column effect sizes of the checks, column -> (times, values).

    Read from each check's summary (``details["columns"]``) when it has them; otherwise
    from the other metrics recorded in the same call as ``drift_share`` (same time, same
    details), e.g. ``effect.<column>``.
    """
    import numpy as np

    series: dict[str, tuple[list[str], list[Any]]] = {}
    for ts, details in zip(x, checks["details"], strict=True):
        columns = details.get("columns") if isinstance(details, Mapping) else None
        for column, info in (columns.items() if isinstance(columns, Mapping) else ()):
            if isinstance(info, Mapping) and "effect_size" in info:
                times, values = series.setdefault(str(column), ([], []))
                times.append(ts)
                values.append(info["effect_size"])
    if series:
        return series
    others = project.history.query(name, since=checks["ts"].iloc[0].to_pydatetime(),
                                   limit=MAX_POINTS)
    keys = set(zip(checks["ts"], map(_key, checks["details"]), strict=True))
    same_call = np.fromiter(((ts, _key(d)) in keys for ts, d in
                             zip(others["ts"], others["details"], strict=True)), bool, len(others))
    effects = others[same_call & (others["metric"] != "drift_share").to_numpy()]
    for metric, rows in effects.groupby("metric", sort=False):
        series[str(metric).removeprefix("effect.")] = (
            [t.isoformat() for t in rows["ts"]], rows["value"].tolist())
    return series


def _drift(project: Project, name: str) -> dict[str, Any]:
    """Recent drift checks: a table, the charts over time and the latest segments."""
    import pandas as pd

    checks = project.history.query(name, metric="drift_share", limit=MAX_CHECKS)
    if checks.empty:
        return {"checks": [], "charts": [], "segments": None, "columns_total": 0}
    stamps = checks["ts"]
    x = [t.isoformat() for t in stamps]
    series = _effect_series(project, name, checks, x)
    peak = {c: max((v for v in ys if v is not None and math.isfinite(v)), default=-math.inf)
            for c, (_, ys) in series.items()}
    charted = sorted(series, key=lambda c: -peak[c])[:MAX_COLUMNS_CHARTED]
    traces = [{"type": "scatter", "mode": "lines+markers", "name": c,
               "x": series[c][0], "y": series[c][1]} for c in charted]
    layout = {"margin": {"l": 50, "r": 20, "t": 10, "b": 40}, "height": 300,
              "xaxis": {"type": "date"}, "legend": {"orientation": "h", "y": -0.25}}
    charts = [{"id": "chart-drift-share", "title": "Drift share (fraction of columns drifted)",
               "data": [{"type": "scatter", "mode": "lines+markers", "name": "drift share",
                         "x": x, "y": checks["value"].tolist()}],
               "layout": {**layout, "yaxis": {"range": [0, 1.05], "title": {"text": "share"}}}}]
    if traces:
        title = "Effect size per column"
        if len(series) > len(charted):
            title += f" (the {len(charted)} largest of {len(series)})"
        charts.append({"id": "chart-effect-sizes", "title": title, "data": traces,
                       "layout": {**layout, "yaxis": {"title": {"text": "effect size"}}}})
    table = []
    for ts, version, value, details in zip(stamps[::-1], checks["version"][::-1],
                                           checks["value"][::-1], checks["details"][::-1],
                                           strict=True):
        details = details if isinstance(details, Mapping) else {}
        table.append({"ts": ts.strftime("%Y-%m-%d %H:%M:%S"),
                      "version": None if pd.isna(version) else int(version),
                      "drift_share": value, "drifted": details.get("drifted_columns", [])})
    latest = checks["details"].iloc[-1]
    return {"checks": table[:20], "charts": charts, "columns_total": len(series),
            "segments": _segments(latest if isinstance(latest, Mapping) else {}),
            "latest_ts": table[0]["ts"]}


def _key(details: Any) -> str:
    return json.dumps(details, sort_keys=True, default=str)


def _outbox(project: Project) -> list[dict[str, Any]]:
    out = []
    for item in project.outbox.items(limit=MAX_OUTBOX):
        payload = item.payload if isinstance(item.payload, Mapping) else {}
        error = item.last_error
        out.append({"id": item.id, "action": payload.get("action"), "event": payload.get("event"),
                    "kind": item.kind, "status": item.status, "attempts": item.attempts,
                    "created_at": item.created_at[:19].replace("T", " "),
                    "last_error": error[:300] + "…" if error and len(error) > 300 else error})
    return out


def _model_page(project: Project, name: str) -> dict[str, Any]:
    versions = _versions(project, name)  # raises for an unknown model
    current = next((v for v in versions if v.stage == "current"), versions[0])
    rows = [_version_row(v) for v in versions]
    metric_names = list(dict.fromkeys(k for r in rows for k in r["metrics"]))[:MAX_METRICS]
    lfs = current.lineage.get("lfs")
    return {
        "name": name, "current": current.version, "current_stage": current.stage,
        "versions": rows, "metric_names": metric_names,
        "current_lineage": _lineage_summary(current.lineage),
        "lf_names": [lf.get("name") for lf in lfs if isinstance(lf, Mapping)]
        if isinstance(lfs, list) else [],
        "lf_analysis": _lf_analysis(current.lineage),
        "accuracies": _accuracies(current.lineage),
        "drift": _drift(project, name),
        "outbox": _outbox(project),
    }
