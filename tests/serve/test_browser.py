"""The dashboard in a real headless Chromium: log in, open a model, see the charts drawn.

Needs Debian's ``chromium`` at /usr/bin/chromium and the ``playwright`` Python package
(never ``playwright install``: the system browser is used). Skipped when either is missing,
except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
NAME = "comment-spam"
KEY = "browser-key-123"


def _require_browser() -> None:
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is absent (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install playwright)"
        try:
            import uvicorn  # noqa: F401
        except ImportError:
            missing = "uvicorn is not installed (pip install 'dawn[serve]')"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}; CI must run the browser tests.")
        pytest.skip(missing)


def test_a_missing_browser_skips_here_and_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setitem(_require_browser.__globals__, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        _require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        _require_browser()


# -- a PNG reader (stdlib zlib + numpy), to look at the screenshot's pixels ----------
def png_pixels(data: bytes) -> np.ndarray:
    """An 8-bit RGB/RGBA non-interlaced PNG as a (height, width, channels) uint8 array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], b""
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big")
    depth, color, interlace = header[8], header[9], header[12]
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, np.uint8, stride, start + 1).astype(np.int64)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: a running sum per channel
            cur = np.cumsum(line.reshape(width, bpp), axis=0).ravel() % 256
        elif kind == 2:  # Up
            cur = (line + prev) % 256
        else:  # Average / Paeth depend on the pixel just decoded: plain loop
            cur_l, up, ln = [0] * stride, prev.tolist(), line.tolist()
            for i in range(stride):
                a = cur_l[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    cur_l[i] = (ln[i] + (a + b) // 2) % 256
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                    cur_l[i] = (ln[i] + pred) % 256
            cur = np.asarray(cur_l, dtype=np.int64)
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)


def test_png_reader_reads_what_zlib_wrote():
    """The reader itself, on a PNG built here with every filter type."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    rows, prev = [], np.zeros(12, np.int64)
    for y, kind in enumerate([0, 1, 2, 3, 4]):
        cur = img[y].ravel().astype(np.int64)
        a = np.concatenate([[0, 0, 0], cur[:-3]])
        c = np.concatenate([[0, 0, 0], prev[:-3]])
        if kind == 0:
            f = cur
        elif kind == 1:
            f = cur - a
        elif kind == 2:
            f = cur - prev
        elif kind == 3:
            f = cur - (a + prev) // 2
        else:
            p = a + prev - c
            pa, pb, pc = abs(p - a), abs(p - prev), abs(p - c)
            f = cur - np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, prev, c))
        rows.append(bytes([kind]) + (f % 256).astype(np.uint8).tobytes())
        prev = cur

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = (4).to_bytes(4, "big") + (5).to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
           + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    assert np.array_equal(png_pixels(png), img)


# -- the server ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A uvicorn server on a free loopback port serving the dashboard of a trained project."""
    _require_browser()
    import uvicorn
    from fastapi import FastAPI

    from dawn.app.training import train_project
    from dawn.demo.run import write_demo_project
    from dawn.serve.dashboard import dashboard_router
    from dawn.store import Project

    folder = write_demo_project(tmp_path_factory.mktemp("browser"), n=400, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_project(folder / "dawn.toml")
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    with Project.open(folder) as project:
        for i in range(6):
            drifted = ["text.length", "n_links"] if i >= 3 else []
            project.history.record(
                NAME, {"drift_share": len(drifted) / 5, "effect.text.length": 0.04 * i,
                       "effect.n_links": 0.03 * i * i / 5, "effect.confidence": 0.02,
                       "effect.prediction": 0.01 * i},
                version=1, ts=t0 + timedelta(hours=6 * i),
                details={"drifted_columns": drifted, "segments": [
                    {"items": {"prediction": "spam"}, "support": 0.4, "risk_ratio": 3.1,
                     "count": 80, "outliers": 64}]})
        done = project.outbox.enqueue("action", {"action": "alert", "event": "drift"}, key="d")
        project.outbox.claim(limit=1)
        project.outbox.mark_done(done)
        failed = project.outbox.enqueue("action", {"action": "hook", "event": "drift"}, key="f")
        project.outbox.claim(limit=1)
        project.outbox.mark_failed(failed, "HTTP 503 from http://127.0.0.1:9/", retry=False)

    app = FastAPI()
    app.include_router(dashboard_router(folder, api_key=KEY))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def test_login_then_model_page_draws_its_charts(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and "status of 401" not in m.text else None)

    first = page.goto(f"{server}/dashboard/models/{NAME}")
    assert first.status == 401
    assert page.locator("section.login input[name=key]").is_visible()

    page.fill("section.login input[name=key]", "not-the-key")
    page.click("section.login button[type=submit]")
    assert "That key is not right" in page.locator("section.login .error").inner_text()

    page.fill("section.login input[name=key]", KEY)
    page.click("section.login button[type=submit]")
    page.wait_for_url(f"{server}/dashboard/models/{NAME}")
    assert page.locator("h1").inner_text().startswith(NAME)

    cookie = next(c for c in context.cookies() if c["name"] == "dawn_key")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it

    charts = page.locator("div.dawn-chart")
    assert charts.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('div.dawn-chart')]"
        ".every(d => d.dataset.rendered === 'true')", timeout=30_000)
    for i in range(2):
        chart = charts.nth(i)
        assert chart.locator(".main-svg").count() >= 1
        assert chart.locator("path.js-line, g.trace").count() >= 1
    assert page.locator("#chart-effect-sizes g.trace").count() == 4
    assert "failed" in page.locator("#outbox-table").inner_text()
    assert "prediction = spam" in page.locator("#segments-table").inner_text()
    assert not problems, problems  # no script errors, no CSP refusals

    # the chart region is not blank: its pixels vary, and there are coloured lines in it
    shot = png_pixels(charts.nth(1).screenshot())
    rgb = shot[..., :3].astype(np.int16)
    assert shot.shape[0] >= 200 and shot.shape[1] >= 600
    assert rgb.std() > 8.0
    coloured = (rgb.max(axis=2) - rgb.min(axis=2)) > 60
    assert coloured.sum() > 200

    # ...unlike the same region of an empty page
    blank = context.new_page()
    blank.set_viewport_size({"width": 1280, "height": 900})
    box = charts.nth(1).bounding_box()
    empty = png_pixels(blank.screenshot(clip={"x": 0, "y": 0, "width": box["width"],
                                              "height": box["height"]}))
    assert empty[..., :3].std() < 1.0
    context.close()


def test_index_page_in_the_browser_lists_the_model(server, browser):
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {KEY}"})
    page = context.new_page()
    assert page.goto(f"{server}/dashboard").status == 200
    page.click(f"a[href='/dashboard/models/{NAME}']")
    page.wait_for_url(f"{server}/dashboard/models/{NAME}")
    context.close()
